// Uses the installed primitives: an event, an SSE frame, the RESP parser.
#include <ssebridge/coro/event.hpp>
#include <ssebridge/redis/resp.hpp>
#include <ssebridge/sse/encode.hpp>
#include <ssebridge/wire/names.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

int main() {
    boost::asio::io_context ioc;
    ssebridge::coro::event ready(ioc.get_executor());
    std::string frame;
    std::vector<std::string> got;
    boost::asio::co_spawn(
        ioc,
        [](ssebridge::coro::event& e, const std::string& f,
           std::vector<std::string>& out) -> ssebridge::coro::awaitable<void> {
            co_await e.async_wait();
            out.push_back(f);
        }(ready, frame, got),
        boost::asio::detached);
    frame = ssebridge::sse::data_frame("{}");
    ready.set();
    ioc.run();
    std::vector<ssebridge::redis::node> nodes;
    boost::system::error_code ec;
    ssebridge::redis::parse(":1\r\n", nodes, ec);
    bool ok = got.size() == 1 && got[0] == "data: {}\n\n" && !ec && nodes.at(0).integer == 1 &&
              ssebridge::wire::is_session_id(ssebridge::wire::make_session_id());
    std::cout << (ok ? "ok" : "wrong") << "\n";
    return ok ? 0 : 1;
}
