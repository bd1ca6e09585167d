// The connection of a streamed response, once its headers are out.
#pragma once

#include <ssebridge/coro/core.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ssebridge::http {

class server;

/// The body of a streamed response and the connection it goes out on,
/// taken from its exchange (`exchange::take_stream`) after `start_stream`.
///
/// It owns the socket and nothing else: no parser, no read buffer, no
/// coroutine of the server waits for it. A stream may last for hours with
/// nothing to send, so an idle one costs its socket and a few flags. The
/// server still counts it among its connections (`server::connections`,
/// `limits::max_connections`), and its `async_run` ends only once every
/// taken stream has.
///
/// When it goes, the connection goes back to the server for its next request
/// if the body was finished and the connection may be kept alive (and the
/// server is not stopping); otherwise it is closed.
///
/// One writer at a time: `write`, `async_write_framed` and `finish` never
/// overlap each other, and `try_write` is for a writer with nothing in flight.
/// Single-threaded: use it on its server's executor.
class response_stream {
public:
    response_stream(response_stream&& other) noexcept;
    response_stream& operator=(response_stream&&) = delete;
    response_stream(const response_stream&) = delete;
    ~response_stream();

    /// Sends `bytes` as one chunk, and with `last` the end of the body too,
    /// in one system call where the socket takes it all. Not timed: a client
    /// that stops reading makes it wait until the caller `abort`s or cancels
    /// it (the gateway's session clock does, after its write timeout). False
    /// once the connection failed (then every later write fails at once).
    coro::awaitable<bool> write(std::string_view bytes, bool last = false);
    /// Ends the body.
    coro::awaitable<bool> finish();

    /// As `write`, without waiting: writes what the socket takes now, in one
    /// system call, and returns the framed bytes it did not take (empty: all
    /// of it went), for `async_write_framed`; nullopt when the connection failed.
    std::optional<std::string> try_write(std::string_view bytes, bool last = false);
    /// Writes bytes `try_write` left over, as they are (`framed` must live
    /// until it completes). Signature `void(error_code, std::size_t)`; on an
    /// error the caller `abort`s: the connection's state is unknown.
    template <class Token>
    auto async_write_framed(std::string_view framed, Token&& token) {
        return boost::asio::async_write(socket_, boost::asio::buffer(framed),
                                        std::forward<Token>(token));
    }

    /// Completes when the client's side of the connection becomes readable:
    /// it closed, it failed, or it sent bytes (a client reading a stream has
    /// nothing to send, so any of them ends the stream). An Asio operation
    /// for any completion token, so that a watch lasting hours holds no
    /// coroutine frame. Cancellation: terminal and partial; `abort` and the
    /// stream's end cancel it too.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                                  std::forward<Token>(token));
    }

    /// Ends a pending `async_wait_readable` now, with `operation_aborted`;
    /// the connection stays as it is.
    void cancel_wait() noexcept {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
    }

    [[nodiscard]] boost::asio::any_io_executor get_executor() noexcept {
        return socket_.get_executor();
    }

    /// False once a write failed, and from the start for a HEAD request
    /// (its response ends with the headers): nothing more can go out.
    [[nodiscard]] bool writable() const noexcept { return !broken_; }

    /// Closes the connection now: a pending write or wait fails at once.
    void abort() noexcept;
    /// Do not serve another request on this connection.
    void close_after() noexcept { keep_alive_ = false; }
    [[nodiscard]] bool keep_alive() const noexcept { return keep_alive_; }

private:
    friend class exchange;
    response_stream(server& owner, boost::asio::ip::tcp::socket socket, std::string unread,
                    bool chunked, bool keep_alive, bool head_only);

    // The buffers of one chunk of `bytes` (and the last one): their count.
    std::size_t frame(std::string_view bytes, bool last,
                      std::array<boost::asio::const_buffer, 4>& buffers,
                      char (&size_line)[24]) const;
    // A write failed: the connection's state is unknown, it is not reused.
    bool failed() noexcept;

    server* owner_; ///< null once moved from
    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<std::string> unread_; ///< request bytes read past the streamed request
    bool chunked_;          ///< else the body ends when the connection does (HTTP/1.0)
    bool keep_alive_;       ///< may serve the next request once the body is finished
    bool broken_;           ///< a write failed (or HEAD: no body): later ones fail at once
    bool finished_ = false; ///< the last chunk went out
};

} // namespace ssebridge::http
