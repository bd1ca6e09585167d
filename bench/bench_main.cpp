// ssebridge-bench: drives an SSE gateway as browsers and workers would, and
// measures what arrives. Reads each stream over its own HTTP/1.1 connection,
// parsing frames; publishes with a send timestamp in every payload, straight
// into Redis (pipelined PUBLISH) for ssebridge, or to a publish URL
// (pipelined POST) for any other SSE server such as nginx + nchan.
//
// Scenarios (see --help and docs/benchmarks.md):
//   limit       what one Redis subscriber connection receives (no gateway)
//   throughput  S sessions, E events each, as fast as the publishers go
//   latency     a fixed aggregate rate over S sessions for D seconds
//   slow        latency, while a share of the clients stops reading
//   idle        S sessions held open; the gateway's RSS per session
//   setup       sessions per second from POST to worker_ack (ssebridge only),
//               with a built-in worker that acknowledges every Kafka request
#include "support/http_client.hpp"
#include "support/run.hpp"

#include <ssebridge/cli.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/kafka/consumer.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/detail/connection.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/wire/request.hpp>
#include <ssebridge/worker/requests.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <unistd.h>

namespace asio = boost::asio;
using namespace ssebridge;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

namespace {

struct settings {
    std::string scenario = "throughput";
    std::string target = "ssebridge";       ///< or "sse": any server, by URL templates
    std::string gateway = "127.0.0.1:8080"; ///< or several, comma-separated: streams round robin
    std::string redis = "redis://127.0.0.1:6379";
    std::string redis_cluster; ///< HOST:PORT,…: publish to a Redis Cluster (SPUBLISH by slot)
    std::string subscribe_url; ///< target sse: GET, `{id}` replaced
    std::string publish_url;   ///< target sse: POST the event, `{id}` replaced
    std::string kafka_brokers; ///< setup: where the gateway produces requests
    std::string kafka_topic = "react_requests";
    std::size_t sessions = 1000;
    std::size_t events = 100;      ///< per session (throughput, limit)
    double rate = 0;               ///< events/s in all; 0: as fast as possible
    double duration = 10;          ///< seconds (latency, slow, idle, setup)
    double slow_share = 0.1;       ///< slow: share of clients that stop reading
    std::size_t payload = 64;      ///< bytes of padding per event
    std::size_t publishers = 4;    ///< connections publishing
    std::size_t gateway_pid = 0;   ///< whose RSS to read
    std::size_t in_flight = 20000; ///< events published but not yet received, at most
    std::size_t concurrency = 200; ///< setup: clients opening sessions at once
    std::string publish = "plain"; ///< plain PUBLISH, or record (the workers' script: ids, log)
    double cut_share = 0.1;        ///< resume: share of streams cut once and resumed; soak: hung up
    std::string expect;            ///< soak: the answer the worker streams (FinalAnswerStream)
    std::string json_out;
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}

// The send time carried by an event, or -1: the number after `"t"`, however
// the JSON is spaced (a server may re-serialise it: `"t": 123`).
std::int64_t sent_at(std::string_view data) {
    auto at = data.find("\"t\"");
    if (at == std::string_view::npos)
        return -1;
    std::size_t i = data.find_first_not_of(" \t\r\n", at + 3);
    if (i == std::string_view::npos || data[i] != ':')
        return -1;
    i = data.find_first_not_of(" \t\r\n", i + 1);
    if (i == std::string_view::npos)
        return -1;
    std::int64_t t = -1;
    std::from_chars(data.data() + i, data.data() + data.size(), t);
    return t;
}

/// What has arrived, and a notifier that wakes whoever waits on it.
struct results {
    explicit results(coro::executor ex)
        : progress(std::move(ex)) {}

    std::size_t delivered = 0;
    std::size_t acked = 0;
    std::vector<std::uint32_t> latency_us;
    coro::notifier progress;

    void record(std::string_view data) {
        std::int64_t t = sent_at(data);
        if (t >= 0)
            latency_us.push_back(static_cast<std::uint32_t>((now_ns() - t) / 1000));
        ++delivered;
        progress.notify();
    }
    void record_ack() {
        ++acked;
        progress.notify();
    }
    void reset() {
        delivered = acked = 0;
        latency_us.clear();
    }
};

/// Waits until `done()` holds (true) or `limit` passes first (false),
/// waking on every change `results` reports.
coro::awaitable<bool> wait_for(results& r, std::function<bool()> done, steady::duration limit) {
    auto deadline = steady::now() + limit;
    while (!done()) {
        bool woken = co_await r.progress.async_wait(deadline);
        if (!woken)
            co_return done();
    }
    co_return true;
}

/// Where a URL template points: `http://HOST:PORT/path/{id}`.
struct url_template {
    tcp::endpoint endpoint;
    std::string host;
    std::string path; ///< with `{id}` somewhere

    static url_template parse(const std::string& url) {
        constexpr std::string_view scheme = "http://";
        if (url.rfind(scheme, 0) != 0)
            throw std::invalid_argument("only http:// URLs: " + url);
        std::string rest = url.substr(scheme.size());
        auto slash = rest.find('/');
        url_template t;
        t.host = rest.substr(0, slash);
        t.path = slash == std::string::npos ? "/" : rest.substr(slash);
        auto colon = t.host.rfind(':');
        if (colon == std::string::npos)
            throw std::invalid_argument("the URL needs HOST:PORT: " + url);
        t.endpoint = {asio::ip::make_address(t.host.substr(0, colon)),
                      static_cast<unsigned short>(std::stoi(t.host.substr(colon + 1)))};
        return t;
    }
    [[nodiscard]] std::string path_for(std::string_view id) const {
        std::string p = path;
        auto at = p.find("{id}");
        if (at != std::string::npos)
            p.replace(at, 4, id);
        return p;
    }
};

/// Publishes events with a window of unanswered requests on one connection.
class event_publisher {
public:
    virtual ~event_publisher() = default;
    /// Queues one event for `channel`; waits while the window is full.
    virtual coro::awaitable<void> publish(std::string_view channel, std::string_view message) = 0;
    virtual void close() = 0;
    static constexpr std::size_t window = 512;
};

/// Pipelined PUBLISH on one Redis connection.
class redis_publisher final : public event_publisher {
public:
    explicit redis_publisher(coro::executor ex)
        : ex_(ex)
        , conn_(ex)
        , room_(ex) {}

    coro::awaitable<void> connect(const redis::config& cfg) {
        co_await conn_.async_connect(cfg);
        asio::co_spawn(ex_, run(), asio::detached);
    }

