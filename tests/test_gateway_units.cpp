// Gateway pieces without I/O: configuration, event frames, request checks, ids.
#include <ssebridge/gateway/config.hpp>
#include <ssebridge/gateway/detail/event.hpp>
#include <ssebridge/gateway/session_id.hpp>

#define BOOST_TEST_MODULE gateway_units
#include <boost/test/unit_test.hpp>

#include <ssebridge/sse/decoder.hpp>

#include <boost/json/parse.hpp>

#include <map>
#include <set>

using namespace ssebridge;
using namespace ssebridge::gateway;

namespace {
parsed_config parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return parse_config(args, [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}
} // namespace

BOOST_AUTO_TEST_CASE(defaults_match_the_contract) {
    auto p = parse({});
    BOOST_TEST_REQUIRE(p.cfg.has_value());
    BOOST_TEST(p.cfg->ack_timeout == 10.0);
    BOOST_TEST(p.cfg->keepalive == 15.0);
    BOOST_TEST(p.cfg->idle_timeout == 300.0);
    BOOST_TEST(p.cfg->kafka_timeout == 5.0);
    BOOST_TEST(p.cfg->max_sessions == 10000u);
    BOOST_TEST(p.cfg->max_body == 1048576u);
    BOOST_TEST(p.cfg->kafka_brokers == "embedded");
    BOOST_TEST(p.cfg->kafka_topic == "react_requests");
}

BOOST_AUTO_TEST_CASE(flags_override_environment_and_accept_fractions) {
    auto p = parse({"--keepalive", "0.5", "--ack-timeout=2", "--listen", "0.0.0.0:0"},
                   {{"SSEBRIDGE_KEEPALIVE", "3"},
                    {"SSEBRIDGE_KAFKA_TOPIC", "t"},
                    {"SSEBRIDGE_MAX_QUEUE", "7"}});
    BOOST_TEST_REQUIRE(p.cfg.has_value());
    BOOST_TEST(p.cfg->keepalive == 0.5);
    BOOST_TEST(p.cfg->ack_timeout == 2.0);
    BOOST_TEST(p.cfg->kafka_topic == "t");
    BOOST_TEST(p.cfg->max_queue == 7u);
    BOOST_TEST(p.cfg->listen == "0.0.0.0:0");
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_with_a_reason) {
    for (auto args : std::vector<std::vector<std::string>>{{"--keepalive", "0"},
                                                           {"--keepalive", "-1"},
                                                           {"--keepalive", "soon"},
                                                           {"--max-sessions", "1.5"},
                                                           {"--bogus"},
                                                           {"--listen"},
                                                           {"--log-level", "loud"}}) {
        auto p = parse(args);
        BOOST_TEST(!p.cfg.has_value());
        BOOST_TEST(!p.help);
        BOOST_TEST(!p.message.empty());
    }
    auto env = parse({}, {{"SSEBRIDGE_ACK_TIMEOUT", "never"}});
    BOOST_TEST(!env.cfg.has_value());
    BOOST_TEST(env.message.find("SSEBRIDGE_ACK_TIMEOUT") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag_and_its_variable) {
    auto p = parse({"--help"});
    BOOST_TEST(p.help);
    for (auto word :
         {"--listen", "--redis", "--kafka-brokers", "--kafka-topic", "--ack-timeout", "--keepalive",
          "--idle-timeout", "--kafka-timeout", "--max-sessions", "--max-body", "--max-queue",
          "--write-timeout", "SSEBRIDGE_LISTEN", "SSEBRIDGE_REDIS", "SSEBRIDGE_KAFKA_BROKERS"})
        BOOST_TEST(p.message.find(word) != std::string::npos, word);
}

namespace {
// The frame the gateway writes for `payload`, or "" when it is malformed.
std::string frame_of(std::string_view payload) {
    std::string out;
    if (detail::inspect_event(payload))
        detail::append_event_frame(out, payload);
    return out;
}
} // namespace

BOOST_AUTO_TEST_CASE(event_frames_are_verbatim_one_line_json) {
    std::string msg = R"({"event_type":"AgentThoughtStream","payload":{"char":"H"}})";
    BOOST_TEST(frame_of(msg) == "data: " + msg + "\n\n");
    BOOST_TEST((detail::inspect_event(msg) == detail::event_kind::other));

    // Spacing is kept as the worker wrote it (Python's json.dumps style).
    std::string spaced = R"({"event_type": "worker_ack", "payload": {}})";
    BOOST_TEST((detail::inspect_event(spaced) == detail::event_kind::ack));
    BOOST_TEST(frame_of(spaced) == "data: " + spaced + "\n\n");

    BOOST_TEST((detail::inspect_event(R"({"event_type":"FinalAnswerStreamEnd"})") ==
                detail::event_kind::final));
    // unknown types pass through
    BOOST_TEST((detail::inspect_event(R"({"event_type":"SomethingNew","payload":[1,2]})") ==
                detail::event_kind::other));
}

BOOST_AUTO_TEST_CASE(the_event_type_is_read_as_a_parser_would) {
    using detail::event_kind;
    auto kind = [](std::string_view p) {
        return detail::inspect_event(p);
    };
    // Escapes are decoded before comparing.
    BOOST_TEST((kind(R"({"event_type":"worker\u005fack"})") == event_kind::ack));
    BOOST_TEST((kind(R"({"event\u005ftype":"FinalAnswerStreamEnd"})") == event_kind::final));
    // Only the top-level member counts, wherever it is among the others.
    BOOST_TEST(
        (kind(R"({"payload":{"event_type":"worker_ack"},"event_type":"x"})") == event_kind::other));
    BOOST_TEST(
        (kind(R"({"a":[{"event_type":"worker_ack"}],"event_type":"FinalAnswerStreamEnd"})") ==
         event_kind::final));
    // A repeated key: the last one wins, as in a parsed object.
    BOOST_TEST((kind(R"({"event_type":"worker_ack","event_type":"FinalAnswerStreamEnd"})") ==
                event_kind::final));
    BOOST_TEST(!kind(R"({"event_type":"worker_ack","event_type":7})"));
    // A long type is just another type.
    BOOST_TEST(
        (kind(R"({"event_type":"AVeryLongEventTypeNameThatGoesOnAndOn"})") == event_kind::other));
    BOOST_TEST(
        (kind(R"({"event_type":"worker_ack_but_longer_than_the_buffer"})") == event_kind::other));
    BOOST_TEST((kind(" {\"event_type\":\"worker_ack\"} \n") == event_kind::ack));
}

BOOST_AUTO_TEST_CASE(raw_newlines_are_reserialised_onto_one_line) {
    std::string pretty =
        "{\n  \"event_type\": \"FinalAnswerStream\",\r\n  \"payload\": {\"char\": \"\\n\"}\n}";
    std::string f = frame_of(pretty);
    BOOST_TEST_REQUIRE(!f.empty());
    BOOST_TEST(f.find('\n') == f.size() - 2);
    BOOST_TEST(f.find('\r') == std::string::npos);
    auto m = sse::decoder{}.feed(f);
    BOOST_TEST_REQUIRE(m.size() == 1u);
    auto v = boost::json::parse(m[0].data);
    BOOST_TEST(v.at("payload").at("char").as_string() == "\n");
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_recognised) {
    for (auto bad : {"", "garbage", "[1,2]", "\"text\"", "{}", R"({"event_type":5})",
                     R"({"payload":{}})", R"({"event_type":"x")", R"({"event_type":"x"} {})",
                     R"({"event_type":"x"}])", R"({"event_type":null})", R"({"event_type":{}})",
                     R"({"event_type":["worker_ack"]})", R"({"payload":{"event_type":"x"}})",
                     "{\"event_type\":\"\xff\"}", R"({"event_type":"x",})"})
        BOOST_TEST(!detail::inspect_event(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(error_frames_escape_their_reason) {
    std::string f = detail::error_frame("quote \" and\nnewline");
    BOOST_TEST(f.rfind("data: ", 0) == 0u);
    BOOST_TEST(f.find('\n') == f.size() - 2);
    auto v = boost::json::parse(f.substr(6, f.size() - 8));
    BOOST_TEST(v.at("event_type").as_string() == "error");
    BOOST_TEST(v.at("payload").at("error").as_string() == "quote \" and\nnewline");
}

BOOST_AUTO_TEST_CASE(session_requests_are_checked_as_the_contract_says) {
    BOOST_TEST(!detail::check_session_request(R"({"user_query":"hi","model_alias":"x"})"));
    auto expect = [](std::string_view body, unsigned status) {
        auto r = detail::check_session_request(body);
        BOOST_TEST_REQUIRE(r.has_value(), body);
        BOOST_TEST(r->status == status, body);
        BOOST_TEST(!r->reason.empty());
    };
    expect("", 400);
    expect("  \n", 400);
    expect("{nope", 400);
    expect("[1]", 422);
    expect("\"text\"", 422);
    expect("{}", 422);
    expect(R"({"user_query":5})", 422);
    expect(R"({"user_query":""})", 422);
    BOOST_TEST(detail::is_json_media_type("application/json"));
    BOOST_TEST(detail::is_json_media_type("Application/JSON; charset=utf-8"));
    BOOST_TEST(!detail::is_json_media_type("text/plain"));
    BOOST_TEST(!detail::is_json_media_type("application/jsonx"));
}

BOOST_AUTO_TEST_CASE(kafka_records_embed_the_request_verbatim) {
    std::string body = "{\"user_query\": \"q\",\n \"n\": 1.50}";
    auto v = boost::json::parse(detail::kafka_record("abc", body));
    BOOST_TEST(v.at("session_id").as_string() == "abc");
    BOOST_TEST(v.at("request").at("user_query").as_string() == "q");
    BOOST_TEST(detail::kafka_record("abc", body).find(body) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_ids_are_128_random_bits_in_hex) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        std::string id = make_session_id();
        BOOST_TEST_REQUIRE(id.size() == 32u);
        BOOST_TEST_REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        seen.insert(id);
    }
    BOOST_TEST(seen.size() == 10000u);
}
