// The HTTP request path before a handler runs: Beast's parser with the
// server's limits, the strict framing checks, then the session request check
// on the body, as the server does them.
#include "framing.hpp"

#include <ssebridge/wire/request.hpp>

#include <boost/asio/buffer.hpp>

#include <cstdint>
#include <cstdlib>

namespace bhttp = boost::beast::http;
using namespace ssebridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    http::detail::request_parser parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    std::string_view in(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    bool checked = false;
    while (!in.empty() && !parser.is_done()) {
        std::size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
        if (ec == bhttp::error::need_more)
            break;
        if (ec) {
            (void)http::detail::is_parse_error(ec);
            return 0;
        }
        if (used > in.size())
            std::abort();
        in.remove_prefix(used);
        if (parser.is_header_done() && !checked) {
            checked = true;
            if (!http::detail::framing_problem(parser).empty())
                return 0; // answered 400 and closed
            std::string_view target = http::detail::origin_form(parser.get().target());
            if (target.size() > parser.get().target().size())
                std::abort();
            (void)http::detail::expects_continue(parser);
        }
        if (used == 0)
            break;
    }
    if (parser.is_done())
        (void)wire::check_session_request(parser.get().body());
    return 0;
}
