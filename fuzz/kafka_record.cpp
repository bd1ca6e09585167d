// The worker libraries' reading of a Kafka record. Property: a record that
// parses, built again by the gateway's `kafka_record`, parses to the same request.
#include <ssebridge/wire/request.hpp>

#include <cstdint>
#include <cstdlib>

using namespace ssebridge::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = parse_kafka_record(in);
    if (!r)
        return 0;
    auto again = parse_kafka_record(kafka_record(r->session_id, r->body));
    if (!again || again->session_id != r->session_id || again->body != r->body ||
        again->user_query != r->user_query)
        std::abort();
    return 0;
}
