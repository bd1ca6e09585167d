#include <ssebridge/cli.hpp>
#include <ssebridge/log.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace ssebridge::cli {

void throw_exception_from_error(const refusal& r, const boost::source_location&) {
    throw std::invalid_argument(r.message);
}

namespace {
result<void> refused(std::string message) {
    return refusal{std::move(message)};
}
} // namespace

option text(std::string flag, std::string env, std::string help, std::string& target) {
    std::string def = target;
    return {std::move(flag),
            std::move(env),
            "TEXT",
            std::move(help),
            def,
            [&target](const std::string& v) {
                target = v;
                return result<void>();
            }};
}

option seconds(std::string flag, std::string env, std::string help, double& target,
               bool zero_allowed) {
    std::ostringstream def;
    def << target;
    std::string name = flag;
    return {std::move(flag),
            std::move(env),
            "SECONDS",
            std::move(help),
            def.str(),
            [&target, name, zero_allowed](const std::string& v) {
                double s = 0;
                auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
                if (ec != std::errc{} || ptr != v.data() + v.size() || !std::isfinite(s) || s < 0 ||
                    (s == 0 && !zero_allowed))
                    return refused(name + " expects a " +
                                   (zero_allowed ? "non-negative" : "positive") +
                                   " number of seconds, got '" + v + "'");
                target = s;
                return result<void>();
            }};
}

option count(std::string flag, std::string env, std::string help, std::size_t& target,
             bool zero_allowed) {
    std::string name = flag;
    return {std::move(flag),
            std::move(env),
            "N",
            std::move(help),
            std::to_string(target),
            [&target, name, zero_allowed](const std::string& v) {
                std::size_t n = 0;
                auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (ec != std::errc{} || ptr != v.data() + v.size() || (n == 0 && !zero_allowed))
                    return refused(name +
                                   (zero_allowed ? " expects a whole number, got '"
                                                 : " expects a positive whole number, got '") +
                                   v + "'");
                target = n;
                return result<void>();
            }};
}

namespace {

std::string_view trimmed(std::string_view s) {
    constexpr std::string_view space = " \t\r";
    auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

/// Applies the `VARIABLE=VALUE` lines of `path`.
result<void> apply_file(const std::vector<option>& options, const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return refused("--config: cannot read '" + path + "': " + std::strerror(errno));
    std::map<std::string, std::size_t, std::less<>> seen; // variable -> line
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        std::string where = path + ":" + std::to_string(number) + ": ";
        std::string_view text = trimmed(line);
        if (text.empty() || text.front() == '#' || text.front() == ';')
            continue;
        auto eq = text.find('=');
        if (eq == std::string_view::npos)
            return refused(where + "expected VARIABLE=VALUE, got '" + std::string(text) + "'");
        std::string_view name = trimmed(text.substr(0, eq));
        std::string_view value = trimmed(text.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        const option* match = nullptr;
        for (const auto& o : options)
            if (!o.env.empty() && o.env == name)
                match = &o;
        if (!match)
            return refused(where + "unknown variable '" + std::string(name) + "' (see --help)");
        if (auto [it, fresh] = seen.emplace(std::string(name), number); !fresh)
            return refused(where + std::string(name) + " is already set on line " +
                           std::to_string(it->second));
        if (auto stored = match->assign(std::string(value)); !stored)
            return refused(where + std::string(name) + ": " + stored.error().message);
    }
    return {};
}

/// The value of the one `--config` among `args`, if any.
result<std::optional<std::string>> config_path(const std::vector<std::string>& args) {
    std::optional<std::string> path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::optional<std::string> value;
        if (args[i] == "--config") {
            if (i + 1 >= args.size())
                return refusal{"--config needs a value"};
            value = args[++i];
        } else if (args[i].starts_with("--config=")) {
            value = args[i].substr(9);
        }
        if (!value)
            continue;
        if (path)
            return refusal{"--config is given twice"};
        path = std::move(value);
    }
    return path;
}

} // namespace

std::vector<option> redis_options(std::string& url, std::string& cluster, double* timeout,
                                  bool from_env) {
    auto env = [from_env](const char* name) {
        return from_env ? std::string(name) : std::string();
    };
    std::vector<option> out{
        text("--redis", env("SSEBRIDGE_REDIS"), "Redis URL, redis://[[user]:password@]host[:port]",
             url),
        text("--redis-cluster", env("SSEBRIDGE_REDIS_CLUSTER"),
             "HOST:PORT[,HOST:PORT...] of a Redis Cluster to use instead of one server (sharded "
             "Pub/Sub, SPUBLISH; --redis then only gives the credentials)",
             cluster)};
    if (timeout)
        out.push_back(seconds("--redis-timeout", env("SSEBRIDGE_REDIS_TIMEOUT"),
                              "seconds Redis may leave a command or a PING unanswered before the "
                              "connection is dropped and made again",
                              *timeout));
    return out;
}

