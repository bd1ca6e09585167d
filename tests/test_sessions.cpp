// The durable session (DESIGN.md §7) end to end: recorded events, tokens,
// GET …/events replay + live, resume from any point, many subscribers,
// reset for a cursor the log lost. Real redis-server, embedded Kafka mock.
#include <ssebridge/coro/event.hpp>
#include <ssebridge/gateway/gateway.hpp>

#define BOOST_TEST_MODULE sessions
#include <boost/test/unit_test.hpp>

#include "support/burst.hpp"
#include "support/gateway_harness.hpp"
#include "support/shared_redis.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/token.hpp>
#include <ssebridge/worker/publish.hpp>
#include <ssebridge/worker/requests.hpp>

#include <boost/system/system_error.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/data/test_case.hpp>

using namespace ssebridge;
using namespace ssebridge::test;

namespace {

BOOST_TEST_GLOBAL_FIXTURE(shared_redis);

const std::string secret = "a shared test secret";

void tweak(gateway::config& c) {
    c.token_secret = secret;
    c.ack_timeout = 30; // a worker joining its Kafka group may take seconds on a busy machine
}

std::string type_of(const sse::message& m) {
    return std::string(boost::json::parse(m.data).at("event_type").as_string());
}

std::string json_id(const sse::message& m) {
    auto v = boost::json::parse(m.data).as_object();
    auto* id = v.if_contains("id");
    return id ? std::string(id->as_string()) : "";
}

std::vector<sse::message> events_only(std::vector<sse::message> all) {
    std::erase_if(all, [](const sse::message& m) { return m.is_comment; });
    return all;
}

struct fixture {
    explicit fixture(const std::function<void(gateway::config&)>& more = {})
        : fixture(shared_server(), more) {}
    fixture(const redis_server& redis, const std::function<void(gateway::config&)>& more)
        : h(redis, [&](gateway::config& c) {
            tweak(c);
            if (more)
                more(c);
        }) {}
    gateway_harness h;

    /// Records one event as a worker does; returns its id.
    std::string record(const std::string& id, std::string type, std::string payload = "{}") {
        return run(h.ioc, publish(*h.publisher, id, std::move(type), std::move(payload))).id;
    }
    static coro::awaitable<worker::published> publish(redis::client& c, std::string id,
                                                      std::string type, std::string payload) {
        co_return co_await worker::publish_event(c, id, type, payload);
    }

    /// Opens GET …/events; `extra` holds extra header lines.
    std::unique_ptr<http_client> get_events(const std::string& target, std::string extra,
                                            http_head& head) {
        auto c = std::make_unique<http_client>(h.ioc.get_executor());
        run(h.ioc, c->connect(h.gw->local_endpoint()));
        run(h.ioc,
            c->send("GET " + target + " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n" +
                    extra + "\r\n"));
        head = run(h.ioc, c->read_head());
        return c;
    }
    std::unique_ptr<http_client> events(const std::string& id, const std::string& token,
                                        const std::string& cursor = "") {
        http_head head;
        std::string extra = "Authorization: Bearer " + token + "\r\n";
        if (!cursor.empty())
            extra += "Last-Event-ID: " + cursor + "\r\n";
        auto c = get_events("/v1/react/sessions/" + id + "/events", extra, head);
        if (head.status != 200)
            throw std::runtime_error("GET events answered " + std::to_string(head.status));
        return c;
    }
    /// The answer of a GET …/events that is refused: status and detail.
    std::pair<unsigned, std::string> refused(const std::string& target, std::string extra = "") {
        http_head head;
        auto c = get_events(target, std::move(extra), head);
        std::string body = run(h.ioc, c->read_body());
        return {head.status, std::string(boost::json::parse(body).at("detail").as_string())};
    }
    /// The ids of every event of a stream until it ends.
    std::vector<std::string> ids_until_end(http_client& c) {
        std::vector<std::string> ids;
        for (auto& m : events_only(h.read_all(c)))
            ids.push_back(json_id(m));
        return ids;
    }
};

std::string token_of(const open_stream& s) {
    return s.head.header("X-Session-Token").value_or("");
}

} // namespace

BOOST_FIXTURE_TEST_CASE(the_post_stream_carries_a_token_and_recorded_ids_in_the_seed_format,
                        fixture) {
    open_stream s = h.open_ok();
    std::string token = token_of(s);
    BOOST_TEST(wire::check_token(secret, token, s.id, wire::session_scope, std::time(nullptr))
                   .has_value());
    std::string ack = record(s.id, "worker_ack");
    std::string one = record(s.id, "FinalAnswerStream", R"({"char":"P"})");
    std::string end = record(s.id, "FinalAnswerStreamEnd");
    std::string body = run(h.ioc, s.client->read_body());
    // data: frames only, each JSON with its id first: the seed's client parses it.
    BOOST_TEST(body == "data: {\"id\":\"" + ack + R"(","event_type":"worker_ack","payload":{}})" +
                           "\n\ndata: {\"id\":\"" + one +
                           R"(","event_type":"FinalAnswerStream","payload":{"char":"P"}})" +
                           "\n\ndata: {\"id\":\"" + end +
                           R"(","event_type":"FinalAnswerStreamEnd","payload":{}})" + "\n\n");
}

namespace {
const std::string question = R"({"user_query":"hello"})";

/// A POST of `body` with `extra` header lines, up to its headers.
open_stream post(fixture& f, const std::string& extra, const std::string& body = question) {
    open_stream s;
    s.client = std::make_unique<http_client>(f.h.ioc.get_executor());
    run(f.h.ioc, s.client->connect(f.h.gw->local_endpoint()));
    run(f.h.ioc,
        s.client->send(post_request(body, "application/json", "/v1/react/sessions", extra)));
    s.head = run(f.h.ioc, s.client->read_head());
    s.id = s.head.header("X-Session-Id").value_or("");
    return s;
}

/// What follows the event id in the cursors of a POST of `body` in session `id`.
std::string suffix_of(const std::string& id, const std::string& body = question) {
    return wire::cursor_suffix(secret, id, wire::sha256_hex(body));
}

struct post_answer {
    std::string body;
    std::vector<std::string> ids;
    std::string session;
};

/// The whole body of a POST with `extra` header lines, its worker
/// recording an ack, one event and the end; the ids those got.
post_answer answer_of_post(fixture& f, const std::string& extra) {
    open_stream s = post(f, extra);
    BOOST_TEST_REQUIRE(s.head.status == 200u);
    std::vector<std::string> ids{f.record(s.id, "worker_ack"),
                                 f.record(s.id, "FinalAnswerStream", R"({"char":"P"})"),
                                 f.record(s.id, "FinalAnswerStreamEnd")};
    return {run(f.h.ioc, s.client->read_body()), ids, s.id};
}

/// The frames of `answer_of_post`'s three events, with `id:` lines (each
/// the event id and `suffix`) or without.
std::string expected_frames(const post_answer& a, bool with_ids) {
    std::vector<std::string> types{"worker_ack", "FinalAnswerStream", "FinalAnswerStreamEnd"};
    std::vector<std::string> payloads{"{}", R"({"char":"P"})", "{}"};
    std::string out;
    for (std::size_t i = 0; i < a.ids.size(); ++i) {
        if (with_ids)
            out += "id: " + a.ids[i] + suffix_of(a.session) + "\n";
        out += "data: {\"id\":\"" + a.ids[i] + "\",\"event_type\":\"" + types[i] +
               "\",\"payload\":" + payloads[i] + "}\n\n";
    }
    return out;
}
} // namespace

