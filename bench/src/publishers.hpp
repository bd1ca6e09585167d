// Where the events come from: publishers into Redis (plain, recorded, on a
// cluster) or to any SSE server's publish URL.
#pragma once

#include "core.hpp"

#include <optional>

namespace ssebridge::bench {

struct run_state;

/// Where a URL template points: `http://HOST:PORT/path/{id}`.
struct url_template {
    tcp::endpoint endpoint;
    std::string host;
    std::string path; ///< with `{id}` somewhere

    /// Throws `invalid_argument` for anything but `http://HOST:PORT/…`.
    static url_template parse(const std::string& url);
    /// The path with `{id}` replaced by `id`.
    [[nodiscard]] std::string path_for(std::string_view id) const;
};

/// Publishes events with a window of unanswered requests on one connection.
class event_publisher {
public:
    virtual ~event_publisher() = default;
    /// Queues one event for `channel`; waits while the window is full.
    virtual coro::awaitable<void> publish(std::string_view channel, std::string_view message) = 0;
    virtual void close() = 0;
    static constexpr std::size_t window = 512;
};

/// An event message carrying its send time (`"t"`) and `pad` bytes.
std::string event_json(std::string_view type, const std::string& pad,
                       bool send_time_as_char = false);

/// Opens `s.publishers` publishers of the run's kind into `st.publishers`
/// (once: a later call finds them there).
coro::awaitable<void> connect_publishers(run_state& st);

// Publishes `per_channel` events to every channel; paced to `rate` if > 0.
// Closed loop: at most `in_flight` events published and not yet received, so
// no queue anywhere grows without end. `unread` channels are published to
// but never read: their events are not waited for.
coro::awaitable<void> publish_all(run_state& st, const std::vector<std::string>& channels,
                                  std::size_t per_channel, double rate,
                                  const std::vector<bool>& unread = {});

} // namespace ssebridge::bench
