// The SSE decoder on any byte stream. Property: the messages do not depend
// on how the bytes are split into feeds.
#include <ssebridge/sse/decoder.hpp>

#include <cstdint>
#include <cstdlib>

using ssebridge::sse::decoder;
using ssebridge::sse::message;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    std::size_t step = data[0] % 7 + 1; // the first byte chooses the split
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    decoder whole;
    std::vector<message> at_once = whole.feed(in);
    decoder pieces;
    std::vector<message> split;
    for (std::size_t at = 0; at < in.size(); at += step)
        pieces.feed(in.substr(at, step), split);
    if (at_once.size() != split.size() || whole.buffered() != pieces.buffered())
        std::abort();
    for (std::size_t i = 0; i < split.size(); ++i)
        if (at_once[i].data != split[i].data || at_once[i].type != split[i].type ||
            at_once[i].id != split[i].id || at_once[i].is_comment != split[i].is_comment)
            std::abort();
    return 0;
}
