#include <ssebridge/redis/detail/connection.hpp>

#include <ssebridge/coro/timeout.hpp>
#include <ssebridge/log.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace ssebridge::redis::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t initial_buffer = 64 * 1024; // one read takes a burst of pushes
constexpr std::size_t max_batch = 1024 * 1024;    // bytes read before the batch ends
constexpr parser_limits limits{};
} // namespace

connection::connection(coro::executor ex)
    : socket_(ex)
    , writable_(ex) {}

coro::awaitable<void> connection::async_connect(const config& cfg) {
    tcp::resolver resolver(socket_.get_executor());
    auto endpoints =
        co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port), asio::use_awaitable);
    std::optional<tcp::endpoint> connected = co_await coro::with_timeout(
        asio::async_connect(socket_, endpoints, asio::use_awaitable), cfg.connect_timeout);
    if (!connected)
        throw boost::system::system_error(asio::error::timed_out, "connect to Redis");
    socket_.set_option(tcp::no_delay(true));
    socket_.set_option(asio::socket_base::keep_alive(true));
    socket_.non_blocking(true); // read_loop reads what is there without waiting
    in_.assign(initial_buffer, '\0');
    in_begin_ = in_end_ = 0;
    reply_timeout_ = cfg.reply_timeout;
    bool answered = co_await coro::with_timeout(handshake(cfg), cfg.connect_timeout);
    if (!answered)
        throw boost::system::system_error(asio::error::timed_out, "Redis did not answer PING");
}

coro::awaitable<void> connection::handshake(const config& cfg) {
    std::string hello;
    if (!cfg.password.empty()) {
        if (cfg.username.empty())
            append_command(hello, {"AUTH", cfg.password});
        else
            append_command(hello, {"AUTH", cfg.username, cfg.password});
    }
    append_command(hello, {"PING"});
    co_await asio::async_write(socket_, asio::buffer(hello), asio::use_awaitable);
    if (!cfg.password.empty()) {
        reply auth = co_await read_reply();
        if (auth.is_error())
            throw std::runtime_error("Redis AUTH failed: " + auth.value);
    }
    reply pong = co_await read_reply();
    if (pong.is_error())
        throw std::runtime_error("Redis refused PING: " + pong.value);
}

coro::awaitable<reply> connection::async_request(std::string_view command,
                                                 std::chrono::steady_clock::duration timeout) {
    co_await asio::async_write(socket_, asio::buffer(command), asio::use_awaitable);
    std::optional<reply> r = co_await coro::with_timeout(read_reply(), timeout);
    if (!r)
        throw boost::system::system_error(asio::error::timed_out, "Redis did not answer");
    co_return std::move(*r);
}

void connection::send(std::string_view bytes) {
    out_.append(bytes);
    flush();
}

void connection::flush() {
    if (!unanswered_since_)
        unanswered_since_ = std::chrono::steady_clock::now();
    writable_.notify();
}

void connection::close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

template <class F>
bool connection::parse_buffered(error_code& ec, F&& f) {
    for (;;) {
        std::string_view view(in_.data() + in_begin_, in_end_ - in_begin_);
        std::size_t used = parse(view, nodes_, ec, limits);
        if (ec)
            return false;
        if (used == 0)
            break;
        in_begin_ += used;
        f(std::span<const node>(nodes_));
    }
    if (in_begin_ == in_end_)
        in_begin_ = in_end_ = 0;
    return true;
}

bool connection::make_room(error_code& ec) {
    if (in_end_ < in_.size())
        return true;
    if (in_begin_ > 0) { // compact: move the partial reply to the front
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    } else if (in_.size() > limits.max_bulk + initial_buffer) {
        ec = make_error_code(resp_error::too_large);
        return false;
    } else {
        in_.resize(in_.size() * 2);
    }
    return true;
}