BOOST_FIXTURE_TEST_CASE(a_post_stream_carries_ids_when_its_client_asks_for_sse, fixture) {
    // fetch-event-source and seed 002's reader send this: they read id: lines.
    for (std::string accept : {"Accept: text/event-stream\r\n",
                               "Accept: application/json, Text/Event-Stream;q=0.5\r\n"}) {
        post_answer a = answer_of_post(*this, accept);
        BOOST_TEST(a.body == expected_frames(a, true), accept);
    }
    // No Accept, a wildcard, or SSE refused by weight: the seed's frames, byte for byte.
    for (std::string accept : {"", "Accept: */*\r\n", "Accept: text/event-stream;q=0\r\n",
                               "Accept: text/event-streams\r\n"}) {
        post_answer a = answer_of_post(*this, accept);
        BOOST_TEST(a.body == expected_frames(a, false), accept);
    }
}

BOOST_AUTO_TEST_CASE(post_stream_ids_can_be_never_or_always) {
    for (auto when : {gateway::post_stream_ids::never, gateway::post_stream_ids::always}) {
        fixture f([when](gateway::config& c) { c.post_stream_ids = when; });
        bool always = when == gateway::post_stream_ids::always;
        post_answer sse = answer_of_post(f, "Accept: text/event-stream\r\n");
        BOOST_TEST(sse.body == expected_frames(sse, always));
        post_answer plain = answer_of_post(f, "");
        BOOST_TEST(plain.body == expected_frames(plain, always));
    }
}

