// Command-line flags that also read environment variables, for every ssebridge program.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ssebridge::cli {

/// Why flags, environment or a settings file were refused: the text the
/// person who wrote them reads (it names the flag, the variable or file:line).
struct refusal {
    std::string message;
};
/// Thrown by `result::value()` on a refusal nobody checked: a bug, so an
/// exception (`std::invalid_argument`).
[[noreturn]] void throw_exception_from_error(const refusal& r, const boost::source_location& loc);

/// Every expected failure of this library: a value, or a `refusal`.
template <class T>
using result = boost::system::result<T, refusal>;

/// One `--flag VALUE` (or `--flag=VALUE`), also read from `env`.
struct option {
    std::string flag;
    std::string env;
    std::string value_name; ///< TEXT, SECONDS, N, …
    std::string help;
    std::string default_text;
    /// Stores the value, or says why it is refused.
    std::function<result<void>(const std::string&)> assign;
};

/// A text flag bound to `target` (whose current value is the default).
option text(std::string flag, std::string env, std::string help, std::string& target);
/// Positive seconds, fractions allowed (or zero, when `zero_allowed`).
option seconds(std::string flag, std::string env, std::string help, double& target,
               bool zero_allowed = false);
/// A positive whole number (or zero, when `zero_allowed`).
option count(std::string flag, std::string env, std::string help, std::size_t& target,
             bool zero_allowed = false);

/// The flags every program that talks to Redis reads, worded once:
/// `--redis URL`, `--redis-cluster HOST:PORT,…` and, when `timeout` is
/// given, `--redis-timeout SECONDS` (environment `SSEBRIDGE_REDIS…` when
/// `from_env`).
std::vector<option> redis_options(std::string& url, std::string& cluster, double* timeout,
                                  bool from_env = true);
/// `--kafka-brokers` (with the program's own `brokers_help`) and `--kafka-topic`.
std::vector<option> kafka_options(std::string& brokers, std::string& topic,
                                  std::string brokers_help, bool from_env = true);
/// `--log-max-len` and `--log-ttl`: how a program that records events keeps
/// a session's log.
std::vector<option> recording_options(std::size_t& max_len, double& ttl);
/// `--log-level` and `--log-format`, refused unless `log` knows the name.
std::vector<option> log_options(std::string& level, std::string& format);

/// `options` with `more` at its end.
std::vector<option> operator+(std::vector<option> options, std::vector<option> more);

/// What `parse` read besides the options it stored.
struct parsed {
    bool help = false; ///< --help or -h was given (nothing else was read)
    std::vector<std::string> positional;
};

/// Applies, in this order (later wins): the file of `--config FILE` when
/// `args` name one, the environment (through `getenv`), then the flags of
/// `args` (without the program name). Arguments not starting with `--` are
/// positional when `positional_allowed`, else an error.
///
/// The file holds `VARIABLE=VALUE` lines with the options' environment names
/// (the format of systemd's `EnvironmentFile=`, so one file serves both):
/// blank lines and lines starting with `#` or `;` are skipped, spaces around
/// the name and the value are dropped, a value wholly in single or double
/// quotes loses them. A line without `=`, a name no option reads, a name given
/// twice or a refused value is an error naming the file and the line.
result<parsed> parse(const std::vector<option>& options, const std::vector<std::string>& args,
                     const std::function<const char*(const char*)>& getenv,
                     bool positional_allowed = false);

/// The options block of a --help text (with --config and --help).
std::string describe(const std::vector<option>& options);

} // namespace ssebridge::cli
