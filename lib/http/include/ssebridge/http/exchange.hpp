// One request and its response, full or streamed, on a client connection.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/http/message.hpp>
#include <ssebridge/http/response_stream.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <span>
#include <string>
#include <string_view>

namespace ssebridge::http {

namespace detail {
class connection;
}

/// What a route handler gets: the request, and the one connection writer.
///
/// A handler either calls `respond` once, or `start_stream` and then
/// `take_stream` for the body (a `response_stream` that owns the connection
/// from then on, and gives it back to the server when it goes). `respond`
/// and `start_stream` are bounded by `limits::write_timeout`; a failed or
/// timed-out write returns false and the connection is closed afterwards.
/// For a HEAD request (routed to the GET handler) only the headers are
/// sent: a stream's body writes fail, as if the client had left.
class exchange {
public:
    explicit exchange(detail::connection& conn, request req);

    [[nodiscard]] const request& req() const noexcept { return req_; }

    coro::awaitable<bool> respond(response res);
    /// `respond(error_response(status, reason))`.
    coro::awaitable<bool> respond_error(unsigned status, std::string_view reason);

    /// Sends `200` with `headers`, for a chunked body (or a body delimited by
    /// closing the connection for HTTP/1.0 clients) written through
    /// `take_stream`.
    coro::awaitable<bool> start_stream(std::string_view content_type,
                                       std::span<const header> headers);
    /// The connection, for the body of the stream `start_stream` began (it
    /// must have returned true). The exchange and its request stay valid,
    /// but write nothing more; the server's part in the connection ends
    /// with the handler.
    response_stream take_stream();
    /// True once `take_stream` has taken the connection.
    [[nodiscard]] bool taken() const noexcept { return taken_; }

    /// Completes when the client's side of the connection becomes readable
    /// while the handler works on its answer: the client closed, failed, or
    /// sent more than its request (a handler racing it against its work
    /// learns that nobody waits for the answer). Cancellation: terminal and
    /// partial. Not after `take_stream` (the stream has its own).
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) { start_wait_readable(std::move(handler)); }, token);
    }

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
    template <class Message>
    void set_fields(Message& msg, std::string_view content_type,
                    std::span<const header> headers) const;

    detail::connection& conn_;
    request req_;
    std::string origin_;        ///< the request's Origin when it is allowed (CORS), else empty
    bool credentialed_ = false; ///< its Origin is named in the list (not `*`): cookies allowed
    bool keep_alive_;
    bool chunked_ = false;
    bool responded_ = false;
    bool head_only_; ///< a HEAD request: headers as for GET, no body
    bool taken_ = false;
};

} // namespace ssebridge::http