    coro::awaitable<void> publish(std::string_view channel, std::string_view message) override {
        while (outstanding_ >= window) {
            co_await room_.async_wait();
        }
        if (record) {
            append_record(conn_.outbox(), channel, message, sharded);
        } else {
            redis::append_command(conn_.outbox(),
                                  {sharded ? "SPUBLISH" : "PUBLISH", channel, message});
        }
        ++outstanding_;
        conn_.flush();
    }

    void close() override { conn_.close(); }

    bool record = false;      ///< through the workers' recording script, as a worker publishes
    bool sharded = false;     ///< a cluster master: SPUBLISH
    std::size_t failures = 0; ///< error replies

private:
    // EVALSHA of wire::record_script for the session of `channel`.
    static void append_record(std::string& out, std::string_view channel, std::string_view message,
                              bool sharded) {
        std::string_view id = channel.substr(channel.find(':') + 1);
        std::string log = wire::log_key(id);
        std::string cancel = wire::cancel_key(id);
        redis::append_command(out, {"EVALSHA", wire::record_script_sha1(), "3", log, channel,
                                    cancel, message, "10000", "3600", "0", sharded ? "s" : ""});
    }

    coro::awaitable<void> run() {
        co_await conn_.async_run([this](std::span<const redis::node> reply) {
            if (!reply.empty() && reply[0].type == redis::resp_type::error)
                ++failures;
            --outstanding_;
            room_.notify();
        });
    }

    coro::executor ex_;
    redis::detail::connection conn_;
    coro::notifier room_;
    std::size_t outstanding_ = 0;
};

/// A Redis Cluster: one pipelined publisher per master, each event sent to
/// the master of its channel's slot (the map is read once: nothing moves
/// during a run).
class cluster_publisher final : public event_publisher {
public:
    explicit cluster_publisher(coro::executor ex)
        : ex_(ex) {}

    coro::awaitable<void> connect(const redis::config& cfg, bool record) {
        map_ = std::make_unique<redis::slot_map>(co_await redis::detail::discover_slots(cfg, {}));
        for (const redis::cluster_node& master : map_->masters()) {
            auto p = std::make_unique<redis_publisher>(ex_);
            p->record = record;
            p->sharded = true;
            co_await p->connect(redis::detail::node_config(cfg, master));
            masters_.push_back(std::move(p));
        }
    }

    coro::awaitable<void> publish(std::string_view channel, std::string_view message) override {
        return masters_[map_->master_of(redis::key_slot(channel))]->publish(channel, message);
    }

    void close() override {
        for (auto& m : masters_)
            m->close();
    }

private:
    coro::executor ex_;
    std::unique_ptr<redis::slot_map> map_;
    std::vector<std::unique_ptr<redis_publisher>> masters_;
};

/// Pipelined `POST <publish URL>` on one HTTP/1.1 keep-alive connection.
class http_publisher final : public event_publisher {
public:
    http_publisher(coro::executor ex, url_template url)
        : ex_(ex)
        , url_(std::move(url))
        , socket_(ex)
        , room_(ex)
        , writable_(ex) {}

    coro::awaitable<void> connect() {
        co_await socket_.async_connect(url_.endpoint, asio::use_awaitable);
        socket_.set_option(tcp::no_delay(true));
        asio::co_spawn(ex_, write_loop(), asio::detached);
        asio::co_spawn(ex_, read_loop(), asio::detached);
    }

    coro::awaitable<void> publish(std::string_view channel, std::string_view message) override {
        while (outstanding_ >= window) {
            co_await room_.async_wait();
        }
        outbox_ += "POST ";
        outbox_ += url_.path_for(channel);
        outbox_ += " HTTP/1.1\r\nHost: ";
        outbox_ += url_.host;
        outbox_ += "\r\nContent-Type: application/json\r\nContent-Length: ";
        outbox_ += std::to_string(message.size());
        outbox_ += "\r\n\r\n";
        outbox_ += message;
        ++outstanding_;
        writable_.notify();
    }

    void close() override {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    std::size_t failures = 0; ///< answers other than 2xx

private:
    coro::awaitable<void> write_loop() {
        std::string writing;
        for (;;) {
            while (outbox_.empty()) {
                co_await writable_.async_wait();
            }
            std::swap(writing, outbox_);
            auto [ec, n] =
                co_await asio::async_write(socket_, asio::buffer(writing), coro::use_tuple);
            if (ec)
                co_return;
            writing.clear();
        }
    }

    // Counts the answers: status line, headers, Content-Length body.
    coro::awaitable<void> read_loop() {
        std::string in;
        char buf[65536];
        for (;;) {
            auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), coro::use_tuple);
            if (ec)
                co_return;
            in.append(buf, n);
            std::size_t used = 0;
            for (;;) {
                auto end = in.find("\r\n\r\n", used);
                if (end == std::string::npos)
                    break;
                std::string_view head(in.data() + used, end - used);
                std::size_t body = 0;
                for (std::string_view name : {"Content-Length: ", "content-length: "}) {
                    auto at = head.find(name);
                    if (at != std::string_view::npos)
                        std::from_chars(head.data() + at + name.size(), head.data() + head.size(),
                                        body);
                }
                if (in.size() < end + 4 + body)
                    break;
                if (head.size() < 12 || head[9] != '2')
                    ++failures;
                used = end + 4 + body;
                --outstanding_;
                room_.notify();
            }
            in.erase(0, used);
        }
    }

    coro::executor ex_;
    url_template url_;
    tcp::socket socket_;
    coro::notifier room_;
    coro::notifier writable_;
    std::string outbox_;
    std::size_t outstanding_ = 0;
};

std::string event_json(std::string_view type, const std::string& pad) {
    return R"({"event_type":")" + std::string(type) + R"(","payload":{"t":)" +
           std::to_string(now_ns()) + R"(,"pad":")" + pad + "\"}}";
}

const std::string ack_event = wire::event_message(wire::event_type::worker_ack).value();
const std::string final_event = wire::event_message(wire::event_type::final_answer_end).value();

// The kind of a frame's event; `other` for anything that is not an event.
wire::event_kind kind_of(std::string_view data) {
    auto info = wire::inspect_event(data);
    return info ? info->kind : wire::event_kind::other;
}

/// One stream held open by the bench: its connection and the channel its
/// events are published to.
struct stream {
    std::unique_ptr<test::http_client> client;
    tcp::endpoint gateway; ///< target ssebridge: where it was opened (and resumes)
    std::string channel;
    std::string id;    ///< target ssebridge: the session
    std::string token; ///< target ssebridge: X-Session-Token
};

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty())
        return 0;
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
    return sorted[i];
}

