#include <ssebridge/http/server.hpp>

#include "connection.hpp"
#include "framing.hpp"

#include <ssebridge/coro/event.hpp>
#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/log.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstring>

namespace ssebridge::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct server::state {
    state(coro::executor ex, const tcp::endpoint& listen, bool reuse_port)
        : acceptor(ex)
        , streams_gone(ex)
        , tasks(ex, [](std::exception_ptr e) {
            log::failure(log::level::error, "connection ended by an exception", e);
        }) {
        acceptor.open(listen.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        if (reuse_port)
            acceptor.set_option(
                asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
        acceptor.bind(listen);
        acceptor.listen(asio::socket_base::max_listen_connections);
    }

    tcp::acceptor acceptor;
    std::size_t streams = 0;     ///< taken by their handlers (response_stream)
    coro::notifier streams_gone; ///< the last of them ended while stopping
    coro::task_group tasks;
    std::list<detail::connection*> connections;
    std::uint64_t refused = 0;
    coro::clock::time_point last_accept_warning{};
    std::uint64_t accept_failures = 0; ///< since the last warning
};

namespace {

bool method_has_body(std::string_view m) {
    return m == "POST" || m == "PUT" || m == "PATCH";
}

// Lets the client read a final response before the close: stop sending,
// then swallow what it still sends for a moment, then close.
coro::awaitable<void> close_gracefully(detail::connection& conn) {
    conn.shutdown_send();
    asio::steady_timer deadline(conn.stream.get_executor(), std::chrono::seconds(1));
    std::size_t drained = 0;
    char sink[4096];
    conn.stream.expires_after(std::chrono::seconds(1));
    while (drained < (4u << 20)) {
        auto [ec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), coro::use_tuple);
        if (ec)
            break;
        drained += n;
    }
    conn.close();
}

// Over the connection limit: one non-blocking write of a 503, then close.
// Nothing is read and nothing waits: the descriptor is back at once.
void refuse(tcp::socket& socket) {
    static constexpr std::string_view answer =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nRetry-After: 1\r\nContent-Length: 33\r\n\r\n"
        "{\"detail\":\"too many connections\"}";
    static_assert(answer.size() - answer.find("\r\n\r\n") - 4 == 33);
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(answer), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

request to_request(bhttp::request<bhttp::string_body>&& msg) {
    request r;
    r.method = msg.method_string();
    r.target = detail::origin_form(msg.target());
    r.version = msg.version();
    r.headers.reserve(8);
    for (const auto& f : msg)
        r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    r.body = std::move(msg.body());
    return r;
}

} // namespace

server::server(coro::executor ex, const tcp::endpoint& listen, limits lim)
    : state_(std::make_unique<state>(ex, listen, lim.reuse_port))
    , limits_(lim) {}

server::~server() = default;

void server::route(std::string method, std::string path, handler h) {
    routes_.push_back({std::move(method), std::move(path), std::move(h)});
}

tcp::endpoint server::local_endpoint() const {
    return state_->acceptor.local_endpoint();
}

std::size_t server::connections() const noexcept {
    return state_->connections.size() + state_->streams;
}

void server::stream_taken() noexcept {
    ++state_->streams;
}

void server::stream_ended() noexcept {
    if (--state_->streams == 0 && stopping_)
        state_->streams_gone.notify();
}

void server::serve_connection(tcp::socket socket, std::string unread) {
    auto conn = std::make_shared<detail::connection>(*this, std::move(socket), limits_);
    if (!unread.empty()) { // the start of the next request, read with the last one
        auto room = conn->buffer.prepare(unread.size());
        std::memcpy(room.data(), unread.data(), unread.size());
        conn->buffer.commit(unread.size());
    }
    state_->tasks.spawn(serve(std::move(conn)));
}

std::uint64_t server::refused_connections() const noexcept {
    return state_->refused;
}

const server::route_entry* server::find_route(std::string_view method, std::string_view path,
                                              std::string& allow) const {
    for (const auto& r : routes_) {
        if (!path_matches(r.path, path))
            continue;
        if (r.method == method || (method == "HEAD" && r.method == "GET"))
            return &r; // a HEAD runs the GET handler; its exchange sends no body
        if (!allow.empty())
            allow += ", ";
        allow += r.method;
        if (r.method == "GET")
            allow += ", HEAD";
    }
    return nullptr;
}

coro::awaitable<void> server::async_run() {
    for (;;) {
        auto [ec, socket] = co_await state_->acceptor.async_accept(coro::use_tuple);
        if (stopping_)
            break;
        if (ec) {
            if (ec == asio::error::operation_aborted)
                break;
            // Out of descriptors and the like: back off briefly instead of
            // spinning, and say so at most once a second.
            ++state_->accept_failures;
            auto now = coro::clock::now();
            if (now - state_->last_accept_warning >= std::chrono::seconds(1)) {
                log::warn("accept failed: ", ec.message(), " (", state_->accept_failures,
                          " times since the last warning)");
                state_->last_accept_warning = now;
                state_->accept_failures = 0;
            }
            asio::steady_timer pause(socket.get_executor(), std::chrono::milliseconds(50));
            co_await pause.async_wait(coro::use_tuple);
            continue;
        }
        if (connections() >= limits_.max_connections) {
            ++state_->refused;
            refuse(socket);
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        serve_connection(std::move(socket), {});
    }
    co_await state_->tasks.async_wait();
    while (state_->streams > 0) // (a stream that ends now closes its connection)
        co_await state_->streams_gone.async_wait();
}

void server::stop() {
    if (stopping_)
        return;
    stopping_ = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto* c : state_->connections)
        if (c->idle)
            c->stream.cancel();
}

namespace {
// Outside the coroutine: braced lists in a coroutine frame trip g++ 12.
response preflight_response(const std::string& allow, bool cross_origin, const limits& lim) {
    response res{204, "", "", {{"Allow", allow + ", OPTIONS"}}};
    if (cross_origin) {
        res.headers.push_back({"Access-Control-Allow-Methods", allow});
        res.headers.push_back({"Access-Control-Allow-Headers", lim.allowed_request_headers});
        res.headers.push_back({"Access-Control-Max-Age", "600"});
    }
    return res;
}
} // namespace

coro::awaitable<server::next_request> server::read_request(detail::connection& conn) {
    using outcome = next_request::outcome;
    next_request next;
    auto too_large_reason = [this] {
        return "request body larger than " + std::to_string(limits_.max_body) + " bytes";
    };
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header));
    parser.body_limit(limits_.max_body);
    conn.idle = true;
    if (conn.buffer.size() > 0)
        conn.stream.expires_after(limits_.read_timeout);
    else if (!conn.requested)
        conn.stream.expires_after(std::min(limits_.first_request_timeout, limits_.idle_timeout));
    else
        conn.stream.expires_after(limits_.idle_timeout);
    auto [ec, n] =
        co_await bhttp::async_read_header(conn.stream, conn.buffer, parser, coro::use_tuple);
    conn.idle = false;
    conn.requested = true;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
        co_return next; // close
    request early_req;
    early_req.version = parser.get().version();
    early_req.method = std::string(parser.get().method_string()); // a HEAD's answers have no body
    if (!ec) { // what the server's own answers depend on: CORS and keep-alive
        for (auto field : {bhttp::field::origin, bhttp::field::connection})
            if (auto value = parser.get()[field]; !value.empty())
                early_req.headers.push_back(
                    {std::string(bhttp::to_string(field)), std::string(value)});
    }
    exchange early(conn, std::move(early_req));
    if (ec) {
        // body_limit here means a Content-Length over the limit.
        unsigned status = ec == bhttp::error::body_limit     ? 413
                          : ec == bhttp::error::header_limit ? 431
                                                             : 400;
        early.close_after();
        // g++ 12: no ?: yielding a temporary inside a co_await expression.
        std::string reason = "malformed HTTP request";
        if (status == 413)
            reason = too_large_reason();
        else if (status == 431)
            reason = "request header too large";
        co_await early.respond_error(status, reason);
        next.what = outcome::close_gracefully;
        co_return next;
    }
    if (std::string_view problem = detail::framing_problem(parser); !problem.empty()) {
        early.close_after();
        std::string reason(problem);
        co_await early.respond_error(400, reason);
        next.what = outcome::close_gracefully;
        co_return next;
    }
    auto& head = parser.get();
    std::string_view method = head.method_string();
    std::string allow;
    std::string_view target = detail::origin_form(head.target());
    const route_entry* route = find_route(method, target.substr(0, target.find('?')), allow);
    bool body_expected = parser.chunked() || parser.content_length().value_or(0) > 0;
    if (!route && method == "OPTIONS" && !allow.empty()) {
        // A CORS preflight (or a client asking what the path allows).
        response res = preflight_response(allow, early.cross_origin(), limits_);
        if (body_expected)
            early.close_after();
        co_await early.respond(std::move(res));
        next.what = early.keep_alive() ? outcome::answered : outcome::close_gracefully;
        co_return next;
    }
    if (!route) {
        response res = allow.empty() ? error_response(404, "no such resource")
                                     : error_response(405, "method not allowed");
        if (!allow.empty())
            res.headers.push_back({"Allow", allow});
        if (body_expected)
            early.close_after(); // rather than read a body we do not want
        co_await early.respond(std::move(res));
        next.what = early.keep_alive() ? outcome::answered : outcome::close_gracefully;
        co_return next;
    }
    if (method_has_body(method) && !parser.chunked() && !parser.content_length()) {
        early.close_after();
        co_await early.respond_error(411,
                                     "a request body needs Content-Length or chunked encoding");
        next.what = outcome::close_gracefully;
        co_return next;
    }
    if (body_expected) {
        if (detail::expects_continue(parser)) { // else curl waits a second before sending the body
            static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
            conn.stream.expires_after(limits_.write_timeout);
            auto [write_ec, written] =
                co_await asio::async_write(conn.stream, asio::buffer(go_on), coro::use_tuple);
            if (write_ec)
                co_return next; // close
        }
        conn.stream.expires_after(limits_.read_timeout);
        auto [body_ec, body_n] =
            co_await bhttp::async_read(conn.stream, conn.buffer, parser, coro::use_tuple);
        if (body_ec == bhttp::error::body_limit) {
            early.close_after();
            co_await early.respond_error(413, too_large_reason());
            next.what = outcome::close_gracefully;
            co_return next;
        }
        // A malformed body (a bad chunk size, say) is answered; a connection
        // that ended or stalled mid-body is just closed.
        if (body_ec && detail::is_parse_error(body_ec)) {
            early.close_after();
            co_await early.respond_error(400, "malformed request body");
            next.what = outcome::close_gracefully;
            co_return next;
        }
        if (body_ec)
            co_return next; // close
    }
    conn.stream.expires_never();
    next.what = outcome::handle;
    next.route = route;
    next.req = to_request(parser.release());
    co_return next;
}

