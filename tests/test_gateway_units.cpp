// Gateway pieces without I/O: configuration and event frames.
#include <ssebridge/gateway/config.hpp>
#include <ssebridge/gateway/detail/frames.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/wire/event.hpp>

#define BOOST_TEST_MODULE gateway_units
#include <boost/test/unit_test.hpp>

#include <ssebridge/sse/decoder.hpp>

#include <boost/json/parse.hpp>

#include <ssebridge/log.hpp>

#include <cstdio>
#include <map>
#include <set>
#include <sys/resource.h>
#include <tuple>
#include <unistd.h>
#include <vector>

using namespace ssebridge;
using namespace ssebridge::gateway;

namespace {
/// What the checks read of a parse: the config, else the --help text or the refusal.
struct outcome {
    std::optional<config> cfg;
    std::string message;
    bool help = false;
};
outcome parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    cli::result<parsed_config> r = parse_config(args, [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
    if (!r)
        return {std::nullopt, r.error().message, false};
    if (!r->cfg)
        return {std::nullopt, r->help, true};
    return {r->cfg, {}, false};
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
                                                           {"--log-level", "loud"},
                                                           {"--log-format", "xml"},
                                                           {"--threads", "-1"},
                                                           {"--redis", "http://x"},
                                                           {"--redis-cluster", "a:1,"},
                                                           {"--redis-cluster", "h:99999"},
                                                           {"--max-connections", "x"}}) {
        auto p = parse(args);
        BOOST_TEST(!p.cfg.has_value());
        BOOST_TEST(!p.help);
        BOOST_TEST(!p.message.empty());
    }
    // Zero means "never" for the cancel of abandoned sessions, and only there.
    auto never = parse({"--cancel-after-disconnect", "0"});
    BOOST_TEST_REQUIRE(never.cfg.has_value());
    BOOST_TEST(never.cfg->cancel_after_disconnect == 0.0);
    BOOST_TEST(parse({}).cfg->cancel_after_disconnect == 30.0);
    // And "as many as the machine allows" for shards and connections.
    auto automatic = parse({"--threads", "0", "--max-connections", "0"});
    BOOST_TEST_REQUIRE(automatic.cfg.has_value());
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    BOOST_TEST(gateway::connection_limit(*automatic.cfg) == files.rlim_cur - 128);
    BOOST_TEST(gateway::connection_limit(*parse({"--max-connections", "5"}).cfg) == 5u);
    BOOST_TEST(!parse({"--cancel-after-disconnect", "-1"}).cfg.has_value());
    auto env = parse({}, {{"SSEBRIDGE_ACK_TIMEOUT", "never"}});
    BOOST_TEST(!env.cfg.has_value());
    BOOST_TEST(env.message.find("SSEBRIDGE_ACK_TIMEOUT") != std::string::npos);
}

// --listen is read when the flags are, not when the gateway binds.
BOOST_AUTO_TEST_CASE(listen_addresses_are_checked_with_the_flags) {
    for (auto [bad, why] :
         std::vector<std::pair<std::string, std::string>>{{"8080", "expects HOST:PORT"},
                                                          {":8080", "no host"},
                                                          {"[]:8080", "no host"},
                                                          {"localhost:", "invalid port"},
                                                          {"localhost:65536", "invalid port"},
                                                          {"localhost:80x", "invalid port"},
                                                          {"localhost:-1", "invalid port"}}) {
        auto p = parse({"--listen", bad});
        BOOST_TEST(!p.cfg.has_value(), bad);
        BOOST_TEST(p.message.find("--listen") != std::string::npos, p.message);
        BOOST_TEST(p.message.find(why) != std::string::npos, p.message);
    }
    for (auto [good, host, port] : std::vector<std::tuple<std::string, std::string, int>>{
             {"127.0.0.1:0", "127.0.0.1", 0},
             {"[::1]:8080", "::1", 8080},
             {"localhost:65535", "localhost", 65535}}) {
        auto p = parse({"--listen", good});
        BOOST_TEST_REQUIRE(p.cfg.has_value(), good);
        auto at = gateway::listen_settings(*p.cfg);
        BOOST_TEST_REQUIRE(at.has_value());
        BOOST_TEST(at->host == host);
        BOOST_TEST(at->port == port);
    }
}

