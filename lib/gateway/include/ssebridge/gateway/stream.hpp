// The streaming stage (DESIGN.md §2): one client's stream of a session, once
// its headers are out, as one composed Asio operation around the stream's
// sans-IO state machine.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/gateway/detail/stream_state.hpp>
#include <ssebridge/http/response_stream.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ssebridge::gateway {

/// What the streams of one executor share: their limits, and the count of
/// event frames they wrote (read it on that executor).
struct stream_group {
    detail::stream_limits limits;
    std::uint64_t events_written = 0;
};

/// One client's stream: its state machine (`state()`) and, once attached,
/// the connection it goes out on.
///
/// Whoever feeds the machine (a Redis subscription's messages, a clock's
/// ticks, a lost backend) hands the `detail::step` it returned to `act`.
/// While `async_stream` waits with nothing to write, `act` writes what is
/// ready at once, in one non-blocking system call; whatever a full socket
/// leaves, and the end, the operation takes over. Before the operation
/// starts (a replay writing the log first) `act` only queues.
///
/// Single-threaded: use it on its connection's executor.
class stream {
public:
    /// `group` must outlive the stream.
    stream(stream_group& group, detail::stream_kind kind, coro::clock::time_point now);

    [[nodiscard]] detail::stream_state& state() noexcept { return state_; }
    [[nodiscard]] const detail::stream_state& state() const noexcept { return state_; }

    /// Its headers are out: the stream takes their connection.
    void attach(http::response_stream out);
    [[nodiscard]] bool attached() const noexcept { return out_.has_value(); }
    /// The connection (attached streams only), for a writer that runs
    /// before `async_stream` (a replay), and for `async_wait_readable`.
    [[nodiscard]] http::response_stream& out() noexcept { return *out_; }

    /// Does what the state machine asked for: writes what is ready (only
    /// while the operation waits idle), or drops the connection (`abort`:
    /// a write waited too long, and fails now).
    void act(detail::step s);

    /// A chunk taken from the state went out: the write clock and the count.
    /// False after the last chunk.
    bool written(const detail::chunk& c);

    /// Lets the connection go: back to its server for the next request when
    /// the body is finished and it may be kept alive, else closed. Not while
    /// `async_stream` runs.
    void release() noexcept { out_.reset(); }

    /// What `async_stream` does next (its decisions, without I/O; see `resume`).
    enum class next : std::uint8_t {
        write,    ///< write `unsent()` (what a full socket left)
        wait,     ///< wait for the client's side of the socket (idle)
        post,     ///< complete, but not within the initiating call (a HEAD)
        complete, ///< complete with `completion()`
    };
    /// The operation resumed: started (`how` idle), or its write or wait
    /// completed with `ec`; `cancelled`: a terminal cancellation came
    /// through its slot. Writes what it can at once and says what is next.
    next resume(boost::system::error_code ec, bool cancelled);
    [[nodiscard]] std::string_view unsent() const noexcept { return unsent_->framed; }
    [[nodiscard]] boost::system::error_code completion() const noexcept { return completion_; }

private:
    /// Where `async_stream` is, for `act` and the operation's next step.
    enum class mode : std::uint8_t {
        idle,    ///< not started (or a writer runs before it): `act` only queues
        waiting, ///< waits for the client's hang-up: `act` writes at once
        woken,   ///< woken to take over (a full socket, the end): `act` only queues
        writing, ///< writes what a full socket left
        done,    ///< completed
    };
    /// A chunk a full socket left: only while there is one.
    struct leftover {
        std::string framed;
        detail::chunk chunk;
    };

    /// Writes what the state has ready, one non-blocking system call a
    /// chunk. True when all of it went and the stream goes on; false when a
    /// full socket left some (`unsent_`), the last chunk went, or the client
    /// is gone: then the operation takes over.
    bool write_ready();
    /// Ends the operation's idle wait so that it takes over.
    void wake();
    next finish(boost::system::error_code ec);
    boost::system::error_code write_failure(boost::system::error_code ec);

    detail::stream_state state_;
    std::optional<http::response_stream> out_;
    std::unique_ptr<leftover> unsent_;
    stream_group* group_;
    boost::system::error_code completion_;
    mode mode_ = mode::idle;
    bool client_gone_ = false; ///< a direct write failed
};

namespace detail {

/// The body of `async_stream`: it only moves bytes; `stream::resume` decides.
struct stream_op {
    stream* s;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t /*written*/ = 0) {
        bool cancelled = self.cancelled() != boost::asio::cancellation_type::none;
        switch (s->resume(ec, cancelled)) {
        case stream::next::write:
            s->out().async_write_framed(s->unsent(), std::move(self));
            return;
        case stream::next::wait:
            s->out().async_wait_readable(std::move(self));
            return;
        case stream::next::post:
            boost::asio::post(s->out().get_executor(),
                              boost::asio::append(std::move(self), s->completion()));
            return;
        case stream::next::complete:
            self.complete(s->completion());
            return;
        }
    }
};

} // namespace detail

/// Streams `s` (attached) until it ends: what its state machine has ready
/// goes out, keepalives and the end included, until its last chunk.
///
/// While nothing is to be written it holds no coroutine frame and one
/// pending operation: the wait for the client's side of the socket, which
/// is how it sees a hang-up. It completes with
/// - success: the last chunk went out (the terminal event, or the error
///   event that ended the stream: `s.state().end_code()`);
/// - `asio::error::operation_aborted`: cancelled (terminal cancellation
///   through the handler's slot); the stream ends with its error event
///   (`shutting_down`) when the socket takes it at once;
/// - `asio::error::eof`: the client hung up (or sent bytes, which a client
///   reading a stream has no reason to);
/// - `asio::error::timed_out`: a write waited longer than the write timeout;
/// - another error: a write failed (the connection is gone).
///
/// A HEAD request's stream (its answer was the headers) completes at once
/// with success. Signature `void(boost::system::error_code)`.
///
/// No I/O executor is tracked besides the socket's own pending operation:
/// the handler completes on its associated executor, else the socket's.
template <class Token>
auto async_stream(stream& s, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(detail::stream_op{&s},
                                                                              token);
}

} // namespace ssebridge::gateway
