#include <ssebridge/http/message.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>

namespace ssebridge::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}
} // namespace

std::optional<std::string_view> request::find(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name))
            return std::string_view(h.value);
    return std::nullopt;
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