BOOST_AUTO_TEST_CASE(post_stream_ids_are_never_negotiated_or_always) {
    BOOST_TEST((parse({}).cfg->post_stream_ids == gateway::post_stream_ids::negotiated));
    BOOST_TEST((parse({"--post-stream-ids", "never"}).cfg->post_stream_ids ==
                gateway::post_stream_ids::never));
    BOOST_TEST((parse({"--post-stream-ids=always"}).cfg->post_stream_ids ==
                gateway::post_stream_ids::always));
    for (std::string bad : {"", "yes", "Always"}) {
        auto p = parse({"--post-stream-ids", bad});
        BOOST_TEST(!p.cfg.has_value(), bad);
        BOOST_TEST(p.message.find("--post-stream-ids must be never, negotiated or always") !=
                       std::string::npos,
                   p.message);
    }
}

BOOST_AUTO_TEST_CASE(the_idempotency_scope_is_a_header_name) {
    for (std::string bad : {"X User", "X-User:", "X-User\x7f", "(id)"}) {
        auto p = parse({"--idempotency-scope", bad});
        BOOST_TEST(!p.cfg.has_value(), bad);
        BOOST_TEST(p.message.find("--idempotency-scope expects a header name") != std::string::npos,
                   p.message);
    }
    auto p = parse({"--idempotency-scope", "X-Forwarded-User"});
    BOOST_TEST_REQUIRE(p.cfg.has_value());
    BOOST_TEST(p.cfg->idempotency_scope == "X-Forwarded-User");
    BOOST_TEST(parse({}).cfg->idempotency_scope.empty()); // keys are global by default
}

namespace {
/// A config file in a fresh temporary path, removed with the object.
struct config_file {
    std::string path;
    explicit config_file(const std::string& text) {
        char name[] = "/tmp/ssebridge-config-XXXXXX";
        int fd = mkstemp(name);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
        close(fd);
        path = name;
    }
    ~config_file() { std::remove(path.c_str()); }
};
} // namespace

// Flags win over the environment, the environment over --config, the file over the defaults.
BOOST_AUTO_TEST_CASE(config_file_sits_under_the_environment_and_the_flags) {
    config_file file("# gateway.env\n"
                     "\n"
                     "SSEBRIDGE_KEEPALIVE=4\n"
                     "  SSEBRIDGE_ACK_TIMEOUT = 6  \n"
                     "; an ini-style comment\n"
                     "SSEBRIDGE_KAFKA_TOPIC=\"from file\"\n"
                     "SSEBRIDGE_TOKEN_SECRET='s=cret'\n"
                     "SSEBRIDGE_MAX_QUEUE=9\r\n");
    auto p = parse({"--config", file.path, "--keepalive", "1"},
                   {{"SSEBRIDGE_KEEPALIVE", "2"}, {"SSEBRIDGE_ACK_TIMEOUT", "3"}});
    BOOST_TEST_REQUIRE(p.cfg.has_value(), p.message);
    BOOST_TEST(p.cfg->keepalive == 1.0);   // flag over env over file
    BOOST_TEST(p.cfg->ack_timeout == 3.0); // env over file
    BOOST_TEST(p.cfg->kafka_topic == "from file");
    BOOST_TEST(p.cfg->token_secret == "s=cret");
    BOOST_TEST(p.cfg->max_queue == 9u);
    BOOST_TEST(p.cfg->idle_timeout == 300.0); // the default where nobody says
    auto eq = parse({"--config=" + file.path});
    BOOST_TEST_REQUIRE(eq.cfg.has_value(), eq.message);
    BOOST_TEST(eq.cfg->keepalive == 4.0);
}

