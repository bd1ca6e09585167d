#include <ssebridge/gateway/session_id.hpp>

#include <array>
#include <cstddef>
#include <stdexcept>
#include <sys/random.h>

namespace ssebridge::gateway {

std::string make_session_id() {
    // One getrandom call serves 256 ids.
    constexpr std::size_t id_bytes = 16;
    thread_local std::array<unsigned char, 4096> pool;
    thread_local std::size_t used = pool.size();
    if (used == pool.size()) {
        std::size_t filled = 0;
        while (filled < pool.size()) {
            ssize_t n = ::getrandom(pool.data() + filled, pool.size() - filled, 0);
            if (n < 0)
                throw std::runtime_error("getrandom failed");
            filled += static_cast<std::size_t>(n);
        }
        used = 0;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(2 * id_bytes, '\0');
    for (std::size_t i = 0; i < id_bytes; ++i) {
        unsigned char b = pool[used + i];
        id[2 * i] = hex[b >> 4];
        id[2 * i + 1] = hex[b & 0xf];
        pool[used + i] = 0; // do not keep used secrets around
    }
    used += id_bytes;
    return id;
}

} // namespace ssebridge::gateway
