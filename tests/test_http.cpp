// The HTTP server: routing, limits, streaming, keep-alive, stop.
#include <ssebridge/http/server.hpp>

#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

#include "support/http_client.hpp"
#include "support/run.hpp"

#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

using namespace ssebridge;
using namespace ssebridge::test;
using tcp = asio::ip::tcp;

namespace {

coro::awaitable<void> echo(http::exchange& ex) {
    http::response res{200, "text/plain", ex.req().body, {}};
    co_await ex.respond(std::move(res));
}

coro::awaitable<void> stream_three(http::exchange& ex) {
    const http::header extra[] = {{"X-Test", "yes"}};
    bool started = co_await ex.start_stream("text/event-stream", extra);
    if (!started)
        co_return;
    http::response_stream out = ex.take_stream();
    for (int i = 0; i < 3; ++i) {
        co_await out.write("data: " + std::to_string(i) + "\n\n");
        co_await sleep_for(10ms);
    }
    co_await out.finish();
}

// Starts a stream and leaves it in `parked`: the handler ends, the stream does not.
coro::awaitable<void> park(http::exchange& ex, std::optional<http::response_stream>& parked) {
    bool started = co_await ex.start_stream("text/event-stream", {});
    if (started)
        parked.emplace(ex.take_stream());
}

coro::awaitable<void> text(http::exchange& ex) {
    http::response res{200, "text/plain", "hello", {}};
    co_await ex.respond(std::move(res));
}

coro::awaitable<void> fail(http::exchange&) {
    throw std::runtime_error("a bug");
    co_return;
}

std::string get(std::string_view path, std::string_view extra = "") {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

struct fixture {
    fixture()
        : server(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), lim()) {
        server.route("POST", "/echo", echo);
        server.route("GET", "/stream", stream_three);
        server.route("GET", "/fail", fail);
        server.route("GET", "/text", text);
        server.route("GET", "/park", [this](http::exchange& ex) { return park(ex, parked); });
        asio::co_spawn(ioc, server.async_run(), [this](std::exception_ptr) { stopped = true; });
    }
    ~fixture() {
        // Every coroutine of the server must end before the server goes.
        server.stop();
        run_until(
            ioc, [this] { return stopped; }, 5s);
    }
    static http::limits lim() {
        http::limits l;
        l.max_body = 1000;
        l.max_header = 1024;
        l.idle_timeout = 300ms;
        l.allowed_origins = {"https://app.example"};
        l.allowed_request_headers = "Content-Type, Authorization";
        l.exposed_headers = "X-Test";
        return l;
    }
    std::pair<http_head, std::string> exchange(std::string raw) {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(server.local_endpoint()));
        return run(ioc, c.exchange(std::move(raw)));
    }
    // Connects `c` and opens a stream whose handler leaves it in `parked`.
    void park_a_stream(http_client& c) {
        run(ioc, c.connect(server.local_endpoint()));
        run(ioc, c.send(get("/park")));
        BOOST_TEST(run(ioc, c.read_head()).status == 200u);
        run_until(
            ioc, [&] { return parked.has_value(); }, 5s);
    }
    std::string detail(const std::string& body) {
        return std::string(boost::json::parse(body).at("detail").as_string());
    }
    asio::io_context ioc;
    http::server server;
    bool stopped = false;
    std::optional<http::response_stream> parked;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(server, fixture)

BOOST_AUTO_TEST_CASE(a_client_leaving_mid_stream_ends_the_handler_promptly) {
    // The handler writes on after its client left (its writes fail), then
    // ends the body: nothing may wait for a peer that is gone.
    {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(server.local_endpoint()));
        run(ioc, c.send(get("/stream")));
        BOOST_TEST(run(ioc, c.read_head()).status == 200u);
    }
    server.stop();
    run_until(
        ioc, [this] { return stopped; }, 5s);
}