BOOST_AUTO_TEST_CASE(a_bad_config_file_is_refused_with_its_line) {
    auto refused = [](const std::string& text, const std::string& expected) {
        config_file file(text);
        auto p = parse({"--config", file.path});
        BOOST_TEST(!p.cfg.has_value(), text);
        BOOST_TEST(p.message.find(file.path + ":") == 0, p.message);
        BOOST_TEST(p.message.find(expected) != std::string::npos, p.message);
    };
    refused("SSEBRIDGE_KEEPALIVE=1\nkeepalive 2\n", ":2: expected VARIABLE=VALUE");
    refused("SSEBRIDGE_KEEPLIVE=1\n", ":1: unknown variable 'SSEBRIDGE_KEEPLIVE'");
    refused("SSEBRIDGE_KEEPALIVE=1\n#\nSSEBRIDGE_KEEPALIVE=2\n",
            ":3: SSEBRIDGE_KEEPALIVE is already set on line 1");
    refused("\nSSEBRIDGE_KEEPALIVE=soon\n", ":2: SSEBRIDGE_KEEPALIVE: --keepalive expects");
    refused("SSEBRIDGE_KEEPALIVE=1\nSSEBRIDGE_MAX_BODY=-5\n", ":2: SSEBRIDGE_MAX_BODY");

    auto missing = parse({"--config", "/nonexistent/gateway.env"});
    BOOST_TEST(!missing.cfg.has_value());
    BOOST_TEST(missing.message.find("cannot read '/nonexistent/gateway.env'") != std::string::npos,
               missing.message);
    BOOST_TEST(!parse({"--config"}).cfg.has_value());
    config_file empty("");
    auto twice = parse({"--config", empty.path, "--config", empty.path});
    BOOST_TEST(!twice.cfg.has_value());
    BOOST_TEST(twice.message.find("twice") != std::string::npos, twice.message);
    BOOST_TEST(parse({"--config", empty.path}).cfg.has_value()); // empty: all defaults
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag_and_its_variable) {
    auto p = parse({"--help"});
    BOOST_TEST(p.help);
    for (auto word : {"--listen",
                      "--redis",
                      "--kafka-brokers",
                      "--kafka-topic",
                      "--ack-timeout",
                      "--keepalive",
                      "--idle-timeout",
                      "--kafka-timeout",
                      "--max-sessions",
                      "--max-body",
                      "--max-queue",
                      "--write-timeout",
                      "--threads",
                      "--max-connections",
                      "--redis-timeout",
                      "--log-format",
                      "--config FILE",
                      "SSEBRIDGE_LISTEN",
                      "SSEBRIDGE_REDIS",
                      "SSEBRIDGE_KAFKA_BROKERS",
                      "SSEBRIDGE_THREADS",
                      "--redis-cluster",
                      "SSEBRIDGE_REDIS_CLUSTER"})
        BOOST_TEST(p.message.find(word) != std::string::npos, word);
}

// --log-format json: one JSON object a line, whatever the message holds.
BOOST_AUTO_TEST_CASE(json_log_records_are_one_object_a_line) {
    std::FILE* captured = std::tmpfile();
    std::fflush(stderr);
    int saved = dup(2);
    dup2(fileno(captured), 2);
    log::set_format(log::format::json);
    log::session_event(log::level::warn, "abc123", "said \"hi\"\nand\tleft \\o/");
    log::info("no session here");
    log::set_format(log::format::text);
    log::info("back to text");
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::rewind(captured);
    std::vector<std::string> lines;
    char line[1024];
    while (std::fgets(line, sizeof line, captured))
        lines.emplace_back(line);
    std::fclose(captured);
    BOOST_TEST_REQUIRE(lines.size() == 3u);
    auto first = boost::json::parse(lines[0]).as_object();
    BOOST_TEST(first.at("level").as_string() == "warn");
    BOOST_TEST(first.at("session").as_string() == "abc123");
    BOOST_TEST(first.at("event").as_string() == "said \"hi\"\nand\tleft \\o/");
    BOOST_TEST(first.at("time").as_string().size() == 24u); // 2026-11-30T14:23:18.123Z
    auto second = boost::json::parse(lines[1]).as_object();
    BOOST_TEST(!second.contains("session"));
    BOOST_TEST(second.at("event").as_string() == "no session here");
    BOOST_TEST(lines[2].find(" info back to text") != std::string::npos);
}

namespace {
// The frame the gateway writes for `payload`, or "" when it is malformed.
std::string frame_of(std::string_view payload) {
    std::string out;
    if (wire::inspect_event(payload))
        detail::append_event_frame(out, payload);
    return out;
}
} // namespace

