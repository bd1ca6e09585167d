#include <ssebridge/http/message.hpp>

#include "framing.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <string>

namespace ssebridge::http {

std::optional<std::string_view> request::find(std::string_view name) const {
    for (const auto& h : headers)
        if (same_ignoring_case(h.name, name))
            return std::string_view(h.value);
    return std::nullopt;
}

std::string_view request::path() const noexcept {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out += ' ';
        } else if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
                   hex_value(in[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
            i += 2;
        } else {
            out += in[i];
        }
    }
    return out;
}
} // namespace

std::optional<std::string> request::query(std::string_view name) const {
    std::string_view t = target;
    std::size_t q = t.find('?');
    if (q == std::string_view::npos)
        return std::nullopt;
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
        std::string_view pair = rest.substr(0, rest.find('&'));
        rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
        std::string_view key = pair.substr(0, pair.find('='));
        if (percent_decode(key) == name)
            return percent_decode(key.size() < pair.size() ? pair.substr(key.size() + 1) : "");
    }
    return std::nullopt;
}

bool path_matches(std::string_view pattern, std::string_view path) noexcept {
    for (;;) {
        std::size_t p_end = pattern.find('/', 1);
        std::size_t t_end = path.find('/', 1);
        std::string_view want = pattern.substr(0, p_end);
        std::string_view got = path.substr(0, t_end);
        bool wildcard = want == "/*" && got.size() > 1;
        if (!wildcard && want != got)
            return false;
        if (p_end == std::string_view::npos || t_end == std::string_view::npos)
            return p_end == t_end; // both at their last segment
        pattern.remove_prefix(p_end);
        path.remove_prefix(t_end);
    }
}

std::string_view path_segment(std::string_view path, std::size_t index) noexcept {
    std::size_t at = 0;
    for (std::size_t i = 0;; ++i) {
        if (at >= path.size() || path[at] != '/')
            return {};
        std::size_t end = path.find('/', at + 1);
        std::string_view segment =
            path.substr(at + 1, end == std::string_view::npos ? end : end - at - 1);
        if (i == index)
            return segment;
        if (end == std::string_view::npos)
            return {};
        at = end;
    }
}

std::string json_detail(std::string_view reason) {
    std::string out = R"({"detail":)";
    out += boost::json::serialize(boost::json::string(reason));
    out += '}';
    return out;
}

response error_response(unsigned status, std::string_view reason) {
    return response{status, "application/json", json_detail(reason), {}};
}

} // namespace ssebridge::http
