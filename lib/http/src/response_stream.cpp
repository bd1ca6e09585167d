#include <ssebridge/http/response_stream.hpp>
#include <ssebridge/http/server.hpp>

#include <boost/asio/write.hpp>

#include <charconv>
#include <span>

namespace ssebridge::http {

namespace asio = boost::asio;

response_stream::response_stream(server& owner, asio::ip::tcp::socket socket, std::string unread,
                                 bool chunked, bool keep_alive, bool head_only)
    : owner_(&owner)
    , socket_(std::move(socket))
    , unread_(unread.empty() ? nullptr : std::make_unique<std::string>(std::move(unread)))
    , chunked_(chunked)
    , keep_alive_(keep_alive) // (false for a HEAD: its response ends with the headers)
    , broken_(head_only) {
    owner_->stream_taken();
}

response_stream::response_stream(response_stream&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr))
    , socket_(std::move(other.socket_))
    , unread_(std::move(other.unread_))
    , chunked_(other.chunked_)
    , keep_alive_(other.keep_alive_)
    , broken_(other.broken_)
    , finished_(other.finished_) {}

response_stream::~response_stream() {
    if (!owner_)
        return;
    boost::system::error_code ignored;
    if (finished_ && keep_alive_ && !broken_ && !owner_->stopping()) {
        socket_.cancel(ignored); // a readable-watch ends before the socket serves again
        owner_->serve_connection(std::move(socket_), unread_ ? std::move(*unread_) : std::string());
    } else {
        socket_.close(ignored);
    }
    owner_->stream_ended();
}

std::size_t response_stream::frame(std::string_view bytes, bool last,
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

bool response_stream::failed() noexcept {
    keep_alive_ = false;
    broken_ = true;
    return false;
}

coro::awaitable<bool> response_stream::write(std::string_view bytes, bool last) {
    // One chunk (and the last one) in one system call.
    std::array<asio::const_buffer, 4> buffers;
    char size_line[24];
    std::size_t count = frame(bytes, last, buffers, size_line);
    if (broken_)
        co_return false; // a write failed already: the peer is gone
    if (count > 0) {
        auto [ec, n] = co_await asio::async_write(
            socket_, std::span<const asio::const_buffer>(buffers.data(), count), coro::use_tuple);
        if (ec)
            co_return failed();
    }
    finished_ = finished_ || last;
    co_return true;
}

coro::awaitable<bool> response_stream::finish() {
    return write({}, true);
}

std::optional<std::string> response_stream::try_write(std::string_view bytes, bool last) {
    std::array<asio::const_buffer, 4> buffers;
    char size_line[24];
    std::size_t count = frame(bytes, last, buffers, size_line);
    if (broken_)
        return std::nullopt;
    boost::system::error_code ec;
    if (!socket_.non_blocking())
        socket_.non_blocking(true, ec);
    std::span<const asio::const_buffer> all(buffers.data(), count);
    std::size_t written = ec || count == 0 ? 0 : socket_.write_some(all, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
        ec.clear();
    if (ec) {
        failed();
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
    // The body is finished once its last bytes are out (or left to async_write_framed).
    finished_ = finished_ || last;
    return rest;
}

void response_stream::abort() noexcept {
    failed();
    boost::system::error_code ignored;
    socket_.close(ignored);
}

} // namespace ssebridge::http
