// librdkafka configuration as plain key/value pairs.
#pragma once

#include <map>
#include <string>

namespace ssebridge::kafka {

/// Properties passed to librdkafka as they are (see its CONFIGURATION.md),
/// e.g. {"bootstrap.servers", "127.0.0.1:9092"}.
using settings = std::map<std::string, std::string>;

} // namespace ssebridge::kafka
