// Redis Cluster, sans-IO: which slot a key or shard channel is in, the
// cluster's slot map, and the redirections a node answers with.
#pragma once

#include <ssebridge/redis/resp.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssebridge::redis {

inline constexpr std::size_t cluster_slots = 16384;

/// Why a cluster operation failed.
enum class cluster_error {
    moved = 1, ///< the node does not serve the slot (any more): route again
    no_slots,  ///< no node answered CLUSTER SLOTS with a full map
};
const boost::system::error_category& cluster_category() noexcept;
inline boost::system::error_code make_error_code(cluster_error e) noexcept {
    return {static_cast<int>(e), cluster_category()};
}

/// The slot of a key or shard channel: CRC16 (XMODEM) of the key, or of
/// its hash tag (what lies between the first `{` and the next `}`, when
/// not empty), modulo 16384 — as `CLUSTER KEYSLOT` computes it.
std::uint16_t key_slot(std::string_view key) noexcept;

/// A node of a cluster, as clients reach it.
struct cluster_node {
    std::string host;
    std::uint16_t port = 0;

    friend bool operator==(const cluster_node&, const cluster_node&) = default;
    [[nodiscard]] std::string name() const; ///< host:port
};

/// Which master serves each slot.
class slot_map {
public:
    /// From the reply of `CLUSTER SLOTS`; an error when it is not one, or
    /// leaves a slot without a master.
    static boost::system::result<slot_map> from_cluster_slots(const reply& r);

    /// The masters, each once, in the order of their first slot.
    [[nodiscard]] const std::vector<cluster_node>& masters() const noexcept { return masters_; }
    /// The index in `masters()` of the node serving `slot`.
    [[nodiscard]] std::size_t master_of(std::uint16_t slot) const noexcept { return owner_[slot]; }
    /// Moves one slot to `node` (a MOVED reply), adding the node if new.
    void move(std::uint16_t slot, const cluster_node& node);

    friend bool operator==(const slot_map&, const slot_map&) = default;

private:
    std::vector<cluster_node> masters_;
    std::array<std::uint16_t, cluster_slots> owner_{};
};

/// A `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>` error reply.
struct redirection {
    bool ask = false; ///< ASK: this command only (a slot migrating); MOVED: from now on
    std::uint16_t slot = 0;
    cluster_node node;
};
std::optional<redirection> parse_redirection(std::string_view error) noexcept;

/// The key a command is routed by: its first key (the first after
/// `numkeys` for EVAL/EVALSHA/FCALL), or the channel of PUBLISH and the
/// shard channel commands. Nullopt for a command without one (PING, …).
/// `command` is a RESP array of bulk strings, as `make_command` encodes it.
std::optional<std::string_view> routing_key(std::string_view command);

/// Parses `HOST:PORT[,HOST:PORT…]` (IPv6 hosts in brackets), a cluster's
/// seed nodes; an error for an empty list or a malformed entry.
boost::system::result<std::vector<cluster_node>> parse_node_list(std::string_view list);

} // namespace ssebridge::redis

template <>
struct boost::system::is_error_code_enum<ssebridge::redis::cluster_error> : std::true_type {};
