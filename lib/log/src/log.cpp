#include <ssebridge/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <boost/system/system_error.hpp>

namespace ssebridge::log {
namespace {
std::atomic<level> threshold{level::info};
std::atomic<format> style{format::text};

// JSON string contents: quotes, backslashes and control characters escaped.
void append_escaped(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(c));
                out += esc;
            } else {
                out += c;
            }
        }
    }
}
constexpr const char* names[] = {"debug", "info", "warn", "error"};
} // namespace

std::optional<level> level_from_name(std::string_view name) noexcept {
    if (name == "debug")
        return level::debug;
    if (name == "info")
        return level::info;
    if (name == "warn")
        return level::warn;
    if (name == "error")
        return level::error;
    if (name == "off")
        return level::off;
    return std::nullopt;
}

void set_level(level l) noexcept {
    threshold.store(l, std::memory_order_relaxed);
}
bool enabled(level l) noexcept {
    return l >= threshold.load(std::memory_order_relaxed);
}

std::optional<format> format_from_name(std::string_view name) noexcept {
    if (name == "text")
        return format::text;
    if (name == "json")
        return format::json;
    return std::nullopt;
}

void set_format(format f) noexcept {
    style.store(f, std::memory_order_relaxed);
}

void write(level l, std::string_view line, std::string_view session) {
    auto now = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string record;
    if (style.load(std::memory_order_relaxed) == format::json) {
        record.reserve(line.size() + session.size() + 96);
        record += R"({"time":")";
        record += stamp;
        char millis[8];
        std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms.count()));
        record += millis;
        record += R"(","level":")";
        record += names[static_cast<int>(l)];
        record += '"';
        if (!session.empty()) {
            record += R"(,"session":")";
            append_escaped(record, session);
            record += '"';
        }
        record += R"(,"event":")";
        append_escaped(record, line);
        record += "\"}\n";
    } else {
        char head[64];
        int n = std::snprintf(head, sizeof head, "%s.%03dZ %s ", stamp,
                              static_cast<int>(ms.count()), names[static_cast<int>(l)]);
        record.append(head, static_cast<std::size_t>(n));
        if (!session.empty()) {
            record += "session ";
            record += session;
            record += ": ";
        }
        record += line;
        record += '\n';
    }
    std::fwrite(record.data(), 1, record.size(), stderr); // one call: lines of threads do not mix
}

} // namespace ssebridge::log

namespace ssebridge::log {

std::string describe(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        return x.code().message();
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown exception";
    }
}

bool is_cancellation(const std::exception_ptr& e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        // Asio's operation_aborted is ECANCELED: no Asio needed to recognise it.
        return x.code() == boost::system::errc::operation_canceled;
    } catch (...) {
        return false;
    }
}

void failure(level l, std::string_view context, const std::exception_ptr& e) {
    if (e && !is_cancellation(e))
        print(l, context, ": ", describe(e));
}

} // namespace ssebridge::log
