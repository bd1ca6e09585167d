#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ssebridge::test {

namespace asio = boost::asio;

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}
} // namespace

std::optional<std::string> http_head::header(std::string_view name) const {
    std::string n = lower(name);
    for (const auto& [k, v] : headers)
        if (lower(k) == n)
            return v;
    return std::nullopt;
}

std::string post_request(std::string_view body, std::string_view content_type,
                         std::string_view path, std::string_view extra_headers) {
    std::string r = "POST " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n";
    if (!content_type.empty())
        r += "Content-Type: " + std::string(content_type) + "\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += extra_headers;
    r += "\r\n";
    r += body;
    return r;
}

http_client::http_client(coro::executor ex)
    : socket_(std::move(ex)) {}

coro::awaitable<void> http_client::connect(asio::ip::tcp::endpoint ep) {
    co_await socket_.async_connect(ep, asio::use_awaitable);
}

coro::awaitable<void> http_client::send(std::string raw) {
    co_await asio::async_write(socket_, asio::buffer(raw), asio::use_awaitable);
}

coro::awaitable<bool> http_client::fill() {
    char tmp[16384];
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(tmp), coro::use_tuple);
    if (ec)
        co_return false;
    buf_.append(tmp, n);
    co_return true;
}

coro::awaitable<std::string> http_client::read_line() {
    for (;;) {
        auto nl = buf_.find("\r\n");
        if (nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 2);
            co_return line;
        }
        bool ok = co_await fill();
        if (!ok)
            throw std::runtime_error("connection closed inside a line");
    }
}

coro::awaitable<std::string> http_client::read_exact(std::size_t n) {
    while (buf_.size() < n) {
        bool ok = co_await fill();
        if (!ok)
            throw std::runtime_error("connection closed inside a body");
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    co_return out;
}

coro::awaitable<http_head> http_client::read_head() {
    http_head head;
    std::string status = co_await read_line();
    if (status.rfind("HTTP/1.", 0) != 0 || status.size() < 12)
        throw std::runtime_error("bad status line: " + status);
    head.status = static_cast<unsigned>(std::stoi(status.substr(9, 3)));
    for (;;) {
        std::string line = co_await read_line();
        if (line.empty())
            break;
        auto colon = line.find(':');
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        head.headers.emplace_back(line.substr(0, colon), value);
    }
    body_done_ = false;
    decoder_ = {};
    messages_.clear();
    if (lower(head.header("Transfer-Encoding").value_or("")) == "chunked") {
        framing_ = framing::chunked;
    } else if (auto len = head.header("Content-Length")) {
        framing_ = framing::length;
        remaining_ = std::stoul(*len);
    } else {
        framing_ = framing::until_close;
    }
    co_return head;
}

coro::awaitable<std::optional<std::string>> http_client::read_body_piece() {
    if (body_done_)
        co_return std::nullopt;
    switch (framing_) {
    case framing::chunked: {
        std::string size_line = co_await read_line();
        std::size_t size = std::stoul(size_line, nullptr, 16);
        if (size == 0) {
            std::string trailer = co_await read_line();
            body_done_ = true;
            co_return std::nullopt;
        }
        std::string data = co_await read_exact(size);
        std::string crlf = co_await read_exact(2);
        co_return data;
    }
    case framing::length: {
        std::string data = co_await read_exact(remaining_);
        body_done_ = true;
        co_return data;
    }
    case framing::until_close: {
        if (buf_.empty()) {
            bool ok = co_await fill();
            if (!ok) {
                body_done_ = true;
                co_return std::nullopt;
            }
        }
        std::string data = std::move(buf_);
        buf_.clear();
        co_return data;
    }
    case framing::none:
        break;
    }
    throw std::logic_error("read_body_piece before read_head");
}

coro::awaitable<std::string> http_client::read_body() {
    std::string body;
    for (;;) {
        std::optional<std::string> piece = co_await read_body_piece();
        if (!piece)
            co_return body;
        body += *piece;
    }
}

coro::awaitable<std::optional<sse::message>> http_client::next_message() {
    while (messages_.empty()) {
        std::optional<std::string> piece = co_await read_body_piece();
        if (!piece)
            co_return std::nullopt;
        for (auto& m : decoder_.feed(*piece))
            messages_.push_back(std::move(m));
    }
    sse::message m = std::move(messages_.front());
    messages_.pop_front();
    co_return m;
}

coro::awaitable<bool> http_client::wait_eof() {
    for (;;) {
        bool ok = co_await fill();
        if (!ok)
            co_return true;
    }
}

coro::awaitable<std::pair<http_head, std::string>> http_client::exchange(std::string raw) {
    co_await send(std::move(raw));
    http_head head = co_await read_head();
    std::string body = co_await read_body();
    co_return std::make_pair(std::move(head), std::move(body));
}

coro::awaitable<void> wait_healthy(asio::ip::tcp::endpoint ep, int attempts) {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < attempts; ++i) {
        http_client probe(ex);
        co_await probe.connect(ep);
        auto [head, body] = co_await probe.exchange("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
        if (head.status == 200)
            co_return;
        asio::steady_timer pause(ex, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::use_awaitable);
    }
    throw std::runtime_error("the gateway never became healthy");
}

void http_client::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

} // namespace ssebridge::test
