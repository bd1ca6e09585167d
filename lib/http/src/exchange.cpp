#include <ssebridge/http/exchange.hpp>

#include "connection.hpp"

#include <algorithm>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace ssebridge::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

exchange::exchange(detail::connection& conn, request req)
    : conn_(conn)
    , req_(std::move(req))
    , keep_alive_(req_.version >= 11)
    , head_only_(req_.method == "HEAD") {
    if (auto origin = req_.find("Origin")) {
        const auto& allowed = conn_.lim.allowed_origins;
        credentialed_ = std::find(allowed.begin(), allowed.end(), *origin) != allowed.end();
        if (credentialed_ || std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
            origin_ = *origin;
    }
    if (auto c = req_.find("Connection")) {
        if (c->find("close") != std::string_view::npos)
            keep_alive_ = false;
        else if (req_.version == 10 && c->find("keep-alive") != std::string_view::npos)
            keep_alive_ = false; // HTTP/1.0 keep-alive is not worth supporting
    }
}

template <class Message>
void exchange::set_fields(Message& msg, std::string_view content_type,
                          std::span<const header> headers) const {
    msg.set(bhttp::field::server, "ssebridge");
    if (!content_type.empty())
        msg.set(bhttp::field::content_type, content_type);
    for (const auto& h : headers)
        msg.set(h.name, h.value);
    if (!conn_.lim.allowed_origins.empty()) // the answer depends on the Origin: caches must know
        msg.set(bhttp::field::vary, "Origin");
    if (!origin_.empty()) {
        msg.set(bhttp::field::access_control_allow_origin, origin_);
        if (credentialed_) // named, not `*`: its pages may send cookies (a chat's key)
            msg.set(bhttp::field::access_control_allow_credentials, "true");
        if (!conn_.lim.exposed_headers.empty())
            msg.set(bhttp::field::access_control_expose_headers, conn_.lim.exposed_headers);
    }
}

template <class WriteOp>
coro::awaitable<bool> exchange::timed(WriteOp write) {
    conn_.stream.expires_after(conn_.lim.write_timeout);
    auto [ec, n] = co_await write();
    conn_.stream.expires_never();
    if (ec)
        keep_alive_ = false; // the connection's state is unknown: do not reuse it
    co_return !ec;
}

coro::awaitable<bool> exchange::respond(response res) {
    bhttp::response<bhttp::string_body> msg{static_cast<bhttp::status>(res.status), req_.version};
    set_fields(msg, res.content_type, res.headers);
    msg.body() = std::move(res.body);
    msg.keep_alive(keep_alive_);
    msg.prepare_payload();
    responded_ = true;
    if (head_only_) { // the Content-Length a GET would get, no body
        bhttp::response_serializer<bhttp::string_body> sr(msg);
        bool ok = co_await timed(
            [&] { return bhttp::async_write_header(conn_.stream, sr, coro::use_tuple); });
        co_return ok;
    }
    bool ok =
        co_await timed([&] { return bhttp::async_write(conn_.stream, msg, coro::use_tuple); });
    co_return ok;
}

// Not a coroutine: the response is built here and moved into respond's frame.
coro::awaitable<bool> exchange::respond_error(unsigned status, std::string_view reason) {
    return respond(error_response(status, reason));
}

coro::awaitable<bool> exchange::start_stream(std::string_view content_type,
                                             std::span<const header> headers) {
    bhttp::response<bhttp::empty_body> msg{bhttp::status::ok, req_.version};
    set_fields(msg, content_type, headers);
    chunked_ = req_.version >= 11;
    if (chunked_)
        msg.chunked(true);
    else
        keep_alive_ = false; // the body ends when the connection does
    msg.keep_alive(keep_alive_);
    bhttp::response_serializer<bhttp::empty_body> sr(msg);
    responded_ = true;
    bool ok = co_await timed(
        [&] { return bhttp::async_write_header(conn_.stream, sr, coro::use_tuple); });
    if (ok && head_only_)    // a HEAD's response ends with its headers: the stream's writes
        keep_alive_ = false; // fail, as if the client had left; then the connection closes
    co_return ok;
}

void exchange::start_wait_readable(
    asio::any_completion_handler<void(boost::system::error_code)> handler) {
    conn_.stream.socket().async_wait(asio::ip::tcp::socket::wait_read, std::move(handler));
}

response_stream exchange::take_stream() {
    taken_ = true;
    std::string unread(static_cast<const char*>(conn_.buffer.data().data()), conn_.buffer.size());
    conn_.buffer.consume(conn_.buffer.size());
    return response_stream(conn_.owner, conn_.stream.release_socket(), std::move(unread), chunked_,
                           keep_alive_, head_only_);
}

} // namespace ssebridge::http
