#include <ssebridge/cli.hpp>

#include <charconv>
#include <cmath>
#include <sstream>

namespace ssebridge::cli {

option text(std::string flag, std::string env, std::string help, std::string& target) {
    std::string def = target;
    return {std::move(flag),
            std::move(env),
            "TEXT",
            std::move(help),
            def,
            [&target](const std::string& v) {
                target = v;
                return std::string();
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
                    return name + " expects a " + (zero_allowed ? "non-negative" : "positive") +
                           " number of seconds, got '" + v + "'";
                target = s;
                return std::string();
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
                    return name +
                           (zero_allowed ? " expects a whole number, got '"
                                         : " expects a positive whole number, got '") +
                           v + "'";
                target = n;
                return std::string();
            }};
}

result parse(const std::vector<option>& options, const std::vector<std::string>& args,
             const std::function<const char*(const char*)>& getenv, bool positional_allowed) {
    result r;
    for (const auto& o : options) {
        if (const char* v = o.env.empty() ? nullptr : getenv(o.env.c_str())) {
            if (std::string err = o.assign(v); !err.empty()) {
                r.message = o.env + ": " + err;
                return r;
            }
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            r.help = true;
            return r;
        }
        if (!arg.starts_with("--")) {
            if (!positional_allowed) {
                r.message = "unexpected argument '" + arg + "' (see --help)";
                return r;
            }
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
        if (!match) {
            r.message = "unknown option '" + arg + "' (see --help)";
            return r;
        }
        if (!has_value) {
            if (i + 1 >= args.size()) {
                r.message = match->flag + " needs a value";
                return r;
            }
            value = args[++i];
        }
        if (std::string err = match->assign(value); !err.empty()) {
            r.message = err;
            return r;
        }
    }
    r.ok = true;
    return r;
}

std::string describe(const std::vector<option>& options) {
    std::ostringstream out;
    for (const auto& o : options) {
        out << "  " << o.flag << ' ' << o.value_name << "\n      " << o.help;
        if (!o.env.empty())
            out << "\n      env " << o.env << ", default "
                << (o.default_text.empty() ? "(none)" : o.default_text);
        out << "\n";
    }
    out << "  --help\n      print this text and exit\n";
    return out.str();
}

} // namespace ssebridge::cli