BOOST_FIXTURE_TEST_CASE(a_post_retried_with_its_last_event_id_resumes_its_session, fixture) {
    const std::string sse = "Accept: text/event-stream\r\n";
    open_stream first = post(*this, sse);
    BOOST_TEST_REQUIRE(first.head.status == 200u);
    std::vector<std::string> ids{record(first.id, "worker_ack"), record(first.id, "A")};
    BOOST_TEST(h.next_event(*first.client).id == ids[0] + suffix_of(first.id));
    std::string cursor = h.next_event(*first.client).id;
    BOOST_TEST(cursor == ids[1] + suffix_of(first.id));
    first.client.reset(); // the network drops
    ids.push_back(record(first.id, "B"));
    // The retry (fetch-event-source's): the same body, its last id, no key.
    open_stream again = post(*this, sse + "Last-Event-ID: " + cursor + "\r\n");
    BOOST_TEST_REQUIRE(again.head.status == 200u);
    BOOST_TEST(again.id == first.id);
    BOOST_TEST(again.head.header("X-Session-Token").has_value());
    sse::message b = h.next_event(*again.client);
    BOOST_TEST(b.id == ids[2] + suffix_of(first.id)); // after A: nothing twice, nothing lost
    ids.push_back(record(first.id, "FinalAnswerStreamEnd"));
    std::vector<sse::message> rest = events_only(h.read_all(*again.client));
    BOOST_TEST_REQUIRE(rest.size() == 1u);
    BOOST_TEST(json_id(rest[0]) == ids[3]);
    BOOST_TEST(h.gw->stats().sessions_started == 1u); // one Kafka record
    BOOST_TEST(h.gw->stats().post_resumes == 1u);
    // Once the session has ended, its last cursor is the end: 204.
    open_stream done = post(*this, sse + "Last-Event-ID: " + rest[0].id + "\r\n");
    BOOST_TEST(done.head.status == 204u);
    BOOST_TEST(h.gw->stats().sessions_started == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_cursor_it_did_not_issue_opens_no_session, fixture) {
    open_stream first = post(*this, "Accept: text/event-stream\r\n");
    BOOST_TEST_REQUIRE(first.head.status == 200u);
    std::string ack = record(first.id, "worker_ack");
    std::string cursor = h.next_event(*first.client).id;
    auto refusal = [&](const std::string& last, const std::string& body) {
        open_stream s = post(*this, "Last-Event-ID: " + last + "\r\n", body);
        std::string detail = run(h.ioc, s.client->read_body());
        return std::pair{s.head.status, detail};
    };
    // Another body with this stream's cursor: not this request's session.
    auto [other_body, why] = refusal(cursor, R"({"user_query":"something else"})");
    BOOST_TEST(other_body == 409u);
    BOOST_TEST(why.find("another request") != std::string::npos, why);
    // Another deployment's (another secret), or a forged MAC.
    std::string foreign =
        ack + wire::cursor_suffix("another secret", first.id, wire::sha256_hex(question));
    BOOST_TEST(refusal(foreign, question).first == 409u);
    std::string forged = cursor;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    BOOST_TEST(refusal(forged, question).first == 409u);
    // Not a cursor of this gateway at all: a bare event id, garbage.
    for (std::string bad : {ack, std::string("nonsense"), ack + "." + first.id + ".short"}) {
        auto [status, detail] = refusal(bad, question);
        BOOST_TEST(status == 400u, bad);
        BOOST_TEST(detail.find("not a cursor") != std::string::npos, detail);
    }
    BOOST_TEST(h.gw->stats().sessions_started == 1u);
    BOOST_TEST(h.gw->stats().post_resumes == 0u);
}

BOOST_FIXTURE_TEST_CASE(events_replays_the_log_then_goes_live_until_the_end, fixture) {
    open_stream s = h.open_ok();
    std::vector<std::string> ids{record(s.id, "worker_ack"), record(s.id, "A"), record(s.id, "B")};
    auto c = events(s.id, token_of(s));
    for (std::size_t i = 0; i < 3; ++i) {
        sse::message m = h.next_event(*c);
        BOOST_TEST(m.id == ids[i]); // the id: line, for EventSource
        BOOST_TEST(json_id(m) == ids[i]);
    }
    ids.push_back(record(s.id, "C"));
    ids.push_back(record(s.id, "FinalAnswerStreamEnd"));
    std::vector<std::string> rest = ids_until_end(*c);
    BOOST_TEST(rest == (std::vector<std::string>{ids[3], ids[4]}),
               boost::test_tools::per_element());
    BOOST_TEST(h.gw->stats().event_streams_started == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_finished_session_resumes_from_any_event_exactly, fixture) {
    open_stream s = h.open_ok();
    std::vector<std::string> ids{record(s.id, "worker_ack")};
    for (int i = 0; i < 18; ++i)
        ids.push_back(record(s.id, "FinalAnswerStream", R"({"char":"x"})"));
    ids.push_back(record(s.id, "FinalAnswerStreamEnd"));
    for (std::size_t k = 0; k < ids.size(); ++k) {
        // A reader cut after k events comes back with the last id it saw.
        std::string cursor = k == 0 ? "" : ids[k - 1];
        auto c = events(s.id, token_of(s), cursor);
        std::vector<std::string> got = ids_until_end(*c);
        std::vector<std::string> expected(ids.begin() + static_cast<long>(k), ids.end());
        BOOST_TEST(got == expected, "k=" << k);
    }
    // The cursor may also come as ?last_event_id= with ?token= (EventSource).
    http_head head;
    auto c = get_events("/v1/react/sessions/" + s.id + "/events?token=" + token_of(s) +
                            "&last_event_id=" + ids[15],
                        "", head);
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(ids_until_end(*c) == std::vector<std::string>(ids.begin() + 16, ids.end()),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_cursor_at_or_after_the_end_gets_no_content, fixture) {
    open_stream s = h.open_ok();
    record(s.id, "worker_ack");
    std::string one = record(s.id, "FinalAnswerStream", R"({"char":"x"})");
    std::string end = record(s.id, "FinalAnswerStreamEnd");
    run(h.ioc, s.client->read_body());
    auto answer = [&](const std::string& cursor) {
        http_head head;
        auto c = get_events(
            "/v1/react/sessions/" + s.id + "/events",
            "Authorization: Bearer " + token_of(s) + "\r\nLast-Event-ID: " + cursor + "\r\n", head);
        return head;
    };
    // The end is the end: 204 makes an EventSource stop reconnecting.
    http_head at_end = answer(end);
    BOOST_TEST(at_end.status == 204u);
    BOOST_TEST(!at_end.header("Content-Type").has_value());
    BOOST_TEST(end == wire::sealing_id.to_string()); // no id can come after it
    BOOST_TEST(h.gw->stats().ended_cursors == 1u);
    // A cursor before the end still gets what follows it.
    auto c = events(s.id, token_of(s), one);
    BOOST_TEST(ids_until_end(*c) == std::vector<std::string>{end},
               boost::test_tools::per_element());
    BOOST_TEST(h.gw->stats().event_streams_started == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_cursor_in_a_session_still_running_is_not_its_end, fixture) {
    open_stream s = h.open_ok();
    record(s.id, "worker_ack");
    std::string one = record(s.id, "FinalAnswerStream", R"({"char":"x"})");
    // The newest event, but not a terminal one: the stream waits for more.
    auto c = events(s.id, token_of(s), one);
    std::string end = record(s.id, "FinalAnswerStreamEnd");
    BOOST_TEST(ids_until_end(*c) == std::vector<std::string>{end},
               boost::test_tools::per_element());
    BOOST_TEST(h.gw->stats().ended_cursors == 0u);
}

namespace {
/// A worker answering with `count` events after its ack, then the end; it
/// stops after `pause_after` of them until `resumed` is set, so that a
/// reader cut there resumes while the answer is still live.
coro::awaitable<void> answer_with_a_pause(redis::client& c, std::string id, int count,
                                          int pause_after, coro::event& reached,
                                          coro::event& resumed, std::vector<std::string>& out,
                                          bool& finished) {
    out.push_back((co_await worker::publish_event(c, id, "worker_ack")).id);
    for (int i = 0; i < count; ++i) {
        if (i == pause_after) {
            reached.set();
            co_await resumed.async_wait();
        }
        out.push_back((co_await worker::publish_event(c, id, "T", "{}")).id);
    }
    out.push_back((co_await worker::publish_event(c, id, "FinalAnswerStreamEnd")).id);
    finished = true;
}
} // namespace

BOOST_FIXTURE_TEST_CASE(readers_cut_at_any_point_of_a_live_answer_lose_and_repeat_nothing,
                        fixture) {
    // Each reader takes k events of a live answer, hangs up, and resumes from
    // its last id while the worker still publishes: a fresh session for each
    // k, whose worker waits at k + 3 events until the resumed reader is back.
    constexpr int count = 120;
    for (std::size_t k : {0u, 1u, 2u, 7u, 40u, 90u, 118u}) {
        open_stream s = h.open_ok();
        std::string token = token_of(s);
        std::vector<std::string> published;
        bool done = false;
        coro::event reached(h.ioc.get_executor()), resumed(h.ioc.get_executor());
        auto pause_after = static_cast<int>(std::min<std::size_t>(k + 3, count - 1));
        asio::co_spawn(h.ioc,
                       answer_with_a_pause(*h.publisher, s.id, count, pause_after, reached, resumed,
                                           published, done),
                       asio::detached);
        std::vector<std::string> seen;
        auto first = events(s.id, token);
        for (std::size_t i = 0; i < k; ++i)
            seen.push_back(json_id(h.next_event(*first)));
        run_until(
            h.ioc, [&] { return reached.is_set(); }, 10s);
        first->close(); // cut mid-answer: more events are published after this
        auto second = events(s.id, token, seen.empty() ? "" : seen.back());
        BOOST_TEST_REQUIRE(!done, "k=" << k);
        resumed.set();
        for (auto& id : ids_until_end(*second))
            seen.push_back(id);
        BOOST_TEST_REQUIRE(done);
        BOOST_TEST(published.size() == count + 2u);
        BOOST_TEST(seen == published, "k=" << k);
    }
}

BOOST_FIXTURE_TEST_CASE(every_subscriber_sees_the_same_sequence, fixture) {
    open_stream s = h.open_ok();
    std::string token = token_of(s);
    std::vector<std::string> ids{record(s.id, "worker_ack")};
    auto a = events(s.id, token);
    ids.push_back(record(s.id, "A"));
    auto b = events(s.id, token);
    auto c = events(s.id, token, ids[0]);
    BOOST_TEST(h.numsub(s.id) == 1); // the POST stream and three readers: one subscription
    for (int i = 0; i < 5; ++i)
        ids.push_back(record(s.id, "T"));
    ids.push_back(record(s.id, "FinalAnswerStreamEnd"));
    std::vector<std::string> from_a = ids_until_end(*a);
    BOOST_TEST(from_a == ids, boost::test_tools::per_element());
    BOOST_TEST(ids_until_end(*b) == ids, boost::test_tools::per_element());
    BOOST_TEST(ids_until_end(*c) == std::vector<std::string>(ids.begin() + 1, ids.end()),
               boost::test_tools::per_element());
    std::vector<std::string> post_ids;
    for (auto& m : events_only(h.read_all(*s.client)))
        post_ids.push_back(json_id(m));
    BOOST_TEST(post_ids == ids, boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_cursor_the_log_lost_gives_a_reset_then_what_it_kept, fixture) {
    open_stream s = h.open_ok();
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i)
        ids.push_back(record(s.id, i == 0 ? "worker_ack" : "T"));
    run(h.ioc, h.publisher->async_exec(
                   redis::make_command({"XTRIM", wire::log_key(s.id), "MAXLEN", "3"})));
    // No cursor means "from the session's first event": the log lost it.
    for (std::string cursor :
         {std::string(), ids[2], std::string("1-1"), std::string("not-an-id")}) {
        auto c = events(s.id, token_of(s), cursor);
        sse::message reset = h.next_event(*c);
        BOOST_TEST(type_of(reset) == "reset");
        BOOST_TEST(!boost::json::parse(reset.data).at("payload").at("reason").as_string().empty());
        for (std::size_t i = 7; i < 10; ++i)
            BOOST_TEST(json_id(h.next_event(*c)) == ids[i]);
    }
    BOOST_TEST(h.gw->stats().resets == 4u);
}

namespace {
struct own_redis {
    redis_server redis;
};
/// A gateway on a Redis of its own, to restart or hang, that notices a
/// hung Redis within 0.3 s.
struct breakable_redis : own_redis, fixture {
    breakable_redis()
        : fixture(redis, [](gateway::config& c) { c.redis_timeout = 0.3; }) {}
};
} // namespace

// Redis restarted (the log lost with it: no persistence here) or hung
// (SIGSTOP) in the middle of a burst a client reads through the gateway.
// Its stream ends as backend_lost; the client comes back with the last id
// it saw, as fetch-event-source and EventSource do, until the stream ends.
// Hung: it gets exactly the rest. Restarted: a `reset`, then exactly what
// the log kept (or, when the event it saw last was recorded again after
// the restart, the rest). A client that was away as Redis restarted comes
// back to a `reset` and the log. Nothing twice, nothing after the end.
BOOST_DATA_TEST_CASE_F(breakable_redis, a_client_resumes_through_the_gateway_whatever_redis_does,
                       boost::unit_test::data::make({"restart", "hang", "restart while away"}),
                       fault) {
    const std::string_view what = fault;
    const bool away = what == "restart while away"; // the client hung up before it
    open_stream s = h.open_ok();
    std::string token = token_of(s);
    auto cfg = redis::config::from_url(redis.url()).value();
    cfg.reply_timeout = 300ms;
    bursting_writer worker(h.ioc, cfg, s.id, 400);
    const std::vector<std::string>& sent = worker.sent;

    std::vector<std::string> seen;   // every event's id, across the client's streams
    std::vector<std::size_t> resets; // where in `seen` each reset came
    int cuts = 0;
    // Takes one stream's events; true once the session's end came.
    auto take = [&](const std::vector<sse::message>& stream) {
        for (const sse::message& m : stream) {
            std::string type = type_of(m);
            if (type == "reset") {
                resets.push_back(seen.size());
                continue;
            }
            if (type == "error") {
                auto code = boost::json::parse(m.data).at("payload").at("code").as_string();
                BOOST_TEST(code == "backend_lost");
                BOOST_TEST(json_id(m).empty()); // not recorded: not the session's end
                ++cuts;
                return false;
            }
            seen.push_back(json_id(m));
            if (type == wire::event_type::final_answer_end)
                return true;
        }
        return false;
    };
    auto first = events(s.id, token);
    while (seen.size() < 100)
        seen.push_back(json_id(h.next_event(*first)));
    if (away) {
        first->close();
        run_until(
            h.ioc, [&] { return sent.size() >= 150; }, 10s); // its cursor is long recorded
    }
    if (what != "hang") {
        redis.stop();
        redis.start();
    } else {
        redis.pause();
        run(h.ioc, sleep_for(1s));
        redis.resume();
    }
    bool ended = !away && take(events_only(h.read_all(*first)));
    int refusals = 0;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         !ended && std::chrono::steady_clock::now() < until;) {
        run(h.ioc, sleep_for(250ms)); // the least of the retry hint
        http_head head;
        auto again = get_events(
            "/v1/react/sessions/" + s.id + "/events",
            "Authorization: Bearer " + token + "\r\nLast-Event-ID: " + seen.back() + "\r\n", head);
        if (head.status != 200) {
            ++refusals; // Redis not back yet
            continue;
        }
        ended = take(events_only(h.read_all(*again)));
    }
    BOOST_TEST_REQUIRE(ended);
    run_until(
        h.ioc, [&] { return worker.finished; }, 10s);
    BOOST_TEST_REQUIRE(sent.size() == 402u);
    BOOST_TEST((away || cuts >= 1)); // the fault reached the client
    BOOST_TEST(seen.back() == wire::sealing_id.to_string());
    // Nothing twice (ids only increase), nothing the writer did not record.
    std::vector<wire::entry_id> order;
    for (const std::string& id : seen)
        order.push_back(wire::entry_id::parse(id).value());
    bool increasing =
        std::adjacent_find(order.begin(), order.end(), std::greater_equal<>()) == order.end();
    BOOST_TEST(increasing);
    redis::reply log = run(h.ioc, worker.client.async_exec(redis::make_command(
                                      {"XRANGE", wire::log_key(s.id), "-", "+"})));
    std::vector<std::string> logged;
    for (const redis::reply& entry : log.elements)
        logged.push_back(entry.elements[0].value);
    if (what == "hang")
        BOOST_TEST(logged == sent, boost::test_tools::per_element());
    else // the log lost what came before the restart
        BOOST_TEST(logged.size() < sent.size());
    BOOST_TEST((!away || !resets.empty()));
    if (resets.empty()) {
        // The client's cursor was in the log (after a hang, or an event
        // recorded again after the restart): it got all of it.
        BOOST_TEST(seen == sent, boost::test_tools::per_element());
    } else {
        // Its cursor was lost with the log: before the reset, what the
        // writer sent first; after it, the log.
        BOOST_TEST(what != "hang");
        BOOST_TEST(std::count(resets.begin(), resets.end(), resets.front()) ==
                   static_cast<long>(resets.size()));
        std::size_t at = resets.front();
        BOOST_TEST(std::equal(seen.begin(), seen.begin() + static_cast<long>(at), sent.begin()));
        BOOST_TEST(std::vector<std::string>(seen.begin() + static_cast<long>(at), seen.end()) ==
                       logged,
                   boost::test_tools::per_element());
    }
    BOOST_TEST_MESSAGE(fault << ": " << seen.size() << " of " << sent.size() << " events seen, "
                             << cuts << " cuts, " << refusals << " refusals, " << resets.size()
                             << " resets");
}

namespace {
constexpr std::size_t replay_memory = 1 << 20;
struct small_replay_memory : fixture {
    small_replay_memory()
        : fixture([](gateway::config& c) {
            c.replay_memory = replay_memory;
            c.write_timeout = 1;
            c.max_queue = 100000; // only the write timeout cuts a stalled reader
        }) {}
};
} // namespace

// A log of big events (tool results, documents): each reader that stops
// reading holds one page (256 KiB), all of them no more than
// --replay-memory; the readers beyond it wait their turn and get the whole
// log; the stalled ones are cut at the write timeout.
BOOST_FIXTURE_TEST_CASE(stalled_readers_of_big_events_hold_a_bounded_memory, small_replay_memory) {
    open_stream s = h.open_ok();
    const std::string payload = "{\"text\":\"" + std::string(50 * 1024, 'x') + "\"}";
    std::vector<std::string> ids{record(s.id, "worker_ack")};
    for (int i = 0; i < 200; ++i)
        ids.push_back(record(s.id, "ToolResult", payload));
    ids.push_back(record(s.id, "FinalAnswerStreamEnd"));
    s.client->close();                // (its creator's stream is not what this is about)
    constexpr int stalled_count = 12; // 12 pages: three times the budget
    std::vector<std::unique_ptr<http_client>> stalled;
    for (int i = 0; i < stalled_count; ++i) {
        auto c = std::make_unique<http_client>(h.ioc.get_executor());
        run(h.ioc, c->connect(h.gw->local_endpoint()));
        c->socket().set_option(boost::asio::socket_base::receive_buffer_size(4096));
        run(h.ioc, c->send("GET /v1/react/sessions/" + s.id + "/events?token=" + token_of(s) +
                           " HTTP/1.1\r\nHost: t\r\n\r\n"));
        stalled.push_back(std::move(c));
    }
    std::size_t most = 0, waiting = 0;
    auto sample = [&] {
        std::string text = h.gw->metrics_text();
        most =
            std::max<std::size_t>(most, std::stoull(metric_value(text, "ssebridge_replay_bytes")));
        waiting = std::max<std::size_t>(
            waiting, std::stoull(metric_value(text, "ssebridge_replays_waiting")));
    };
    BOOST_TEST(eventually(
        h.ioc,
        [&] {
            sample();
            return waiting > 0;
        },
        10s));
    // A reader who reads, behind them: its turn comes, the whole log in order.
    auto reader = events(s.id, token_of(s));
    BOOST_TEST(ids_until_end(*reader) == ids, boost::test_tools::per_element());
    BOOST_TEST(eventually(
        h.ioc,
        [&] {
            sample();
            return h.gw->stats().failed(wire::end_code::write_timeout) == stalled_count;
        },
        30s));
    // What they held: within the budget (a page holds what fits in 256 KiB).
    BOOST_TEST(most > 0u);
    BOOST_TEST(most <= replay_memory);
    // Their connections are closed: only the reader's (kept alive) is left.
    // (Reading to the end through a 4 KiB window would take the test long.)
    BOOST_TEST(eventually(
        h.ioc,
        [&] { return metric_value(h.gw->metrics_text(), "ssebridge_http_connections") == "1"; },
        5s));
    BOOST_TEST(eventually(
        h.ioc,
        [&] {
            sample();
            return metric_value(h.gw->metrics_text(), "ssebridge_replay_bytes") == "0";
        },
        5s));
}

BOOST_FIXTURE_TEST_CASE(a_whole_log_read_from_its_start_has_no_reset, fixture) {
    open_stream s = h.open_ok();
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i)
        ids.push_back(record(s.id, i == 0 ? "worker_ack" : "T"));
    ids.push_back(record(s.id, "FinalAnswerStreamEnd"));
    auto c = events(s.id, token_of(s));
    BOOST_TEST(ids_until_end(*c) == ids, boost::test_tools::per_element());
    BOOST_TEST(h.gw->stats().resets == 0u);
}

BOOST_FIXTURE_TEST_CASE(head_of_events_answers_the_headers_and_closes_at_once, fixture) {
    open_stream s = h.open_ok();
    http_client c(h.ioc.get_executor());
    run(h.ioc, c.connect(h.gw->local_endpoint()));
    run(h.ioc, c.send("HEAD /v1/react/sessions/" + s.id + "/events HTTP/1.1\r\nHost: test\r\n" +
                      "Authorization: Bearer " + token_of(s) + "\r\n\r\n"));
    http_head head = run(h.ioc, c.read_head());
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.header("Content-Type").value_or("").rfind("text/event-stream", 0) == 0u);
    BOOST_TEST(run(h.ioc, c.wait_eof(), 2s));           // no body, no stream left behind
    BOOST_TEST(h.gw->stats().client_disconnects == 0u); // a HEAD is not a client that left
    BOOST_TEST(eventually(h.ioc, [&] { return h.gw->live_sessions() == 1u; })); // the POST's
}

namespace {
coro::awaitable<std::string> read_to_end(asio::ip::tcp::socket& socket) {
    std::string all;
    char buffer[4096];
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), coro::use_tuple);
        all.append(buffer, n);
        if (ec)
            co_return all;
    }
}
} // namespace