coro::awaitable<boost::system::error_code>
connection::read_loop(reply_handler& on_reply, std::function<void()>& after_read) {
    error_code ec;
    for (;;) {
        if (!make_room(ec))
            co_return ec;
        auto [read_error, n] = co_await socket_.async_read_some(
            asio::buffer(in_.data() + in_end_, in_.size() - in_end_), coro::use_tuple);
        if (read_error)
            co_return read_error;
        // A batch is everything Redis has sent so far, up to max_batch: the
        // socket is read dry before `after_read` (the subscriber's sinks
        // flush once per batch), so that under load one send carries
        // several events of a session. The reads after the first never
        // wait: the socket is non-blocking.
        for (std::size_t batch = n;;) {
            in_end_ += n;
            if (!parse_buffered(ec, on_reply))
                co_return ec;
            if (batch >= max_batch || !make_room(ec))
                break;
            n = socket_.read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_), ec);
            if (ec)
                break;
            batch += n;
        }
        if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
            co_return ec;
        ec = {};
        last_read_ = std::chrono::steady_clock::now();
        unanswered_since_.reset();
        if (after_read)
            after_read();
    }
}

coro::awaitable<reply> connection::read_reply() {
    std::optional<reply> result;
    for (;;) {
        error_code ec;
        bool ok = parse_buffered(ec, [&](std::span<const node> nodes) {
            if (!result)
                result = to_reply(nodes);
        });
        if (!ok)
            throw boost::system::system_error(ec);
        if (result)
            co_return std::move(*result);
        if (!make_room(ec))
            throw boost::system::system_error(ec);
        std::size_t n = co_await socket_.async_read_some(
            asio::buffer(in_.data() + in_end_, in_.size() - in_end_), asio::use_awaitable);
        in_end_ += n;
    }
}

coro::awaitable<boost::system::error_code> connection::write_loop() {
    for (;;) {
        if (out_.empty()) {
            co_await writable_.async_wait();
            continue;
        }
        std::swap(out_, writing_);
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_), coro::use_tuple);
        writing_.clear();
        if (ec)
            co_return ec;
    }
}

coro::awaitable<boost::system::error_code> connection::watch_replies(std::function<void()>& ping) {
    using namespace std::chrono_literals;
    asio::steady_timer timer(socket_.get_executor());
    const auto tick = std::max<std::chrono::steady_clock::duration>(reply_timeout_ / 4, 5ms);
    for (;;) {
        timer.expires_after(tick);
        co_await timer.async_wait(asio::use_awaitable);
        auto now = std::chrono::steady_clock::now();
        if (unanswered_since_ && now - *unanswered_since_ >= reply_timeout_) {
            log::warn("redis: no reply within ",
                      std::chrono::duration_cast<std::chrono::milliseconds>(reply_timeout_).count(),
                      " ms; dropping the connection");
            co_return asio::error::timed_out;
        }
        if (!unanswered_since_ && ping && now - last_read_ >= reply_timeout_ / 2)
            ping();
    }
}

coro::awaitable<boost::system::error_code> connection::async_run(reply_handler on_reply,
                                                                 std::function<void()> ping,
                                                                 std::function<void()> after_read) {
    using namespace asio::experimental::awaitable_operators;
    last_read_ = std::chrono::steady_clock::now();
    unanswered_since_.reset();
    error_code ec;
    if (reply_timeout_ == std::chrono::steady_clock::duration::zero()) {
        std::variant<error_code, error_code> ended =
            co_await (read_loop(on_reply, after_read) || write_loop());
        ec = ended.index() == 0 ? std::get<0>(ended) : std::get<1>(ended);
    } else {
        std::variant<error_code, error_code, error_code> ended =
            co_await (read_loop(on_reply, after_read) || write_loop() || watch_replies(ping));
        std::visit([&](error_code e) { ec = e; }, ended);
    }
    close();
    co_return ec;
}

config node_config(const config& cfg, const cluster_node& node) {
    config one = cfg;
    one.cluster.clear();
    one.host = node.host;
    one.port = node.port;
    return one;
}

