// What the gateway reads of every channel message: its kind and its id.
// Property: an entry id that parses prints back to the same text.
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/record.hpp>

#include <cstdint>
#include <cstdlib>

using namespace ssebridge::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto info = inspect_event(in);
    if (info && info->id && in.starts_with("{\"")) { // how the worker libraries write them
        // A recorded message again: its id must be found where the script puts it.
        std::string again = recorded_message(info->id->to_string(), in);
        auto reread = inspect_event(again);
        if (!reread || !reread->id || *reread->id != *info->id || reread->kind != info->kind)
            std::abort();
    }
    if (auto id = entry_id::parse(in)) {
        if (id->to_string() != in)
            std::abort();
    }
    return 0;
}
