// One request and its response, full or streamed, on a client connection.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/http/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>

#include <array>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ssebridge::http {

namespace detail {
class connection;
}

/// What a route handler gets: the request, and the one connection writer.
///
/// A handler either calls `respond` once, or `start_stream`, any number of
/// `write`s and `finish`. Writes never overlap: only the handler writes.
/// `respond` and `start_stream` are bounded by `limits::write_timeout`; body
/// writes are bounded by their caller. A failed or timed-out write returns
/// false and the connection is closed afterwards. Cancellation of a write is
/// terminal: the connection is closed afterwards. For a HEAD request (routed
/// to the GET handler) only the headers are sent: a stream's body writes
/// fail, as if the client had left.
class exchange {
public:
    explicit exchange(detail::connection& conn, request req);

    [[nodiscard]] const request& req() const noexcept { return req_; }

    coro::awaitable<bool> respond(response res);
    /// `respond(error_response(status, reason))`.
    coro::awaitable<bool> respond_error(unsigned status, std::string_view reason);

    /// Sends `200` with `headers` and a chunked body (or a body delimited by
    /// closing the connection for HTTP/1.0 clients).
    coro::awaitable<bool> start_stream(std::string_view content_type,
                                       std::span<const header> headers);
    /// Sends `bytes` as one chunk, and with `last` the end of the body too,
    /// in one system call where the socket takes it all. Not timed: a client
    /// that stops reading makes it wait until the caller cancels it (the
    /// gateway's session clock does, after its write timeout).
    coro::awaitable<bool> write(std::string_view bytes, bool last = false);
    /// Ends the streamed body; the connection may serve the next request.
    coro::awaitable<bool> finish();

    /// As `write`, without waiting: writes what the socket takes now, in one
    /// system call, and returns the framed bytes it did not take (empty: all
    /// of it went), for `write_framed`; nullopt when the connection failed.
    /// For a writer that has nothing in flight (no `write` pending).
    std::optional<std::string> try_write(std::string_view bytes, bool last = false);
    /// Writes bytes `try_write` left over, as they are.
    coro::awaitable<bool> write_framed(std::string_view framed);

    /// Completes when the client's side of the connection becomes readable:
    /// it closed, it failed, or it sent bytes (a client reading a stream has
    /// nothing to send, so any of them ends the stream). An Asio operation
    /// for any completion token (`asio::deferred` in a parallel group), so
    /// the watch holds no coroutine frame and no buffer for the hours a
    /// stream may last. Cancellation: terminal and partial.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) { start_wait_readable(std::move(handler)); }, token);
    }

    /// Frees the request's target, headers and body (the version stays):
    /// for a handler whose response outlives its need of the request.
    void drop_request() noexcept {
        request kept;
        kept.version = req_.version;
        std::swap(req_, kept);
    }

    /// Closes the connection now: a pending write fails at once. For a
    /// caller that gives up on a client (the write timeout of `write`).
    void abort() noexcept;

    /// Do not serve another request on this connection.
    void close_after() noexcept { keep_alive_ = false; }
    [[nodiscard]] bool keep_alive() const noexcept { return keep_alive_; }
    /// True once a response (full or streamed) has begun.
    [[nodiscard]] bool responded() const noexcept { return responded_; }
    /// True when the request came from an allowed origin (`limits::allowed_origins`).
    [[nodiscard]] bool cross_origin() const noexcept { return !origin_.empty(); }

private:
    void start_wait_readable(
        boost::asio::any_completion_handler<void(boost::system::error_code)> handler);

    // Runs one write under limits::write_timeout; a failure ends keep-alive.
    template <class WriteOp>
    coro::awaitable<bool> timed(WriteOp write);

    // The buffers of one chunk of `bytes` (and the last one): their count.
    std::size_t frame(std::string_view bytes, bool last,
                      std::array<boost::asio::const_buffer, 4>& buffers,
                      char (&size_line)[24]) const;
    template <class Message>
    void set_fields(Message& msg, std::string_view content_type,
                    std::span<const header> headers) const;

    detail::connection& conn_;
    request req_;
    std::string origin_; ///< the request's Origin when it is allowed (CORS), else empty
    bool keep_alive_;
    bool chunked_ = false;
    bool responded_ = false;
    bool head_only_;      ///< a HEAD request: headers as for GET, no body
    bool broken_ = false; ///< a body write failed: later ones fail at once
};

} // namespace ssebridge::http
