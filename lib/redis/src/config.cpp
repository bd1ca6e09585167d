#include <ssebridge/redis/config.hpp>

#include <charconv>

namespace ssebridge::redis {

std::optional<config> config::from_url(std::string_view url, std::string& error) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) {
        error = "Redis URL must start with redis://";
        return std::nullopt;
    }
    url.remove_prefix(scheme.size());
    config c;
    if (std::size_t at = url.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = url.substr(0, at);
        url.remove_prefix(at + 1);
        std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            c.password = userinfo; // redis://secret@host, as redis-cli accepts
        } else {
            c.username = userinfo.substr(0, colon);
            c.password = userinfo.substr(colon + 1);
        }
    }
    std::string_view hostport = url.substr(0, url.find('/'));
    std::string_view port;
    if (hostport.starts_with('[')) {
        std::size_t close = hostport.find(']');
        if (close == std::string_view::npos) {
            error = "Redis URL has an unterminated [IPv6] host";
            return std::nullopt;
        }
        c.host = hostport.substr(1, close - 1);
        std::string_view rest = hostport.substr(close + 1);
        if (rest.starts_with(':'))
            port = rest.substr(1);
        else if (!rest.empty()) {
            error = "Redis URL has junk after the host";
            return std::nullopt;
        }
    } else {
        std::size_t colon = hostport.rfind(':');
        c.host = hostport.substr(0, colon);
        if (colon != std::string_view::npos)
            port = hostport.substr(colon + 1);
    }
    if (c.host.empty()) {
        error = "Redis URL has no host";
        return std::nullopt;
    }
    if (!port.empty()) {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
            error = "Redis URL has an invalid port: " + std::string(port);
            return std::nullopt;
        }
        c.port = static_cast<std::uint16_t>(value);
    }
    return c;
}

} // namespace ssebridge::redis
