// ssebridge-microbench: the per-event hot paths, one Google Benchmark each.
//   build/release/bench/ssebridge-microbench [--benchmark_filter=…]
// An event on its way through the gateway is: RESP-parsed off the
// subscriber connection, inspected for its event_type, appended to its
// session's buffer as an SSE frame (and, at the client, SSE-decoded).
#include <ssebridge/gateway/detail/frames.hpp>
#include <ssebridge/redis/resp.hpp>
#include <ssebridge/sse/decoder.hpp>
#include <ssebridge/sse/encode.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace {

using namespace ssebridge;

// What the reference worker publishes for one character of a streamed answer,
// with the bench's timestamp and padding: about 130 bytes.
const std::string event_payload =
    R"({"event_type":"FinalAnswerStream","payload":{"t":1795337031223456789,"pad":")" +
    std::string(64, 'x') + R"("}})";

std::string pubsub_messages(std::size_t count) {
    std::string wire;
    for (std::size_t i = 0; i < count; ++i) {
        std::string channel =
            wire::session_channel(std::string(32, 'a' + static_cast<char>(i % 26)));
        wire += "*3\r\n$7\r\nmessage\r\n$" + std::to_string(channel.size()) + "\r\n" + channel +
                "\r\n$" + std::to_string(event_payload.size()) + "\r\n" + event_payload + "\r\n";
    }
    return wire;
}

void inspect_event(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(wire::inspect_event(event_payload));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event_payload.size()));
}
BENCHMARK(inspect_event);

// The DOM parse the SAX pass replaced, for comparison.
void inspect_event_by_dom_parse(benchmark::State& state) {
    for (auto _ : state) {
        unsigned char stack[4096];
        boost::json::monotonic_resource mr(stack, sizeof stack);
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(event_payload, ec, &mr);
        benchmark::DoNotOptimize(v.as_object().if_contains("event_type"));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event_payload.size()));
}
BENCHMARK(inspect_event_by_dom_parse);

void append_event_frame(benchmark::State& state) {
    std::string out;
    for (auto _ : state) {
        out.clear();
        gateway::detail::append_event_frame(out, event_payload);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * event_payload.size()));
}
BENCHMARK(append_event_frame);

// Parsing a read's worth of pub/sub pushes, as the subscriber does per read.
void resp_parse_messages(benchmark::State& state) {
    const std::string wire = pubsub_messages(static_cast<std::size_t>(state.range(0)));
    std::vector<redis::node> nodes;
    for (auto _ : state) {
        std::string_view rest = wire;
        boost::system::error_code ec;
        while (!rest.empty()) {
            std::size_t used = redis::parse(rest, nodes, ec);
            benchmark::DoNotOptimize(nodes.data());
            rest.remove_prefix(used);
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(resp_parse_messages)->Arg(1)->Arg(100);

// The client side: what a browser (and the bench) does with every frame.
void sse_decode(benchmark::State& state) {
    std::string frames;
    for (int i = 0; i < 100; ++i)
        sse::append_data_frame(frames, event_payload);
    sse::decoder decoder;
    for (auto _ : state)
        benchmark::DoNotOptimize(decoder.feed(frames));
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(sse_decode);

} // namespace

BENCHMARK_MAIN();