std::size_t rss_kib(std::size_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    return 0;
}

struct run_state {
    explicit run_state(coro::executor ex)
        : got(std::move(ex)) {}

    settings s;
    redis::config redis_cfg;
    tcp::endpoint gateway;               ///< the first of `gateways`
    std::vector<tcp::endpoint> gateways; ///< streams are opened on them in turn
    std::optional<url_template> subscribe_url;
    std::optional<url_template> publish_url;
    std::string run_id = std::to_string(::getpid()) + "x" + std::to_string(now_ns() % 1000000007);
    std::vector<std::unique_ptr<event_publisher>> publishers;
    results got;
    std::size_t peak_rss_kib = 0;
    boost::json::object report;
    struct {
        std::size_t cut = 0;                  ///< streams cut once and resumed
        std::size_t duplicated = 0;           ///< events a reader got twice
        std::vector<std::size_t> unique;      ///< events each stream got (not the ack)
        std::vector<std::uint32_t> resume_us; ///< reconnect → first replayed event
    } resume;
};

// Opens stream `index`: POST a session (ssebridge) or GET the subscribe URL.
coro::awaitable<void> open_stream(run_state& st, std::size_t index, stream* out) {
    auto ex = co_await asio::this_coro::executor;
    out->client = std::make_unique<test::http_client>(ex);
    if (st.s.target == "ssebridge") {
        out->gateway = st.gateways[index % st.gateways.size()];
        co_await out->client->connect(out->gateway);
        co_await out->client->send(test::post_request(R"({"user_query":"bench"})"));
        test::http_head head = co_await out->client->read_head();
        if (head.status != 200)
            throw std::runtime_error("POST answered " + std::to_string(head.status));
        out->id = head.header("X-Session-Id").value_or("");
        out->token = head.header("X-Session-Token").value_or("");
        out->channel = wire::session_channel(out->id);
        co_return;
    }
    out->channel = "b" + st.run_id + "x" + std::to_string(index);
    co_await out->client->connect(st.subscribe_url->endpoint);
    co_await out->client->send("GET " + st.subscribe_url->path_for(out->channel) +
                               " HTTP/1.1\r\nHost: " + st.subscribe_url->host +
                               "\r\nAccept: text/event-stream\r\n\r\n");
    test::http_head head = co_await out->client->read_head();
    if (head.status != 200)
        throw std::runtime_error("GET answered " + std::to_string(head.status));
}

// Reads a stream until FinalAnswerStreamEnd or its end, recording every event
// but the ack and the final one.
coro::awaitable<void> read_stream(test::http_client* c, results* r) {
    for (;;) {
        std::optional<sse::message> m = co_await c->next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        wire::event_kind kind = kind_of(m->data);
        if (kind == wire::event_kind::ack) {
            r->record_ack();
            continue;
        }
        if (wire::is_terminal(kind))
            break;
        r->record(m->data);
    }
    r->progress.notify(); // one stream fewer: a waiter may be counting them
}

std::string script_load_command() {
    return redis::make_command({"SCRIPT", "LOAD", wire::record_script()});
}

coro::awaitable<void> discard(coro::awaitable<boost::system::error_code> op) {
    co_await std::move(op);
}

// Opens GET …/events for `s` after `cursor` on a new connection.
coro::awaitable<void> reopen(stream& s, const std::string& cursor) {
    s.client->close();
    s.client = std::make_unique<test::http_client>(co_await asio::this_coro::executor);
    co_await s.client->connect(s.gateway);
    co_await s.client->send("GET /v1/react/sessions/" + s.id +
                            "/events HTTP/1.1\r\nHost: b\r\n"
                            "Authorization: Bearer " +
                            s.token + "\r\nLast-Event-ID: " + cursor + "\r\n\r\n");
    test::http_head head = co_await s.client->read_head();
    if (head.status != 200)
        throw std::runtime_error("GET events answered " + std::to_string(head.status));
}

// How long a cut reader stays away before it resumes.
constexpr auto away = 200ms;

// The resume scenario's reader: like read_stream, but it checks every id
// (a duplicate is counted, not recorded) and, after `cut_after` events,
// hangs up, stays away for a while and resumes from the last id it has.
coro::awaitable<void> read_resumable(run_state* st, stream* s, std::size_t index,
                                     std::size_t cut_after) {
    std::optional<wire::entry_id> last;
    std::string last_text;
    std::size_t seen = 0;
    std::optional<steady::time_point> resumed_at;
    for (;;) {
        std::optional<sse::message> m = co_await s->client->next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        auto info = wire::inspect_event(m->data);
        if (!info)
            continue;
        if (info->id) {
            if (last && *info->id <= *last) {
                ++st->resume.duplicated;
                continue;
            }
            last = info->id;
            last_text = info->id->to_string();
        }
        if (resumed_at) {
            st->resume.resume_us.push_back(static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - *resumed_at)
                    .count()));
            resumed_at.reset();
        }
        if (info->kind == wire::event_kind::ack) {
            st->got.record_ack();
        } else if (wire::ends_session(*info)) {
            break;
        } else {
            ++st->resume.unique[index];
            st->got.record(m->data);
        }
        if (++seen == cut_after) {
            // Away for a while, as a phone changing networks: events pile up.
            ++st->resume.cut;
            s->client->close();
            co_await test::sleep_for(away);
            resumed_at = steady::now();
            co_await reopen(*s, last_text);
        }
    }
    st->got.progress.notify();
}

coro::awaitable<void> connect_publishers(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < st.s.publishers; ++i) {
        if (st.publish_url) {
            auto p = std::make_unique<http_publisher>(ex, *st.publish_url);
            co_await p->connect();
            st.publishers.push_back(std::move(p));
        } else if (!st.redis_cfg.cluster.empty()) {
            auto p = std::make_unique<cluster_publisher>(ex);
            co_await p->connect(st.redis_cfg, st.s.publish == "record");
            st.publishers.push_back(std::move(p));
        } else {
            auto p = std::make_unique<redis_publisher>(ex);
            p->record = st.s.publish == "record";
            co_await p->connect(st.redis_cfg);
            st.publishers.push_back(std::move(p));
        }
    }
    if (st.s.publish == "record") {
        // Cached once, so that every publish can be an EVALSHA.
        redis::client loader(ex, st.redis_cfg);
        co_await loader.async_connect();
        coro::task_group reading(ex);
        reading.spawn(discard(loader.async_run()));
        redis::reply r = co_await loader.async_exec(script_load_command());
        loader.close();
        co_await reading.async_wait();
        if (r.is_error())
            throw std::runtime_error("SCRIPT LOAD: " + r.value);
    }
}

