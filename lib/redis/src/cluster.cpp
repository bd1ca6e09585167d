#include <ssebridge/redis/cluster.hpp>

#include <ssebridge/redis/config.hpp>

#include <boost/system/errc.hpp>

#include <algorithm>
#include <charconv>

namespace ssebridge::redis {

namespace {
class cluster_category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "ssebridge.redis.cluster"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<cluster_error>(ev)) {
        case cluster_error::moved:
            return "the Redis Cluster node does not serve this slot";
        case cluster_error::no_slots:
            return "no Redis Cluster node answered with a full slot map";
        }
        return "Redis Cluster error";
    }
};

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        auto crc = static_cast<std::uint16_t>(i << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        table[i] = crc;
    }
    return table;
}();

std::uint16_t crc16(std::string_view bytes) noexcept {
    std::uint16_t crc = 0;
    for (unsigned char c : bytes)
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[((crc >> 8) ^ c) & 0xff]);
    return crc;
}

boost::system::error_code malformed() {
    return make_error_code(boost::system::errc::bad_message);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Splits `host:port` at its last colon ("[v6]:port" keeps the brackets off).
std::optional<cluster_node> parse_endpoint(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return std::nullopt;
    std::string_view host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    auto port = parse_port(text.substr(colon + 1));
    if (!port)
        return std::nullopt;
    return cluster_node{std::string(host), *port};
}
} // namespace

const boost::system::error_category& cluster_category() noexcept {
    static const cluster_category_impl instance;
    return instance;
}

std::uint16_t key_slot(std::string_view key) noexcept {
    if (auto open = key.find('{'); open != std::string_view::npos) {
        auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16(key) & (cluster_slots - 1);
}

std::string cluster_node::name() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

boost::system::result<slot_map> slot_map::from_cluster_slots(const reply& r) {
    // [[first, last, [host, port, id, …], replicas…], …]
    if (r.type != resp_type::array)
        return malformed();
    slot_map map;
    std::vector<bool> covered(cluster_slots, false);
    std::vector<std::pair<std::int64_t, cluster_node>> ranges;
    for (const reply& range : r.elements) {
        if (range.type != resp_type::array || range.elements.size() < 3)
            return malformed();
        const reply& first = range.elements[0];
        const reply& last = range.elements[1];
        const reply& master = range.elements[2];
        if (first.type != resp_type::integer || last.type != resp_type::integer ||
            first.integer < 0 || last.integer < first.integer ||
            last.integer >= std::int64_t(cluster_slots) || master.type != resp_type::array ||
            master.elements.size() < 2 || master.elements[1].type != resp_type::integer)
            return malformed();
        auto port = master.elements[1].integer;
        if (port <= 0 || port > 65535 || master.elements[0].value.empty())
            return malformed();
        cluster_node node{master.elements[0].value, static_cast<std::uint16_t>(port)};
        auto known = std::find(map.masters_.begin(), map.masters_.end(), node);
        std::size_t index = known - map.masters_.begin();
        if (known == map.masters_.end())
            map.masters_.push_back(node);
        for (auto slot = first.integer; slot <= last.integer; ++slot) {
            map.owner_[slot] = static_cast<std::uint16_t>(index);
            covered[slot] = true;
        }
    }
    if (std::find(covered.begin(), covered.end(), false) != covered.end())
        return make_error_code(boost::system::errc::no_such_device_or_address);
    return map;
}

void slot_map::move(std::uint16_t slot, const cluster_node& node) {
    auto known = std::find(masters_.begin(), masters_.end(), node);
    std::size_t index = known - masters_.begin();
    if (known == masters_.end())
        masters_.push_back(node);
    owner_[slot & (cluster_slots - 1)] = static_cast<std::uint16_t>(index);
}

std::optional<redirection> parse_redirection(std::string_view error) noexcept {
    redirection r;
    if (error.starts_with("MOVED "))
        error.remove_prefix(6);
    else if (error.starts_with("ASK ")) {
        error.remove_prefix(4);
        r.ask = true;
    } else
        return std::nullopt;
    auto space = error.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    unsigned slot = 0;
    auto [ptr, ec] = std::from_chars(error.data(), error.data() + space, slot);
    if (ec != std::errc{} || ptr != error.data() + space || slot >= cluster_slots)
        return std::nullopt;
    r.slot = static_cast<std::uint16_t>(slot);
    try {
        auto node = parse_endpoint(error.substr(space + 1));
        if (!node)
            return std::nullopt;
        r.node = std::move(*node);
    } catch (...) { // allocation
        return std::nullopt;
    }
    return r;
}

std::optional<std::string_view> routing_key(std::string_view command) {
    // *N\r\n then N times $len\r\nbytes\r\n: take the first four arguments.
    std::vector<node> nodes;
    boost::system::error_code ec;
    if (parse(command, nodes, ec) == 0 || ec || nodes.size() < 2 ||
        nodes[0].type != resp_type::array)
        return std::nullopt;
    auto arg = [&](std::size_t i) -> std::string_view {
        return nodes[i + 1].value;
    };
    std::size_t args = nodes[0].size;
    std::string name(arg(0));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" ||
        name == "FCALL" || name == "FCALL_RO") {
        if (args < 4 || arg(2) == "0")
            return std::nullopt;
        return arg(3);
    }
    if (name == "PUBSUB") // PUBSUB SHARDNUMSUB channel: the channel's node
        return args >= 3 ? std::optional(arg(2)) : std::nullopt;
    if (name == "PING" || name == "INFO" || name == "CLUSTER" || name == "SCRIPT" ||
        name == "ASKING" || name == "READONLY" || name == "AUTH" || name == "HELLO" ||
        name == "CLIENT" || name == "CONFIG" || name == "COMMAND" || args < 2)
        return std::nullopt;
    return arg(1); // GET, SET, XADD, XRANGE, EXISTS, PUBLISH, SPUBLISH, …
}

boost::system::result<std::vector<cluster_node>> parse_node_list(std::string_view list) {
    std::vector<cluster_node> nodes;
    if (list.ends_with(','))
        return url_error::no_host;
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view entry = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (entry.empty() || entry.find('@') != std::string_view::npos ||
            entry.find('/') != std::string_view::npos)
            return url_error::junk_after_host;
        auto c = config::from_url("redis://" + std::string(entry));
        if (!c)
            return c.error();
        nodes.push_back({c->host, c->port});
    }
    if (nodes.empty())
        return url_error::no_host;
    return nodes;
}

} // namespace ssebridge::redis