BOOST_AUTO_TEST_CASE(allowed_origins_get_cors_headers_and_preflights_are_answered) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send("OPTIONS /stream HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n"
                    "Access-Control-Request-Method: GET\r\n"
                    "Access-Control-Request-Headers: authorization\r\n\r\n"));
    http_head pre = run(ioc, c.read_head());
    BOOST_TEST(pre.status == 204u);
    BOOST_TEST(pre.header("Access-Control-Allow-Origin").value_or("") == "https://app.example");
    BOOST_TEST(pre.header("Access-Control-Allow-Methods").value_or("").find("GET") !=
               std::string::npos);
    BOOST_TEST(pre.header("Access-Control-Allow-Headers").value_or("") ==
               "Content-Type, Authorization");
    BOOST_TEST(pre.header("Access-Control-Allow-Credentials").value_or("") == "true");
    // The same connection serves the request itself.
    run(ioc, c.send(get("/stream", "Origin: https://app.example\r\n")));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.header("Access-Control-Allow-Origin").value_or("") == "https://app.example");
    BOOST_TEST(head.header("Access-Control-Expose-Headers").value_or("") == "X-Test");
    BOOST_TEST(head.header("Vary").value_or("") == "Origin");
    // A named origin's pages may send cookies (credentials: 'include').
    BOOST_TEST(head.header("Access-Control-Allow-Credentials").value_or("") == "true");
    // Another origin gets no CORS header (the browser then refuses the answer).
    auto [other, body] = exchange(get("/fail", "Origin: https://evil.example\r\n"));
    BOOST_TEST(!other.header("Access-Control-Allow-Origin"));
    BOOST_TEST(!other.header("Access-Control-Allow-Credentials"));
    BOOST_TEST(other.header("Vary").value_or("") == "Origin"); // a cache must not mix them up
    http_client d(ioc.get_executor());
    run(ioc, d.connect(server.local_endpoint()));
    run(ioc, d.send("OPTIONS /stream HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n"));
    http_head refused = run(ioc, d.read_head());
    BOOST_TEST(refused.status == 204u);
    BOOST_TEST(!refused.header("Access-Control-Allow-Origin"));
    BOOST_TEST(exchange("OPTIONS /nowhere HTTP/1.1\r\nHost: t\r\n\r\n").first.status == 404u);
}

// `*` lets any page read the answers, never with the browser's cookies.
BOOST_AUTO_TEST_CASE(any_origin_is_allowed_without_credentials) {
    asio::io_context ioc;
    http::limits l;
    l.allowed_origins = {"*"};
    http::server server(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                        l);
    server.route("GET", "/text", text);
    bool stopped = false;
    asio::co_spawn(ioc, server.async_run(), [&](std::exception_ptr) { stopped = true; });
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    auto [head, body] = run(ioc, c.exchange(get("/text", "Origin: https://any.example\r\n")));
    BOOST_TEST(head.header("Access-Control-Allow-Origin").value_or("") == "https://any.example");
    BOOST_TEST(!head.header("Access-Control-Allow-Credentials"));
    c.close();
    server.stop();
    run_until(
        ioc, [&] { return stopped; }, 5s);
}

BOOST_AUTO_TEST_CASE(routes_and_their_errors) {
    auto [head, body] = exchange(post_request("hello", "text/plain", "/echo"));
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(body == "hello");

    std::tie(head, body) = exchange(get("/nowhere"));
    BOOST_TEST(head.status == 404u);
    BOOST_TEST(!detail(body).empty());

    std::tie(head, body) = exchange(get("/echo"));
    BOOST_TEST(head.status == 405u);
    BOOST_TEST(head.header("Allow").value_or("") == "POST");
    BOOST_TEST(head.header("Content-Type").value_or("") == "application/json");
}

BOOST_AUTO_TEST_CASE(handler_failure_is_a_500_not_a_crash) {
    auto [head, body] = exchange(get("/fail"));
    BOOST_TEST(head.status == 500u);
    BOOST_TEST(detail(body) == "internal error");
    auto [again, text] = exchange(post_request("still alive", "text/plain", "/echo"));
    BOOST_TEST(again.status == 200u);
}

