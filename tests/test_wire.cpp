// The wire contract without I/O: names, events, requests, Kafka records.
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/wire/token.hpp>
#include <ssebridge/wire/ui_stream.hpp>

#define BOOST_TEST_MODULE wire
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>

#include <set>
#include <vector>

using namespace ssebridge;
using wire::event_kind;

namespace {
std::optional<event_kind> kind(std::string_view message) {
    auto info = wire::inspect_event(message);
    if (!info)
        return std::nullopt;
    return info->kind;
}
} // namespace

BOOST_AUTO_TEST_CASE(names_carry_the_channel_as_a_cluster_hash_tag) {
    BOOST_TEST(wire::session_channel("abc") == "sse_session:abc");
    BOOST_TEST(wire::log_key("abc") == "sse_log:{sse_session:abc}");
    BOOST_TEST(wire::cancel_key("abc") == "sse_cancel:{sse_session:abc}");
    BOOST_TEST(wire::control_channel("abc") == "sse_control:{sse_session:abc}");
}

BOOST_AUTO_TEST_CASE(session_ids_are_128_random_bits_in_hex) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        std::string id = wire::make_session_id();
        BOOST_TEST_REQUIRE(wire::is_session_id(id));
        seen.insert(id);
    }
    BOOST_TEST(seen.size() == 10000u);
    for (auto bad : {"", "abc", "0123456789abcdef0123456789abcdeF",
                     "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
                     "0123456789abcdef0123456789abcdeg", "../../../../../../../../etc/pass"})
        BOOST_TEST(!wire::is_session_id(bad), bad);
}

BOOST_AUTO_TEST_CASE(event_kinds_are_read_from_the_top_level_type) {
    BOOST_TEST((kind(R"({"event_type":"AgentThoughtStream","payload":{"char":"H"}})") ==
                event_kind::other));
    BOOST_TEST((kind(R"({"event_type": "worker_ack", "payload": {}})") == event_kind::ack));
    BOOST_TEST((kind(R"({"event_type":"FinalAnswerStreamEnd"})") == event_kind::final));
    BOOST_TEST((kind(R"({"event_type":"cancelled","payload":{}})") == event_kind::cancelled));
    BOOST_TEST((kind(R"({"event_type":"SomethingNew","payload":[1,2]})") == event_kind::other));
    BOOST_TEST(wire::is_terminal(event_kind::final));
    BOOST_TEST(wire::is_terminal(event_kind::cancelled));
    BOOST_TEST(!wire::is_terminal(event_kind::ack));
}

BOOST_AUTO_TEST_CASE(the_event_type_is_read_as_a_parser_would) {
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
    BOOST_TEST((kind(R"({"event_type":"AVeryLongEventTypeNameThatGoesOnAndOnAndOnAndOnAndOn"})") ==
                event_kind::other));
    BOOST_TEST((kind(R"({"event_type":"worker_ack_but_longer_than_the_buffer_of_the_finder"})") ==
                event_kind::other));
    BOOST_TEST((kind(" {\"event_type\":\"worker_ack\"} \n") == event_kind::ack));
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_recognised) {
    for (auto bad :
         {"", "garbage", "[1,2]", "\"text\"", R"({"event_type":"x")", R"({"event_type":"x"} {})",
          R"({"event_type":"x"}])", "{\"event_type\":\"\xff\"}", R"({"event_type":"x",})"}) {
        auto r = wire::inspect_event(bad);
        BOOST_TEST_REQUIRE(!r.has_value(), bad);
        BOOST_TEST((r.error() == wire::error::event_not_json_object), bad);
    }
    for (auto untyped : {"{}", R"({"event_type":5})", R"({"payload":{}})", R"({"event_type":null})",
                         R"({"event_type":{}})", R"({"event_type":["worker_ack"]})",
                         R"({"payload":{"event_type":"x"}})"}) {
        auto r = wire::inspect_event(untyped);
        BOOST_TEST_REQUIRE(!r.has_value(), untyped);
        BOOST_TEST((r.error() == wire::error::event_without_type), untyped);
    }
}

