#include <ssebridge/sse/decoder.hpp>

#include <ssebridge/sse/encode.hpp>

namespace ssebridge::sse {

std::vector<message> decoder::feed(std::string_view bytes) {
    std::vector<message> out;
    feed(bytes, out);
    return out;
}

void decoder::feed(std::string_view bytes, std::vector<message>& out) {
    while (!bytes.empty()) {
        if (after_cr_) {
            after_cr_ = false;
            if (bytes.front() == '\n') { // CRLF: the line already ended at CR
                bytes.remove_prefix(1);
                continue;
            }
        }
        std::size_t end = find_line_break(bytes);
        if (end == std::string_view::npos) {
            line_.append(bytes);
            return;
        }
        after_cr_ = bytes[end] == '\r';
        if (line_.empty()) {
            on_line(bytes.substr(0, end), out); // the whole line is here: no copy
        } else {
            line_.append(bytes.substr(0, end));
            on_line(line_, out);
            line_.clear();
        }
        bytes.remove_prefix(end + 1);
    }
}

void decoder::on_line(std::string_view line, std::vector<message>& out) {
    if (line.empty()) { // dispatch
        if (has_data_) {
            message m;
            if (!data_.empty() && data_.back() == '\n')
                data_.pop_back();
            m.data = std::move(data_);
            if (!type_.empty())
                m.type = std::move(type_);
            m.id = id_;
            out.push_back(std::move(m));
        }
        data_.clear();
        type_.clear();
        has_data_ = false;
        return;
    }
    std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
    }
    if (colon == 0) {
        message m;
        m.is_comment = true;
        m.comment = std::string(value);
        out.push_back(std::move(m));
    } else if (field == "data") {
        data_.append(value).push_back('\n');
        has_data_ = true;
    } else if (field == "event") {
        type_ = value;
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos)
            id_ = value;
    }
    // "retry" and unknown fields do not change what we report.
}

} // namespace ssebridge::sse