// RFC 9110 §9.3.2: every HEAD answer is headers only, the gateway's own
// refusals too, so that the next request on the connection reads its own answer.
BOOST_FIXTURE_TEST_CASE(every_head_answer_is_headers_only_and_the_connection_goes_on, fixture) {
    open_stream s = h.open_ok();
    const std::pair<std::string, unsigned> heads[] = {
        {"/nope", 404},
        {"/v1/react/sessions", 405},
        {"/v1/react/sessions/" + s.id + "/cancel", 405},
        {"/v1/react/sessions/not-an-id/events", 404},
        {"/v1/react/sessions/" + s.id + "/events", 401},
        {"/v1/react/sessions/" + s.id + "/events?token=forged", 401},
        {"/healthz", 200},
        {"/readyz", 0}, // 200 or 503: whichever, headers only
        {"/metrics", 200},
    };
    for (const auto& [target, status] : heads) {
        http_client c(h.ioc.get_executor());
        run(h.ioc, c.connect(h.gw->local_endpoint()));
        run(h.ioc, c.send("HEAD " + target +
                          " HTTP/1.1\r\nHost: t\r\n\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        std::string all = run(h.ioc, read_to_end(c.socket()), 5s);
        std::string expected = status ? std::to_string(status) + " " : "";
        BOOST_TEST(all.starts_with("HTTP/1.1 " + expected), target);
        std::size_t end = all.find("\r\n\r\n");
        BOOST_TEST_REQUIRE(end != std::string::npos, target);
        std::string next = all.substr(end + 4);
        BOOST_TEST(next.starts_with("HTTP/1.1 200 "), target << ": " << next.substr(0, 40));
        BOOST_TEST(next.find(R"({"status":"ok"})") != std::string::npos, target);
    }
}

BOOST_FIXTURE_TEST_CASE(a_reader_before_the_first_event_waits_for_it, fixture) {
    open_stream s = h.open_ok();
    auto c = events(s.id, token_of(s)); // the log exists (empty) since the POST
    std::string ack = record(s.id, "worker_ack");
    std::string end = record(s.id, "FinalAnswerStreamEnd");
    BOOST_TEST(ids_until_end(*c) == (std::vector<std::string>{ack, end}),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(tokens_and_ids_are_checked_before_anything_streams, fixture) {
    open_stream s = h.open_ok();
    open_stream other = h.open_ok();
    std::string path = "/v1/react/sessions/" + s.id + "/events";
    auto [missing, why_missing] = refused(path);
    BOOST_TEST(missing == 401u);
    BOOST_TEST(why_missing.find("token") != std::string::npos);
    BOOST_TEST(refused(path, "Authorization: Bearer " + token_of(other) + "\r\n").first == 401u);
    BOOST_TEST(refused(path + "?token=garbage").first == 401u);
    // The scheme ignores case (RFC 9110 §11.1): a lower-case one opens the stream.
    for (std::string scheme : {"bearer ", "BEARER "}) {
        http_head head;
        auto c = get_events(path, "Authorization: " + scheme + token_of(s) + "\r\n", head);
        BOOST_TEST(head.status == 200u, scheme);
    }
    std::string expired =
        wire::make_token(secret, s.id, wire::session_scope, std::time(nullptr) - 1);
    auto [status, why] = refused(path + "?token=" + expired);
    BOOST_TEST(status == 401u);
    BOOST_TEST(why.find("expired") != std::string::npos);
    // Not an id, or an id without a session (the token is genuine): 404.
    BOOST_TEST(refused("/v1/react/sessions/..%2F..%2Fetc/events?token=x").first == 404u);
    std::string unknown = wire::make_session_id();
    std::string genuine =
        wire::make_token(secret, unknown, wire::session_scope, std::time(nullptr) + 60);
    auto [gone, why_gone] = refused("/v1/react/sessions/" + unknown + "/events?token=" + genuine);
    BOOST_TEST(gone == 404u);
    BOOST_TEST(!why_gone.empty());
    s.client->close();
    other.client->close();
    h.wait_idle(); // every refused request left nothing behind
}

BOOST_FIXTURE_TEST_CASE(the_creators_timeout_is_recorded_for_every_reader, fixture) {
    gateway_harness quick(shared_server(), [](gateway::config& c) {
        tweak(c);
        c.ack_timeout = 0.3;
    });
    open_stream s = quick.open_ok();
    auto post = events_only(quick.read_all(*s.client));
    BOOST_TEST_REQUIRE(post.size() == 1u);
    auto error = boost::json::parse(post[0].data);
    BOOST_TEST(error.at("payload").at("code").as_string() == "ack_timeout");
    // A reader that comes later replays the same end (recorded, with an id).
    run_until(
        quick.ioc,
        [&] {
            auto r = run(quick.ioc, quick.publisher->async_exec(
                                        redis::make_command({"XLEN", wire::log_key(s.id)})));
            return r.integer == 1;
        },
        5s);
    auto c = std::make_unique<http_client>(quick.ioc.get_executor());
    run(quick.ioc, c->connect(quick.gw->local_endpoint()));
    run(quick.ioc, c->send("GET /v1/react/sessions/" + s.id + "/events?token=" + token_of(s) +
                           " HTTP/1.1\r\nHost: t\r\n\r\n"));
    BOOST_TEST(run(quick.ioc, c->read_head()).status == 200u);
    auto replayed = events_only(quick.read_all(*c));
    BOOST_TEST_REQUIRE(replayed.size() == 1u);
    BOOST_TEST(boost::json::parse(replayed[0].data).at("payload").at("code").as_string() ==
               "ack_timeout");
    BOOST_TEST(!replayed[0].id.empty());
}

BOOST_FIXTURE_TEST_CASE(plain_seed_events_stream_live_without_ids, fixture) {
    open_stream s = h.open_ok();
    auto c = events(s.id, token_of(s));
    h.publish(s.id, event("worker_ack"));
    sse::message m = h.next_event(*c);
    BOOST_TEST(m.data == event("worker_ack"));
    BOOST_TEST(m.id.empty());
    h.publish(s.id, event("FinalAnswerStreamEnd"));
    BOOST_TEST(events_only(h.read_all(*c)).size() == 1u);
}

namespace {
/// POST …/cancel; returns the status and the JSON body.
std::pair<unsigned, boost::json::value> cancel(gateway_harness& h, const open_stream& s,
                                               std::string query = "?wait=5") {
    http_client c(h.ioc.get_executor());
    run(h.ioc, c.connect(h.gw->local_endpoint()));
    auto [head, body] =
        run(h.ioc,
            c.exchange(post_request("", "", "/v1/react/sessions/" + s.id + "/cancel" + query,
                                    "Authorization: Bearer " + token_of(s) + "\r\n")),
            20s);
    return {head.status, boost::json::parse(body)};
}

bool exists(gateway_harness& h, const std::string& key) {
    return run(h.ioc, h.publisher->async_exec(redis::make_command({"EXISTS", key}))).integer == 1;
}

coro::awaitable<worker::published> confirm_cancel(redis::client& c, std::string id) {
    co_return co_await worker::record_message(
        c, id, wire::event_message(wire::event_type::cancelled).value());
}
} // namespace

BOOST_FIXTURE_TEST_CASE(a_cancel_sets_the_tombstone_and_answers_whether_the_worker_confirmed,
                        fixture) {
    open_stream s = h.open_ok();
    record(s.id, "worker_ack");
    auto started = std::chrono::steady_clock::now();
    auto [status, body] = cancel(h, s, "?wait=0.3");
    BOOST_TEST(status == 202u); // nobody confirmed within the wait
    BOOST_TEST(body.at("cancelled").as_bool() == false);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
    BOOST_TEST(exists(h, wire::cancel_key(s.id)));
    // An event the worker sends before it hears the cancel still goes out;
    // its confirmation ends every stream, and nothing is recorded after it.
    record(s.id, "T");
    run(h.ioc, confirm_cancel(*h.publisher, s.id));
    BOOST_CHECK_THROW(record(s.id, "T"), boost::system::system_error);
    auto post = events_only(h.read_all(*s.client));
    BOOST_TEST_REQUIRE(post.size() == 3u);
    BOOST_TEST(type_of(post[2]) == "cancelled");
    // Asked again: the log holds the confirmation; what is counted is the
    // one cancel requested, and none confirmed (the worker was not in time).
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(cancel(h, s).first == 200u);
    BOOST_TEST(h.gw->stats().cancels == 1u);
    BOOST_TEST(h.gw->stats().cancels_confirmed == 0u);

    open_stream done = h.open_ok();
    record(done.id, "worker_ack");
    record(done.id, "FinalAnswerStreamEnd");
    auto [late, why] = cancel(h, done);
    BOOST_TEST(late == 409u);
    BOOST_TEST(std::string(why.at("detail").as_string()).find("FinalAnswerStreamEnd") !=
               std::string::npos);
    BOOST_TEST(!exists(h, wire::cancel_key(done.id))); // nothing to cancel: no tombstone
    BOOST_TEST(cancel(h, done, "?wait=soon").first == 400u);
    BOOST_TEST(cancel(h, done, "?wait=61").first == 400u);
}

BOOST_FIXTURE_TEST_CASE(stop_really_stops_the_worker_and_every_reader_sees_it, fixture) {
    // A real worker on the gateway's embedded Kafka, through the worker library.
    redis::subscriber control(h.ioc.get_executor(), h.publisher_config());
    coro::task_group background(h.ioc.get_executor()); // stopped before `control` goes
    background.spawn(control.async_run());
    run(h.ioc, control.async_wait_connected());
    kafka::consumer consumer(h.ioc.get_executor(),
                             kafka::group_settings(*h.gw->embedded_kafka_bootstrap(), "workers"),
                             {"react_requests"});
    bool unwound = false;
    auto handler = [&](worker::request, worker::session_writer& events) -> coro::awaitable<void> {
        struct guard {
            bool& flag;
            ~guard() { flag = true; }
        } unwinding{unwound};
        co_await events.publish("worker_ack");
        for (int i = 0; i < 2000; ++i) {
            co_await events.publish("T");
            co_await sleep_for(5ms);
        }
        co_await events.publish("FinalAnswerStreamEnd");
    };
    background.spawn(worker::serve_requests(consumer, *h.publisher, control, handler));

    open_stream s = h.open_ok();
    BOOST_TEST(type_of(h.next_event(*s.client)) == "worker_ack");
    auto reader = events(s.id, token_of(s));
    for (int i = 0; i < 3; ++i)
        h.next_event(*reader);
    auto [status, body] = cancel(h, s);
    BOOST_TEST(status == 200u);
    BOOST_TEST(body.at("cancelled").as_bool() == true);
    BOOST_TEST(unwound); // the handler's coroutine was cancelled
    auto post = events_only(h.read_all(*s.client));
    auto read = events_only(h.read_all(*reader));
    BOOST_TEST_REQUIRE(!post.empty());
    BOOST_TEST_REQUIRE(!read.empty());
    BOOST_TEST(type_of(post.back()) == "cancelled");
    BOOST_TEST(type_of(read.back()) == "cancelled");
    BOOST_TEST(json_id(post.back()) == json_id(read.back()));
    BOOST_TEST(h.gw->stats().cancels_confirmed == 1u);
    background.cancel();
    run(h.ioc, background.async_wait());
    consumer.close();
}

BOOST_AUTO_TEST_CASE(a_session_nobody_watches_any_more_is_cancelled) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        tweak(c);
        c.cancel_after_disconnect = 0.3;
    });
    open_stream left = h.open_ok();
    open_stream watched = h.open_ok();
    for (auto* s : {&left, &watched})
        run(h.ioc, fixture::publish(*h.publisher, s->id, "worker_ack", "{}"));
    // Another reader keeps `watched` alive when its creator goes.
    http_client reader(h.ioc.get_executor());
    run(h.ioc, reader.connect(h.gw->local_endpoint()));
    run(h.ioc, reader.send("GET /v1/react/sessions/" + watched.id +
                           "/events?token=" + token_of(watched) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    BOOST_TEST(run(h.ioc, reader.read_head()).status == 200u);
    left.client->close();
    watched.client->close();
    run_until(
        h.ioc, [&] { return exists(h, wire::cancel_key(left.id)); }, 5s);
    run(h.ioc, sleep_for(700ms));
    BOOST_TEST(!exists(h, wire::cancel_key(watched.id)));
    BOOST_TEST(h.gw->stats().abandoned_cancels == 1u);
}

BOOST_FIXTURE_TEST_CASE(an_idempotency_key_creates_one_session_and_joins_it_on_repeat, fixture) {
    std::string body = R"({"user_query":"once"})";
    auto post = [&](std::string b, std::string key) {
        open_stream s;
        s.client = std::make_unique<http_client>(h.ioc.get_executor());
        run(h.ioc, s.client->connect(h.gw->local_endpoint()));
        run(h.ioc, s.client->send(post_request(b, "application/json", "/v1/react/sessions",
                                               "Idempotency-Key: " + key + "\r\n")));
        s.head = run(h.ioc, s.client->read_head());
        s.id = s.head.header("X-Session-Id").value_or("");
        return s;
    };
    open_stream first = post(body, "order-42");
    BOOST_TEST_REQUIRE(first.head.status == 200u);
    std::string ack = record(first.id, "worker_ack");
    std::string one = record(first.id, "T");
    open_stream again = post(body, "order-42"); // a retry after a network error
    BOOST_TEST_REQUIRE(again.head.status == 200u);
    BOOST_TEST(again.id == first.id);
    BOOST_TEST(!token_of(again).empty());
    std::string end = record(first.id, "FinalAnswerStreamEnd");
    std::vector<std::string> expected{ack, one, end};
    for (auto* s : {&first, &again}) {
        std::vector<std::string> ids;
        for (auto& m : events_only(h.read_all(*s->client))) {
            ids.push_back(json_id(m));
            BOOST_TEST(m.id.empty()); // a POST stream: data: frames only
        }
        BOOST_TEST(ids == expected, boost::test_tools::per_element());
    }
    open_stream other = post(R"({"user_query":"something else"})", "order-42");
    BOOST_TEST(other.head.status == 409u);
    BOOST_TEST(post(body, "with space").head.status == 400u);
    open_stream plain = h.open_ok();
    BOOST_TEST(h.gw->stats().idempotent_joins == 1u);
    BOOST_TEST(h.gw->stats().idempotency_conflicts == 1u);

    // Kafka got one record per session: the repeat produced nothing.
    kafka::consumer consumer(h.ioc.get_executor(),
                             kafka::group_settings(*h.gw->embedded_kafka_bootstrap(), "count"),
                             {"react_requests"});
    std::vector<std::string> keys;
    for (int i = 0; i < 2; ++i)
        keys.push_back(run(h.ioc, consumer.async_receive(), 30s).key);
    auto extra = run(h.ioc, coro::with_timeout(consumer.async_receive(), 1500ms));
    BOOST_TEST(!extra.has_value());
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> ids{first.id, plain.id};
    std::sort(ids.begin(), ids.end());
    BOOST_TEST(keys == ids, boost::test_tools::per_element());
    consumer.close();
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_bound_to_the_scope_header) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        tweak(c);
        c.idempotency_scope = "X-User-Id";
    });
    auto post = [&](const std::string& extra) {
        open_stream s;
        s.client = std::make_unique<http_client>(h.ioc.get_executor());
        run(h.ioc, s.client->connect(h.gw->local_endpoint()));
        run(h.ioc, s.client->send(post_request(R"({"user_query":"mine"})", "application/json",
                                               "/v1/react/sessions",
                                               "Idempotency-Key: order-7\r\n" + extra)));
        s.head = run(h.ioc, s.client->read_head());
        s.id = s.head.header("X-Session-Id").value_or("");
        return s;
    };
    open_stream alice = post("X-User-Id: alice\r\n");
    BOOST_TEST_REQUIRE(alice.head.status == 200u);
    open_stream alice_again = post("x-user-id: alice\r\n"); // header names: any case
    BOOST_TEST_REQUIRE(alice_again.head.status == 200u);
    BOOST_TEST(alice_again.id == alice.id);
    // Another caller with the same key and body: a session of its own.
    open_stream bob = post("X-User-Id: bob\r\n");
    BOOST_TEST_REQUIRE(bob.head.status == 200u);
    BOOST_TEST(bob.id != alice.id);
    BOOST_TEST(h.gw->stats().idempotent_joins == 1u);
    // A keyed POST the front proxy did not name: refused, nothing created.
    for (std::string unnamed : {"", "X-User-Id: \r\n"}) {
        open_stream anonymous = post(unnamed);
        BOOST_TEST(anonymous.head.status == 400u);
        std::string body = run(h.ioc, anonymous.client->read_body());
        BOOST_TEST(body.find("X-User-Id") != std::string::npos, body);
    }
    BOOST_TEST(h.gw->stats().sessions_started == 2u); // alice's and bob's: a join starts none
    // Without a key the scope is not needed.
    BOOST_TEST(h.open_ok().head.status == 200u);
}

