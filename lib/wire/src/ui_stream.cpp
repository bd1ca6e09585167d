#include <ssebridge/wire/ui_stream.hpp>

#include <ssebridge/wire/event.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <utility>

namespace ssebridge::wire {

namespace json = boost::json;

namespace {

// The one table of the mapping (see ui_part); every other type is `data`.
constexpr std::array<std::pair<std::string_view, ui_part>, 7> ui_parts{{
    {event_type::worker_ack, ui_part::step},
    {"AgentThoughtStream", ui_part::reasoning},
    {"FinalAnswerStream", ui_part::text},
    {"AgentToolCallStart", ui_part::tool_input},
    {event_type::final_answer_end, ui_part::finish},
    {event_type::cancelled, ui_part::abort},
    {event_type::error, ui_part::error},
}};

void append_chunk(std::string& out, std::string_view json_object) {
    out.append("data: ").append(json_object).append("\n\n");
}

constexpr std::string_view done_frame = "data: [DONE]\n\n";

std::string_view run_name(ui_part run) {
    return run == ui_part::reasoning ? "reasoning" : "text";
}

// `{"type":"<type>","id":"<id>"}`, the chunk that opens or closes a run.
void append_run_chunk(std::string& out, ui_part run, std::string_view edge, std::uint32_t part) {
    out.append(R"(data: {"type":")").append(run_name(run)).append(edge);
    out.append(R"(","id":")").append(run_name(run)).push_back('-');
    out.append(std::to_string(part)).append("\"}\n\n");
}

const json::value* member(const json::value& v, std::string_view name) {
    const json::object* o = v.if_object();
    return o ? o->if_contains(name) : nullptr;
}

std::string string_member(const json::value& v, std::string_view name) {
    const json::value* m = member(v, name);
    const json::string* s = m ? m->if_string() : nullptr;
    return s ? std::string(*s) : std::string();
}

} // namespace

ui_part ui_part_of(std::string_view event_type) noexcept {
    for (const auto& [type, part] : ui_parts)
        if (type == event_type)
            return part;
    return ui_part::data;
}

void ui_message_stream::append_start(std::string& out, std::string_view message_id) {
    json::object start{{"type", "start"}, {"messageId", message_id}};
    append_chunk(out, json::serialize(start));
}

void ui_message_stream::close_run(std::string& out) {
    if (run_ == ui_part::data)
        return;
    append_run_chunk(out, run_, "-end", parts_);
    run_ = ui_part::data;
}

void ui_message_stream::open_run(std::string& out, ui_part run) {
    if (run_ == run)
        return;
    close_run(out);
    run_ = run;
    append_run_chunk(out, run, "-start", ++parts_);
}

bool ui_message_stream::append(std::string& out, std::string_view message) {
    boost::system::error_code ec;
    json::value event = json::parse(message, ec);
    if (ec || !event.is_object())
        return false;
    std::string type = string_member(event, "event_type");
    if (type.empty())
        return false;
    static const json::value no_payload = json::object();
    const json::value* found = member(event, "payload");
    const json::value& payload = found ? *found : no_payload;
    ui_part part = ui_part_of(type);

    if (part == ui_part::reasoning || part == ui_part::text) {
        const json::value* c = member(payload, "char");
        if (c && c->is_string()) {
            open_run(out, part);
            out.append(R"(data: {"type":")").append(run_name(part)).append(R"(-delta","id":")");
            out.append(run_name(part)).push_back('-');
            out.append(std::to_string(parts_)).append(R"(","delta":)");
            out.append(json::serialize(*c)).append("}\n\n");
            return false;
        }
        part = ui_part::data; // not the seed's shape: shown as it is
    }
    if (part == ui_part::step) {
        // Not the end of a run: events a stream held until the ack were
        // translated before it, and go out after it.
        append_chunk(out, R"({"type":"start-step"})");
        return false;
    }
    close_run(out);
    switch (part) {
    case ui_part::tool_input: {
        std::string call = "call-" + std::to_string(++parts_);
        std::string tool = string_member(payload, "tool_name");
        json::object input;
        if (const json::object* o = payload.if_object())
            for (const auto& [key, value] : *o)
                if (key != "tool_name")
                    input.emplace(key, value);
        append_chunk(out,
                     json::serialize(json::object{
                         {"type", "tool-input-start"}, {"toolCallId", call}, {"toolName", tool}}));
        append_chunk(out, json::serialize(json::object{{"type", "tool-input-available"},
                                                       {"toolCallId", call},
                                                       {"toolName", tool},
                                                       {"input", std::move(input)}}));
        return false;
    }
    case ui_part::finish:
        append_chunk(out, R"({"type":"finish-step"})");
        append_chunk(out, R"({"type":"finish","finishReason":"stop"})");
        out.append(done_frame);
        return true;
    case ui_part::abort: {
        json::object abort{{"type", "abort"}};
        if (std::string reason = string_member(payload, "reason"); !reason.empty())
            abort.emplace("reason", reason);
        append_chunk(out, json::serialize(abort));
        out.append(done_frame);
        return true;
    }
    case ui_part::error: {
        std::string text = string_member(payload, "error");
        append_chunk(out, json::serialize(json::object{
                              {"type", "error"}, {"errorText", text.empty() ? "error" : text}}));
        out.append(done_frame);
        return true;
    }
    default:
        append_chunk(out,
                     json::serialize(json::object{{"type", "data-" + type}, {"data", payload}}));
        return false;
    }
}

} // namespace ssebridge::wire