BOOST_AUTO_TEST_CASE(recorded_events_carry_their_stream_entry_id) {
    auto info = wire::inspect_event(R"({"id":"1700000000000-7","event_type":"x","payload":{}})");
    BOOST_TEST_REQUIRE(info.has_value());
    BOOST_TEST_REQUIRE(info->id.has_value());
    BOOST_TEST(info->id->ms == 1700000000000u);
    BOOST_TEST(info->id->seq == 7u);
    BOOST_TEST(info->id->to_string() == "1700000000000-7");
    // Plain (seed) events have none; an id that is not an entry id is none.
    BOOST_TEST(!wire::inspect_event(R"({"event_type":"x"})")->id);
    BOOST_TEST(!wire::inspect_event(R"({"id":7,"event_type":"x"})")->id);
    BOOST_TEST(!wire::inspect_event(R"({"id":"7","event_type":"x"})")->id);
    BOOST_TEST(!wire::inspect_event(R"({"payload":{"id":"1-1"},"event_type":"x"})")->id);
    // Ids order as Redis orders them.
    auto a = wire::entry_id::parse("5-10");
    auto b = wire::entry_id::parse("10-2");
    BOOST_TEST_REQUIRE((a && b));
    BOOST_TEST((*a < *b));
    BOOST_TEST((*wire::entry_id::parse("5-10") == *a));
    for (auto bad : {"", "-", "1-", "-1", "1-2-3", "a-1", "1 -2", "+1-2", "18446744073709551616-0",
                     "01-0", "1-00"}) // not as Redis writes them (a fuzzer's finding)
        BOOST_TEST(!wire::entry_id::parse(bad), bad);
    BOOST_TEST(wire::entry_id::parse("0-0").has_value());
}

BOOST_AUTO_TEST_CASE(event_messages_are_the_seed_format) {
    BOOST_TEST(wire::event_message("worker_ack").value() ==
               R"({"event_type":"worker_ack","payload":{}})");
    BOOST_TEST(wire::event_message("FinalAnswerStream", "{\n \"char\": \"\\n\"\n}").value() ==
               R"({"event_type":"FinalAnswerStream","payload":{"char":"\n"}})");
    BOOST_TEST(wire::event_message("odd\"type", "[1]").value() ==
               R"({"event_type":"odd\"type","payload":[1]})");
    auto bad = wire::event_message("x", "{not json");
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST((bad.error() == wire::error::payload_not_json));
    BOOST_TEST(bad.error().message() == "payload is not valid JSON");
}

BOOST_AUTO_TEST_CASE(error_events_carry_a_code_and_whether_to_retry) {
    auto v = boost::json::parse(wire::error_message(wire::end_code::ack_timeout, "no \"ack\""));
    BOOST_TEST(v.at("event_type").as_string() == "error");
    BOOST_TEST(v.at("payload").at("error").as_string() == "no \"ack\"");
    BOOST_TEST(v.at("payload").at("code").as_string() == "ack_timeout");
    BOOST_TEST(v.at("payload").at("retryable").as_bool() == false);
    for (auto code : {wire::end_code::backend_lost, wire::end_code::slow_client,
                      wire::end_code::write_timeout, wire::end_code::shutting_down})
        BOOST_TEST(wire::is_retryable(code), wire::code_name(code));
    for (auto code : {wire::end_code::ack_timeout, wire::end_code::idle_timeout,
                      wire::end_code::early_overflow})
        BOOST_TEST(!wire::is_retryable(code), wire::code_name(code));
}

BOOST_AUTO_TEST_CASE(session_requests_are_checked_as_the_contract_says) {
    BOOST_TEST(wire::check_session_request(R"({"user_query":"hi","model_alias":"x"})").has_value());
    auto expect = [](std::string_view body, wire::error e, unsigned status) {
        auto r = wire::check_session_request(body);
        BOOST_TEST_REQUIRE(!r.has_value(), body);
        BOOST_TEST((r.error() == e), body);
        BOOST_TEST(wire::http_status(r.error()) == status, body);
        BOOST_TEST(!r.error().message().empty());
    };
    expect("", wire::error::empty_body, 400);
    expect("  \n", wire::error::empty_body, 400);
    expect("{nope", wire::error::body_not_json, 400);
    expect("[1]", wire::error::body_not_object, 422);
    expect("\"text\"", wire::error::body_not_object, 422);
    expect("{}", wire::error::user_query_missing, 422);
    expect(R"({"user_query":5})", wire::error::user_query_not_string, 422);
    expect(R"({"user_query":""})", wire::error::user_query_empty, 422);
    expect(R"({"user_query":"q","n":{"x":[-1e400]}})", wire::error::number_out_of_range, 422);
    BOOST_TEST(wire::http_status(wire::error::record_not_json) == 500u);
    BOOST_TEST(wire::is_json_media_type("application/json"));
    BOOST_TEST(wire::is_json_media_type("Application/JSON; charset=utf-8"));
    BOOST_TEST(!wire::is_json_media_type("text/plain"));
    BOOST_TEST(!wire::is_json_media_type("application/jsonx"));
}