BOOST_AUTO_TEST_CASE(cors_origins_are_read_from_the_flag) {
    gateway_harness h(shared_server(), [](gateway::config& c) {
        tweak(c);
        c.cors_origin = "https://a.example, https://b.example";
    });
    auto origin_answer = [&](const std::string& origin) {
        http_client c(h.ioc.get_executor());
        run(h.ioc, c.connect(h.gw->local_endpoint()));
        auto [head, body] =
            run(h.ioc,
                c.exchange("GET /healthz HTTP/1.1\r\nHost: t\r\nOrigin: " + origin + "\r\n\r\n"));
        return head.header("Access-Control-Allow-Origin").value_or("");
    };
    BOOST_TEST(origin_answer("https://b.example") == "https://b.example");
    BOOST_TEST(origin_answer("https://a.example") == "https://a.example");
    BOOST_TEST(origin_answer("https://c.example").empty());
    // A page of an allowed origin may send the contract's request headers
    // and read the session's id and token.
    http_client c(h.ioc.get_executor());
    run(h.ioc, c.connect(h.gw->local_endpoint()));
    auto [pre, none] = run(h.ioc, c.exchange("OPTIONS /v1/react/sessions HTTP/1.1\r\nHost: t\r\n"
                                             "Origin: https://a.example\r\n"
                                             "Access-Control-Request-Method: POST\r\n\r\n"));
    BOOST_TEST(pre.header("Access-Control-Allow-Headers").value_or("") ==
               "Content-Type, Authorization, Idempotency-Key, Last-Event-ID");
    auto [head, body] = run(h.ioc, c.exchange("GET /healthz HTTP/1.1\r\nHost: t\r\n"
                                              "Origin: https://a.example\r\n\r\n"));
    BOOST_TEST(head.header("Access-Control-Expose-Headers").value_or("") ==
               "X-Session-Id, X-Session-Token");
}