BOOST_AUTO_TEST_CASE(event_frames_are_verbatim_one_line_json) {
    std::string msg = R"({"event_type":"AgentThoughtStream","payload":{"char":"H"}})";
    BOOST_TEST(frame_of(msg) == "data: " + msg + "\n\n");
    // Spacing is kept as the worker wrote it (Python's json.dumps style).
    std::string spaced = R"({"event_type": "worker_ack", "payload": {}})";
    BOOST_TEST(frame_of(spaced) == "data: " + spaced + "\n\n");
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

BOOST_AUTO_TEST_CASE(error_frames_escape_their_reason) {
    std::string f;
    detail::append_error_frame(f, wire::end_code::backend_lost, "quote \" and\nnewline");
    BOOST_TEST(f.rfind("data: ", 0) == 0u);
    BOOST_TEST(f.find('\n') == f.size() - 2);
    auto v = boost::json::parse(f.substr(6, f.size() - 8));
    BOOST_TEST(v.at("event_type").as_string() == "error");
    BOOST_TEST(v.at("payload").at("error").as_string() == "quote \" and\nnewline");
    BOOST_TEST(v.at("payload").at("code").as_string() == "backend_lost");
    BOOST_TEST(v.at("payload").at("retryable").as_bool() == true);
}

// The stream's state machine, driven by messages and time points alone.
namespace {
using namespace std::chrono_literals;
using detail::step;
using detail::stream_state;

std::string ev(std::string_view type, std::string_view id = "") {
    std::string out = "{";
    if (!id.empty())
        out += R"("id":")" + std::string(id) + R"(",)";
    out += R"("event_type":")" + std::string(type) + R"(","payload":{}})";
    return out;
}

struct stream_fixture {
    detail::stream_limits limits{4, 10s, 300s, 15s, 10s};
    coro::clock::time_point t0 = coro::clock::time_point{} + 1000s;
    stream_state s{limits, t0};
    std::string buffer;

    // Takes a chunk and says its frames, as the client would parse them.
    std::vector<std::string> take(bool* last = nullptr, coro::clock::time_point at = {}) {
        auto c = s.take(buffer, at == coro::clock::time_point{} ? t0 : at);
        if (!c)
            return {};
        if (last)
            *last = c->last;
        std::vector<std::string> frames;
        for (auto& m : sse::decoder{}.feed(buffer))
            frames.push_back(m.is_comment ? ":" + m.data : m.data);
        return frames;
    }
    std::string type_of(const std::string& data) {
        return std::string(boost::json::parse(data).at("event_type").as_string());
    }
};
} // namespace

BOOST_FIXTURE_TEST_CASE(events_before_the_ack_are_held_and_follow_it_in_order, stream_fixture) {
    BOOST_TEST((s.on_message(ev("a"), t0) == step::none));
    BOOST_TEST((s.on_message(ev("b"), t0) == step::none));
    BOOST_TEST(take().empty()); // nothing before the ack
    BOOST_TEST((s.on_message(ev("worker_ack"), t0) == step::wake));
    bool last = true;
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 3u);
    BOOST_TEST(type_of(frames[0]) == "worker_ack");
    BOOST_TEST(type_of(frames[1]) == "a");
    BOOST_TEST(type_of(frames[2]) == "b");
    BOOST_TEST(!last);
    s.on_written(t0);
    BOOST_TEST(!s.finished());
}

BOOST_FIXTURE_TEST_CASE(a_post_that_carries_ids_has_them_on_held_events_too, stream_fixture) {
    s.carry_ids(".session.mac");
    BOOST_TEST((s.on_message(ev("a", "5-0"), t0) == step::none)); // held until the ack
    BOOST_TEST((s.on_message(ev("worker_ack", "6-0"), t0) == step::wake));
    BOOST_TEST((s.on_message(ev("plain"), t0) == step::wake)); // unrecorded: no id
    take();
    BOOST_TEST(buffer == "id: 6-0.session.mac\ndata: " + ev("worker_ack", "6-0") +
                             "\n\nid: 5-0.session.mac\ndata: " + ev("a", "5-0") +
                             "\n\ndata: " + ev("plain") + "\n\n");
}

BOOST_FIXTURE_TEST_CASE(the_terminal_event_is_the_last_frame, stream_fixture) {
    s.on_message(ev("worker_ack"), t0);
    s.on_message(ev("FinalAnswerStreamEnd"), t0);
    BOOST_TEST((s.on_message(ev("late"), t0) == step::none));
    bool last = false;
    auto frames = take(&last);
    BOOST_TEST(frames.size() == 2u);
    BOOST_TEST(last);
    BOOST_TEST(s.finished());
    BOOST_TEST(!s.completed()); // not until the write is done
    s.on_written(t0);
    BOOST_TEST(s.completed());
    BOOST_TEST(!s.end_code());
    BOOST_TEST(take().empty());
}

BOOST_FIXTURE_TEST_CASE(a_final_event_before_the_ack_waits_for_it, stream_fixture) {
    s.on_message(ev("a"), t0);
    s.on_message(ev("FinalAnswerStreamEnd"), t0);
    s.on_message(ev("after_the_end"), t0);
    s.on_message(ev("worker_ack"), t0);
    bool last = false;
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 3u);
    BOOST_TEST(type_of(frames[2]) == "FinalAnswerStreamEnd");
    BOOST_TEST(last);
}

