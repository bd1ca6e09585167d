// Command-line flags that also read environment variables, for every ssebridge program.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ssebridge::cli {

/// One `--flag VALUE` (or `--flag=VALUE`), also read from `env`.
struct option {
    std::string flag;
    std::string env;
    std::string value_name; ///< TEXT, SECONDS, N, …
    std::string help;
    std::string default_text;
    /// Stores the value; returns "" or why it is refused.
    std::function<std::string(const std::string&)> assign;
};

/// A text flag bound to `target` (whose current value is the default).
option text(std::string flag, std::string env, std::string help, std::string& target);
/// Positive seconds, fractions allowed (or zero, when `zero_allowed`).
option seconds(std::string flag, std::string env, std::string help, double& target,
               bool zero_allowed = false);
/// A positive whole number (or zero, when `zero_allowed`).
option count(std::string flag, std::string env, std::string help, std::size_t& target,
             bool zero_allowed = false);

struct result {
    bool ok = false;
    bool help = false;   ///< --help or -h was given
    std::string message; ///< the error when !ok and !help
    std::vector<std::string> positional;
};

/// Applies the environment (through `getenv`), then `args` (without the
/// program name); flags win. Arguments not starting with `--` are
/// positional when `positional_allowed`, else an error.
result parse(const std::vector<option>& options, const std::vector<std::string>& args,
             const std::function<const char*(const char*)>& getenv,
             bool positional_allowed = false);

/// The options block of a --help text.
std::string describe(const std::vector<option>& options);

} // namespace ssebridge::cli
