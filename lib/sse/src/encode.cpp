#include <ssebridge/sse/encode.hpp>

namespace ssebridge::sse {
namespace {

// Appends `prefix` + each line of `text` + "\n"; CR, LF and CRLF split lines.
void append_lines(std::string& out, std::string_view prefix, std::string_view text) {
    for (;;) {
        std::size_t end = text.find_first_of("\r\n");
        out.append(prefix);
        out.append(text.substr(0, end));
        out.push_back('\n');
        if (end == std::string_view::npos)
            return;
        std::size_t next = end + 1;
        if (text[end] == '\r' && next < text.size() && text[next] == '\n')
            ++next;
        text.remove_prefix(next);
    }
}

} // namespace

void append_data_frame(std::string& out, std::string_view data) {
    if (data.find_first_of("\r\n") == std::string_view::npos) {
        out.reserve(out.size() + data.size() + 8);
        out.append("data: ").append(data).append("\n\n");
        return;
    }
    append_lines(out, "data: ", data);
    out.push_back('\n');
}

void append_comment(std::string& out, std::string_view text) {
    append_lines(out, ": ", text);
    out.push_back('\n');
}

void append_event(std::string& out, const event& e) {
    if (!e.id.empty())
        append_lines(out, "id: ", e.id.substr(0, e.id.find_first_of("\r\n")));
    if (!e.type.empty())
        append_lines(out, "event: ", e.type.substr(0, e.type.find_first_of("\r\n")));
    if (e.retry_ms)
        out.append("retry: ").append(std::to_string(*e.retry_ms)).push_back('\n');
    append_data_frame(out, e.data);
}

std::string data_frame(std::string_view data) {
    std::string out;
    append_data_frame(out, data);
    return out;
}

} // namespace ssebridge::sse