// Samples the gateway's RSS every 100 ms into peak_rss_kib, until cancelled.
coro::awaitable<void> sample_rss(run_state& st) {
    for (;;) {
        st.peak_rss_kib = std::max(st.peak_rss_kib, rss_kib(st.s.gateway_pid));
        co_await test::sleep_for(100ms);
    }
}

// Publishes `per_channel` events to every channel; paced to `rate` if > 0.
// Closed loop: at most `in_flight` events published and not yet received, so
// no queue anywhere grows without end. `unread` channels are published to
// but never read: their events are not waited for.
coro::awaitable<void> publish_all(run_state& st, const std::vector<std::string>& channels,
                                  std::size_t per_channel, double rate,
                                  const std::vector<bool>& unread = {}) {
    std::string pad(st.s.payload, 'x');
    asio::steady_timer tick(co_await asio::this_coro::executor);
    auto start = steady::now();
    std::size_t sent = 0;
    std::size_t counted = 0; // sent to channels that are read
    for (std::size_t round = 0; round < per_channel; ++round) {
        for (std::size_t c = 0; c < channels.size(); ++c, ++sent) {
            if (counted - st.got.delivered >= st.s.in_flight) {
                bool room = co_await wait_for(
                    st.got, [&] { return counted - st.got.delivered < st.s.in_flight; }, 60s);
                if (!room)
                    throw std::runtime_error("no event arrived for 60 s");
            }
            if (rate > 0) {
                auto due =
                    start + std::chrono::duration_cast<steady::duration>(
                                std::chrono::duration<double>(static_cast<double>(sent) / rate));
                if (due > steady::now() + 1ms) {
                    tick.expires_at(due);
                    co_await tick.async_wait(asio::use_awaitable);
                }
            }
            std::string message = event_json("FinalAnswerStream", pad);
            co_await st.publishers[sent % st.publishers.size()]->publish(channels[c], message);
            if (unread.empty() || !unread[c])
                ++counted;
        }
    }
}

struct sink_counter : redis::subscriber::sink {
    results* r = nullptr;
    void on_message(std::string_view payload) override { r->record(payload); }
    void on_lost() override {}
};

coro::awaitable<void> scenario_limit(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    redis::subscriber sub(ex, st.redis_cfg);
    coro::task_group background(ex);
    background.spawn(sub.async_run());
    co_await sub.async_wait_connected();
    std::vector<sink_counter> sinks(st.s.sessions);
    std::vector<redis::subscriber::subscription> subs;
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < st.s.sessions; ++i) {
        sinks[i].r = &st.got;
        channels.push_back("bench_limit:" + std::to_string(i));
        subs.push_back(co_await sub.async_subscribe(channels.back(), sinks[i]));
    }
    co_await connect_publishers(st);
    auto start = steady::now();
    co_await publish_all(st, channels, st.s.events, st.s.rate);
    std::size_t expected = st.s.sessions * st.s.events;
    co_await wait_for(
        st.got, [&] { return st.got.delivered >= expected; }, 120s);
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    st.report["seconds"] = secs;
    st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
    subs.clear();
    background.cancel(); // the subscriber's loop must end before it goes
    co_await background.async_wait();
}

coro::awaitable<void> scenario_streams(run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    // Open the sessions, a few hundred at a time.
    std::vector<stream> streams(st.s.sessions);
    std::exception_ptr failure;
    coro::task_group openers(ex, [&](std::exception_ptr e) {
        if (!failure)
            failure = e;
    });
    for (std::size_t i = 0; i < streams.size() && !failure; ++i) {
        co_await openers.async_wait_fewer_than(200);
        openers.spawn(open_stream(st, i, &streams[i]));
    }
    co_await openers.async_wait();
    if (failure)
        std::rethrow_exception(failure);
    co_await connect_publishers(st);

    // The slow scenario: every k-th client reads its ack, then nothing more.
    std::vector<bool> unread(streams.size(), false);
    std::size_t slow_count = 0;
    if (st.s.scenario == "slow" && st.s.slow_share > 0) {
        auto every = static_cast<std::size_t>(std::max(1.0, 1.0 / st.s.slow_share));
        for (std::size_t i = 0; i < streams.size(); i += every, ++slow_count)
            unread[i] = true;
    }
    // The resume scenario: every k-th stream is cut once, at a random event.
    std::vector<std::size_t> cut_points(streams.size(), 0);
    st.resume.unique.assign(streams.size(), 0);
    if (st.s.scenario == "resume" && st.s.cut_share > 0) {
        std::mt19937 random(42);
        std::uniform_int_distribution<std::size_t> at(1, std::max<std::size_t>(1, st.s.events));
        auto every = static_cast<std::size_t>(std::max(1.0, 1.0 / st.s.cut_share));
        for (std::size_t i = 0; i < streams.size(); i += every)
            cut_points[i] = at(random);
    }
    // A reader that fails ends like one that finishes: the waits below count them.
    coro::task_group readers(ex, [&](std::exception_ptr) { st.got.progress.notify(); });
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        channels.push_back(streams[i].channel);
        if (unread[i]) {
            // Read the ack only: the stream is live, then this client stops reading.
            co_await st.publishers[0]->publish(channels.back(), ack_event);
            std::optional<sse::message> m = co_await streams[i].client->next_message();
            while (m && m->is_comment)
                m = co_await streams[i].client->next_message();
            st.got.record_ack();
            continue;
        }
        if (st.s.scenario == "resume")
            readers.spawn(read_resumable(&st, &streams[i], i, cut_points[i]));
        else
            readers.spawn(read_stream(streams[i].client.get(), &st.got));
        co_await st.publishers[0]->publish(channels.back(), ack_event);
    }
    const std::size_t reading = streams.size() - slow_count;
    bool all_acked = co_await wait_for(
        st.got, [&] { return st.got.acked >= streams.size() || readers.size() < reading; }, 60s);
    if (!all_acked || readers.size() < reading)
        throw std::runtime_error("not every stream got its worker_ack");

    coro::task_group sampler(ex);
    if (st.s.gateway_pid)
        sampler.spawn(sample_rss(st));
    if (st.s.scenario == "idle") {
        std::size_t before = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        co_await test::sleep_for(std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(st.s.duration)));
        std::size_t after = st.s.gateway_pid ? rss_kib(st.s.gateway_pid) : 0;
        st.report["gateway_rss_kib"] = after;
        st.report["gateway_rss_kib_before_wait"] = before;
    } else {
        std::size_t per_channel = st.s.events;
        double rate = st.s.rate;
        if (st.s.scenario == "latency" || st.s.scenario == "slow") {
            per_channel = static_cast<std::size_t>(st.s.rate * st.s.duration /
                                                   static_cast<double>(streams.size()));
        }
        auto start = steady::now();
        co_await publish_all(st, channels, per_channel, rate, unread);
        std::size_t expected = per_channel * reading;
        co_await wait_for(
            st.got, [&] { return st.got.delivered >= expected || readers.size() < reading; }, 300s);
        if (readers.size() < reading)
            throw std::runtime_error(std::to_string(reading - readers.size()) +
                                     " streams ended early (see the gateway's log)");
        double secs = std::chrono::duration<double>(steady::now() - start).count();
        st.report["seconds"] = secs;
        st.report["events_per_second"] = static_cast<double>(st.got.delivered) / secs;
        st.report["expected"] = expected;
        st.report["slow_clients"] = slow_count;
        if (st.s.scenario == "resume") {
            std::size_t lost = 0;
            for (std::size_t i = 0; i < streams.size(); ++i)
                lost += per_channel > st.resume.unique[i] ? per_channel - st.resume.unique[i] : 0;
            auto& r = st.resume;
            std::sort(r.resume_us.begin(), r.resume_us.end());
            st.report["resume"] = {{"cut", r.cut},
                                   {"lost", lost},
                                   {"duplicated", r.duplicated},
                                   {"resume_p50_us", percentile(r.resume_us, 50)},
                                   {"resume_p99_us", percentile(r.resume_us, 99)}};
        }
    }
    sampler.cancel();
    co_await sampler.async_wait();
    if (st.s.gateway_pid) {
        st.report["gateway_rss_kib_peak"] = st.peak_rss_kib;
        st.report["gateway_rss_kib_end"] = rss_kib(st.s.gateway_pid);
    }
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (!unread[i])
            co_await st.publishers[0]->publish(channels[i], final_event);
    bool ended = co_await coro::with_timeout(readers.async_wait(), 30s);
    if (!ended) {
        readers.cancel(); // the streams they read are about to go
        co_await readers.async_wait();
    }
}

