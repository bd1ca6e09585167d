#include <ssebridge/gateway/stream.hpp>

#include <boost/asio/error.hpp>

namespace ssebridge::gateway {

namespace asio = boost::asio;
using boost::system::error_code;
using detail::step;

stream::stream(stream_group& group, detail::stream_kind kind, coro::clock::time_point now)
    : state_(group.limits, now, kind)
    , group_(&group) {}

void stream::attach(http::response_stream out) {
    out_.emplace(std::move(out));
}

void stream::act(step s) {
    if (s == step::wake && mode_ == mode::waiting) {
        bool goes_on = write_ready();
        if (!goes_on) // a full socket, the end, or the client gone
            wake();
    } else if (s == step::abort && out_)
        out_->abort(); // the pending write (or wait) fails, and with it the stream
}

bool stream::written(const detail::chunk& c) {
    state_.on_written(coro::clock::now());
    group_->events_written += c.events;
    return !c.last;
}

bool stream::write_ready() {
    std::string buffer; // takes the state's frames, buffer and all
    for (;;) {
        std::optional<detail::chunk> c = state_.take(buffer, coro::clock::now());
        if (!c)
            return true;
        std::optional<std::string> rest = out_->try_write(buffer, c->last);
        if (!rest) {
            client_gone_ = true;
            return false;
        }
        if (!rest->empty()) {
            unsent_ = std::make_unique<leftover>(leftover{std::move(*rest), *c});
            return false;
        }
        if (!written(*c))
            return false; // the end
    }
}

void stream::wake() {
    mode_ = mode::woken;
    out_->cancel_wait();
}

stream::next stream::resume(error_code ec, bool cancelled) {
    switch (mode_) {
    case mode::idle:             // started
        if (!out_->writable()) { // a HEAD: its answer was the headers
            mode_ = mode::done;
            return next::post;
        }
        break;
    case mode::done: // (a HEAD's completion, posted)
        return next::complete;
    case mode::waiting:
        if (!ec) // the client's side became readable: it left
            return finish(asio::error::eof);
        break; // a cancellation, or the socket closed (abort)
    case mode::woken:
        break;
    case mode::writing:
        if (ec)
            return finish(write_failure(ec));
        if (!written(std::exchange(unsent_, nullptr)->chunk))
            return finish(error_code());
        break;
    }
    if (cancelled) {
        // Terminal cancellation: the stream ends with its error event (unless
        // it ends already), if the socket takes it now.
        state_.on_shutdown();
        if (!unsent_)
            write_ready();
        return finish(asio::error::operation_aborted);
    }
    if (!client_gone_ && !out_->writable()) // aborted: a write waited too long
        return finish(write_failure(asio::error::operation_aborted));
    if (!client_gone_ && !unsent_) // (else what a full socket left goes first)
        write_ready();
    if (client_gone_)
        return finish(asio::error::connection_reset);
    if (unsent_) {
        mode_ = mode::writing;
        return next::write;
    }
    if (state_.finished())
        return finish(error_code());
    mode_ = mode::waiting;
    return next::wait;
}

stream::next stream::finish(error_code ec) {
    mode_ = mode::done;
    completion_ = ec;
    return next::complete;
}

error_code stream::write_failure(error_code ec) {
    out_->abort();
    if (state_.end_code() == wire::end_code::write_timeout)
        return asio::error::timed_out;
    return ec;
}

} // namespace ssebridge::gateway
