// A client connection: the stream, its read buffer and its limits.
#pragma once

#include <ssebridge/http/message.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace ssebridge::http {
class server;
}

namespace ssebridge::http::detail {

class connection {
public:
    connection(server& owner, boost::asio::ip::tcp::socket socket, const limits& lim)
        : stream(std::move(socket))
        , owner(owner)
        , lim(lim) {}

    /// Closes after sending what is queued, letting the client read a final
    /// response before the close (no reset from unread request bytes).
    void shutdown_send() {
        boost::system::error_code ignored;
        stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    }
    void close() {
        boost::system::error_code ignored;
        stream.socket().close(ignored);
    }

    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    server& owner;
    const limits& lim;
    bool idle = true;       ///< between requests: stop() may close it
    bool requested = false; ///< has sent a request (else first_request_timeout applies)
};

} // namespace ssebridge::http::detail