// The built-in fast worker of the setup scenario: acknowledges and ends
// every request it consumes, at once.
coro::awaitable<void> ack_requests(run_state& st, kafka::consumer& consumer) {
    for (;;) {
        kafka::record r = co_await consumer.async_receive();
        auto req = wire::parse_kafka_record(r.value);
        if (!req)
            continue;
        std::string channel = wire::session_channel(req->session_id);
        co_await st.publishers[0]->publish(channel, ack_event);
        co_await st.publishers[0]->publish(channel, final_event);
    }
}

// One client of the setup scenario: sessions one after another on one
// keep-alive connection, each timed from POST to worker_ack.
coro::awaitable<void> open_sessions(run_state& st, std::size_t* remaining, steady::time_point end) {
    test::http_client client(co_await asio::this_coro::executor);
    co_await client.connect(st.gateway);
    while (*remaining > 0 && steady::now() < end) {
        --*remaining;
        auto start = steady::now();
        co_await client.send(test::post_request(R"({"user_query":"setup"})"));
        test::http_head head = co_await client.read_head();
        if (head.status != 200)
            throw std::runtime_error("POST answered " + std::to_string(head.status));
        bool acked = false;
        for (;;) {
            std::optional<sse::message> m = co_await client.next_message();
            if (!m)
                break;
            if (!acked && !m->is_comment && kind_of(m->data) == wire::event_kind::ack) {
                acked = true;
                st.got.latency_us.push_back(static_cast<std::uint32_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start)
                        .count()));
                ++st.got.delivered;
            }
        }
        if (!acked)
            throw std::runtime_error("a session ended without worker_ack");
    }
}

coro::awaitable<void> scenario_setup(run_state& st) {
    if (st.s.kafka_brokers.empty())
        throw std::invalid_argument("setup needs --kafka-brokers (the gateway's kafka.bootstrap=)");
    auto ex = co_await asio::this_coro::executor;
    co_await connect_publishers(st);
    kafka::settings conf =
        kafka::group_settings(st.s.kafka_brokers, "ssebridge-bench-" + st.run_id);
    conf["log_level"] = "3";
    conf["fetch.wait.max.ms"] = "1"; // a fast worker does not wait for batches
    kafka::consumer consumer(ex, conf, {st.s.kafka_topic});
    coro::task_group worker(ex);
    worker.spawn(ack_requests(st, consumer));

    // Warm up: the consumer joins its group before the clock starts.
    std::size_t warm = 1;
    co_await open_sessions(st, &warm, steady::now() + 60s);
    st.got.reset();

    std::size_t remaining = st.s.sessions;
    auto start = steady::now();
    auto end = start + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(st.s.duration));
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.concurrency; ++i)
        clients.spawn(open_sessions(st, &remaining, end));
    co_await clients.async_wait();
    double secs = std::chrono::duration<double>(steady::now() - start).count();
    st.report["seconds"] = secs;
    st.report["sessions_per_second"] = static_cast<double>(st.got.delivered) / secs;
    st.report["concurrency"] = st.s.concurrency;
    worker.cancel();
    co_await worker.async_wait();
}

// The cancel scenario's worker: acknowledges, then streams an event every
// 10 ms until its session is cancelled (through the worker library).
coro::awaitable<void> endless_answer(redis::client& redis, worker::request r) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    co_await worker::publish_event(redis, r.session_id, wire::event_type::worker_ack);
    for (int i = 0; i < 6000; ++i) {
        co_await worker::publish_event(redis, r.session_id, "FinalAnswerStream", R"({"char":"x"})");
        pause.expires_after(10ms);
        co_await pause.async_wait(asio::use_awaitable);
    }
    co_await worker::publish_event(redis, r.session_id, wire::event_type::final_answer_end);
}

struct cancel_results {
    std::vector<std::uint32_t> stop_us; ///< cancel sent → `cancelled` on the stream
    std::size_t confirmed = 0;          ///< cancels answered 200
    std::size_t in_flight = 0;          ///< events between sending the cancel and `cancelled`
    std::vector<std::string> ids;       ///< the sessions, to check their logs after
};

