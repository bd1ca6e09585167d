// RESP2, sans-IO: parse replies from bytes and encode commands to bytes.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis {

enum class resp_type : std::uint8_t { simple_string, error, integer, bulk_string, nil, array };

/// One value of a parsed reply. A reply is a pre-order sequence of nodes:
/// an array node is followed by its `size` elements (each possibly an
/// array itself). Strings are views into the parsed buffer.
struct node {
    resp_type type = resp_type::nil;
    std::string_view value; ///< simple, error and bulk strings
    std::int64_t integer = 0;
    std::size_t size = 0; ///< number of elements of an array
};

enum class resp_error {
    bad_type = 1, ///< a type byte RESP2 does not define
    bad_length,   ///< a length or integer that is not a number
    missing_crlf, ///< a bulk string not followed by CRLF
    too_large,    ///< a bulk string or array over the parser's limits
    too_deep,     ///< arrays nested deeper than the parser's limit
};
const boost::system::error_category& resp_category() noexcept;
inline boost::system::error_code make_error_code(resp_error e) noexcept {
    return {static_cast<int>(e), resp_category()};
}

struct parser_limits {
    std::size_t max_bulk = 512u << 20;   ///< bytes in one bulk string
    std::size_t max_elements = 1u << 20; ///< elements in one array
    std::size_t max_depth = 16;          ///< nesting of arrays
};

/// Parses one complete reply from the front of `in` into `out` (cleared
/// first). Returns the bytes it used, or 0 if `in` holds no complete reply
/// yet (read more and call again with the longer buffer). On a protocol
/// error, sets `ec` and returns 0; the stream cannot be resynchronised.
std::size_t parse(std::string_view in, std::vector<node>& out, boost::system::error_code& ec,
                  const parser_limits& limits = {});

/// Appends a command as a RESP array of bulk strings.
void append_command(std::string& out, std::span<const std::string_view> args);
inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
    append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

/// An owning reply tree, for callers that keep replies beyond the buffer.
struct reply {
    resp_type type = resp_type::nil;
    std::string value;
    std::int64_t integer = 0;
    std::vector<reply> elements;

    [[nodiscard]] bool is_error() const noexcept { return type == resp_type::error; }
};

/// Builds the owning tree of the reply whose nodes are `nodes`.
reply to_reply(std::span<const node> nodes);

} // namespace ssebridge::redis

template <>
struct boost::system::is_error_code_enum<ssebridge::redis::resp_error> : std::true_type {};