namespace {
const std::string& cluster_slots_command() {
    static const std::string command = [] {
        std::string c;
        append_command(c, {"CLUSTER", "SLOTS"});
        return c;
    }();
    return command;
}

coro::awaitable<std::optional<slot_map>> ask_for_slots(coro::executor ex, config one) {
    connection conn(ex);
    std::optional<slot_map> map;
    try {
        co_await conn.async_connect(one);
        reply r = co_await conn.async_request(cluster_slots_command(), one.connect_timeout);
        if (auto m = slot_map::from_cluster_slots(r))
            map = std::move(*m);
        else
            log::debug("redis cluster: ", one.host, ":", one.port,
                       " has no full slot map: ", r.is_error() ? r.value : m.error().message());
    } catch (const std::exception&) {
        log::debug("redis cluster: ", one.host, ":", one.port,
                   " did not answer CLUSTER SLOTS: ", log::describe(std::current_exception()));
    }
    conn.close();
    co_return map;
}
} // namespace

coro::awaitable<slot_map> discover_slots(const config& cfg, std::vector<cluster_node> candidates) {
    auto ex = co_await asio::this_coro::executor;
    candidates.insert(candidates.end(), cfg.cluster.begin(), cfg.cluster.end());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (std::find(candidates.begin(), candidates.begin() + i, candidates[i]) !=
            candidates.begin() + i)
            continue; // asked already
        std::optional<slot_map> map = co_await ask_for_slots(ex, node_config(cfg, candidates[i]));
        co_await coro::throw_if_cancelled();
        if (map)
            co_return std::move(*map);
    }
    log::warn("redis cluster: none of ", candidates.size(),
              " nodes answered CLUSTER SLOTS with a full slot map");
    throw boost::system::system_error(cluster_error::no_slots);
}

namespace {
coro::awaitable<void> keep_following(const config& cfg, coro::notifier& stale,
                                     slot_map_follower& f) {
    using namespace std::chrono_literals;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (!f.done()) {
        bool found = false;
        try {
            slot_map map = co_await discover_slots(cfg, f.connected_masters());
            co_await f.apply(std::move(map));
            found = true;
        } catch (const boost::system::system_error& e) {
            if (e.code() != cluster_error::no_slots)
                throw;
        }
        pause.expires_after(250ms); // at most one round this often
        co_await pause.async_wait(asio::use_awaitable);
        if (found && f.healthy())
            co_await stale.async_wait(coro::clock::now() + 5s);
    }
}
} // namespace

coro::awaitable<void> follow_slot_map(const config& cfg, coro::notifier& stale,
                                      slot_map_follower f) {
    std::exception_ptr stopped;
    try {
        co_await keep_following(cfg, stale, f);
    } catch (...) {
        stopped = std::current_exception(); // (no co_await in a handler)
    }
    // Structured: what following started ends before this does.
    if (f.stop)
        co_await f.stop();
    if (stopped)
        std::rethrow_exception(stopped);
}

coro::awaitable<void> keep_connected(const config& cfg, std::string_view who,
                                     std::unique_ptr<connection>& conn,
                                     std::function<coro::awaitable<error_code>()> serve) {
    using namespace std::chrono_literals;
    constexpr auto min_backoff = 50ms;
    constexpr auto max_backoff = 2000ms;
    auto ex = co_await asio::this_coro::executor;
    auto backoff = std::chrono::steady_clock::duration(min_backoff);
    asio::steady_timer timer(ex);
    for (;;) {
        // `conn` shows a connection only once it answered: owners read it as "connected".
        auto fresh = std::make_unique<connection>(ex);
        std::string failure;
        try {
            co_await fresh->async_connect(cfg);
            conn = std::move(fresh);
        } catch (const std::exception&) {
            failure = log::describe(std::current_exception());
        }
        co_await coro::throw_if_cancelled();
        if (failure.empty()) {
            backoff = min_backoff;
            log::info("redis ", who, " connected to ", cfg.host, ":", cfg.port);
            error_code ec = co_await serve();
            co_await coro::throw_if_cancelled();
            log::warn("redis ", who, " connection lost: ", ec.message());
        } else {
            log::warn("redis ", who, " cannot connect to ", cfg.host, ":", cfg.port, ": ", failure,
                      " (retrying in ",
                      std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count(),
                      " ms)");
        }
        timer.expires_after(backoff);
        co_await timer.async_wait(asio::use_awaitable);
        backoff = std::min<std::chrono::steady_clock::duration>(backoff * 2, max_backoff);
    }
}

} // namespace ssebridge::redis::detail