// One session of the cancel scenario: open it, read a few events, cancel it
// and time how long until the stream ends with `cancelled`.
coro::awaitable<void> cancel_one(run_state& st, cancel_results& out) {
    auto ex = co_await asio::this_coro::executor;
    stream s;
    co_await open_stream(st, 0, &s);
    out.ids.push_back(s.id);
    std::size_t seen = 0;
    while (seen < 5) {
        std::optional<sse::message> m = co_await s.client->next_message();
        if (!m)
            throw std::runtime_error("a stream ended before its cancel");
        if (!m->is_comment && kind_of(m->data) != wire::event_kind::ack)
            ++seen;
    }
    test::http_client canceller(ex);
    co_await canceller.connect(st.gateway);
    auto sent = steady::now();
    co_await canceller.send(test::post_request("", "", "/v1/react/sessions/" + s.id + "/cancel",
                                               "Authorization: Bearer " + s.token + "\r\n"));
    for (;;) {
        std::optional<sse::message> m = co_await s.client->next_message();
        if (!m)
            throw std::runtime_error("a stream ended without cancelled");
        if (m->is_comment)
            continue;
        if (kind_of(m->data) == wire::event_kind::cancelled)
            break;
        ++out.in_flight;
    }
    out.stop_us.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - sent).count()));
    test::http_head head = co_await canceller.read_head();
    if (head.status == 200)
        ++out.confirmed;
}

std::string log_command(const std::string& id) {
    return redis::make_command({"XRANGE", wire::log_key(id), "-", "+"});
}

coro::awaitable<void> scenario_cancel(run_state& st) {
    if (st.s.kafka_brokers.empty())
        throw std::invalid_argument(
            "cancel needs --kafka-brokers (the gateway's kafka.bootstrap=)");
    auto ex = co_await asio::this_coro::executor;
    redis::client redis(ex, st.redis_cfg);
    co_await redis.async_connect();
    redis::subscriber control(ex, st.redis_cfg);
    kafka::settings conf =
        kafka::group_settings(st.s.kafka_brokers, "ssebridge-bench-" + st.run_id);
    conf["log_level"] = "3";
    conf["auto.offset.reset"] = "latest"; // not the requests of earlier runs
    kafka::consumer consumer(ex, conf, {st.s.kafka_topic});
    coro::task_group background(ex);
    background.spawn(discard(redis.async_run()));
    background.spawn(control.async_run());
    co_await control.async_wait_connected();
    background.spawn(worker::serve_requests(consumer, redis, control, [&redis](worker::request r) {
        return endless_answer(redis, std::move(r));
    }));

    // The worker joins its group before the clock starts; requests made before
    // it has its partition are not its own (they time out), so try again.
    for (int attempt = 1;; ++attempt) {
        cancel_results warm;
        std::exception_ptr failed;
        try {
            co_await cancel_one(st, warm);
        } catch (const std::exception&) {
            failed = std::current_exception();
        }
        if (!failed)
            break;
        if (attempt == 10)
            std::rethrow_exception(failed);
    }
    cancel_results got;
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.sessions; ++i) {
        co_await clients.async_wait_fewer_than(st.s.concurrency);
        clients.spawn(cancel_one(st, got));
    }
    co_await clients.async_wait();
    // After `cancelled`, the log holds nothing more.
    std::size_t after = 0;
    for (const std::string& id : got.ids) {
        redis::reply log = co_await redis.async_exec(log_command(id));
        bool past = false;
        for (const redis::reply& entry : log.elements) {
            if (past)
                ++after;
            else if (kind_of(entry.elements.at(1).elements.at(1).value) ==
                     wire::event_kind::cancelled)
                past = true;
        }
    }
    std::sort(got.stop_us.begin(), got.stop_us.end());
    st.report["cancel"] = {{"sessions", got.ids.size()},
                           {"confirmed", got.confirmed},
                           {"stop_p50_us", percentile(got.stop_us, 50)},
                           {"stop_p99_us", percentile(got.stop_us, 99)},
                           {"stop_max_us", percentile(got.stop_us, 100)},
                           {"events_in_flight", got.in_flight},
                           {"events_after_cancelled", after}};
    background.cancel();
    co_await background.async_wait();
    consumer.close();
    redis.close();
}

// The soak scenario: `concurrency` clients open sessions one after another
// for `duration` seconds against a gateway and a real worker (the reference
// worker); a `cut_share` of them hang up mid-answer (churn), every other
// answer is checked against `expect`, and the gateway's RSS and descriptors
// are sampled every 10 s.
struct soak_counts {
    std::size_t completed = 0;      ///< answers checked: acked, complete, exact
    std::size_t cut = 0;            ///< hung up mid-answer on purpose
    std::size_t failed = 0;         ///< refused, wrong, incomplete or ended by an error
    std::size_t events_checked = 0; ///< events of the completed sessions
    std::string first_failure;
};

std::size_t open_descriptors(std::size_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec))
        ++n;
    return n;
}

// One session of a soak client: what came of it.
coro::awaitable<void> soak_session(run_state& st, soak_counts& counts, std::size_t cut_after) {
    auto fail = [&](std::string why) {
        ++counts.failed;
        if (counts.first_failure.empty())
            counts.first_failure = std::move(why);
    };
    test::http_client client(co_await asio::this_coro::executor);
    co_await client.connect(st.gateway);
    co_await client.send(test::post_request(R"({"user_query":"soak"})"));
    test::http_head head = co_await client.read_head();
    if (head.status != 200) {
        fail("POST answered " + std::to_string(head.status));
        co_return;
    }
    std::string answer;
    bool acked = false, ended = false;
    std::size_t events = 0;
    for (;;) {
        std::optional<sse::message> m = co_await client.next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        if (++events == cut_after) {
            ++counts.cut; // hang up mid-answer
            co_return;
        }
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(m->data, ec);
        const boost::json::object* o = ec ? nullptr : v.if_object();
        const boost::json::value* type = o ? o->if_contains("event_type") : nullptr;
        if (!type || !type->is_string()) {
            fail("not an event: " + m->data);
            co_return;
        }
        std::string_view t = type->get_string();
        if (t == wire::event_type::worker_ack) {
            acked = true;
        } else if (t == "FinalAnswerStream") {
            const auto* c = o->at("payload").as_object().if_contains("char");
            answer += c && c->is_string() ? std::string_view(c->get_string()) : "?";
        } else if (t == wire::event_type::final_answer_end) {
            ended = true;
            break;
        } else if (t == "error") {
            fail("error event: " + m->data);
            co_return;
        }
    }
    if (!acked || !ended || answer != st.s.expect) {
        fail("answer '" + answer + "'" + (ended ? "" : " without its end") +
             (acked ? "" : " without worker_ack"));
        co_return;
    }
    ++counts.completed;
    counts.events_checked += events;
}