BOOST_AUTO_TEST_CASE(an_sse_client_is_one_whose_accept_names_text_event_stream) {
    for (std::string_view yes : {"text/event-stream", "Text/Event-Stream", " text/event-stream ",
                                 "application/json, text/event-stream", "text/event-stream; q=0.5",
                                 "text/html;q=0.9, text/event-stream;charset=utf-8;q=0.1"})
        BOOST_TEST(wire::accepts_event_stream(yes), yes);
    for (std::string_view no :
         {"", "*/*", "text/*", "application/json", "text/event-streams", "text/event-stream;q=0",
          "text/event-stream; q=0.000", "xtext/event-stream", ",,"})
        BOOST_TEST(!wire::accepts_event_stream(no), no);
}

BOOST_AUTO_TEST_CASE(kafka_records_carry_the_request_verbatim_and_read_back) {
    std::string body = "{\"user_query\": \"q\",\n \"n\": 1.50}";
    std::string record = wire::kafka_record("abc", body);
    BOOST_TEST(record.find(body) != std::string::npos);
    auto r = wire::parse_kafka_record(record);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->session_id == "abc");
    BOOST_TEST(r->user_query == "q");
    BOOST_TEST(boost::json::parse(r->body).at("n").as_double() == 1.5);
    for (auto bad : {"", "nope"})
        BOOST_TEST((wire::parse_kafka_record(bad).error() == wire::error::record_not_json), bad);
    for (auto bad :
         {"[]", R"({"request":{}})", R"({"session_id":"","request":{}})",
          R"({"session_id":5,"request":{}})", R"({"session_id":"a\f","request":{}})",
          R"({"session_id":"a b","request":{}})", R"({"session_id":"a\"","request":{}})"})
        BOOST_TEST(
            (wire::parse_kafka_record(bad).error() == wire::error::record_without_session_id), bad);
    // The body as the client wrote it (numbers too), and only one value of it.
    BOOST_TEST(wire::parse_kafka_record(R"({"session_id":"s","request":{"n": 2.30e1 }})")->body ==
               R"({"n": 2.30e1 })");
    BOOST_TEST(wire::parse_kafka_record(R"({"session_id":"s","request":{"a":1},"request":{"b":2}})")
                   ->body == R"({"b":2})");
    BOOST_TEST((wire::parse_kafka_record(R"({"session_id":"s","request":{"n":[1e400]}})").error() ==
                wire::error::number_out_of_range)); // a fuzzer's finding
    for (auto bad : {R"({"session_id":"s"})", R"({"session_id":"s","request":[1]})"})
        BOOST_TEST((wire::parse_kafka_record(bad).error() == wire::error::record_without_request),
                   bad);
}

