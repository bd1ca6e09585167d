#include "session.hpp"

#include "pipeline.hpp"

#include <ssebridge/coro/exact_allocator.hpp>
#include <ssebridge/log.hpp>
#include <ssebridge/wire/record.hpp>
#include <ssebridge/worker/publish.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include <cmath>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using boost::system::error_code;
using detail::step;

namespace {

/// The end goes in as the log's last event (`wire::sealing_id`): after it
/// Redis refuses the worker's events, and the worker stops at its next one.
coro::awaitable<void> record_end(gateway::state& st, std::string id, std::string message) {
    worker::recording keep;
    keep.ttl = std::chrono::seconds(static_cast<long>(std::ceil(st.cfg.log_ttl)));
    try {
        co_await worker::record_message(st.redis.commands, id, std::move(message), keep);
    } catch (const boost::system::system_error& e) {
        if (e.code() != wire::error::session_ended)
            throw; // (ended already, by the worker's last event: that end stands)
    }
}

} // namespace

session::session(gateway::state& st, std::string id, detail::stream_kind kind,
                 coro::clock::time_point received)
    : st_(st)
    , id_(std::move(id))
    , stream_(st.sessions.streams, kind, coro::clock::now())
    , received_(received) {
    st.sessions.live.push_back(*this);
    ++st.sessions.live_count;
    ++st.sessions.objects;
}

session::~session() {
    if (phase_ != phase::ended)
        --st_.sessions.live_count; // (the hook unlinks it)
    if (unflushed_)                // (a read's batch ends before any session can go)
        std::erase(st_.sessions.unflushed, this);
    if (--st_.sessions.objects == 0)
        st_.sessions.gone.notify();
}

void session::on_message(std::string_view payload) {
    observed before = observe();
    step s = noted(before, stream_.state().on_message(payload, coro::clock::now()));
    const std::optional<wire::entry_id>& newest = stream_.state().last_id();
    if (newest != before.newest && *newest != wire::sealing_id) // recorded, new to this stream
        st_.timings.observe_lag(newest->ms);
    if (s != step::wake) {
        stream_.act(s);
        return;
    }
    // Written with the others at the read's end (one system call for them all).
    if (phase_ == phase::streaming && !unflushed_) {
        unflushed_ = true;
        st_.sessions.unflushed.push_back(this);
    }
}

void session::flush() {
    unflushed_ = false;
    stream_.act(step::wake);
}

void session::on_lost() {
    feed([](detail::stream_state& m) { return m.on_lost(); });
}

void session::on_tick(coro::clock::time_point now) {
    feed([now](detail::stream_state& m) { return m.on_tick(now); });
}

void session::shutdown() {
    feed([](detail::stream_state& m) { return m.on_shutdown(); });
}

session::observed session::observe() const noexcept {
    const detail::stream_state& m = stream_.state();
    return {m.end_code().has_value(), m.ack_wait().has_value(), m.last_id()};
}

step session::noted(const observed& before, step s) {
    const detail::stream_state& m = stream_.state();
    if (!before.acked && m.ack_wait())
        histograms::observe(st_.timings.ack_wait, *m.ack_wait());
    if (!before.ended && m.end_code()) { // counted when decided, not when written
        ++st_.stats.streams_failed[static_cast<std::size_t>(*m.end_code())];
        record_session_end(*m.end_code());
    }
    if (s == step::malformed) {
        ++st_.stats.malformed_messages;
        return step::none;
    }
    return s;
}

void session::attach(http::response_stream out, std::string cursor) {
    stream_.attach(std::move(out));
    if (kind() == detail::stream_kind::creator || !stream_.out().writable()) {
        start_streaming();
        return;
    }
    // The log first, raced by the client's hang-up; then live.
    phase_ = phase::replaying;
    asio::experimental::make_parallel_group(
        asio::co_spawn(st_.ex, replay(*this, std::move(cursor)), asio::deferred),
        stream_.out().async_wait_readable(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(),
                    [self = shared_from_this()](std::array<std::size_t, 2> order,
                                                std::exception_ptr e, bool more, error_code) {
                        if (e)
                            log::failure(log::level::error, "session " + self->id_, e);
                        if (order[0] == 1) // the client left
                            self->end(asio::error::eof);
                        else if (e || !more)
                            self->end(self->stream_.out().writable()
                                          ? error_code()
                                          : error_code(asio::error::connection_reset));
                        else
                            self->start_streaming();
                    });
}

void session::start_streaming() {
    phase_ = phase::streaming;
    // A block of its own size: Asio's cache would lend the operation's wait
    // one a larger operation freed (the headers' write), for as long as the
    // stream lasts.
    async_stream(stream_, asio::bind_allocator(
                              coro::exact_allocator<void>(),
                              [self = shared_from_this()](error_code ec) { self->end(ec); }));
}

void session::left_before_streaming() {
    if (exists_)
        note_abandoned(st_, id_); // unless someone comes back in time
}

void session::end(error_code ec) {
    if (phase_ == phase::ended)
        return;
    phase_ = phase::ended;
    unlink();
    --st_.sessions.live_count;
    const detail::stream_state& m = stream_.state();
    bool client_left = ec && ec != asio::error::operation_aborted;
    histograms::observe(st_.timings.duration, coro::clock::now() - m.started_at());
    if (m.completed())
        ++st_.stats.streams_completed;
    else if (!m.end_code() && client_left)
        ++st_.stats.client_disconnects; // (an error end is counted already)
    std::optional<wire::end_code> code = m.end_code();
    bool left =
        client_left || code == wire::end_code::slow_client || code == wire::end_code::backend_lost;
    if (left && exists_ && !m.completed())
        note_abandoned(st_, id_); // unless someone comes back in time
    if (client_left)
        stream_.out().close_after();
    stream_.release();
}

/// The creator's gateway decides the session-level ends (no ack, no event
/// for too long, a flood before the ack) and records them, so that every
/// subscriber, now or later, sees the same end.
void session::record_session_end(wire::end_code code) {
    bool session_level = code == wire::end_code::ack_timeout ||
                         code == wire::end_code::idle_timeout ||
                         code == wire::end_code::early_overflow;
    if (kind() != detail::stream_kind::creator || !session_level)
        return;
    spawn_record(st_, record_end(st_, id_, wire::error_message(code, stream_.state().end_text())),
                 "session " + id_ + ": its end was not recorded");
}

} // namespace ssebridge::gateway
