// The HTTP/1.1 server: accept loop, limits, routing.
#pragma once

#include <ssebridge/coro/core.hpp>
#include <ssebridge/http/exchange.hpp>
#include <ssebridge/http/message.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace ssebridge::http {

using handler = std::function<coro::awaitable<void>(exchange&)>;

/// Serves routes on one listening socket.
///
/// Before a handler runs, the server has answered on its own, with a JSON
/// `detail`: 400 (malformed HTTP), 404 (no route for the path), 405 (path
/// known, method not; with `Allow`), 411 (body without a length), 413 (body
/// over `limits::max_body`; answered, then the connection is closed
/// gracefully so the client reads it), 431 (header over `max_header`),
/// 503 (a connection over `max_connections`, before it is read).
class server {
public:
    server(coro::executor ex, const boost::asio::ip::tcp::endpoint& listen, limits lim);
    ~server();

    /// Routes `method` + `path` to `h`; a `*` segment in `path` matches any
    /// one segment (`/v1/react/sessions/*/events`).
    void route(std::string method, std::string path, handler h);

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Accepts and serves until `stop()`; then waits for the connections to
    /// end, taken streams (`response_stream`) included.
    coro::awaitable<void> async_run();

    /// Stops accepting, and closes connections that are between requests.
    /// Connections inside a handler end when their handler does; taken
    /// streams when their owner lets them go.
    void stop();
    [[nodiscard]] bool stopping() const noexcept { return stopping_; }

    /// Open client connections, taken streams included.
    [[nodiscard]] std::size_t connections() const noexcept;
    /// Connections refused at `limits::max_connections`.
    [[nodiscard]] std::uint64_t refused_connections() const noexcept;

private:
    friend class response_stream;
    struct route_entry {
        std::string method;
        std::string path;
        handler h;
    };
    struct state;
    /// What reading one request from a connection led to.
    struct next_request {
        enum class outcome { handle, answered, close, close_gracefully } what = outcome::close;
        const route_entry* route = nullptr;
        request req;
    };

    coro::awaitable<void> serve(std::shared_ptr<detail::connection> conn);
    // Reads a request and answers what the server answers on its own. Its own
    // coroutine so that the parser's state is freed before a handler runs
    // (a stream may last for hours).
    coro::awaitable<next_request> read_request(detail::connection& conn);
    // Serves requests on `socket`, whose next one may have begun in
    // `unread` (a taken stream's connection, back after its stream).
    void serve_connection(boost::asio::ip::tcp::socket socket, std::string unread);
    void stream_taken() noexcept;
    void stream_ended() noexcept;
    const route_entry* find_route(std::string_view method, std::string_view path,
                                  std::string& allow) const;

    std::unique_ptr<state> state_;
    std::vector<route_entry> routes_;
    limits limits_;
    bool stopping_ = false;
};

} // namespace ssebridge::http