BOOST_AUTO_TEST_CASE(cursors_name_their_session_and_are_bound_to_the_body) {
    const std::string id(32, 'a');
    const std::string body = wire::sha256_hex("{\"user_query\":\"q\"}");
    std::string cursor = "1764500000000-3" + wire::cursor_suffix("secret", id, body);
    BOOST_TEST(cursor.size() == 15 + 1 + 32 + 1 + 22); // 128-bit MAC, base64url
    auto read = wire::check_cursor("secret", cursor, body);
    BOOST_TEST_REQUIRE(read.has_value());
    BOOST_TEST(read->session_id == id);
    BOOST_TEST(read->at.to_string() == "1764500000000-3");
    BOOST_TEST(wire::cursor_position(cursor) == "1764500000000-3");
    BOOST_TEST(wire::cursor_position("17-0") == "17-0");
    // Any event of the stream: the suffix is the stream's.
    BOOST_TEST(wire::check_cursor("secret", "1-0" + wire::cursor_suffix("secret", id, body), body)
                   .has_value());
    // The error's value: what Boost.Test can print.
    auto code = [](const wire::result<wire::stream_cursor>& r) {
        return r.error().value();
    };
    const int invalid = static_cast<int>(wire::error::cursor_invalid);
    const int malformed = static_cast<int>(wire::error::cursor_malformed);
    BOOST_TEST(code(wire::check_cursor("secret", cursor, wire::sha256_hex("other"))) == invalid);
    BOOST_TEST(code(wire::check_cursor("other secret", cursor, body)) == invalid);
    std::string other_session =
        "1764500000000-3." + std::string(32, 'b') + cursor.substr(cursor.rfind('.'));
    BOOST_TEST(code(wire::check_cursor("secret", other_session, body)) == invalid);
    for (std::string bad :
         {std::string(), std::string("1764500000000-3"), "x." + id + ".AAAAAAAAAAAAAAAAAAAAAA",
          "1-0.." + std::string(22, 'A'), "1-0." + id + ".short"})
        BOOST_TEST(code(wire::check_cursor("secret", bad, body)) == malformed, bad);
    BOOST_TEST(wire::http_status(wire::error::cursor_malformed) == 400u);
    BOOST_TEST(wire::http_status(wire::error::cursor_invalid) == 409u);
}