BOOST_AUTO_TEST_CASE(body_without_length_is_411) {
    auto [head, body] = exchange("POST /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    BOOST_TEST(head.status == 411u);
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_is_413_and_reaches_the_client) {
    // Declared too large: answered without reading the body.
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send(post_request(std::string(1001, 'a'), "text/plain", "/echo")));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(head.status == 413u);
    BOOST_TEST(!detail(run(ioc, c.read_body())).empty());
    BOOST_TEST(run(ioc, c.wait_eof(), 5s));

    // Chunked: found too large while reading.
    std::string chunked = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i)
        chunked += "12c\r\n" + std::string(300, 'b') + "\r\n";
    chunked += "0\r\n\r\n";
    auto [h2, b2] = exchange(chunked);
    BOOST_TEST(h2.status == 413u);

    // Exactly at the limit is fine, chunked or not.
    auto [h3, b3] = exchange(post_request(std::string(1000, 'c'), "text/plain", "/echo"));
    BOOST_TEST(h3.status == 200u);
    BOOST_TEST(b3.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(header_over_the_limit_is_431_and_garbage_is_400) {
    auto [head, body] = exchange(get("/echo", "X-Big: " + std::string(2000, 'x') + "\r\n"));
    BOOST_TEST(head.status == 431u);
    std::tie(head, body) = exchange("NOT HTTP AT ALL\r\n\r\n");
    BOOST_TEST(head.status == 400u);
}

BOOST_AUTO_TEST_CASE(keep_alive_and_pipelining) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send(post_request("one", "text/plain", "/echo") +
                    post_request("two", "text/plain", "/echo")));
    run(ioc, c.read_head());
    BOOST_TEST(run(ioc, c.read_body()) == "one");
    run(ioc, c.read_head());
    BOOST_TEST(run(ioc, c.read_body()) == "two");
    auto [h, b] = run(ioc, c.exchange(get("/stream")));
    BOOST_TEST(h.status == 200u);
    BOOST_TEST(b == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

BOOST_AUTO_TEST_CASE(streams_arrive_chunk_by_chunk) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send(get("/stream")));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(head.header("Transfer-Encoding").value_or("") == "chunked");
    BOOST_TEST(head.header("X-Test").value_or("") == "yes");
    for (int i = 0; i < 3; ++i) {
        auto m = run(ioc, c.next_message());
        BOOST_TEST_REQUIRE(m.has_value());
        BOOST_TEST(m->data == std::to_string(i));
    }
    BOOST_TEST(!run(ioc, c.next_message()).has_value());
}

BOOST_AUTO_TEST_CASE(http10_streams_end_by_closing) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send("GET /stream HTTP/1.0\r\n\r\n"));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(!head.header("Transfer-Encoding").has_value());
    BOOST_TEST(run(ioc, c.read_body()) == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

BOOST_AUTO_TEST_CASE(idle_connections_time_out_and_stop_closes_them) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    BOOST_TEST(run(ioc, c.wait_eof(), 5s)); // idle_timeout is 300 ms
    http_client d(ioc.get_executor());
    run(ioc, d.connect(server.local_endpoint()));
    run_until(
        ioc, [&] { return server.connections() == 1; }, 5s);
    server.stop();
    BOOST_TEST(run(ioc, d.wait_eof(), 5s));
    run_until(
        ioc, [&] { return stopped; }, 5s);
    BOOST_TEST(server.connections() == 0u);
}

BOOST_AUTO_TEST_CASE(a_taken_stream_outlives_its_handler_and_is_counted_and_awaited) {
    http_client c(ioc.get_executor());
    park_a_stream(c);
    BOOST_TEST(server.connections() == 1u); // no handler runs for it, and it still counts
    BOOST_TEST(run(ioc, parked->write("data: late\n\n")));
    auto m = run(ioc, c.next_message());
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST(m->data == "late");

    server.stop();
    run(ioc, sleep_for(200ms));
    BOOST_TEST(!stopped); // the server waits for the stream
    BOOST_TEST(server.connections() == 1u);
    BOOST_TEST(run(ioc, parked->finish()));
    parked.reset(); // its body is finished, but a stopping server keeps no connection
    BOOST_TEST(run(ioc, c.wait_eof(), 5s));
    run_until(
        ioc, [&] { return stopped; }, 5s);
    BOOST_TEST(server.connections() == 0u);
}

