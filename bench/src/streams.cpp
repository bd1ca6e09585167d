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

namespace {
wire::event_kind ui_kind_of(std::string_view data) {
    if (data.starts_with(R"({"type":"start-step")"))
        return wire::event_kind::ack;
    if (data.starts_with(R"({"type":"finish")") || data.starts_with(R"({"type":"abort")") ||
        data.starts_with(R"({"type":"error")"))
        return wire::event_kind::final;
    return wire::event_kind::other;
}
} // namespace

namespace {
// What every bench session asks. A stream that may resume by POST asks for
// SSE ids (the cursors it comes back with).
std::string ask(bool with_cursors, const std::string& last_event_id = "") {
    std::string extra = with_cursors ? "Accept: text/event-stream\r\n" : "";
    if (!last_event_id.empty())
        extra += "Last-Event-ID: " + last_event_id + "\r\n";
    return test::post_request(R"({"user_query":"bench"})", "application/json", "/v1/react/sessions",
                              extra);
}

bool resumes_by_post(const settings& s) {
    return s.scenario == "resume" && s.resume_with == "post";
}
} // namespace

coro::awaitable<void> open_stream(run_state& st, std::size_t index, stream* out) {
    auto ex = co_await asio::this_coro::executor;
    out->client = std::make_unique<test::http_client>(ex);
    if (st.s.target == "ssebridge") {
        out->gateway = st.gateways[index % st.gateways.size()];
        co_await out->client->connect(out->gateway);
        if (st.s.profile == "ai-sdk")
            co_await out->client->send(test::post_request(
                R"({"id":"bench-)" + st.run_id + "-" + std::to_string(index) +
                    R"(","messages":[{"role":"user","parts":[{"type":"text","text":"bench"}]}]})",
                "application/json", "/v1/chat"));
        else
            co_await out->client->send(ask(resumes_by_post(st.s)));
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
coro::awaitable<void> read_stream(test::http_client* c, results* r, bool ui) {
    for (;;) {
        std::optional<sse::message> m = co_await c->next_message();
        if (!m)
            break;
        if (m->is_comment)
            continue;
        wire::event_kind kind = ui ? ui_kind_of(m->data) : kind_of(m->data);
        if (ui && kind == wire::event_kind::other &&
            !m->data.starts_with(R"({"type":"text-delta")"))
            continue; // the protocol's own chunks: start, text-start, …
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

coro::awaitable<void> reopen(stream& s, const std::string& cursor, bool by_post) {
    s.client->close();
    s.client = std::make_unique<test::http_client>(co_await asio::this_coro::executor);
    co_await s.client->connect(s.gateway);
    if (by_post)
        co_await s.client->send(ask(true, cursor));
    else
        co_await s.client->send("GET /v1/react/sessions/" + s.id +
                                "/events HTTP/1.1\r\nHost: b\r\n"
                                "Authorization: Bearer " +
                                s.token + "\r\nLast-Event-ID: " + cursor + "\r\n\r\n");
    test::http_head head = co_await s.client->read_head();
    if (head.status != 200)
        throw std::runtime_error(std::string(by_post ? "the POST again" : "GET events") +
                                 " answered " + std::to_string(head.status));
    if (by_post && head.header("X-Session-Id") != s.id)
        throw std::runtime_error("the POST again opened another session");
}

coro::awaitable<std::size_t> sessions_started(const run_state& st) {
    auto ex = co_await asio::this_coro::executor;
    std::size_t sum = 0;
    for (const tcp::endpoint& gateway : st.gateways) {
        test::http_client c(ex);
        co_await c.connect(gateway);
        auto [head, body] = co_await c.exchange("GET /metrics HTTP/1.1\r\nHost: b\r\n\r\n");
        constexpr std::string_view name = "\nssebridge_sessions_started_total ";
        auto at = body.find(name);
        if (head.status != 200 || at == std::string::npos)
            throw std::runtime_error("no ssebridge_sessions_started_total in /metrics");
        sum += std::stoull(body.substr(at + name.size()));
    }
    co_return sum;
}

coro::awaitable<void> read_resumable(run_state* st, stream* s, std::size_t index,
                                     std::size_t cut_after) {
    const bool by_post = resumes_by_post(st->s);
    std::optional<wire::entry_id> last;
    std::string last_text; // the cursor to come back with
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
            last_text = by_post ? m->id : info->id->to_string();
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
            co_await reopen(*s, last_text, by_post);
        }
    }
    st->got.progress.notify();
}

} // namespace ssebridge::bench
