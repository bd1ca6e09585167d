// A worker's burst of events, for the tests that break Redis in its middle.
#pragma once

#include "support/run.hpp"

#include <ssebridge/coro/task_group.hpp>
#include <ssebridge/redis/client.hpp>
#include <ssebridge/wire/event.hpp>
#include <ssebridge/worker/publish.hpp>

#include <string>
#include <vector>

namespace ssebridge::test {

/// Records `n` events `{"i":k}` 1 ms apart, then the end: `sent` gets each
/// id the writer was told, `finished` is set once the end is recorded.
inline coro::awaitable<void> burst(worker::session_writer& events, int n,
                                   std::vector<std::string>& sent, bool& finished) {
    for (int k = 0; k < n; ++k) {
        worker::published p = co_await events.publish("T", "{\"i\":" + std::to_string(k) + "}");
        sent.push_back(p.id);
        co_await sleep_for(std::chrono::milliseconds(1));
    }
    worker::published end = co_await events.publish(wire::event_type::final_answer_end);
    sent.push_back(end.id);
    finished = true;
}

/// A worker's writer bursting in the background (`burst`) on a client of
/// its own, kept connected; stopped and drained however the test ends (a
/// failed requirement included: nothing runs on after the locals it uses).
struct bursting_writer {
    bursting_writer(asio::io_context& ioc, const redis::config& cfg, std::string session_id,
                    int events)
        : ioc(ioc)
        , client(ioc.get_executor(), cfg)
        , background(ioc.get_executor())
        , writer(client, std::move(session_id)) {
        background.spawn(client.async_keep_connected());
        run_until(
            ioc, [this] { return client.connected(); }, 5s);
        sent.push_back(run(ioc, writer.publish(wire::event_type::worker_ack)).id);
        background.spawn(burst(writer, events, sent, finished));
    }
    ~bursting_writer() {
        background.cancel();
        client.close();
        try {
            run(ioc, background.async_wait());
        } catch (...) { // nothing to do about it in a destructor
        }
    }
    bursting_writer(const bursting_writer&) = delete;
    bursting_writer& operator=(const bursting_writer&) = delete;

    asio::io_context& ioc;
    redis::client client;
    coro::task_group background;
    worker::session_writer writer;
    std::vector<std::string> sent; ///< the ack's id, then each the burst was told
    bool finished = false;
};

} // namespace ssebridge::test
