#include <ssebridge/gateway/config.hpp>

#include <charconv>
#include <cmath>
#include <sstream>

namespace ssebridge::gateway {
namespace {

enum class kind { text, seconds, count };

struct option {
    const char* flag;
    const char* env;
    kind type;
    const char* help;
    std::string config::*text = nullptr;
    double config::*seconds = nullptr;
    std::size_t config::*count = nullptr;
};

const std::vector<option>& options() {
    static const std::vector<option> all = {
        {"--listen", "SSEBRIDGE_LISTEN", kind::text,
         "HOST:PORT to serve HTTP on (port 0: any free port)", &config::listen},
        {"--redis", "SSEBRIDGE_REDIS", kind::text,
         "Redis URL, redis://[[user]:password@]host[:port]", &config::redis},
        {"--kafka-brokers", "SSEBRIDGE_KAFKA_BROKERS", kind::text,
         "Kafka bootstrap servers, or 'embedded' for an in-process mock cluster",
         &config::kafka_brokers},
        {"--kafka-topic", "SSEBRIDGE_KAFKA_TOPIC", kind::text,
         "topic the session requests are produced to", &config::kafka_topic},
        {"--ack-timeout", "SSEBRIDGE_ACK_TIMEOUT", kind::seconds,
         "seconds from Kafka delivery to the worker's worker_ack", nullptr, &config::ack_timeout},
        {"--keepalive", "SSEBRIDGE_KEEPALIVE", kind::seconds,
         "seconds without a write before a ': keepalive' comment", nullptr, &config::keepalive},
        {"--idle-timeout", "SSEBRIDGE_IDLE_TIMEOUT", kind::seconds,
         "seconds without an event (after the ack) before the stream ends with an error", nullptr,
         &config::idle_timeout},
        {"--kafka-timeout", "SSEBRIDGE_KAFKA_TIMEOUT", kind::seconds,
         "seconds for the Kafka record to be delivered (else 503)", nullptr,
         &config::kafka_timeout},
        {"--write-timeout", "SSEBRIDGE_WRITE_TIMEOUT", kind::seconds,
         "seconds one write to a client may take before it is cut off", nullptr,
         &config::write_timeout},
        {"--max-sessions", "SSEBRIDGE_MAX_SESSIONS", kind::count,
         "concurrent sessions before new ones get 503", nullptr, nullptr, &config::max_sessions},
        {"--max-body", "SSEBRIDGE_MAX_BODY", kind::count, "bytes of request body before 413",
         nullptr, nullptr, &config::max_body},
        {"--max-queue", "SSEBRIDGE_MAX_QUEUE", kind::count,
         "events waiting for one client before it is cut off as too slow", nullptr, nullptr,
         &config::max_queue},
        {"--log-level", "SSEBRIDGE_LOG_LEVEL", kind::text, "debug, info, warn, error or off",
         &config::log_level},
    };
    return all;
}

std::string default_of(const option& o) {
    static const config defaults;
    std::ostringstream out;
    if (o.text)
        out << defaults.*o.text;
    else if (o.seconds)
        out << defaults.*o.seconds;
    else
        out << defaults.*o.count;
    return out.str();
}

// Stores `value` into `cfg`; returns an error message or "".
std::string assign(config& cfg, const option& o, const std::string& value) {
    switch (o.type) {
    case kind::text:
        cfg.*o.text = value;
        return {};
    case kind::seconds: {
        double v = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc{} || ptr != value.data() + value.size() || !std::isfinite(v) || v <= 0)
            return std::string(o.flag) + " expects a positive number of seconds, got '" + value +
                   "'";
        cfg.*o.seconds = v;
        return {};
    }
    case kind::count: {
        std::size_t v = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc{} || ptr != value.data() + value.size() || v == 0)
            return std::string(o.flag) + " expects a positive whole number, got '" + value + "'";
        cfg.*o.count = v;
        return {};
    }
    }
    return {};
}

} // namespace

std::string usage() {
    std::ostringstream out;
    out << "Usage: ssebridge-gateway [OPTIONS]\n\n"
           "Streams the events of background workers to HTTP clients as Server-Sent Events.\n"
           "POST /v1/react/sessions produces the request to Kafka and relays the session's\n"
           "Redis channel sse_session:{id} until FinalAnswerStreamEnd.\n\n"
           "Options (each also read from the environment variable shown; flags win):\n";
    for (const auto& o : options()) {
        out << "  " << o.flag
            << (o.type == kind::text      ? " TEXT"
                : o.type == kind::seconds ? " SECONDS"
                                          : " N")
            << "\n      " << o.help << "\n      env " << o.env << ", default " << default_of(o)
            << "\n";
    }
    out << "  --help\n      print this text and exit\n\n"
           "Durations are in seconds, fractions allowed (--keepalive 0.5).\n"
           "Prints 'kafka.bootstrap=HOST:PORT' when the Kafka mock is embedded, and\n"
           "'listening on HOST:PORT' once it accepts connections. SIGTERM or SIGINT end\n"
           "open streams with an error event and exit 0.\n";
    return out.str();
}

parsed_config parse_config(const std::vector<std::string>& args,
                           const std::function<const char*(const char*)>& getenv) {
    parsed_config result;
    config cfg;
    for (const auto& o : options()) {
        if (const char* v = getenv(o.env)) {
            if (std::string err = assign(cfg, o, v); !err.empty()) {
                result.message = std::string(o.env) + ": " + err;
                return result;
            }
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            result.help = true;
            result.message = usage();
            return result;
        }
        std::string name = arg;
        std::optional<std::string> value;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        }
        const option* match = nullptr;
        for (const auto& o : options())
            if (name == o.flag)
                match = &o;
        if (!match) {
            result.message = "unknown option '" + arg + "' (see --help)";
            return result;
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                result.message = std::string(match->flag) + " needs a value";
                return result;
            }
            value = args[++i];
        }
        if (std::string err = assign(cfg, *match, *value); !err.empty()) {
            result.message = err;
            return result;
        }
    }
    if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" &&
        cfg.log_level != "error" && cfg.log_level != "off") {
        result.message = "--log-level must be debug, info, warn, error or off";
        return result;
    }
    result.cfg = std::move(cfg);
    return result;
}

} // namespace ssebridge::gateway
