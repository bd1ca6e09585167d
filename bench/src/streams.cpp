#include "streams.hpp"

#include "run_state.hpp"

#include "support/run.hpp"

#include <ssebridge/wire/names.hpp>

#include <boost/json/parse.hpp>

namespace ssebridge::bench {

wire::event_kind kind_of(std::string_view data) {
    auto info = wire::inspect_event(data);
    return info ? info->kind : wire::event_kind::other;
}

coro::awaitable<void> open_stream(run_state& st, std::size_t index, stream* out) {
    auto ex = co_await asio::this_coro::executor;
    out->client = std::make_unique<test::http_client>(ex);
    if (st.s.target == "ssebridge") {
        out->gateway = st.gateways[index % st.gateways.size()];
        co_await out->client->connect(out->gateway);
        co_await out->client->send(test::post_request(R"({"user_query":"bench"})"));
        test::http_head head = co_await out->client->read_head();
        if (head.status != 200)
            throw std::runtime_error("POST answered " + std::to_string(head.status));
        out->id = head.header("X-Session-Id").value_or("");
        out->token = head.header("X-Session-Token").value_or("");
        out->channel = wire::session_channel(out->id);
        co_return;
    }
    out->channel = "b" + st.run_id + "x" + std::to_string(index);
    co_await out->client->connect(st.subscribe_url->endpoint);
    co_await out->client->send("GET " + st.subscribe_url->path_for(out->channel) +
                               " HTTP/1.1\r\nHost: " + st.subscribe_url->host +
                               "\r\nAccept: text/event-stream\r\n\r\n");
    test::http_head head = co_await out->client->read_head();
    if (head.status != 200)
        throw std::runtime_error("GET answered " + std::to_string(head.status));
}

// Reads a stream until FinalAnswerStreamEnd or its end, recording every event
// but the ack and the final one.
coro::awaitable<void> read_stream(test::http_client* c, results* r) {
    for (;;) {
        std::optional<sse::message> m = co_await c->next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        wire::event_kind kind = kind_of(m->data);
        if (kind == wire::event_kind::ack) {
            r->record_ack();
            continue;
        }
        if (wire::is_terminal(kind))
            break;
        r->record(m->data);
    }
    r->progress.notify(); // one stream fewer: a waiter may be counting them
}

coro::awaitable<void> discard(coro::awaitable<boost::system::error_code> op) {
    co_await std::move(op);
}

// Opens GET …/events for `s` after `cursor` on a new connection.
coro::awaitable<void> reopen(stream& s, const std::string& cursor) {
    s.client->close();
    s.client = std::make_unique<test::http_client>(co_await asio::this_coro::executor);
    co_await s.client->connect(s.gateway);
    co_await s.client->send("GET /v1/react/sessions/" + s.id +
                            "/events HTTP/1.1\r\nHost: b\r\n"
                            "Authorization: Bearer " +
                            s.token + "\r\nLast-Event-ID: " + cursor + "\r\n\r\n");
    test::http_head head = co_await s.client->read_head();
    if (head.status != 200)
        throw std::runtime_error("GET events answered " + std::to_string(head.status));
}

coro::awaitable<void> read_resumable(run_state* st, stream* s, std::size_t index,
                                     std::size_t cut_after) {
    std::optional<wire::entry_id> last;
    std::string last_text;
    std::size_t seen = 0;
    std::optional<steady::time_point> resumed_at;
    for (;;) {
        std::optional<sse::message> m = co_await s->client->next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        auto info = wire::inspect_event(m->data);
        if (!info)
            continue;
        if (info->id) {
            if (last && *info->id <= *last) {
                ++st->resume.duplicated;
                continue;
            }
            last = info->id;
            last_text = info->id->to_string();
        }
        if (resumed_at) {
            st->resume.resume_us.push_back(static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - *resumed_at)
                    .count()));
            resumed_at.reset();
        }
        if (info->kind == wire::event_kind::ack) {
            st->got.record_ack();
        } else if (wire::ends_session(*info)) {
            break;
        } else {
            ++st->resume.unique[index];
            st->got.record(m->data);
        }
        if (++seen == cut_after) {
            // Away for a while, as a phone changing networks: events pile up.
            ++st->resume.cut;
            s->client->close();
            co_await test::sleep_for(away);
            resumed_at = steady::now();
            co_await reopen(*s, last_text);
        }
    }
    st->got.progress.notify();
}

} // namespace ssebridge::bench
