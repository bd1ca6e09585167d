#include <ssebridge/redis/client.hpp>

#include <ssebridge/coro/event.hpp>
#include <ssebridge/redis/detail/connection.hpp>

#include <boost/system/system_error.hpp>

#include <stdexcept>

namespace ssebridge::redis {

namespace asio = boost::asio;
using boost::system::system_error;

struct client::pending {
    explicit pending(coro::executor ex)
        : done(std::move(ex)) {}
    coro::event done;
    reply result;
    bool failed = false;
};

std::string make_command(std::initializer_list<std::string_view> args) {
    std::string out;
    append_command(out, args);
    return out;
}

namespace {
// Outside the coroutine: g++ 12 rejects braced arrays in coroutine frames.
std::string publish_command(std::string_view channel, std::string_view message) {
    return make_command({"PUBLISH", channel, message});
}

const std::string& ping_command() {
    static const std::string command = make_command({"PING"});
    return command;
}
} // namespace

client::client(coro::executor ex, config cfg)
    : ex_(ex)
    , cfg_(std::move(cfg)) {}

client::~client() = default;

coro::awaitable<void> client::async_connect() {
    conn_ = std::make_unique<detail::connection>(ex_);
    co_await conn_->async_connect(cfg_);
}

bool client::connected() const noexcept {
    return conn_ && conn_->is_open();
}

coro::awaitable<boost::system::error_code> client::async_run() {
    if (!conn_)
        throw std::logic_error("redis::client::async_run before async_connect");
    auto on_reply = [this](std::span<const node> nodes) {
        if (pending_.empty())
            return; // a reply nobody asked for: ignore
        auto p = std::move(pending_.front());
        pending_.pop_front();
        if (!p)
            return; // our PING's
        p->result = to_reply(nodes);
        p->done.set();
    };
    // An idle client PINGs so that a hung server is noticed before a command waits on it.
    auto ping = [this] {
        pending_.push_back(nullptr);
        conn_->send(ping_command());
    };
    boost::system::error_code ec = co_await conn_->async_run(on_reply, ping);
    for (auto& p : pending_) {
        if (!p)
            continue;
        p->failed = true;
        p->done.set();
    }
    pending_.clear();
    co_return ec;
}

coro::awaitable<void> client::async_keep_connected() {
    return detail::keep_connected(cfg_, "client", conn_, [this] { return async_run(); });
}

coro::awaitable<reply> client::async_exec(std::string command) {
    if (!connected())
        throw system_error(asio::error::not_connected, "Redis client not connected");
    auto p = std::make_shared<pending>(ex_);
    pending_.push_back(p);
    conn_->send(command);
    co_await p->done.async_wait();
    if (p->failed)
        throw system_error(asio::error::connection_reset, "Redis connection lost");
    co_return std::move(p->result);
}

namespace {
std::string eval_command(std::string_view verb, std::string_view script,
                         const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
    std::string numkeys = std::to_string(keys.size());
    std::vector<std::string_view> words{verb, script, numkeys};
    words.insert(words.end(), keys.begin(), keys.end());
    words.insert(words.end(), args.begin(), args.end());
    std::string out;
    append_command(out, words);
    return out;
}
} // namespace

coro::awaitable<reply> client::async_eval(script s, std::vector<std::string> keys,
                                          std::vector<std::string> args) {
    reply r = co_await async_exec(eval_command("EVALSHA", s.sha1, keys, args));
    if (r.is_error() && r.value.starts_with("NOSCRIPT"))
        r = co_await async_exec(eval_command("EVAL", s.text, keys, args)); // caches it
    co_return r;
}

coro::awaitable<std::int64_t> client::async_publish(std::string channel, std::string message) {
    reply r = co_await async_exec(publish_command(channel, message));
    if (r.type != resp_type::integer)
        throw std::runtime_error("PUBLISH failed: " + r.value);
    co_return r.integer;
}

void client::close() {
    if (conn_)
        conn_->close();
}

} // namespace ssebridge::redis