coro::awaitable<void> server::serve(std::shared_ptr<detail::connection> conn) {
    using outcome = next_request::outcome;
    auto& conns = state_->connections;
    auto self = conns.insert(conns.end(), conn.get());
    struct unregister {
        std::list<detail::connection*>& list;
        std::list<detail::connection*>::iterator it;
        ~unregister() { list.erase(it); }
    } guard{conns, self};

    bool graceful = false;
    while (!stopping_) {
        next_request next = co_await read_request(*conn);
        if (next.what == outcome::answered)
            continue;
        if (next.what != outcome::handle) {
            graceful = next.what == outcome::close_gracefully;
            break;
        }
        // The read buffer is kept only if it holds the start of a next request.
        if (conn->buffer.size() == 0)
            conn->buffer.shrink_to_fit();
        const route_entry* route = next.route;
        exchange ex(*conn, std::move(next.req));
        std::exception_ptr failure;
        try {
            co_await route->h(ex);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await coro::throw_if_cancelled();
        if (failure)
            log::failure(log::level::error, "handler for " + route->path + " failed", failure);
        if (ex.taken())
            co_return; // the connection is the stream's now
        if (failure) {
            ex.close_after();
            if (!ex.responded())
                co_await ex.respond_error(500, "internal error");
            break; // after a partial response we cannot know what the client has seen
        }
        if (!ex.keep_alive())
            break;
    }
    if (graceful)
        co_await close_gracefully(*conn);
    else
        conn->close();
}

} // namespace ssebridge::http