BOOST_AUTO_TEST_CASE(a_finished_stream_gives_its_connection_back_for_the_next_request) {
    http_client c(ioc.get_executor());
    park_a_stream(c);
    BOOST_TEST(run(ioc, parked->finish()));
    parked.reset();
    BOOST_TEST(!run(ioc, c.next_message()).has_value()); // the body ended
    auto [head, body] = run(ioc, c.exchange(get("/text")));
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(body == "hello");
    BOOST_TEST(server.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(a_taken_stream_sees_its_client_leave) {
    http_client c(ioc.get_executor());
    park_a_stream(c);
    bool readable = false;
    parked->async_wait_readable([&](boost::system::error_code) { readable = true; });
    run(ioc, sleep_for(100ms));
    BOOST_TEST(!readable);
    c.close();
    run_until(
        ioc, [&] { return readable; }, 5s);
    parked.reset(); // its body unfinished: the connection closes
    BOOST_TEST(server.connections() == 0u);
}

// RFC 9112: what a proxy in front could read differently is refused, with an answer.
BOOST_AUTO_TEST_CASE(ambiguous_framing_is_400_and_closes) {
    const std::string requests[] = {
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: "
        "5\r\n\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nhi",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi\r\n"
        "0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
        "POST /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\n\r\nhi",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
        "GET text HTTP/1.1\r\nHost: t\r\n\r\n",
    };
    for (const auto& raw : requests) {
        http_client c(ioc.get_executor());
        run(ioc, c.connect(server.local_endpoint()));
        auto [head, body] = run(ioc, c.exchange(raw));
        BOOST_TEST(head.status == 400u, raw);
        BOOST_TEST(!detail(body).empty());
        BOOST_TEST(head.header("Connection").value_or("") == "close");
        BOOST_TEST(run(ioc, c.wait_eof(), 5s), raw);
    }
    // HTTP/1.0 needs no Host; an absolute-form target is routed by its path.
    BOOST_TEST(exchange("POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi").second == "hi");
    auto [head, body] =
        exchange("POST http://t/echo?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(body == "hi");
    // Schemes are case-insensitive (and comparing them read past the end, a fuzzer's finding).
    BOOST_TEST(
        exchange("POST httpS://t/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi").second ==
        "hi");
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_body) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 2\r\n\r\n"));
    http_head go_on = run(ioc, c.read_head(), 2s);
    BOOST_TEST(go_on.status == 100u);
    run(ioc, c.send("hi"));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(run(ioc, c.read_body()) == "hi");
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured_on_the_servers_own_answers) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    auto [head, body] = run(ioc, c.exchange(get("/nope", "Connection: close\r\n")));
    BOOST_TEST(head.status == 404u);
    BOOST_TEST(run(ioc, c.wait_eof(), 1s));
}

BOOST_AUTO_TEST_CASE(head_gets_the_headers_of_get_and_no_body) {
    http_client c(ioc.get_executor());
    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send("HEAD /text HTTP/1.1\r\nHost: t\r\n\r\n"));
    http_head head = run(ioc, c.read_head());
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.header("Content-Length").value_or("") == "5");
    // No body came: the next response on the connection is the next request's.
    auto [next, body] = run(ioc, c.exchange(get("/text")));
    BOOST_TEST(next.status == 200u);
    BOOST_TEST(body == "hello");

    http_client s(ioc.get_executor());
    run(ioc, s.connect(server.local_endpoint()));
    run(ioc, s.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
    http_head stream_head = run(ioc, s.read_head());
    BOOST_TEST(stream_head.status == 200u);
    BOOST_TEST(stream_head.header("X-Test").value_or("") == "yes");
    BOOST_TEST(run(ioc, s.wait_eof(), 2s)); // headers only, then closed

    auto [not_allowed, detail_body] =
        exchange("PUT /text HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    BOOST_TEST(not_allowed.status == 405u);
    BOOST_TEST(not_allowed.header("Allow").value_or("") == "GET, HEAD");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(paths_match_patterns_segment_by_segment) {
    using http::path_matches;
    BOOST_TEST(path_matches("/v1/react/sessions", "/v1/react/sessions"));
    BOOST_TEST(!path_matches("/v1/react/sessions", "/v1/react/sessions/"));
    BOOST_TEST(!path_matches("/v1/react/sessions", "/v1/react"));
    BOOST_TEST(path_matches("/v1/react/sessions/*/events", "/v1/react/sessions/abc/events"));
    BOOST_TEST(!path_matches("/v1/react/sessions/*/events", "/v1/react/sessions//events"));
    BOOST_TEST(!path_matches("/v1/react/sessions/*/events", "/v1/react/sessions/a/b/events"));
    BOOST_TEST(!path_matches("/v1/react/sessions/*/events", "/v1/react/sessions/abc/events/"));
    BOOST_TEST(!path_matches("/v1/react/sessions/*/events", "/v1/react/sessions/abc"));
    BOOST_TEST(path_matches("/", "/"));
    BOOST_TEST(http::path_segment("/v1/react/sessions/abc/events", 3) == "abc");
    BOOST_TEST(http::path_segment("/v1/react", 5) == "");
}

BOOST_AUTO_TEST_CASE(query_parameters_are_found_and_decoded) {
    http::request r;
    r.target = "/x/y?a=1&token=ab%2Ecd-_&empty=&plus=a+b&last_event_id=17-0";
    BOOST_TEST(r.path() == "/x/y");
    BOOST_TEST(r.query("token").value_or("?") == "ab.cd-_");
    BOOST_TEST(r.query("empty").value_or("?") == "");
    BOOST_TEST(r.query("plus").value_or("?") == "a b");
    BOOST_TEST(r.query("last_event_id").value_or("?") == "17-0");
    BOOST_TEST(!r.query("missing"));
    r.target = "/x";
    BOOST_TEST(!r.query("a"));
    BOOST_TEST(r.path() == "/x");
}

BOOST_AUTO_TEST_CASE(connections_over_the_cap_get_503_and_silent_ones_go_first) {
    asio::io_context ioc;
    http::limits lim;
    lim.max_connections = 2;
    lim.first_request_timeout = 300ms;
    lim.idle_timeout = 5s;
    http::server server(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                        lim);
    server.route("POST", "/echo", echo);
    bool stopped = false;
    asio::co_spawn(ioc, server.async_run(), [&](std::exception_ptr) { stopped = true; });

    http_client a(ioc.get_executor()), b(ioc.get_executor()), c(ioc.get_executor());
    run(ioc, a.connect(server.local_endpoint()));
    run(ioc, b.connect(server.local_endpoint()));
    run_until(
        ioc, [&] { return server.connections() == 2; }, 5s);
    // `a` talks, so it keeps the longer idle timeout; `b` never says anything.
    auto [a_head, a_body] =
        run(ioc, a.exchange("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
    BOOST_TEST(a_head.status == 200u);

    run(ioc, c.connect(server.local_endpoint()));
    run(ioc, c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
    http_head refused = run(ioc, c.read_head());
    BOOST_TEST(refused.status == 503u);
    BOOST_TEST(refused.header("Connection").value_or("") == "close");
    BOOST_TEST(run(ioc, c.read_body()) == R"({"detail":"too many connections"})");
    BOOST_TEST(server.refused_connections() == 1u);
    BOOST_TEST(server.connections() == 2u);

    BOOST_TEST(run(ioc, b.wait_eof(), 5s)); // silent: closed after first_request_timeout
    run_until(
        ioc, [&] { return server.connections() == 1; }, 5s);
    http_client d(ioc.get_executor()); // room again
    run(ioc, d.connect(server.local_endpoint()));
    auto [d_head, d_body] =
        run(ioc, d.exchange("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok"));
    BOOST_TEST(d_head.status == 200u);
    BOOST_TEST(d_body == "ok");
    BOOST_TEST(server.connections() == 2u); // `a` is still there: it spoke

    server.stop();
    run_until(
        ioc, [&] { return stopped; }, 5s);
}