coro::awaitable<void> soak_client(run_state& st, soak_counts& counts, steady::time_point end,
                                  std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> share(0, 1);
    std::uniform_int_distribution<std::size_t> cut_at(1, 30);
    while (steady::now() < end) {
        std::size_t cut_after = share(rng) < st.s.cut_share ? cut_at(rng) : 0;
        co_await soak_session(st, counts, cut_after);
    }
}

coro::awaitable<void> soak_samples(run_state& st, const soak_counts& counts,
                                   steady::time_point start, boost::json::array& samples) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    for (;;) {
        std::size_t rss = rss_kib(st.s.gateway_pid);
        std::size_t fds = open_descriptors(st.s.gateway_pid);
        double t = std::chrono::duration<double>(steady::now() - start).count();
        samples.push_back(boost::json::array{t, rss, fds, counts.completed, counts.failed});
        std::cerr << "soak: " << static_cast<int>(t) << " s, gateway " << rss << " KiB, " << fds
                  << " fds, " << counts.completed << " sessions checked, " << counts.cut << " cut, "
                  << counts.failed << " failed" << std::endl;
        tick.expires_after(10s);
        co_await tick.async_wait(asio::use_awaitable);
    }
}

coro::awaitable<void> scenario_soak(run_state& st) {
    if (st.s.expect.empty() || st.s.gateway_pid == 0)
        throw std::invalid_argument("soak needs --expect (the worker's answer) and --gateway-pid");
    auto ex = co_await asio::this_coro::executor;
    soak_counts counts;
    boost::json::array samples;
    auto start = steady::now();
    auto end = start + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(st.s.duration));
    coro::task_group sampler(ex);
    sampler.spawn(soak_samples(st, counts, start, samples));
    coro::task_group clients(ex);
    for (std::size_t i = 0; i < st.s.concurrency; ++i)
        clients.spawn(soak_client(st, counts, end, static_cast<std::uint32_t>(i + 1)));
    co_await clients.async_wait();
    sampler.cancel();
    co_await sampler.async_wait();
    samples.push_back(boost::json::array{
        std::chrono::duration<double>(steady::now() - start).count(), rss_kib(st.s.gateway_pid),
        open_descriptors(st.s.gateway_pid), counts.completed, counts.failed});
    boost::json::object soak;
    soak["sessions_checked"] = counts.completed;
    soak["sessions_cut"] = counts.cut;
    soak["sessions_failed"] = counts.failed;
    soak["events_checked"] = counts.events_checked;
    // Growth from the first sample after a minute (warm: pools filled) to the end.
    const auto& first = samples.size() > 7 ? samples[6].as_array() : samples.front().as_array();
    const auto& last = samples.back().as_array();
    soak["rss_kib_warm"] = first[1];
    soak["rss_kib_end"] = last[1];
    soak["fds_warm"] = first[2];
    soak["fds_end"] = last[2];
    st.report["soak"] = soak;
    st.report["soak_samples"] = samples; // [seconds, rss KiB, fds, checked, failed]
    st.report["seconds"] = std::chrono::duration<double>(steady::now() - start).count();
    if (!counts.first_failure.empty())
        st.report["first_failure"] = counts.first_failure;
}

