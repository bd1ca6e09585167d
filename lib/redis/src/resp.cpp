#include <ssebridge/redis/resp.hpp>

#include <charconv>

namespace ssebridge::redis {
namespace {

class resp_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "ssebridge.resp"; }
    std::string message(int ev) const override {
        switch (static_cast<resp_error>(ev)) {
        case resp_error::bad_type:
            return "RESP: unknown type byte";
        case resp_error::bad_length:
            return "RESP: malformed length or integer";
        case resp_error::missing_crlf:
            return "RESP: bulk string not terminated by CRLF";
        case resp_error::too_large:
            return "RESP: value over the parser's limits";
        case resp_error::too_deep:
            return "RESP: arrays nested too deeply";
        }
        return "RESP: unknown error";
    }
};

// Cursor over the input; every read checks bounds and reports "incomplete".
struct cursor {
    std::string_view in;
    std::size_t pos = 0;

    // The line at pos (without CRLF), or false when no CRLF follows yet.
    bool line(std::string_view& out) {
        std::size_t end = in.find("\r\n", pos);
        if (end == std::string_view::npos)
            return false;
        out = in.substr(pos, end - pos);
        pos = end + 2;
        return true;
    }
};

bool to_int(std::string_view s, std::int64_t& v) {
    if (s.empty())
        return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && ptr == s.data() + s.size();
}

enum class step { done, incomplete, failed };

step parse_value(cursor& c, std::vector<node>& out, boost::system::error_code& ec,
                 const parser_limits& limits, std::size_t depth) {
    if (c.pos >= c.in.size())
        return step::incomplete;
    char type = c.in[c.pos++];
    std::string_view line;
    if (!c.line(line))
        return step::incomplete;
    node n;
    switch (type) {
    case '+':
        n.type = resp_type::simple_string;
        n.value = line;
        break;
    case '-':
        n.type = resp_type::error;
        n.value = line;
        break;
    case ':':
        n.type = resp_type::integer;
        if (!to_int(line, n.integer)) {
            ec = resp_error::bad_length;
            return step::failed;
        }
        break;
    case '$': {
        std::int64_t len = 0;
        if (!to_int(line, len) || len < -1) {
            ec = resp_error::bad_length;
            return step::failed;
        }
        if (len == -1) {
            n.type = resp_type::nil;
            break;
        }
        if (static_cast<std::uint64_t>(len) > limits.max_bulk) {
            ec = resp_error::too_large;
            return step::failed;
        }
        auto size = static_cast<std::size_t>(len);
        if (c.in.size() - c.pos < size + 2)
            return step::incomplete;
        if (c.in.substr(c.pos + size, 2) != "\r\n") {
            ec = resp_error::missing_crlf;
            return step::failed;
        }
        n.type = resp_type::bulk_string;
        n.value = c.in.substr(c.pos, size);
        c.pos += size + 2;
        break;
    }
    case '*': {
        std::int64_t count = 0;
        if (!to_int(line, count) || count < -1) {
            ec = resp_error::bad_length;
            return step::failed;
        }
        if (count == -1) {
            n.type = resp_type::nil;
            break;
        }
        if (static_cast<std::uint64_t>(count) > limits.max_elements) {
            ec = resp_error::too_large;
            return step::failed;
        }
        if (depth >= limits.max_depth) {
            ec = resp_error::too_deep;
            return step::failed;
        }
        n.type = resp_type::array;
        n.size = static_cast<std::size_t>(count);
        out.push_back(n);
        for (std::size_t i = 0; i < n.size; ++i) {
            step s = parse_value(c, out, ec, limits, depth + 1);
            if (s != step::done)
                return s;
        }
        return step::done;
    }
    default:
        ec = resp_error::bad_type;
        return step::failed;
    }
    out.push_back(n);
    return step::done;
}

// Writes the decimal digits of `v` into `out`.
void append_number(std::string& out, std::size_t v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, end);
}

reply build(std::span<const node> nodes, std::size_t& i) {
    const node& n = nodes[i++];
    reply r;
    r.type = n.type;
    r.value = n.value;
    r.integer = n.integer;
    if (n.type == resp_type::array) {
        r.elements.reserve(n.size);
        for (std::size_t k = 0; k < n.size; ++k)
            r.elements.push_back(build(nodes, i));
    }
    return r;
}

} // namespace

const boost::system::error_category& resp_category() noexcept {
    static const resp_category_impl category;
    return category;
}

std::size_t parse(std::string_view in, std::vector<node>& out, boost::system::error_code& ec,
                  const parser_limits& limits) {
    out.clear();
    ec.clear();
    cursor c{in};
    step s = parse_value(c, out, ec, limits, 0);
    return s == step::done ? c.pos : 0;
}

void append_command(std::string& out, std::span<const std::string_view> args) {
    out.push_back('*');
    append_number(out, args.size());
    out.append("\r\n");
    for (std::string_view a : args) {
        out.push_back('$');
        append_number(out, a.size());
        out.append("\r\n").append(a).append("\r\n");
    }
}

reply to_reply(std::span<const node> nodes) {
    std::size_t i = 0;
    return nodes.empty() ? reply{} : build(nodes, i);
}

} // namespace ssebridge::redis