BOOST_AUTO_TEST_CASE(tokens_open_one_session_until_they_expire) {
    const std::string secret = "s3cret";
    const std::string id = wire::make_session_id();
    std::string token = wire::make_token(secret, id, wire::session_scope, 2000);
    BOOST_TEST(token.rfind("session.2000.", 0) == 0u);
    BOOST_TEST(token.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_.") == std::string::npos); // URL-safe
    BOOST_TEST(wire::check_token(secret, token, id, wire::session_scope, 1999).has_value());
    auto check = [&](std::string_view t, std::string_view session, std::string_view scope,
                     std::int64_t now, wire::error expected) {
        auto r = wire::check_token(secret, t, session, scope, now);
        BOOST_TEST_REQUIRE(!r.has_value(), t);
        BOOST_TEST((r.error() == expected), t);
        BOOST_TEST(wire::http_status(r.error()) == 401u);
    };
    check(token, id, wire::session_scope, 2000, wire::error::token_expired);
    check(token, wire::make_session_id(), wire::session_scope, 1000, wire::error::token_invalid);
    check(token, id, "other", 1000, wire::error::token_invalid);
    BOOST_TEST(!wire::check_token("other secret", token, id, wire::session_scope, 1000));
    // A later expiry with the old MAC does not pass.
    std::string extended = token;
    extended.replace(8, 4, "9999");
    check(extended, id, wire::session_scope, 1000, wire::error::token_invalid);
    std::string flipped = token;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    check(flipped, id, wire::session_scope, 1000, wire::error::token_invalid);
    for (auto bad :
         {"", "x", "session.2000", "session..abc", "session.20x0.abc", "session.2000.tooshort"})
        check(bad, id, wire::session_scope, 1000, wire::error::token_malformed);
    BOOST_TEST(wire::make_token_secret() != wire::make_token_secret());
    BOOST_TEST(wire::make_token_secret().size() == 64u);
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_hashed_and_checked) {
    BOOST_TEST(wire::sha256_hex("abc") ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(wire::idempotency_key("abc") ==
               "sse_idem:{ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}");
    // Scoped: the hash covers the scope, so two callers' keys never meet.
    BOOST_TEST(wire::idempotency_key("abc", "") == wire::idempotency_key("abc"));
    BOOST_TEST(wire::idempotency_key("abc", "alice") ==
               "sse_idem:{" + wire::sha256_hex("alice\nabc") + "}");
    BOOST_TEST(wire::idempotency_key("abc", "alice") != wire::idempotency_key("abc", "bob"));
    BOOST_TEST(wire::idempotency_key("abc", "alice") != wire::idempotency_key("abc"));
    BOOST_TEST(wire::is_idempotency_key("order-42_retry.1"));
    BOOST_TEST(wire::is_idempotency_key(std::string(255, 'k')));
    for (std::string bad : {std::string(), std::string(256, 'k'), std::string("with space"),
                            std::string("tab\t"), std::string("é")})
        BOOST_TEST(!wire::is_idempotency_key(bad), bad);
}

namespace {
// The chunks of a UI message stream, each frame's text after `data: `.
std::vector<std::string> chunks_of(const std::string& out) {
    std::vector<std::string> chunks;
    for (std::size_t at = 0; at < out.size();) {
        std::size_t end = out.find("\n\n", at);
        BOOST_TEST_REQUIRE(end != std::string::npos, "a frame without its blank line");
        std::string frame = out.substr(at, end - at);
        BOOST_TEST_REQUIRE(frame.starts_with("data: "), frame);
        chunks.push_back(frame.substr(6));
        at = end + 2;
    }
    return chunks;
}

std::string seed_event(std::string_view type, std::string_view payload = "{}") {
    return wire::event_message(type, payload).value();
}
} // namespace

BOOST_AUTO_TEST_CASE(a_seed_answer_becomes_the_ui_message_streams_chunks) {
    wire::ui_message_stream ui;
    std::string out;
    wire::ui_message_stream::append_start(out, "0123abcd");
    BOOST_TEST(!ui.append(out, seed_event("worker_ack")));
    BOOST_TEST(!ui.append(out, seed_event("AgentThoughtStream", R"({"char":"H"})")));
    BOOST_TEST(!ui.append(out, seed_event("AgentThoughtStream", R"({"char":"m"})")));
    BOOST_TEST(!ui.append(
        out, seed_event("AgentToolCallStart", R"({"tool_name":"web_search","query":"Paris"})")));
    // A recorded event (its id first) reads the same.
    BOOST_TEST(!ui.append(
        out, wire::recorded_message("1-2", seed_event("FinalAnswerStream", R"({"char":"\""})"))));
    BOOST_TEST(!ui.append(out, seed_event("FinalAnswerStream", R"({"char":"\n"})")));
    BOOST_TEST(ui.append(out, seed_event("FinalAnswerStreamEnd")));
    std::vector<std::string> expected{
        R"({"type":"start","messageId":"0123abcd"})",
        R"({"type":"start-step"})",
        R"({"type":"reasoning-start","id":"reasoning-1"})",
        R"({"type":"reasoning-delta","id":"reasoning-1","delta":"H"})",
        R"({"type":"reasoning-delta","id":"reasoning-1","delta":"m"})",
        R"({"type":"reasoning-end","id":"reasoning-1"})",
        R"({"type":"tool-input-start","toolCallId":"call-2","toolName":"web_search"})",
        R"({"type":"tool-input-available","toolCallId":"call-2","toolName":"web_search","input":{"query":"Paris"}})",
        R"({"type":"text-start","id":"text-3"})",
        R"({"type":"text-delta","id":"text-3","delta":"\""})",
        R"({"type":"text-delta","id":"text-3","delta":"\n"})",
        R"({"type":"text-end","id":"text-3"})",
        R"({"type":"finish-step"})",
        R"({"type":"finish","finishReason":"stop"})",
        "[DONE]"};
    BOOST_TEST(chunks_of(out) == expected, boost::test_tools::per_element());

    // A replay of the same events from the start writes the same bytes.
    wire::ui_message_stream again;
    std::string replayed;
    wire::ui_message_stream::append_start(replayed, "0123abcd");
    for (auto [type, payload] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"worker_ack", "{}"},
             {"AgentThoughtStream", R"({"char":"H"})"},
             {"AgentThoughtStream", R"({"char":"m"})"},
             {"AgentToolCallStart", R"({"tool_name":"web_search","query":"Paris"})"},
             {"FinalAnswerStream", R"({"char":"\""})"},
             {"FinalAnswerStream", R"({"char":"\n"})"},
             {"FinalAnswerStreamEnd", "{}"}})
        again.append(replayed, seed_event(type, payload));
    BOOST_TEST(replayed == out);
}

