// A raw HTTP/1.1 client for tests: it decodes chunked bodies itself, so a
// streamed SSE frame is seen the moment it arrives.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/sse/decoder.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ssebridge::test {

struct http_head {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    /// The value of header `name` (case-insensitive).
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// `POST path` with `body` and the given content type (empty: none).
std::string post_request(std::string_view body, std::string_view content_type = "application/json",
                         std::string_view path = "/v1/react/sessions",
                         std::string_view extra_headers = "");

class http_client;

/// Polls `GET /readyz` until the gateway at `ep` answers 200 (its Redis
/// subscriber is up); throws after `attempts` tries 50 ms apart.
coro::awaitable<void> wait_healthy(boost::asio::ip::tcp::endpoint ep, int attempts = 200);

class http_client {
public:
    explicit http_client(coro::executor ex);

    coro::awaitable<void> connect(boost::asio::ip::tcp::endpoint ep);
    coro::awaitable<void> send(std::string raw);
    /// Reads the status line and headers.
    coro::awaitable<http_head> read_head();
    /// The next piece of body: a chunk's data (chunked), everything
    /// (Content-Length), or one read (until close). nullopt at the end.
    coro::awaitable<std::optional<std::string>> read_body_piece();
    /// The whole body.
    coro::awaitable<std::string> read_body();
    /// The next SSE message (comments included); nullopt at end of body.
    coro::awaitable<std::optional<sse::message>> next_message();
    /// Reads until the peer closes; true if it did within the wait.
    coro::awaitable<bool> wait_eof();

    /// The full exchange of a request with a non-streamed answer.
    coro::awaitable<std::pair<http_head, std::string>> exchange(std::string raw);

    void close();
    boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
    coro::awaitable<bool> fill();
    coro::awaitable<std::string> read_line();
    coro::awaitable<std::string> read_exact(std::size_t n);

    boost::asio::ip::tcp::socket socket_;
    std::string buf_;
    enum class framing { none, chunked, length, until_close } framing_ = framing::none;
    std::size_t remaining_ = 0;
    bool body_done_ = false;
    sse::decoder decoder_;
    std::deque<sse::message> messages_;
};

} // namespace ssebridge::test
