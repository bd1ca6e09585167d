// One client's stream of a session, as the gateway keeps it: the sink of the
// session's Redis channel, its `stream`, and what the gateway counts of it.
#pragma once

#include "state.hpp"

#include <ssebridge/gateway/stream.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace ssebridge::gateway {

/// One client's stream of a session.
///
/// Opening it is a coroutine (`open.cpp`: the requests to Redis and Kafka,
/// the headers); a replay of the log is one too (`replay.cpp`). Then it
/// streams through `async_stream`, completed by a plain handler: the Redis
/// reader (`on_message`, `flush`), the gateway's clock (`on_tick`) and the
/// operation's one wait on the socket drive it, and no coroutine waits for
/// it. Whoever holds it (the opening, the replay, the operation's handler)
/// holds a `shared_ptr`.
class session final : public redis::subscriber::sink,
                      public live_hook,
                      public std::enable_shared_from_this<session> {
public:
    session(gateway::state& st, std::string id, detail::stream_kind kind,
            coro::clock::time_point received);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // The session's channel.
    void on_message(std::string_view payload) override;
    void on_lost() override;
    /// The end of a Redis read: writes what its messages queued.
    void flush();
    /// The gateway's clock.
    void on_tick(coro::clock::time_point now);
    /// The gateway drains: the stream ends with its error event.
    void shutdown();

    /// Feeds the stream's state machine (`input(state)` returns its step),
    /// notes what changed (the ack, a recorded event, an error end: counted
    /// and, for the session-level ones, recorded) and acts on the step.
    template <class Input>
    void feed(Input&& input) {
        observed before = observe();
        detail::step s = input(stream_.state());
        stream_.act(noted(before, s));
    }

    /// Its headers are out: the session takes the connection, replays the
    /// log from `cursor` first (subscribers and joiners), then streams.
    void attach(http::response_stream out, std::string cursor);
    /// Its client left before the headers went out.
    void left_before_streaming();

    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    [[nodiscard]] detail::stream_kind kind() const noexcept { return stream_.state().kind(); }
    [[nodiscard]] gateway::state& gateway_state() const noexcept { return st_; }
    [[nodiscard]] const detail::stream_state& state() const noexcept { return stream_.state(); }
    /// The state machine, for the inputs that decide nothing `feed` notes
    /// (`begin_replay`, `on_stream_started`, `take`).
    [[nodiscard]] detail::stream_state& machine() noexcept { return stream_.state(); }
    /// The stream (for a writer before `async_stream`: the replay).
    [[nodiscard]] ssebridge::gateway::stream& stream() noexcept { return stream_; }
    [[nodiscard]] coro::clock::time_point received() const noexcept { return received_; }

    /// Subscribed to its channel: the subscription lives as long as the session.
    void subscribed(redis::subscriber::subscription s) noexcept { subscription_ = std::move(s); }
    /// Its log exists: it can be resumed, and abandoned.
    void exists() noexcept { exists_ = true; }
    [[nodiscard]] bool does_exist() const noexcept { return exists_; }

private:
    /// Where the session is in its life.
    enum class phase : std::uint8_t {
        opening,   ///< subscribing, producing, sending its headers
        replaying, ///< writing the log before the live events (a coroutine writes)
        streaming, ///< `async_stream` runs
        ended,     ///< counted, off the gateway's list
    };
    /// What `feed` compares before and after an input.
    struct observed {
        bool ended;
        bool acked;
        std::optional<wire::entry_id> newest;
    };
    [[nodiscard]] observed observe() const noexcept;
    /// Notes what changed since `before`; the step left to act on.
    detail::step noted(const observed& before, detail::step s);

    void start_streaming();
    /// The stream is over (`ec` as `async_stream` reports it): counted,
    /// noted as abandoned when its session is unfinished, its connection
    /// let go. Once.
    void end(boost::system::error_code ec);
    void record_session_end(wire::end_code code);

    gateway::state& st_;
    const std::string id_;
    ssebridge::gateway::stream stream_;
    redis::subscriber::subscription subscription_;
    coro::clock::time_point received_; ///< when its request arrived
    phase phase_ = phase::opening;
    bool exists_ = false;    ///< its log exists
    bool unflushed_ = false; ///< in `st_.sessions.unflushed`
};

} // namespace ssebridge::gateway
