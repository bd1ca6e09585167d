#include <ssebridge/gateway/detail/stream_state.hpp>

#include <ssebridge/gateway/detail/frames.hpp>
#include <ssebridge/sse/encode.hpp>

#include <array>
#include <charconv>
#include <sstream>
#include <utility>

namespace ssebridge::gateway::detail {

namespace {
std::string describe(coro::clock::duration d) {
    std::ostringstream out;
    out << std::chrono::duration<double>(d).count() << " s";
    return out.str();
}
} // namespace

stream_state::stream_state(const stream_limits& limits, coro::clock::time_point now,
                           stream_kind kind)
    : limits_(&limits)
    , kind_(kind)
    , ids_(kind == stream_kind::subscriber)
    , phase_(kind == stream_kind::creator ? phase::awaiting_ack : phase::relaying)
    , last_event_(now) {}

step stream_state::on_message(std::string_view message, coro::clock::time_point now) {
    auto info = wire::inspect_event(message);
    if (!info)
        return step::malformed;
    if (!open())
        return step::none; // nothing goes out after the end
    if (replaying_) {
        if (live_overflow_)
            return step::none;
        std::vector<std::string>& live = held().live;
        if (live.size() >= limits_->max_queue) {
            // Recorded ones are in the log: the replay reads them again.
            std::vector<std::string>().swap(live);
            live_overflow_ = true;
        } else {
            live.emplace_back(message);
        }
        return step::none;
    }
    return relay(message, *info, now);
}

step stream_state::relay(std::string_view message, const wire::event_info& info,
                         coro::clock::time_point now) {
    if (info.id) {
        if (last_id_ && *info.id <= *last_id_)
            return step::none; // seen already (a replay overlapping the live channel)
        last_id_ = info.id;
    }
    last_event_ = now;
    bool terminal = wire::ends_session(info);
    if (phase_ == phase::relaying) {
        step s = queue(message, info.id);
        if (terminal && phase_ == phase::relaying)
            phase_ = phase::terminal;
        return s;
    }
    // Awaiting the ack: a cancel ends the stream even without one.
    if (info.kind == wire::event_kind::ack || info.kind == wire::event_kind::cancelled) {
        std::string held_frames;
        std::size_t held_events = 0;
        if (held_) {
            held_frames = std::move(held_->frames);
            held_events = std::exchange(held_->events, 0);
            drop_held_if_empty();
        }
        bool held_terminal = held_terminal_;
        phase_ = phase::relaying;
        if (info.kind == wire::event_kind::ack) {
            acked_at_ = now;
            queue(message, info.id);
        }
        pending_ += held_frames; // events that came before the ack, in order
        pending_events_ += held_events;
        if (info.kind == wire::event_kind::cancelled && !held_terminal)
            queue(message, info.id);
        if (held_terminal || terminal)
            phase_ = phase::terminal;
        return step::wake;
    }
    if (held_terminal_)
        return step::none; // after a held terminal event: never sent
    held_back& h = held();
    if (h.events >= limits_->max_queue)
        return end(wire::end_code::early_overflow, "more than " +
                                                       std::to_string(limits_->max_queue) +
                                                       " events arrived before worker_ack");
    append_frame(h.frames, message, info.id);
    ++h.events;
    held_terminal_ = terminal;
    return step::none;
}

void stream_state::begin_replay() {
    replaying_ = true;
}

step stream_state::on_replayed(std::string_view message, coro::clock::time_point now) {
    auto info = wire::inspect_event(message);
    if (!info)
        return step::malformed;
    if (!open())
        return step::none;
    return relay(message, *info, now);
}

step stream_state::on_reset(std::string_view reason) {
    if (!open())
        return step::none;
    append_event_frame(pending_, wire::reset_message(reason));
    ++pending_events_;
    return step::wake;
}

step stream_state::on_cursor(std::string_view message) {
    auto info = wire::inspect_event(message);
    if (!info || !open())
        return step::none;
    if (info->id)
        last_id_ = info->id;
    if (!wire::ends_session(*info))
        return step::none;
    phase_ = phase::terminal; // the client has the end already
    return step::wake;
}

bool stream_state::take_replay_overflow() noexcept {
    return std::exchange(live_overflow_, false);
}

step stream_state::end_replay(coro::clock::time_point now) {
    replaying_ = false;
    std::vector<std::string> held;
    if (held_) {
        held = std::move(held_->live);
        drop_held_if_empty();
    }
    step result = step::none;
    for (const std::string& message : held) {
        step s = on_message(message, now);
        if (s != step::none && s != step::malformed)
            result = s;
    }
    return result;
}

step stream_state::on_lost() {
    return end(wire::end_code::backend_lost, "backend lost: the Redis connection closed");
}

step stream_state::on_shutdown() {
    return end(wire::end_code::shutting_down, "server shutting down");
}

void stream_state::on_stream_started(coro::clock::time_point now,
                                     coro::clock::time_point ack_deadline) {
    started_at_ = now;
    last_write_ = now;
    ack_deadline_ = ack_deadline;
}

step stream_state::on_tick(coro::clock::time_point now) {
    if (writing_ && end_code_ != wire::end_code::write_timeout &&
        now >= write_started_ + limits_->write_timeout) {
        end_code_ = wire::end_code::write_timeout;
        phase_ = phase::done;
        return step::abort; // the write fails, and with it the stream
    }
    if (!started())
        return step::none;
    if (phase_ == phase::awaiting_ack && now >= ack_deadline_)
        return end(wire::end_code::ack_timeout,
                   "worker did not acknowledge within " + describe(limits_->ack_timeout));
    if (phase_ == phase::relaying && now >= last_event_ + limits_->idle_timeout)
        return end(wire::end_code::idle_timeout, "no event for " + describe(limits_->idle_timeout));
    if (phase_ != phase::done && !writing_ && pending_.empty() &&
        now >= last_write_ + limits_->keepalive) {
        pending_.append(sse::keepalive_frame);
        last_write_ = now; // the next one a full period later
        return step::wake;
    }
    return step::none;
}

std::optional<chunk> stream_state::take(std::string& out, coro::clock::time_point now) {
    if (phase_ == phase::done)
        return std::nullopt;
    chunk c;
    out.clear();
    if (!pending_.empty()) {
        // The frames' buffer goes with them: an idle stream keeps none.
        out = std::move(pending_);
        pending_.clear();
        c.events = pending_events_;
        pending_events_ = 0;
        c.last = phase_ == phase::terminal;
    } else if (phase_ == phase::terminal) {
        c.last = true; // the end the client has seen already: only close the response
    } else if (phase_ == phase::ending) {
        // Only a stream with ids can be resumed: only it gets a retry hint.
        if (ui_)
            ui_->append(out, wire::error_message(*end_code_, end_text()));
        else
            append_error_frame(out, *end_code_, end_text(),
                               ids_ ? retry_hint(*end_code_) : std::nullopt);
        held_.reset();
        c.last = true;
    } else {
        return std::nullopt;
    }
    if (c.last) {
        terminal_taken_ = phase_ == phase::terminal;
        phase_ = phase::done;
    }
    writing_ = true;
    write_started_ = now;
    return c;
}

void stream_state::on_written(coro::clock::time_point now) {
    writing_ = false;
    last_write_ = now;
    if (phase_ == phase::done && terminal_taken_ && !end_code_)
        completed_ = true;
}

step stream_state::end(wire::end_code code, std::string text) {
    if (phase_ != phase::awaiting_ack && phase_ != phase::relaying)
        return step::none; // it ends already
    phase_ = phase::ending;
    end_code_ = code;
    held_back& h = held();
    std::string().swap(h.frames);
    h.events = 0;
    h.end_text = std::move(text);
    return step::wake;
}

stream_state::held_back& stream_state::held() {
    if (!held_)
        held_ = std::make_unique<held_back>();
    return *held_;
}

void stream_state::drop_held_if_empty() noexcept {
    if (held_ && held_->frames.empty() && held_->live.empty() && held_->end_text.empty())
        held_.reset();
}

step stream_state::queue(std::string_view message, const std::optional<wire::entry_id>& id) {
    if (pending_events_ >= limits_->max_queue) {
        std::string().swap(pending_); // free the backlog now; the client gets only the error
        pending_events_ = 0;
        return end(wire::end_code::slow_client, "client too slow: more than " +
                                                    std::to_string(limits_->max_queue) +
                                                    " events waiting");
    }
    append_frame(pending_, message, id);
    ++pending_events_;
    return step::wake;
}

void stream_state::speak_ui(std::string_view message_id) {
    ui_ = std::make_unique<wire::ui_message_stream>();
    wire::ui_message_stream::append_start(pending_, message_id);
}

void stream_state::append_frame(std::string& out, std::string_view message,
                                const std::optional<wire::entry_id>& id) {
    if (ui_) {
        ui_->append(out, message);
        return;
    }
    if (!ids_ || !id) {
        append_event_frame(out, message);
        return;
    }
    // `<ms>-<seq>`, two 64-bit numbers: at most 41 characters.
    std::array<char, 48> text{};
    std::size_t n = static_cast<std::size_t>(
        std::to_chars(text.data(), text.data() + 20, id->ms).ptr - text.data());
    text[n++] = '-';
    n = static_cast<std::size_t>(
        std::to_chars(text.data() + n, text.data() + text.size(), id->seq).ptr - text.data());
    out.append("id: ").append(text.data(), n).append(id_suffix_).push_back('\n');
    append_event_frame(out, message);
}

} // namespace ssebridge::gateway::detail
