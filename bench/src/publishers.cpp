#include "publishers.hpp"

#include "measure.hpp"
#include "run_state.hpp"
#include "streams.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/detail/connection.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/wire/names.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/worker/recorder.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <charconv>
#include <deque>
#include <iostream>
#include <map>
#include <stdexcept>

namespace ssebridge::bench {

namespace {

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
        while (replies_.size() >= window) { // events in flight, whatever each sends
            co_await room_.async_wait();
        }
        if (record) {
            append_record(channel, message);
        } else if (pair) {
            // The contract's floor: the log entry and the message, pipelined, with
            // nothing to make them one (no atomicity, no id in the message).
            std::string_view id = channel.substr(channel.find(':') + 1);
            redis::append_command(conn_.outbox(), {"XADD", wire::log_key(id), "MAXLEN", "~",
                                                   "10000", "*", wire::log_message_field, message});
            redis::append_command(conn_.outbox(),
                                  {sharded ? "SPUBLISH" : "PUBLISH", channel, message});
            replies_.push_back(2);
        } else {
            redis::append_command(conn_.outbox(),
                                  {sharded ? "SPUBLISH" : "PUBLISH", channel, message});
            replies_.push_back(1);
        }
        conn_.flush();
    }

    void close() override { conn_.close(); }

    bool record = false;      ///< recorded, as a worker's session_writer records
    bool pair = false;        ///< XADD + PUBLISH pipelined: what recording costs Redis at the least
    bool sharded = false;     ///< a cluster master: SPUBLISH
    std::size_t failures = 0; ///< error replies

private:
    // What worker::session_writer sends, with the same recorder: MULTI, XADD
    // with the id it chose, PUBLISH, now and then EXPIRE, EXEC.
    void append_record(std::string_view channel, std::string_view message) {
        std::string_view id = channel.substr(channel.find(':') + 1);
        auto at = writers_.find(id);
        if (at == writers_.end())
            at = writers_.emplace(std::string(id), worker::recorder(id, {}, sharded)).first;
        std::string& out = conn_.outbox();
        redis::append_command(out, {"MULTI"});
        auto t = at->second.append(out, message, worker::id_for(message),
                                   std::chrono::steady_clock::now());
        redis::append_command(out, {"EXEC"});
        replies_.push_back(t.commands + 2); // MULTI's, QUEUED each, EXEC's
        if (t.id == wire::sealing_id)
            writers_.erase(at);
    }

    coro::awaitable<void> run() {
        co_await conn_.async_run([this](std::span<const redis::node> reply) {
            // (an EXEC's element counts too: a refused XADD)
            if (std::any_of(reply.begin(), reply.end(),
                            [](const redis::node& n) { return n.type == redis::resp_type::error; }))
                ++failures;
            if (--replies_.front() > 0)
                return;
            replies_.pop_front();
            room_.notify();
        });
    }

    coro::executor ex_;
    redis::detail::connection conn_;
    coro::notifier room_;
    std::deque<std::size_t> replies_; ///< each event in flight: the replies it awaits
    std::map<std::string, worker::recorder, std::less<>> writers_; ///< record: by session
};

/// A Redis Cluster: one pipelined publisher per master, each event sent to
/// the master of its channel's slot (the map is read once: nothing moves
/// during a run).
class cluster_publisher final : public event_publisher {
public:
    explicit cluster_publisher(coro::executor ex)
        : ex_(ex) {}

    coro::awaitable<void> connect(const redis::config& cfg, bool record, bool pair) {
        map_ = std::make_unique<redis::slot_map>(co_await redis::detail::discover_slots(cfg, {}));
        for (const redis::cluster_node& master : map_->masters()) {
            auto p = std::make_unique<redis_publisher>(ex_);
            p->record = record;
            p->pair = pair;
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

} // namespace

url_template url_template::parse(const std::string& url) {
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

std::string url_template::path_for(std::string_view id) const {
    std::string p = path;
    auto at = p.find("{id}");
    if (at != std::string::npos)
        p.replace(at, 4, id);
    return p;
}

std::string event_json(std::string_view type, const std::string& pad, bool send_time_as_char) {
    if (send_time_as_char) // a worker's text, as the AI SDK profile turns it into a text-delta
        return R"({"event_type":")" + std::string(type) + R"(","payload":{"char":")" +
               std::to_string(now_ns()) + " " + pad + "\"}}";
    return R"({"event_type":")" + std::string(type) + R"(","payload":{"t":)" +
           std::to_string(now_ns()) + R"(,"pad":")" + pad + "\"}}";
}

coro::awaitable<void> connect_publishers(run_state& st) {
    if (!st.publishers.empty())
        co_return; // connected by an earlier phase of the run
    auto ex = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < st.s.publishers; ++i) {
        if (st.publish_url) {
            auto p = std::make_unique<http_publisher>(ex, *st.publish_url);
            co_await p->connect();
            st.publishers.push_back(std::move(p));
        } else if (!st.redis_cfg.cluster.empty()) {
            auto p = std::make_unique<cluster_publisher>(ex);
            co_await p->connect(st.redis_cfg, st.s.publish == "record", st.s.publish == "pair");
            st.publishers.push_back(std::move(p));
        } else {
            auto p = std::make_unique<redis_publisher>(ex);
            p->record = st.s.publish == "record";
            p->pair = st.s.publish == "pair";
            co_await p->connect(st.redis_cfg);
            st.publishers.push_back(std::move(p));
        }
    }
}

coro::awaitable<void> publish_all(run_state& st, const std::vector<std::string>& channels,
                                  std::size_t per_channel, double rate,
                                  const std::vector<bool>& unread) {
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
            std::string message = event_json("FinalAnswerStream", pad, st.s.profile == "ai-sdk");
            co_await st.publishers[sent % st.publishers.size()]->publish(channels[c], message);
            if (unread.empty() || !unread[c])
                ++counted;
        }
    }
}

} // namespace ssebridge::bench
