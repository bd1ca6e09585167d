#include <ssebridge/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/system/system_error.hpp>

namespace ssebridge::log {
namespace {
std::atomic<level> threshold{level::info};
constexpr const char* names[] = {"debug", "info", "warn", "error"};
} // namespace

level level_from_name(std::string_view name) noexcept {
    if (name == "debug")
        return level::debug;
    if (name == "warn")
        return level::warn;
    if (name == "error")
        return level::error;
    if (name == "off")
        return level::off;
    return level::info;
}

void set_level(level l) noexcept {
    threshold.store(l, std::memory_order_relaxed);
}
bool enabled(level l) noexcept {
    return l >= threshold.load(std::memory_order_relaxed);
}

void write(level l, std::string_view line) {
    auto now = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms.count()),
                 names[static_cast<int>(l)], static_cast<int>(line.size()), line.data());
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
