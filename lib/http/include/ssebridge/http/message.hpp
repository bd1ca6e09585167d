// HTTP requests and responses as plain values (no Beast in the interface).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssebridge::http {

struct header {
    std::string name;
    std::string value;
};

/// A request whose header and body have been read completely.
struct request {
    std::string method;
    std::string target;    ///< path and query, as sent
    unsigned version = 11; ///< 10 or 11
    std::vector<header> headers;
    std::string body;

    /// The first header called `name` (case-insensitive), if any.
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const;
    /// The target's path, without the query.
    [[nodiscard]] std::string_view path() const noexcept;
    /// The first query parameter called `name`, percent-decoded, if any.
    [[nodiscard]] std::optional<std::string> query(std::string_view name) const;
};

/// True when `path` matches `pattern` segment by segment, where a `*`
/// segment of the pattern matches any one non-empty segment.
bool path_matches(std::string_view pattern, std::string_view path) noexcept;

/// Segment `index` of `path` (`/a/b` has `a` at 0), or "" past the end.
std::string_view path_segment(std::string_view path, std::size_t index) noexcept;

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<header> headers;
};

/// `{"detail": "<reason>"}`, the error body every client of ssebridge parses.
std::string json_detail(std::string_view reason);

/// A response with status `status` and body `json_detail(reason)`.
response error_response(unsigned status, std::string_view reason);

/// Limits applied to every connection.
/// ASCII case-insensitive equality (header names, schemes, tokens). Not
/// beast::iequals: Boost 1.81's reads one byte past its arguments when they
/// differ in case only at the end (found by fuzz/http_request.cpp).
bool same_ignoring_case(std::string_view a, std::string_view b) noexcept;

struct limits {
    std::size_t max_header = 8 * 1024;  ///< request line and headers (431 beyond)
    std::size_t max_body = 1024 * 1024; ///< request body, chunked or not (413 beyond)
    std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(30); ///< one request
    std::chrono::steady_clock::duration idle_timeout =
        std::chrono::seconds(60); ///< between requests
    /// A new connection that has sent nothing is closed sooner than an idle one.
    std::chrono::steady_clock::duration first_request_timeout = std::chrono::seconds(10);
    /// Open client connections at most: one more is answered 503 and closed
    /// at once (a load balancer learns; the descriptors stay below the limit).
    std::size_t max_connections = 10000;
    /// Bind with SO_REUSEPORT: several servers (one per thread) share the
    /// port and the kernel spreads the connections over them.
    bool reuse_port = false;
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(10); ///< one write
    /// CORS: origins whose pages may call the routes (`*`: any). A request
    /// from one of them gets `Access-Control-Allow-Origin` (and
    /// `exposed_headers`); its preflight `OPTIONS` is answered, allowing
    /// `allowed_request_headers`. An origin named in the list (not matched
    /// by `*`) also gets `Access-Control-Allow-Credentials: true`: its pages
    /// may send the cookies the server set (`fetch(…, {credentials:
    /// 'include'})`).
    std::vector<std::string> allowed_origins;
    std::string allowed_request_headers = "Content-Type"; ///< comma-separated
    std::string exposed_headers;                          ///< comma-separated; empty: none
};

} // namespace ssebridge::http