BOOST_FIXTURE_TEST_CASE(a_cancel_ends_the_stream_even_without_an_ack, stream_fixture) {
    s.on_message(ev("a"), t0);
    BOOST_TEST((s.on_message(ev("cancelled"), t0) == step::wake));
    bool last = false;
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 2u);
    BOOST_TEST(type_of(frames[1]) == "cancelled");
    BOOST_TEST(last);
}

BOOST_FIXTURE_TEST_CASE(malformed_messages_are_skipped_and_reported, stream_fixture) {
    BOOST_TEST((s.on_message("garbage", t0) == step::malformed));
    BOOST_TEST((s.on_message(R"({"payload":{}})", t0) == step::malformed));
    s.on_message(ev("worker_ack"), t0);
    BOOST_TEST(take().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(recorded_events_already_queued_are_not_queued_twice, stream_fixture) {
    s.on_message(ev("worker_ack", "1-1"), t0);
    s.on_message(ev("a", "1-2"), t0);
    BOOST_TEST((s.on_message(ev("a", "1-2"), t0) == step::none));
    BOOST_TEST((s.on_message(ev("worker_ack", "1-1"), t0) == step::none));
    s.on_message(ev("b", "2-0"), t0);
    s.on_message(ev("plain"), t0); // unrecorded events always pass
    auto frames = take();
    BOOST_TEST_REQUIRE(frames.size() == 4u);
    BOOST_TEST(type_of(frames[2]) == "b");
    BOOST_TEST(type_of(frames[3]) == "plain");
}

BOOST_FIXTURE_TEST_CASE(a_client_that_falls_behind_gets_only_the_error, stream_fixture) {
    s.on_message(ev("worker_ack"), t0);
    for (int i = 0; i < 3; ++i)
        BOOST_TEST((s.on_message(ev("x"), t0) == step::wake));
    BOOST_TEST((s.on_message(ev("one_too_many"), t0) == step::wake));
    BOOST_TEST((s.end_code() == wire::end_code::slow_client));
    bool last = false;
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 1u);
    BOOST_TEST(type_of(frames[0]) == "error");
    BOOST_TEST(boost::json::parse(frames[0]).at("payload").at("code").as_string() == "slow_client");
    BOOST_TEST(last);
    BOOST_TEST((s.on_message(ev("x"), t0) == step::none));
}

BOOST_FIXTURE_TEST_CASE(too_many_events_before_the_ack_end_the_stream, stream_fixture) {
    for (int i = 0; i < 4; ++i)
        BOOST_TEST((s.on_message(ev("x"), t0) == step::none));
    BOOST_TEST((s.on_message(ev("x"), t0) == step::wake));
    BOOST_TEST((s.end_code() == wire::end_code::early_overflow));
    auto frames = take();
    BOOST_TEST_REQUIRE(frames.size() == 1u);
    BOOST_TEST(type_of(frames[0]) == "error");
}

BOOST_FIXTURE_TEST_CASE(the_ack_deadline_runs_only_once_streaming, stream_fixture) {
    BOOST_TEST((s.on_tick(t0 + 1h) == step::none)); // still opening: no clock
    s.on_stream_started(t0, t0 + 10s);
    BOOST_TEST((s.on_tick(t0 + 9s) == step::none));
    BOOST_TEST((s.on_tick(t0 + 10s) == step::wake));
    BOOST_TEST((s.end_code() == wire::end_code::ack_timeout));
    auto frames = take();
    BOOST_TEST_REQUIRE(frames.size() == 1u);
    auto v = boost::json::parse(frames[0]);
    BOOST_TEST(v.at("payload").at("error").as_string() == "worker did not acknowledge within 10 s");
    BOOST_TEST(v.at("payload").at("retryable").as_bool() == false);
}

// What the metrics read off a stream: when it started, how long the ack took,
// the newest recorded event.
BOOST_FIXTURE_TEST_CASE(the_stream_reports_its_start_its_ack_wait_and_newest_id, stream_fixture) {
    BOOST_TEST(!s.started());
    s.on_stream_started(t0, t0 + 10s);
    BOOST_TEST(s.started());
    BOOST_TEST((s.started_at() == t0));
    s.on_message(R"({"id":"5-1","event_type":"AgentThoughtStream","payload":{}})", t0 + 1s);
    BOOST_TEST(!s.ack_wait().has_value()); // held, not acknowledged
    BOOST_TEST((s.last_id() == wire::entry_id{5, 1}));
    s.on_message(ev("worker_ack"), t0 + 2500ms);
    BOOST_TEST_REQUIRE(s.ack_wait().has_value());
    BOOST_TEST((*s.ack_wait() == 2500ms));
    s.on_message(R"({"id":"5-0","event_type":"FinalAnswerStream","payload":{}})", t0 + 3s);
    BOOST_TEST((s.last_id() == wire::entry_id{5, 1})); // an older id is a duplicate
    s.on_message(ev("worker_ack"), t0 + 4s);
    BOOST_TEST((*s.ack_wait() == 2500ms)); // the first ack counts
}

BOOST_FIXTURE_TEST_CASE(the_idle_timeout_counts_from_the_last_event, stream_fixture) {
    s.on_stream_started(t0, t0 + 10s);
    s.on_message(ev("worker_ack"), t0 + 1s);
    take(nullptr, t0 + 1s);
    s.on_written(t0 + 1s);
    s.on_message(ev("a"), t0 + 200s);
    take(nullptr, t0 + 200s);
    s.on_written(t0 + 200s);
    BOOST_TEST((s.on_tick(t0 + 499s) != step::wake || !s.end_code()));
    BOOST_TEST(!s.end_code());
    BOOST_TEST((s.on_tick(t0 + 500s) == step::wake));
    BOOST_TEST((s.end_code() == wire::end_code::idle_timeout));
}

BOOST_FIXTURE_TEST_CASE(keepalives_follow_quiet_periods_from_the_last_write, stream_fixture) {
    s.on_stream_started(t0, t0 + 100s);
    BOOST_TEST((s.on_tick(t0 + 14s) == step::none));
    BOOST_TEST((s.on_tick(t0 + 15s) == step::wake));
    auto frames = take(nullptr, t0 + 15s);
    BOOST_TEST_REQUIRE(frames.size() == 1u);
    BOOST_TEST(buffer == ": keepalive\n\n");
    BOOST_TEST((s.on_tick(t0 + 24s) == step::none)); // writing: nothing on top of a write
    s.on_written(t0 + 16s);
    BOOST_TEST((s.on_tick(t0 + 30s) == step::none)); // the clock restarts at every write
    BOOST_TEST((s.on_tick(t0 + 31s) == step::wake));
}

BOOST_FIXTURE_TEST_CASE(a_write_that_waits_too_long_aborts_the_stream, stream_fixture) {
    s.on_stream_started(t0, t0 + 10s);
    s.on_message(ev("worker_ack"), t0);
    take(nullptr, t0);
    BOOST_TEST((s.on_tick(t0 + 9s) == step::none));
    BOOST_TEST((s.on_tick(t0 + 10s) == step::abort));
    BOOST_TEST((s.end_code() == wire::end_code::write_timeout));
    BOOST_TEST((s.on_tick(t0 + 11s) == step::none)); // once
    BOOST_TEST(s.finished());
}

BOOST_FIXTURE_TEST_CASE(a_lost_backend_ends_after_what_is_queued, stream_fixture) {
    s.on_message(ev("worker_ack"), t0);
    s.on_message(ev("a"), t0);
    BOOST_TEST((s.on_lost() == step::wake));
    BOOST_TEST((s.on_shutdown() == step::none)); // it ends once
    bool last = true;
    BOOST_TEST(take(&last).size() == 2u);
    BOOST_TEST(!last);
    s.on_written(t0);
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 1u);
    BOOST_TEST(last);
    BOOST_TEST(boost::json::parse(frames[0]).at("payload").at("code").as_string() ==
               "backend_lost");
    s.on_written(t0);
    BOOST_TEST(!s.completed());
    BOOST_TEST((s.end_code() == wire::end_code::backend_lost));
}

