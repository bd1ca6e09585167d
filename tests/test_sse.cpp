#include <ssebridge/sse/decoder.hpp>
#include <ssebridge/sse/encode.hpp>

#define BOOST_TEST_MODULE sse
#include <boost/test/unit_test.hpp>

using namespace ssebridge;

BOOST_AUTO_TEST_CASE(data_frame_is_the_seed_format) {
    BOOST_TEST(sse::data_frame(R"({"event_type":"x"})") == "data: {\"event_type\":\"x\"}\n\n");
    std::string out;
    sse::append_comment(out, "keepalive");
    BOOST_TEST(out == sse::keepalive_frame);
}

BOOST_AUTO_TEST_CASE(line_breaks_never_break_a_frame) {
    for (std::string_view payload : {"a\nb", "a\r\nb", "a\rb", "\n", "a\n\nb\n"}) {
        std::string frame = sse::data_frame(payload);
        // Exactly one blank line, at the end: one frame.
        BOOST_TEST(frame.find("\n\n") == frame.size() - 2);
        auto messages = sse::decoder{}.feed(frame);
        BOOST_TEST_REQUIRE(messages.size() == 1u);
        std::string expected(payload);
        for (std::string::size_type p; (p = expected.find("\r\n")) != std::string::npos;)
            expected.replace(p, 2, "\n");
        std::replace(expected.begin(), expected.end(), '\r', '\n');
        BOOST_TEST(messages[0].data == expected);
    }
}

BOOST_AUTO_TEST_CASE(optional_fields_are_encoded_and_decoded) {
    std::string out;
    sse::append_event(out, {.data = "hello", .type = "update", .id = "42", .retry_ms = 1500});
    BOOST_TEST(out == "id: 42\nevent: update\nretry: 1500\ndata: hello\n\n");
    auto m = sse::decoder{}.feed(out);
    BOOST_TEST_REQUIRE(m.size() == 1u);
    BOOST_TEST(m[0].type == "update");
    BOOST_TEST(m[0].id == "42");
    BOOST_TEST(m[0].data == "hello");
}

BOOST_AUTO_TEST_CASE(decoder_accepts_any_split_and_line_ending) {
    std::string stream = ": keepalive\r\n\r\ndata: a\r\ndata: b\r\n\r\nevent: e\rdata: c\r\r";
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        sse::decoder d;
        std::vector<sse::message> got;
        d.feed(std::string_view(stream).substr(0, split), got);
        d.feed(std::string_view(stream).substr(split), got);
        BOOST_TEST_REQUIRE(got.size() == 3u);
        BOOST_TEST(got[0].is_comment);
        BOOST_TEST(got[0].comment == "keepalive");
        BOOST_TEST(got[1].data == "a\nb");
        BOOST_TEST(got[1].type == "message");
        BOOST_TEST(got[2].type == "e");
        BOOST_TEST(got[2].data == "c");
    }
}

BOOST_AUTO_TEST_CASE(decoder_ignores_events_without_data_and_keeps_partial_input) {
    sse::decoder d;
    BOOST_TEST(d.feed("event: nothing\n\n").empty());
    BOOST_TEST(d.feed("data: par").empty());
    BOOST_TEST(d.buffered() > 0u);
    auto m = d.feed("tial\n\n");
    BOOST_TEST_REQUIRE(m.size() == 1u);
    BOOST_TEST(m[0].data == "partial");
    BOOST_TEST(m[0].type == "message"); // the event type was reset by the empty event
}

BOOST_AUTO_TEST_CASE(find_line_break_finds_the_first_cr_or_lf) {
    constexpr auto npos = std::string_view::npos;
    BOOST_TEST(sse::find_line_break("") == npos);
    BOOST_TEST(sse::find_line_break("no break at all") == npos);
    BOOST_TEST(sse::find_line_break("a\nb\rc") == 1u);
    BOOST_TEST(sse::find_line_break("ab\rc\nd") == 2u);
    BOOST_TEST(sse::find_line_break("abc\r\n") == 3u);
    BOOST_TEST(sse::find_line_break("\n") == 0u);
    // Long inputs, break near the end, as the vectorised scans see them.
    std::string long_text(4096, 'x');
    long_text[4000] = '\r';
    long_text[4090] = '\n';
    BOOST_TEST(sse::find_line_break(long_text) == 4000u);
    long_text[4000] = 'x';
    BOOST_TEST(sse::find_line_break(long_text) == 4090u);
}
