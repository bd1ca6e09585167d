#include <ssebridge/sse/encode.hpp>

#include <cstring>

namespace ssebridge::sse {

std::size_t find_line_break(std::string_view text) noexcept {
    const char* begin = text.data();
    const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', text.size()));
    std::size_t before = lf ? static_cast<std::size_t>(lf - begin) : text.size();
    const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', before));
    if (cr)
        return static_cast<std::size_t>(cr - begin);
    return lf ? before : std::string_view::npos;
}

namespace {

// Appends `prefix` + each line of `text` + "\n"; CR, LF and CRLF split lines.
void append_lines(std::string& out, std::string_view prefix, std::string_view text) {
    for (;;) {
        std::size_t end = find_line_break(text);
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
    if (find_line_break(data) == std::string_view::npos) {
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
        append_lines(out, "id: ", e.id.substr(0, find_line_break(e.id)));
    if (!e.type.empty())
        append_lines(out, "event: ", e.type.substr(0, find_line_break(e.type)));
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