// The AI SDK profile: the same decisions, the frames translated.
BOOST_FIXTURE_TEST_CASE(a_stream_that_speaks_ui_starts_its_message_and_translates_every_event,
                        stream_fixture) {
    s.speak_ui("abc");
    bool last = true;
    auto frames = take(&last);
    BOOST_TEST_REQUIRE(frames.size() == 1u); // `start` at once, before the ack
    BOOST_TEST(frames[0] == R"({"type":"start","messageId":"abc"})");
    BOOST_TEST(!last);
    s.on_written(t0);
    BOOST_TEST((s.on_message(R"({"event_type":"FinalAnswerStream","payload":{"char":"a"}})", t0) ==
                step::none)); // held until the ack, as ever
    BOOST_TEST((s.on_message(ev("worker_ack", "1-1"), t0) == step::wake));
    frames = take();
    BOOST_TEST(frames == (std::vector<std::string>{
                             R"({"type":"start-step"})", R"({"type":"text-start","id":"text-1"})",
                             R"({"type":"text-delta","id":"text-1","delta":"a"})"}),
               boost::test_tools::per_element());
    BOOST_TEST(buffer.find("id: ") == std::string::npos); // no SSE ids: the SDK has no use for them
    s.on_written(t0);
    BOOST_TEST((s.on_message(ev("FinalAnswerStreamEnd", "1-2"), t0) == step::wake));
    frames = take(&last);
    BOOST_TEST(last);
    BOOST_TEST(frames == (std::vector<std::string>{
                             R"({"type":"text-end","id":"text-1"})", R"({"type":"finish-step"})",
                             R"({"type":"finish","finishReason":"stop"})", "[DONE]"}),
               boost::test_tools::per_element());
    s.on_written(t0);
    BOOST_TEST(s.completed());

    // The gateway's own end is the protocol's error.
    stream_state timed_out{limits, t0};
    timed_out.speak_ui("abc");
    timed_out.on_stream_started(t0, t0 + 10s);
    BOOST_TEST((timed_out.on_tick(t0 + 10s) == step::wake));
    std::string out;
    BOOST_TEST_REQUIRE(timed_out.take(out, t0).has_value());
    BOOST_TEST(out == "data: {\"type\":\"start\",\"messageId\":\"abc\"}\n\n");
    timed_out.on_written(t0);
    BOOST_TEST_REQUIRE(timed_out.take(out, t0).has_value());
    BOOST_TEST((out == "data: {\"type\":\"error\",\"errorText\":\"worker did not acknowledge "
                       "within 10 s\"}\n\ndata: [DONE]\n\n"),
               out);
}

