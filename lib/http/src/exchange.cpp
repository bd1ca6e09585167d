#include <ssebridge/http/exchange.hpp>

#include "connection.hpp"

#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

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
        if (std::find(allowed.begin(), allowed.end(), *origin) != allowed.end() ||
            std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
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
    if (!origin_.empty()) {
        msg.set(bhttp::field::access_control_allow_origin, origin_);
        msg.set(bhttp::field::vary, "Origin");
        msg.set(bhttp::field::access_control_expose_headers, "X-Session-Id, X-Session-Token");
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
    if (ok && head_only_) {
        // A HEAD's response ends with its headers: the stream's writes fail,
        // so its handler ends as if the client had left; then the connection closes.
        keep_alive_ = false;
        broken_ = true;
    }
    co_return ok;
}

std::size_t exchange::frame(std::string_view bytes, bool last,
                            std::array<asio::const_buffer, 4>& buffers,
                            char (&size_line)[24]) const {
    static constexpr std::string_view crlf = "\r\n";
    static constexpr std::string_view last_chunk = "0\r\n\r\n";
    std::size_t count = 0;
    if (!bytes.empty()) {
        if (chunked_) {
            auto [end, ec] = std::to_chars(size_line, size_line + 16, bytes.size(), 16);
            end[0] = '\r';
            end[1] = '\n';
            buffers[count++] =
                asio::buffer(size_line, static_cast<std::size_t>(end + 2 - size_line));
        }
        buffers[count++] = asio::buffer(bytes);
        if (chunked_)
            buffers[count++] = asio::buffer(crlf);
    }
    if (last && chunked_)
        buffers[count++] = asio::buffer(last_chunk);
    return count;
}

coro::awaitable<bool> exchange::write(std::string_view bytes, bool last) {
    // One chunk (and the last one) in one system call; raw socket writes,
    // without the stream's per-operation timer: the caller bounds the wait.
    std::array<asio::const_buffer, 4> buffers;
    char size_line[24];
    std::size_t count = frame(bytes, last, buffers, size_line);
    if (count == 0)
        co_return true;
    if (broken_)
        co_return false; // a write failed already: the peer is gone
    auto [ec, n] = co_await asio::async_write(
        conn_.stream.socket(), std::span<const asio::const_buffer>(buffers.data(), count),
        coro::use_tuple);
    if (ec) {
        keep_alive_ = false; // the connection's state is unknown: do not reuse it
        broken_ = true;
    }
    co_return !ec;
}

std::optional<std::string> exchange::try_write(std::string_view bytes, bool last) {
    std::array<asio::const_buffer, 4> buffers;
    char size_line[24];
    std::size_t count = frame(bytes, last, buffers, size_line);
    if (broken_)
        return std::nullopt;
    auto& socket = conn_.stream.socket();
    boost::system::error_code ec;
    if (!socket.non_blocking())
        socket.non_blocking(true, ec);
    std::span<const asio::const_buffer> all(buffers.data(), count);
    std::size_t written = ec ? 0 : socket.write_some(all, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
        ec.clear();
    if (ec) {
        keep_alive_ = false;
        broken_ = true;
        return std::nullopt;
    }
    std::string rest; // what the socket did not take, framed
    for (const auto& b : all) {
        if (written >= b.size()) {
            written -= b.size();
            continue;
        }
        rest.append(static_cast<const char*>(b.data()) + written, b.size() - written);
        written = 0;
    }
    return rest;
}

coro::awaitable<bool> exchange::write_framed(std::string_view framed) {
    if (broken_)
        co_return false;
    auto [ec, n] =
        co_await asio::async_write(conn_.stream.socket(), asio::buffer(framed), coro::use_tuple);
    if (ec) {
        keep_alive_ = false;
        broken_ = true;
    }
    co_return !ec;
}

coro::awaitable<bool> exchange::finish() {
    return write({}, true);
}

void exchange::abort() noexcept {
    keep_alive_ = false;
    conn_.close();
}

void exchange::start_wait_readable(
    asio::any_completion_handler<void(boost::system::error_code)> handler) {
    conn_.stream.socket().async_wait(asio::ip::tcp::socket::wait_read, std::move(handler));
}

} // namespace ssebridge::http
