// How a request head is framed, checked strictly (RFC 9112). Sans-IO: the
// server reads into the parser; these look at what it parsed (and the fuzzer
// feeds the parser bytes directly).
#pragma once

#include <ssebridge/http/message.hpp>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace ssebridge::http::detail {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// An absolute-form target (`http://host/path?q`, RFC 9112 §3.2.2) as the
/// origin form every route is written in; any other target as it is.
std::string_view origin_form(std::string_view target) noexcept;

/// Why the parsed head cannot be framed safely (RFC 9112 §6.3, §3.2), or
/// empty. Both length headers at once is how requests are smuggled past a
/// proxy that reads the other one: refused, as is any coding but a final
/// chunked, a missing or doubled Host, a target that is no path.
std::string_view framing_problem(const request_parser& parser);

/// The client waits for `100 Continue` before it sends the body.
bool expects_continue(const request_parser& parser);

/// Beast's parse errors (malformed input) as opposed to the socket's.
bool is_parse_error(const boost::system::error_code& ec);

} // namespace ssebridge::http::detail