std::vector<option> kafka_options(std::string& brokers, std::string& topic,
                                  std::string brokers_help, bool from_env) {
    auto env = [from_env](const char* name) {
        return from_env ? std::string(name) : std::string();
    };
    return {
        text("--kafka-brokers", env("SSEBRIDGE_KAFKA_BROKERS"), std::move(brokers_help), brokers),
        text("--kafka-topic", env("SSEBRIDGE_KAFKA_TOPIC"), "topic of the session requests",
             topic)};
}

std::vector<option> recording_options(std::size_t& max_len, double& ttl) {
    return {
        count("--log-max-len", "SSEBRIDGE_LOG_MAX_LEN", "events kept in a session's log", max_len),
        seconds(
            "--log-ttl", "SSEBRIDGE_LOG_TTL",
            "seconds a session's log lives after its last event (at least; up to an eighth more)",
            ttl)};
}

std::vector<option> log_options(std::string& level, std::string& format) {
    option by_level =
        text("--log-level", "SSEBRIDGE_LOG_LEVEL", "debug, info, warn, error or off", level);
    by_level.assign = [&level](const std::string& v) {
        if (!log::level_from_name(v))
            return refused("--log-level must be debug, info, warn, error or off, got '" + v + "'");
        level = v;
        return result<void>();
    };
    option by_format =
        text("--log-format", "SSEBRIDGE_LOG_FORMAT",
             "text, or json: one object a line (time, level, session, event)", format);
    by_format.assign = [&format](const std::string& v) {
        if (!log::format_from_name(v))
            return refused("--log-format must be text or json, got '" + v + "'");
        format = v;
        return result<void>();
    };
    return {std::move(by_level), std::move(by_format)};
}

std::vector<option> operator+(std::vector<option> options, std::vector<option> more) {
    options.insert(options.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
    return options;
}

result<parsed> parse(const std::vector<option>& options, const std::vector<std::string>& args,
                     const std::function<const char*(const char*)>& getenv,
                     bool positional_allowed) {
    parsed r;
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
        r.help = true;
        return r;
    }
    auto file = config_path(args);
    if (!file)
        return file.error();
    if (*file) {
        if (auto applied = apply_file(options, **file); !applied)
            return applied.error();
    }
    for (const auto& o : options) {
        if (const char* v = o.env.empty() ? nullptr : getenv(o.env.c_str())) {
            if (auto stored = o.assign(v); !stored)
                return refusal{o.env + ": " + stored.error().message};
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--config") {
            ++i; // applied first
            continue;
        }
        if (arg.starts_with("--config="))
            continue;
        if (!arg.starts_with("--")) {
            if (!positional_allowed)
                return refusal{"unexpected argument '" + arg + "' (see --help)"};
            r.positional.push_back(arg);
            continue;
        }
        std::string name = arg;
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        const option* match = nullptr;
        for (const auto& o : options)
            if (o.flag == name)
                match = &o;
        if (!match)
            return refusal{"unknown option '" + arg + "' (see --help)"};
        if (!has_value) {
            if (i + 1 >= args.size())
                return refusal{match->flag + " needs a value"};
            value = args[++i];
        }
        if (auto stored = match->assign(value); !stored)
            return stored.error();
    }
    return r;
}

std::string describe(const std::vector<option>& options) {
    std::ostringstream out;
    out << "Options (each also read from the environment variable shown, and from --config;\n"
           "flags win over the environment, the environment over the file):\n";
    for (const auto& o : options) {
        out << "  " << o.flag << ' ' << o.value_name << "\n      " << o.help;
        if (!o.env.empty())
            out << "\n      env " << o.env << ", default "
                << (o.default_text.empty() ? "(none)" : o.default_text);
        out << "\n";
    }
    out << "  --config FILE\n      VARIABLE=VALUE lines (the variables above; systemd's "
           "EnvironmentFile format),\n      applied before the environment and the flags\n"
           "  --help\n      print this text and exit\n";
    return out.str();
}

} // namespace ssebridge::cli