BOOST_AUTO_TEST_CASE(other_events_become_data_parts_and_the_ends_end_the_ui_stream) {
    wire::ui_message_stream ui;
    std::string out;
    BOOST_TEST(!ui.append(out, seed_event("FinalAnswerStream", R"({"char":"a"})")));
    BOOST_TEST(!ui.append(out, seed_event("SourcesFound", R"({"urls":["https://a.example"]})")));
    BOOST_TEST(!ui.append(out, seed_event("Progress", "42")));
    BOOST_TEST(!ui.append(out, seed_event("FinalAnswerStream", R"({"char":7})"))); // not a char
    BOOST_TEST(!ui.append(out, "not json"));                                       // skipped
    BOOST_TEST(!ui.append(out, R"({"payload":{}})")); // no type: skipped
    BOOST_TEST(!ui.append(out, R"({"event_type":"ToolResult","payload":{}})"));
    std::vector<std::string> expected{
        R"({"type":"text-start","id":"text-1"})",
        R"({"type":"text-delta","id":"text-1","delta":"a"})",
        R"({"type":"text-end","id":"text-1"})",
        R"({"type":"data-SourcesFound","data":{"urls":["https://a.example"]}})",
        R"({"type":"data-Progress","data":42})",
        R"({"type":"data-FinalAnswerStream","data":{"char":7}})",
        R"({"type":"data-ToolResult","data":{}})"};
    BOOST_TEST(chunks_of(out) == expected, boost::test_tools::per_element());

    std::string cancelled;
    BOOST_TEST(wire::ui_message_stream{}.append(cancelled,
                                                seed_event("cancelled", R"({"reason":"user"})")));
    BOOST_TEST(chunks_of(cancelled) ==
                   (std::vector<std::string>{R"({"type":"abort","reason":"user"})", "[DONE]"}),
               boost::test_tools::per_element());
    std::string failed;
    BOOST_TEST(wire::ui_message_stream{}.append(
        failed, wire::error_message(wire::end_code::ack_timeout, "worker did not acknowledge")));
    BOOST_TEST(chunks_of(failed) ==
                   (std::vector<std::string>{
                       R"({"type":"error","errorText":"worker did not acknowledge"})", "[DONE]"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_ui_mapping_is_one_table) {
    BOOST_TEST((wire::ui_part_of("worker_ack") == wire::ui_part::step));
    BOOST_TEST((wire::ui_part_of("AgentThoughtStream") == wire::ui_part::reasoning));
    BOOST_TEST((wire::ui_part_of("FinalAnswerStream") == wire::ui_part::text));
    BOOST_TEST((wire::ui_part_of("AgentToolCallStart") == wire::ui_part::tool_input));
    BOOST_TEST((wire::ui_part_of("FinalAnswerStreamEnd") == wire::ui_part::finish));
    BOOST_TEST((wire::ui_part_of("cancelled") == wire::ui_part::abort));
    BOOST_TEST((wire::ui_part_of("error") == wire::ui_part::error));
    BOOST_TEST((wire::ui_part_of("anything else") == wire::ui_part::data));
    BOOST_TEST((wire::ui_part_of("") == wire::ui_part::data));
}

BOOST_AUTO_TEST_CASE(a_use_chat_body_names_its_chat_and_its_question) {
    std::string body =
        R"({"id":"chat-1","messages":[{"id":"m1","role":"user","parts":[{"type":"text","text":"Hi"}]},)"
        R"({"id":"m2","role":"assistant","parts":[{"type":"text","text":"Hello!"}]},)"
        R"({"id":"m3","role":"user","parts":[{"type":"text","text":"Where is "},{"type":"file","url":"x"},)"
        R"({"type":"text","text":"Paris?"}]}],"trigger":"submit-message","messageId":null})";
    auto r = wire::check_chat_request(body);
    BOOST_TEST_REQUIRE(r.has_value(), r.error().message());
    BOOST_TEST(r->chat_id == "chat-1");
    BOOST_TEST(r->user_query == "Where is Paris?");
    // The worker gets the whole body, and user_query as the seed's workers read it.
    auto record = boost::json::parse(r->record_body).as_object();
    BOOST_TEST(record.at("user_query").as_string() == "Where is Paris?");
    record.erase("user_query");
    BOOST_TEST(record == boost::json::parse(body).as_object());
    BOOST_TEST(wire::check_session_request(r->record_body).has_value());

    // Earlier versions of the SDK send `content`; a body with its own user_query keeps it.
    auto older = wire::check_chat_request(
        R"({"id":"c","messages":[{"role":"user","content":"Old style"}]})");
    BOOST_TEST_REQUIRE(older.has_value());
    BOOST_TEST(older->user_query == "Old style");
    std::string own =
        R"({"id":"c","user_query":"mine","messages":[{"role":"user","content":"x"}]})";
    BOOST_TEST(wire::check_chat_request(own)->record_body == own);
}

BOOST_AUTO_TEST_CASE(a_chat_body_without_a_chat_or_a_question_is_refused) {
    auto code = [](std::string_view body) {
        auto r = wire::check_chat_request(body);
        return r ? 0 : r.error().value();
    };
    auto as_int = [](wire::error e) {
        return static_cast<int>(e);
    };
    const std::string user = R"("messages":[{"role":"user","parts":[{"type":"text","text":"q"}]}])";
    BOOST_TEST(code("{\"id\":\"ok\"," + user + "}") == 0);
    BOOST_TEST(code("") == as_int(wire::error::empty_body));
    BOOST_TEST(code("{") == as_int(wire::error::body_not_json));
    BOOST_TEST(code("[]") == as_int(wire::error::body_not_object));
    BOOST_TEST(code("{" + user + "}") == as_int(wire::error::chat_id_invalid));
    BOOST_TEST(code("{\"id\":7," + user + "}") == as_int(wire::error::chat_id_invalid));
    BOOST_TEST(code("{\"id\":\"\"," + user + "}") == as_int(wire::error::chat_id_invalid));
    BOOST_TEST(code("{\"id\":\"a b\"," + user + "}") == as_int(wire::error::chat_id_invalid));
    BOOST_TEST(code("{\"id\":\"" + std::string(129, 'c') + "\"," + user + "}") ==
               as_int(wire::error::chat_id_invalid));
    BOOST_TEST(code("{\"id\":\"" + std::string(128, 'c') + "\"," + user + "}") == 0);
    BOOST_TEST(code(R"({"id":"c"})") == as_int(wire::error::chat_without_user_text));
    BOOST_TEST(code(R"({"id":"c","messages":[]})") == as_int(wire::error::chat_without_user_text));
    BOOST_TEST(code(R"({"id":"c","messages":[{"role":"assistant","content":"a"}]})") ==
               as_int(wire::error::chat_without_user_text));
    BOOST_TEST(
        code(R"({"id":"c","messages":[{"role":"user","parts":[{"type":"file","url":"x"}]}]})") ==
        as_int(wire::error::chat_without_user_text));
    BOOST_TEST(wire::http_status(wire::error::chat_id_invalid) == 422u);
    BOOST_TEST(wire::http_status(wire::error::chat_without_user_text) == 422u);
}

BOOST_AUTO_TEST_CASE(a_chat_key_is_random_and_its_owner_is_a_mac_of_it) {
    std::string key = wire::make_chat_key();
    BOOST_TEST(wire::is_chat_key(key));
    BOOST_TEST(key.size() == 22u);
    BOOST_TEST(wire::make_chat_key() != key);
    for (std::string bad :
         {std::string(), key.substr(1), key + "A", key.substr(1) + "=", key.substr(1) + "."})
        BOOST_TEST(!wire::is_chat_key(bad), bad);
    std::string owner = wire::chat_owner("secret", key);
    BOOST_TEST(owner.size() == 22u);
    BOOST_TEST(owner != key);
    BOOST_TEST(wire::chat_owner("secret", key) == owner);
    BOOST_TEST(wire::chat_owner("another secret", key) != owner);
    BOOST_TEST(wire::chat_owner("secret", wire::make_chat_key()) != owner);
    BOOST_TEST(wire::chat_key("chat-1") == "sse_chat:{chat-1}");
}

BOOST_AUTO_TEST_CASE(a_cookie_is_found_by_its_name) {
    BOOST_TEST(wire::cookie_value("ssebridge_chat=abc", "ssebridge_chat").value() == "abc");
    BOOST_TEST(wire::cookie_value("a=1; ssebridge_chat=abc; b=2", "ssebridge_chat").value() ==
               "abc");
    BOOST_TEST(wire::cookie_value("a=1;ssebridge_chat = abc ", "ssebridge_chat").value() == "abc");
    BOOST_TEST(!wire::cookie_value("a=1; xssebridge_chat=abc", "ssebridge_chat"));
    BOOST_TEST(!wire::cookie_value("ssebridge_chatx=abc", "ssebridge_chat"));
    BOOST_TEST(!wire::cookie_value("", "ssebridge_chat"));
    BOOST_TEST(!wire::cookie_value("ssebridge_chat", "ssebridge_chat"));
    BOOST_TEST(wire::cookie_value("ssebridge_chat=", "ssebridge_chat").value().empty());
}