namespace {
/// Sends `raw` on a new connection to the gateway; the client, at its head.
std::pair<std::unique_ptr<http_client>, http_head> send_to(fixture& f, std::string raw) {
    auto c = std::make_unique<http_client>(f.h.ioc.get_executor());
    run(f.h.ioc, c->connect(f.h.gw->local_endpoint()));
    run(f.h.ioc, c->send(std::move(raw)));
    http_head head = run(f.h.ioc, c->read_head());
    return {std::move(c), std::move(head)};
}
std::string chat_get(const std::string& chat, const std::string& cookie) {
    return "GET /v1/chat/" + chat + "/stream HTTP/1.1\r\nHost: t\r\n" +
           (cookie.empty() ? "" : "Cookie: a=1; " + cookie + "\r\n") + "\r\n";
}
} // namespace

// The AI SDK profile end to end on one gateway: the UI message stream, the
// resume of a running answer (the same chunks), 204 once it ended, and the
// chat's cookie as the only key to it.
BOOST_FIXTURE_TEST_CASE(a_chat_streams_the_ui_protocol_and_opens_only_to_its_browser, fixture) {
    const std::string body =
        R"({"id":"chat-cpp","messages":[{"role":"user","parts":[{"type":"text","text":"Hi"}]}]})";
    auto [poster, head] = send_to(*this, post_request(body, "application/json", "/v1/chat"));
    BOOST_TEST_REQUIRE(head.status == 200u);
    BOOST_TEST(head.header("x-vercel-ai-ui-message-stream").value_or("") == "v1");
    std::string set_cookie = head.header("Set-Cookie").value_or("");
    BOOST_TEST(set_cookie.find("; Path=/v1/chat; ") != std::string::npos);
    BOOST_TEST(set_cookie.find("HttpOnly; SameSite=Strict") != std::string::npos);
    BOOST_TEST(set_cookie.find("Secure") == std::string::npos); // plain HTTP: it would be dropped
    // Behind a TLS front (X-Forwarded-Proto: https) the cookie is Secure.
    auto [tls, over_tls] = send_to(
        *this, post_request(R"({"id":"chat-tls","messages":[{"role":"user","content":"q"}]})",
                            "application/json", "/v1/chat", "X-Forwarded-Proto: https\r\n"));
    BOOST_TEST(over_tls.header("Set-Cookie").value_or("").ends_with("; Secure"));
    std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    std::string id = head.header("X-Session-Id").value_or("");
    record(id, "worker_ack");
    record(id, "FinalAnswerStream", R"({"char":"H"})");

    // Running: a reload resumes it from its start, translated alike.
    auto [reader, resumed] = send_to(*this, chat_get("chat-cpp", cookie));
    BOOST_TEST_REQUIRE(resumed.status == 200u);
    BOOST_TEST(resumed.header("x-vercel-ai-ui-message-stream").value_or("") == "v1");
    for (const auto& [headers, status] : std::vector<std::pair<std::string, unsigned>>{
             {"", 403u}, {"ssebridge_chat=forged", 403u}}) {
        auto [c, refused] = send_to(*this, chat_get("chat-cpp", headers));
        BOOST_TEST(refused.status == status, headers);
    }
    record(id, "FinalAnswerStreamEnd");
    std::string posted = run(h.ioc, poster->read_body());
    std::string replayed = run(h.ioc, reader->read_body());
    BOOST_TEST(posted == replayed);
    BOOST_TEST(posted == "data: {\"type\":\"start\",\"messageId\":\"" + id +
                             "\"}\n\n"
                             "data: {\"type\":\"start-step\"}\n\n"
                             "data: {\"type\":\"text-start\",\"id\":\"text-1\"}\n\n"
                             "data: {\"type\":\"text-delta\",\"id\":\"text-1\",\"delta\":\"H\"}\n\n"
                             "data: {\"type\":\"text-end\",\"id\":\"text-1\"}\n\n"
                             "data: {\"type\":\"finish-step\"}\n\n"
                             "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"
                             "data: [DONE]\n\n");

    // Ended: nothing to resume; a chat that never ran neither.
    BOOST_TEST(send_to(*this, chat_get("chat-cpp", cookie)).second.status == 204u);
    BOOST_TEST(send_to(*this, chat_get("never-ran", cookie)).second.status == 204u);
    BOOST_TEST(send_to(*this, chat_get("not%20an%20id", cookie)).second.status == 204u);
    // Its cancel answers as the session's: it has ended (409); another browser's: 403.
    auto cancel_of = [&](const std::string& chat, const std::string& c) {
        return send_to(*this, post_request("", "", "/v1/chat/" + chat + "/cancel",
                                           c.empty() ? "" : "Cookie: " + c + "\r\n"))
            .second.status;
    };
    BOOST_TEST(cancel_of("chat-cpp", cookie) == 409u);
    BOOST_TEST(cancel_of("chat-cpp", "") == 403u);
    BOOST_TEST(cancel_of("never-ran", cookie) == 404u);
    // Another browser cannot post into it: 403, and no session.
    auto [intruder, refused] =
        send_to(*this, post_request(body, "application/json", "/v1/chat",
                                    "Cookie: ssebridge_chat=" + wire::make_chat_key() + "\r\n"));
    BOOST_TEST(refused.status == 403u);
    BOOST_TEST(!refused.header("X-Session-Id"));
    // The owner's next question is a new session of the same chat.
    auto [next, again] = send_to(
        *this, post_request(body, "application/json", "/v1/chat", "Cookie: " + cookie + "\r\n"));
    BOOST_TEST(again.status == 200u);
    BOOST_TEST(!again.header("Set-Cookie")); // it has its key
    BOOST_TEST(again.header("X-Session-Id").value_or(id) != id);
    BOOST_TEST(send_to(*this, chat_get("chat-cpp", cookie)).second.status == 200u);
}
