#include "framing.hpp"

#include <boost/beast/http/error.hpp>

namespace ssebridge::http::detail {

namespace beast = boost::beast;
namespace bhttp = beast::http;

std::string_view origin_form(std::string_view target) noexcept {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() < scheme.size() ||
            !same_ignoring_case(target.substr(0, scheme.size()), scheme))
            continue;
        std::string_view rest = target.substr(scheme.size());
        std::size_t path = rest.find('/');
        std::size_t query = rest.find('?');
        if (path == std::string_view::npos || query < path)
            return "/";
        return rest.substr(path);
    }
    return target;
}

std::string_view framing_problem(const request_parser& parser) {
    const auto& head = parser.get();
    std::size_t hosts = head.count(bhttp::field::host);
    if (hosts > 1)
        return "more than one Host header";
    if (hosts == 0 && head.version() >= 11)
        return "HTTP/1.1 request without a Host header";
    if (head.count(bhttp::field::transfer_encoding) > 0) {
        if (head.count(bhttp::field::content_length) > 0)
            return "both Transfer-Encoding and Content-Length";
        if (!parser.chunked())
            return "a Transfer-Encoding other than a final chunked";
    }
    std::string_view target = origin_form(head.target());
    if (!target.starts_with('/') && target != "*")
        return "a request target that is neither a path nor an absolute URL";
    return {};
}

bool expects_continue(const request_parser& parser) {
    const auto& head = parser.get();
    return head.version() >= 11 && same_ignoring_case(head[bhttp::field::expect], "100-continue");
}

} // namespace ssebridge::http::detail

namespace ssebridge::http {

bool same_ignoring_case(std::string_view a, std::string_view b) noexcept {
    auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

} // namespace ssebridge::http

namespace ssebridge::http::detail {

bool is_parse_error(const boost::system::error_code& ec) {
    static const auto& category = bhttp::make_error_code(bhttp::error::bad_chunk).category();
    return ec.category() == category && ec != bhttp::error::partial_message &&
           ec != bhttp::error::end_of_stream;
}

} // namespace ssebridge::http::detail
