#include <ssebridge/http/exchange.hpp>

#include "connection.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
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
    , keep_alive_(req_.version >= 11) {
    if (auto c = req_.find("Connection")) {
        if (c->find("close") != std::string_view::npos)
            keep_alive_ = false;
        else if (req_.version == 10 && c->find("keep-alive") != std::string_view::npos)
            keep_alive_ = false; // HTTP/1.0 keep-alive is not worth supporting
    }
}

namespace {
template <class Message>
void set_fields(Message& msg, std::string_view content_type, std::span<const header> headers) {
    msg.set(bhttp::field::server, "ssebridge");
    msg.set(bhttp::field::content_type, content_type);
    for (const auto& h : headers)
        msg.set(h.name, h.value);
}
} // namespace

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
    co_return ok;
}

coro::awaitable<bool> exchange::write(std::span<const std::string> pieces) {
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(pieces.size());
    for (const auto& p : pieces)
        if (!p.empty())
            buffers.emplace_back(p.data(), p.size());
    if (buffers.empty())
        co_return true;
    bool ok = co_await timed([&] {
        if (chunked_)
            return asio::async_write(conn_.stream, bhttp::make_chunk(buffers), coro::use_tuple);
        return asio::async_write(conn_.stream, buffers, coro::use_tuple);
    });
    co_return ok;
}

coro::awaitable<bool> exchange::write(std::string_view piece) {
    std::string one(piece);
    bool ok = co_await write(std::span<const std::string>(&one, 1));
    co_return ok;
}

coro::awaitable<bool> exchange::finish() {
    if (!chunked_)
        co_return true; // closing the connection ends the body
    bool ok = co_await timed(
        [&] { return asio::async_write(conn_.stream, bhttp::make_chunk_last(), coro::use_tuple); });
    co_return ok;
}

coro::awaitable<void> exchange::wait_closed() {
    // Reads the raw socket, not the timed stream, so write timeouts do not
    // apply to this long wait.
    constexpr std::size_t chunk = 4096;
    for (;;) {
        auto [ec, n] = co_await conn_.stream.socket().async_read_some(conn_.buffer.prepare(chunk),
                                                                      coro::use_tuple);
        conn_.buffer.commit(n);
        if (ec)
            break;
        if (conn_.buffer.size() > conn_.lim.max_header + conn_.lim.max_body)
            break; // pipelining far ahead of us: treat as a misbehaving client
    }
    co_await coro::throw_if_cancelled();
    keep_alive_ = false;
}

} // namespace ssebridge::http