// A drain ends thousands of streams in the same instant: a client that can
// resume is told to come back after a spread-out delay, not EventSource's 3 s.
BOOST_AUTO_TEST_CASE(a_drain_or_a_lost_redis_tells_a_resumable_client_when_to_come_back) {
    detail::stream_limits limits{4, 10s, 300s, 15s, 10s};
    auto t0 = coro::clock::time_point{} + 1000s;
    std::set<unsigned> hints;
    for (int i = 0; i < 40; ++i) {
        for (bool lost : {false, true}) {
            stream_state s{limits, t0, detail::stream_kind::subscriber};
            s.on_message(ev("a", "1-1"), t0);
            std::string out;
            s.take(out, t0);
            s.on_written(t0);
            BOOST_TEST(((lost ? s.on_lost() : s.on_shutdown()) == step::wake));
            s.take(out, t0);
            BOOST_TEST_REQUIRE(out.starts_with("retry: "), out);
            unsigned ms = static_cast<unsigned>(std::stoul(out.substr(7)));
            BOOST_TEST(ms >= 250u);
            BOOST_TEST(ms < 1250u);
            hints.insert(ms);
            auto frames = sse::decoder{}.feed(out);
            BOOST_TEST_REQUIRE(frames.size() == 1u); // the retry line is part of the error's frame
            BOOST_TEST(boost::json::parse(frames[0].data).at("payload").at("code").as_string() ==
                       (lost ? "backend_lost" : "shutting_down"));
        }
    }
    BOOST_TEST(hints.size() > 20u); // spread over the second, not one value

    // A client cut off for itself (too slow) gets no hint: its own default.
    stream_state slow{limits, t0, detail::stream_kind::subscriber};
    for (int i = 1; i <= 5; ++i)
        slow.on_message(ev("a", "1-" + std::to_string(i)), t0);
    std::string out;
    slow.take(out, t0);
    BOOST_TEST((slow.end_code() == wire::end_code::slow_client));
    BOOST_TEST(out.find("retry:") == std::string::npos, out);

    // A POST stream without ids cannot resume: the seed's frame, byte for byte.
    stream_state post{limits, t0};
    post.on_message(ev("worker_ack"), t0);
    post.take(out, t0);
    post.on_written(t0);
    post.on_shutdown();
    post.take(out, t0);
    BOOST_TEST(out.starts_with("data: {\"event_type\":\"error\""), out);
}

namespace {
struct replay_fixture {
    detail::stream_limits limits{3, 10s, 300s, 15s, 10s};
    coro::clock::time_point t0 = coro::clock::time_point{} + 1000s;
    stream_state s{limits, t0, detail::stream_kind::subscriber};
    std::string buffer;

