// Incremental Server-Sent Events parser (WHATWG HTML "event stream" rules).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::sse {

/// One dispatched event, or one comment line (`: ...`).
struct message {
    bool is_comment = false;
    std::string type = "message"; ///< `event:` field, "message" by default
    std::string data;             ///< `data:` lines joined with LF
    std::string id;               ///< last event id seen so far
    std::string comment;          ///< text after the colon, for comments
};

/// Feed it bytes as they arrive, in any split; it returns complete messages
/// in order. Lines may end in CR, LF or CRLF (also across feeds). Used by
/// tests, the benchmark client, and anyone who reads an ssebridge stream.
class decoder {
public:
    /// Appends the messages completed by `bytes` to `out`.
    void feed(std::string_view bytes, std::vector<message>& out);
    std::vector<message> feed(std::string_view bytes);

    /// Bytes of an incomplete line or event still buffered.
    [[nodiscard]] std::size_t buffered() const noexcept { return line_.size() + data_.size(); }

private:
    void on_line(std::string_view line, std::vector<message>& out);

    std::string line_;
    std::string data_;
    std::string type_;
    std::string id_;
    bool has_data_ = false;
    bool after_cr_ = false;
};

} // namespace ssebridge::sse
