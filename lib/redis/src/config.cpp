#include <ssebridge/redis/config.hpp>

#include <charconv>

namespace ssebridge::redis {

namespace {
class url_category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "ssebridge.redis.url"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<url_error>(ev)) {
        case url_error::bad_scheme:
            return "Redis URL must start with redis://";
        case url_error::bad_ipv6:
            return "Redis URL has an unterminated [IPv6] host";
        case url_error::junk_after_host:
            return "Redis URL has junk after the host";
        case url_error::no_host:
            return "Redis URL has no host";
        case url_error::bad_port:
            return "Redis URL has an invalid port";
        }
        return "invalid Redis URL";
    }
};
} // namespace

const boost::system::error_category& url_category() noexcept {
    static const url_category_impl instance;
    return instance;
}

boost::system::result<config> config::from_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) {
        return url_error::bad_scheme;
    }
    url.remove_prefix(scheme.size());
    config c;
    if (std::size_t at = url.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = url.substr(0, at);
        url.remove_prefix(at + 1);
        std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            c.password = userinfo; // redis://secret@host, as redis-cli accepts
        } else {
            c.username = userinfo.substr(0, colon);
            c.password = userinfo.substr(colon + 1);
        }
    }
    std::string_view hostport = url.substr(0, url.find('/'));
    std::string_view port;
    if (hostport.starts_with('[')) {
        std::size_t close = hostport.find(']');
        if (close == std::string_view::npos) {
            return url_error::bad_ipv6;
        }
        c.host = hostport.substr(1, close - 1);
        std::string_view rest = hostport.substr(close + 1);
        if (rest.starts_with(':'))
            port = rest.substr(1);
        else if (!rest.empty()) {
            return url_error::junk_after_host;
        }
    } else {
        std::size_t colon = hostport.rfind(':');
        c.host = hostport.substr(0, colon);
        if (colon != std::string_view::npos)
            port = hostport.substr(colon + 1);
    }
    if (c.host.empty()) {
        return url_error::no_host;
    }
    if (!port.empty()) {
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
            return url_error::bad_port;
        }
        c.port = static_cast<std::uint16_t>(value);
    }
    return c;
}

boost::system::result<config> config::from_flags(std::string_view url,
                                                 std::string_view cluster_nodes) {
    auto c = from_url(url);
    if (!c || cluster_nodes.empty())
        return c;
    auto nodes = parse_node_list(cluster_nodes);
    if (!nodes)
        return nodes.error();
    c->cluster = std::move(*nodes);
    return c;
}

} // namespace ssebridge::redis