    // The ids of the frames of the next chunk, from their `id:` lines.
    std::vector<std::string> take_ids(bool* last = nullptr) {
        auto c = s.take(buffer, t0);
        if (!c)
            return {};
        if (last)
            *last = c->last;
        std::vector<std::string> ids;
        for (auto& m : sse::decoder{}.feed(buffer))
            if (!m.is_comment)
                ids.push_back(m.id + ":" +
                              std::string(boost::json::parse(m.data).at("event_type").as_string()));
        s.on_written(t0);
        return ids;
    }
};
} // namespace

BOOST_FIXTURE_TEST_CASE(a_replay_holds_live_events_and_drops_what_it_replayed, replay_fixture) {
    s.begin_replay();
    // Live events that arrive during the replay wait for it.
    BOOST_TEST((s.on_message(ev("b", "1-2"), t0) == step::none));
    BOOST_TEST((s.on_message(ev("c", "1-3"), t0) == step::none));
    BOOST_TEST((s.on_message("garbage", t0) == step::malformed));
    BOOST_TEST(take_ids().empty());
    s.on_replayed(ev("a", "1-1"), t0);
    s.on_replayed(ev("b", "1-2"), t0);
    BOOST_TEST(!s.take_replay_overflow());
    s.end_replay(t0); // b was replayed already: only c is new
    auto ids = take_ids();
    BOOST_TEST(ids == (std::vector<std::string>{"1-1:a", "1-2:b", "1-3:c"}),
               boost::test_tools::per_element());
    // Then live as usual, duplicates dropped.
    BOOST_TEST((s.on_message(ev("c", "1-3"), t0) == step::none));
    BOOST_TEST((s.on_message(ev("d", "1-4"), t0) == step::wake));
}

BOOST_FIXTURE_TEST_CASE(too_many_live_events_during_a_replay_are_read_again_from_the_log,
                        replay_fixture) {
    s.begin_replay();
    for (int i = 1; i <= 5; ++i) // more than max_queue (3): dropped, to be replayed
        s.on_message(ev("x", "2-" + std::to_string(i)), t0);
    s.on_replayed(ev("x", "2-1"), t0);
    BOOST_TEST(s.take_replay_overflow());  // the caller reads the log again
    BOOST_TEST(!s.take_replay_overflow()); // once
    take_ids();
    s.on_replayed(ev("x", "2-2"), t0);
    s.on_replayed(ev("x", "2-3"), t0);
    s.on_replayed(ev("x", "2-4"), t0);
    take_ids();
    s.on_replayed(ev("x", "2-5"), t0);
    s.on_message(ev("x", "2-6"), t0); // held after the overflow was taken
    s.end_replay(t0);
    auto ids = take_ids();
    BOOST_TEST(ids == (std::vector<std::string>{"2-5:x", "2-6:x"}),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_cursor_at_the_end_ends_the_stream_without_a_frame, replay_fixture) {
    s.begin_replay();
    BOOST_TEST((s.on_cursor(ev("FinalAnswerStreamEnd", "3-9")) == step::wake));
    s.end_replay(t0);
    auto c = s.take(buffer, t0);
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->last);
    BOOST_TEST(buffer.empty());
    BOOST_TEST(s.finished());
}

BOOST_FIXTURE_TEST_CASE(a_lost_cursor_gives_a_reset_first, replay_fixture) {
    s.begin_replay();
    BOOST_TEST((s.on_reset("trimmed") == step::wake));
    s.on_replayed(ev("y", "4-1"), t0);
    s.end_replay(t0);
    s.take(buffer, t0);
    auto m = sse::decoder{}.feed(buffer);
    BOOST_TEST_REQUIRE(m.size() == 2u);
    BOOST_TEST(boost::json::parse(m[0].data).at("event_type").as_string() == "reset");
    BOOST_TEST(m[0].id.empty()); // a reset is no event of the log
    BOOST_TEST(m[1].id == "4-1");
}

BOOST_FIXTURE_TEST_CASE(a_recorded_error_ends_every_subscriber_but_a_plain_one_passes,
                        replay_fixture) {
    s.on_message(ev("error"), t0); // a seed-style worker's error: passed through
    BOOST_TEST(s.open());
    s.on_message(ev("error", "5-1"), t0); // recorded: the session's end
    BOOST_TEST(!s.open());
    bool last = false;
    auto ids = take_ids(&last);
    BOOST_TEST(ids.size() == 2u);
    BOOST_TEST(last);
}