// The human-readable report of a run: one line per measure.
void print_table(std::ostream& out, const boost::json::object& r) {
    auto line = [&](std::string_view name, const std::string& value) {
        out << "  " << name << std::string(22 - std::min<std::size_t>(name.size(), 21), ' ')
            << value << "\n";
    };
    auto number = [](const boost::json::value& v) {
        std::ostringstream text;
        text << std::fixed << std::setprecision(v.is_double() ? 1 : 0)
             << (v.is_double() ? v.as_double() : static_cast<double>(v.to_number<std::int64_t>()));
        return text.str();
    };
    out << "ssebridge-bench: " << std::string_view(r.at("scenario").as_string()) << " against "
        << std::string_view(r.at("target").as_string()) << ", " << number(r.at("sessions"))
        << " sessions\n";
    for (std::string_view key :
         {"delivered", "seconds", "events_per_second", "sessions_per_second", "gateway_rss_kib",
          "gateway_rss_kib_peak", "gateway_rss_kib_end", "bench_cpu_seconds"})
        if (const auto* v = r.if_contains(key))
            line(key, number(*v));
    for (std::string_view key : {"resume", "cancel", "soak"})
        if (const auto* v = r.if_contains(key))
            for (const auto& [name, value] : v->as_object())
                line(std::string(key) + "." + std::string(name), number(value));
    if (r.at("delivered").to_number<std::int64_t>() == 0)
        return; // no event timed: no latency to report
    const auto& lat = r.at("latency_us").as_object();
    std::string percentiles;
    for (std::string_view key : {"p50", "p90", "p99", "p99_9", "max"})
        percentiles += std::string(key) + " " + number(lat.at(key)) + "  ";
    percentiles.resize(percentiles.size() - 2);
    line("latency_us", percentiles);
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    std::vector<cli::option> opts{
        cli::text("--scenario", "",
                  "limit, throughput, latency, slow, idle, setup, resume, cancel or soak",
                  s.scenario),
        cli::text("--target", "",
                  "ssebridge (POST sessions, publish to Redis) or sse (any server: "
                  "--subscribe-url and --publish-url)",
                  s.target),
        cli::text("--gateway", "",
                  "HOST:PORT of the gateway (target ssebridge); several, comma-separated: "
                  "streams are opened on each in turn",
                  s.gateway),
        cli::text("--redis", "", "Redis URL the events are published to (target ssebridge)",
                  s.redis),
        cli::text("--redis-cluster", "",
                  "HOST:PORT,... of a Redis Cluster to publish to instead (SPUBLISH on the "
                  "master of each channel's slot)",
                  s.redis_cluster),
        cli::text("--subscribe-url", "", "target sse: stream URL, {id} is the channel",
                  s.subscribe_url),
        cli::text("--publish-url", "", "target sse: URL to POST each event to, {id} is the channel",
                  s.publish_url),
        cli::text("--kafka-brokers", "", "setup: the gateway's Kafka (kafka.bootstrap=…)",
                  s.kafka_brokers),
        cli::text("--kafka-topic", "", "setup: the request topic", s.kafka_topic),
        cli::count("--sessions", "", "streams (channels for limit; sessions in all for setup)",
                   s.sessions),
        cli::count("--events", "", "events per session (throughput, limit)", s.events),
        cli::seconds("--rate", "",
                     "events per second in all (needed by latency and slow; paces limit and "
                     "throughput too; 0: as fast as possible)",
                     s.rate),
        cli::seconds("--duration", "",
                     "seconds to publish (latency, slow), hold (idle), at most (setup)",
                     s.duration),
        cli::seconds("--slow-share", "", "slow: share of clients that stop reading", s.slow_share),
        cli::count("--payload", "", "bytes of padding in each event", s.payload),
        cli::count("--publishers", "", "connections publishing", s.publishers),
        cli::count("--gateway-pid", "", "process whose RSS is reported", s.gateway_pid),
        cli::count("--in-flight", "", "events published but not yet received, at most",
                   s.in_flight),
        cli::count("--concurrency", "", "setup, cancel: clients opening sessions at once",
                   s.concurrency),
        cli::text("--publish", "",
                  "plain (PUBLISH) or record (the workers' recording script: ids and a log)",
                  s.publish),
        cli::seconds("--cut-share", "",
                     "resume: share of streams cut once and resumed; soak: share hung up "
                     "mid-answer",
                     s.cut_share),
        cli::text("--expect", "", "soak: the answer the worker streams, checked in every session",
                  s.expect),
        cli::text("--json", "",
                  "file to write the results to as JSON (else printed after the table)",
                  s.json_out),
    };
    cli::result parsed = cli::parse(opts, {argv + 1, argv + argc},
                                    [](const char*) -> const char* { return nullptr; });
    if (parsed.help || !parsed.ok) {
        (parsed.help ? std::cout : std::cerr)
            << (parsed.help ? "" : parsed.message + "\n\n")
            << "Usage: ssebridge-bench --scenario "
               "limit|throughput|latency|slow|idle|setup|resume|cancel [OPTIONS]\n\n"
            << cli::describe(opts);
        return parsed.help ? 0 : 2;
    }
    // First: it must outlive everything that holds its I/O objects (`st`).
    asio::io_context ioc(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO); // one thread, no locks on I/O
    run_state st(ioc.get_executor());
    st.s = s;
    try {
        auto cfg = redis::config::from_flags(s.redis, s.redis_cluster);
        if (!cfg)
            throw std::invalid_argument("--redis or --redis-cluster: " + cfg.error().message());
        st.redis_cfg = *cfg;
        if (s.target == "sse") {
            if (s.subscribe_url.empty() || s.publish_url.empty())
                throw std::invalid_argument("--target sse needs --subscribe-url and --publish-url");
            st.subscribe_url = url_template::parse(s.subscribe_url);
            st.publish_url = url_template::parse(s.publish_url);
        } else if (s.target != "ssebridge") {
            throw std::invalid_argument("--target is ssebridge or sse");
        }
        if (s.publish != "plain" && s.publish != "record")
            throw std::invalid_argument("--publish is plain or record");
        if ((s.scenario == "resume" || s.scenario == "cancel") && s.target != "ssebridge")
            throw std::invalid_argument("--scenario " + s.scenario + " needs --target ssebridge");
        if (s.scenario == "resume")
            st.s.publish = "record"; // only recorded events can be resumed
        if ((s.scenario == "latency" || s.scenario == "slow") && s.rate <= 0)
            throw std::invalid_argument("--scenario " + s.scenario + " needs --rate");
        for (std::string_view list = s.gateway; !list.empty();) {
            std::string one(list.substr(0, list.find(',')));
            list.remove_prefix(std::min(list.size(), one.size() + 1));
            auto colon = one.rfind(':');
            st.gateways.emplace_back(asio::ip::make_address(one.substr(0, colon)),
                                     static_cast<unsigned short>(std::stoi(one.substr(colon + 1))));
        }
        if (st.gateways.empty())
            throw std::invalid_argument("--gateway needs HOST:PORT");
        st.gateway = st.gateways.front();
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-bench: " << e.what() << "\n";
        return 2;
    }

    auto cpu_before = std::clock();
    try {
        if (s.scenario == "limit")
            test::run(ioc, scenario_limit(st), 600s);
        else if (s.scenario == "setup")
            test::run(ioc, scenario_setup(st), 600s);
        else if (s.scenario == "cancel")
            test::run(ioc, scenario_cancel(st), 600s);
        else if (s.scenario == "soak")
            test::run(ioc, scenario_soak(st),
                      std::chrono::duration_cast<steady::duration>(
                          std::chrono::duration<double>(s.duration)) +
                          120s);
        else
            test::run(ioc, scenario_streams(st), 600s);
    } catch (const std::exception& e) {
        std::cerr << "ssebridge-bench: " << e.what() << "\n";
        return 1;
    }
    bool timed = s.scenario == "throughput" || s.scenario == "latency" || s.scenario == "slow" ||
                 s.scenario == "limit" || s.scenario == "resume";
    if (timed && st.got.delivered > 0 && st.got.latency_us.empty()) {
        std::cerr << "ssebridge-bench: " << st.got.delivered
                  << " events arrived but none carried its send time (\"t\"): no latency to "
                     "report\n";
        return 1;
    }
    std::sort(st.got.latency_us.begin(), st.got.latency_us.end());
    auto& r = st.report;
    r["scenario"] = s.scenario;
    r["target"] = s.target;
    r["sessions"] = s.sessions;
    r["delivered"] = st.got.delivered;
    r["bench_cpu_seconds"] = static_cast<double>(std::clock() - cpu_before) / CLOCKS_PER_SEC;
    boost::json::object lat;
    for (auto [name, p] :
         {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99_9", 99.9}, {"max", 100.0}})
        lat[name] = percentile(st.got.latency_us, p);
    r["latency_us"] = lat;
    // The latency distribution for a CDF plot: 0..99 % by 1, then the tail.
    boost::json::array cdf;
    for (double p = 0; p < 99.5; p += 1)
        cdf.push_back(boost::json::array{p, percentile(st.got.latency_us, p)});
    for (double p : {99.5, 99.9, 99.95, 99.99, 100.0})
        cdf.push_back(boost::json::array{p, percentile(st.got.latency_us, p)});
    r["latency_cdf_us"] = cdf;
    print_table(std::cout, r);
    std::string json = boost::json::serialize(r);
    if (s.json_out.empty())
        std::cout << json << std::endl;
    else
        std::ofstream(s.json_out) << json << "\n";
    for (auto& p : st.publishers)
        p->close();
    ioc.poll();
    if (const auto* failure = r.if_contains("first_failure")) {
        std::cerr << "ssebridge-bench: sessions failed, the first: "
                  << std::string_view(failure->as_string()) << "\n";
        return 1;
    }
    return 0;
}
