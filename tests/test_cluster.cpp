// Redis Cluster: slots, redirections and routing without I/O, then the
// subscriber (sharded Pub/Sub) and the client against a real cluster of
// redis-server processes: spread over the masters, a slot migration, a
// master killed.
#include <ssebridge/redis/client.hpp>
#include <ssebridge/redis/cluster.hpp>
#include <ssebridge/redis/config.hpp>
#include <ssebridge/redis/subscriber.hpp>
#include <ssebridge/wire/names.hpp>

#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include "support/process.hpp"
#include "support/redis_sink.hpp"
#include "support/run.hpp"

#include <boost/asio/detached.hpp>
#include <boost/system/system_error.hpp>

#include <iostream>
#include <map>
#include <set>

using namespace ssebridge;
using namespace ssebridge::test;

BOOST_AUTO_TEST_CASE(key_slots_follow_the_cluster_specification) {
    BOOST_TEST(redis::key_slot("123456789") == 12739); // CRC16/XMODEM check value 0x31C3
    BOOST_TEST(redis::key_slot("foo") == 12182);
    BOOST_TEST(redis::key_slot("{user1000}.following") == redis::key_slot("{user1000}.followers"));
    BOOST_TEST(redis::key_slot("foo{}{bar}") == redis::key_slot("foo{}{bar}")); // whole key
    BOOST_TEST(redis::key_slot("foo{}{bar}") != redis::key_slot("bar"));
    BOOST_TEST(redis::key_slot("foo{{bar}}zap") == redis::key_slot("{bar"));
    BOOST_TEST(redis::key_slot("foo{bar}{zap}") == redis::key_slot("bar"));
    BOOST_TEST(redis::key_slot("") == 0);
    // A session's keys and channels share its channel's slot (DESIGN §7).
    std::string id = wire::make_session_id();
    auto slot = redis::key_slot(wire::session_channel(id));
    BOOST_TEST(redis::key_slot(wire::log_key(id)) == slot);
    BOOST_TEST(redis::key_slot(wire::cancel_key(id)) == slot);
    BOOST_TEST(redis::key_slot(wire::control_channel(id)) == slot);
}

BOOST_AUTO_TEST_CASE(redirections_routing_keys_and_node_lists_are_read_strictly) {
    auto moved = redis::parse_redirection("MOVED 3999 127.0.0.1:6381");
    BOOST_TEST_REQUIRE(moved.has_value());
    BOOST_TEST(!moved->ask);
    BOOST_TEST(moved->slot == 3999);
    BOOST_TEST(moved->node.name() == "127.0.0.1:6381");
    auto ask = redis::parse_redirection("ASK 16383 [::1]:7000");
    BOOST_TEST_REQUIRE(ask.has_value());
    BOOST_TEST(ask->ask);
    BOOST_TEST(ask->node.host == "::1");
    BOOST_TEST(ask->node.name() == "[::1]:7000");
    for (auto bad : {"MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0",
                     "ERR MOVED 1 h:1", "ASK 1 :5", "MOVED 1 h:99999"})
        BOOST_TEST(!redis::parse_redirection(bad).has_value(), bad);

    using redis::make_command;
    BOOST_TEST(*redis::routing_key(make_command({"GET", "k"})) == "k");
    BOOST_TEST(*redis::routing_key(make_command({"spublish", "ch", "m"})) == "ch");
    BOOST_TEST(*redis::routing_key(make_command({"EVALSHA", "abc", "2", "k1", "k2", "a"})) == "k1");
    BOOST_TEST(!redis::routing_key(make_command({"EVAL", "return 1", "0"})).has_value());
    BOOST_TEST(!redis::routing_key(make_command({"PING"})).has_value());
    BOOST_TEST(!redis::routing_key(make_command({"CLUSTER", "SLOTS"})).has_value());
    BOOST_TEST(!redis::routing_key("not resp").has_value());

    auto nodes = redis::parse_node_list("10.0.0.1:7000,[::1]:7001,redis-a");
    BOOST_TEST_REQUIRE(nodes.has_value());
    BOOST_TEST(nodes->size() == 3u);
    BOOST_TEST((*nodes)[1].host == "::1");
    BOOST_TEST((*nodes)[2].port == 6379);
    for (auto bad : {"", ",", "h:1,", "h:x", "user:pw@h:1", "h:1/0", "[::1"})
        BOOST_TEST(!redis::parse_node_list(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(a_slot_map_must_cover_every_slot) {
    auto range = [](std::int64_t first, std::int64_t last, std::uint16_t port) {
        redis::reply node{redis::resp_type::array, "", 0, {}};
        node.elements.push_back({redis::resp_type::bulk_string, "127.0.0.1", 0, {}});
        node.elements.push_back({redis::resp_type::integer, "", port, {}});
        redis::reply r{redis::resp_type::array, "", 0, {}};
        r.elements.push_back({redis::resp_type::integer, "", first, {}});
        r.elements.push_back({redis::resp_type::integer, "", last, {}});
        r.elements.push_back(node);
        return r;
    };
    redis::reply full{redis::resp_type::array, "", 0, {}};
    full.elements = {range(0, 8000, 7000), range(8001, 16383, 7001)};
    auto map = redis::slot_map::from_cluster_slots(full);
    BOOST_TEST_REQUIRE(map.has_value());
    BOOST_TEST(map->masters().size() == 2u);
    BOOST_TEST(map->masters()[map->master_of(8001)].port == 7001);
    map->move(8001, {"127.0.0.1", 7002});
    BOOST_TEST(map->masters()[map->master_of(8001)].port == 7002);
    BOOST_TEST(map->masters()[map->master_of(8002)].port == 7001);

    redis::reply gap{redis::resp_type::array, "", 0, {}};
    gap.elements = {range(0, 8000, 7000), range(8002, 16383, 7001)};
    BOOST_TEST(!redis::slot_map::from_cluster_slots(gap).has_value());
    redis::reply beyond{redis::resp_type::array, "", 0, {}};
    beyond.elements = {range(0, 16384, 7000)};
    BOOST_TEST(!redis::slot_map::from_cluster_slots(beyond).has_value());
    BOOST_TEST(!redis::slot_map::from_cluster_slots({redis::resp_type::error, "ERR", 0, {}}));
}

namespace {

redis::config cluster_config(const redis_cluster& c) {
    redis::config cfg;
    cfg.cluster = redis::parse_node_list(c.seeds()).value();
    cfg.connect_timeout = 2s;
    cfg.reply_timeout = 2s;
    return cfg;
}

// A cluster subscriber and a cluster client kept connected, on `ioc`.
struct harness {
    explicit harness(const redis_cluster& c)
        : sub(ioc.get_executor(), cluster_config(c))
        , cli(ioc.get_executor(), cluster_config(c)) {
        asio::co_spawn(ioc, sub.async_run(), asio::detached);
        asio::co_spawn(ioc, cli.async_keep_connected(), asio::detached);
        run(ioc, sub.async_wait_connected(), 15s);
        run_until(
            ioc, [&] { return cli.connected(); }, 15s);
    }
    std::int64_t publish(const std::string& channel, const std::string& message) {
        return run(ioc, cli.async_publish(channel, message), 10s);
    }
    asio::io_context ioc;
    redis::subscriber sub;
    redis::client cli;
};

// Shard channels subscribed on the node at `port` (PUBSUB SHARDNUMSUB).
std::int64_t shard_subscribers(std::uint16_t port, const std::string& channel) {
    auto lines = redis_cli(port, {"PUBSUB", "SHARDNUMSUB", channel});
    return lines.size() >= 2 ? std::stoll(lines[1]) : -1;
}

} // namespace

BOOST_AUTO_TEST_CASE(key_slot_agrees_with_the_server) {
    redis_cluster cluster(3, 0);
    for (int i = 0; i < 50; ++i) {
        std::string key = i % 2 ? wire::log_key(wire::make_session_id())
                                : "k{" + std::to_string(i * 7919) + "}x" + std::to_string(i);
        auto lines = redis_cli(cluster.ports().front(), {"CLUSTER", "KEYSLOT", key});
        BOOST_TEST_REQUIRE(!lines.empty());
        BOOST_TEST(std::stoi(lines[0]) == redis::key_slot(key), key);
    }
}

// Sessions land on every master; each message reaches its channel's sinks
// only; keys of any slot are set and read through one client.
BOOST_AUTO_TEST_CASE(sessions_spread_over_every_master_with_sharded_pubsub) {
    redis_cluster cluster(3, 0);
    harness h(cluster);
    BOOST_TEST(h.sub.channels_on_every_master("probe").size() == 3u); // one a master

    constexpr int sessions = 30;
    std::vector<std::string> channels;
    std::vector<std::unique_ptr<recording_sink>> sinks;
    std::vector<redis::subscriber::subscription> subs;
    for (int i = 0; i < sessions; ++i) {
        channels.push_back(wire::session_channel(wire::make_session_id()));
        sinks.push_back(std::make_unique<recording_sink>());
        subs.push_back(run(h.ioc, subscribe(h.sub, channels.back(), *sinks.back()), 10s));
    }
    BOOST_TEST(h.sub.size() == std::size_t(sessions));
    std::map<std::uint16_t, int> per_master;
    for (const auto& ch : channels) {
        std::uint16_t master = cluster.master_of(redis::key_slot(ch));
        BOOST_TEST(shard_subscribers(master, ch) == 1, ch);
        ++per_master[master];
    }
    BOOST_TEST(per_master.size() == 3u); // (all on fewer: (2/3)^30 * 3 ≈ 2e-5)

    for (int i = 0; i < sessions; ++i)
        BOOST_TEST(h.publish(channels[i], "event " + std::to_string(i)) == 1);
    run_until(
        h.ioc,
        [&] {
            for (auto& s : sinks)
                if (s->messages.empty())
                    return false;
            return true;
        },
        10s);
    for (int i = 0; i < sessions; ++i) {
        BOOST_TEST(sinks[i]->messages.size() == 1u);
        BOOST_TEST(sinks[i]->messages.front() == "event " + std::to_string(i));
    }

    for (int i = 0; i < 20; ++i) {
        std::string key = wire::cancel_key(wire::make_session_id());
        redis::reply set = run(h.ioc, h.cli.async_exec(redis::make_command({"SET", key, "v"})));
        BOOST_TEST(set.value == "OK");
        redis::reply get = run(h.ioc, h.cli.async_exec(redis::make_command({"GET", key})));
        BOOST_TEST(get.value == "v");
    }
    // Unsubscribing reaches the channel's master.
    std::uint16_t master = cluster.master_of(redis::key_slot(channels[0]));
    subs[0].reset();
    BOOST_TEST(eventually(
        h.ioc, [&] { return shard_subscribers(master, channels[0]) == 0; }, 5s));

    // Given up and taken again at once, many times: the replies owed for
    // the old subscription are not mistaken for Redis dropping the new one.
    recording_sink churn;
    for (int i = 0; i < 20; ++i) {
        auto again = run(h.ioc, subscribe(h.sub, channels[0], churn), 10s);
        if (i == 19) {
            BOOST_TEST(h.publish(channels[0], "after the churn") == 1);
            BOOST_TEST(eventually(
                h.ioc, [&] { return !churn.messages.empty(); }, 5s));
        }
    }
    run(h.ioc, sleep_for(200ms));
    BOOST_TEST(churn.lost == 0);
}

// A slot moves to another master mid-stream: the client follows ASK during
// the move and MOVED after it; the subscription on the old owner is lost
// (Redis drops it) and subscribing again reaches the new owner.
BOOST_AUTO_TEST_CASE(a_slot_migration_is_followed_by_client_and_subscriber) {
    redis_cluster cluster(3, 0);
    harness h(cluster);
    std::string id = wire::make_session_id();
    std::string channel = wire::session_channel(id);
    std::uint16_t slot = redis::key_slot(channel);
    std::uint16_t from = cluster.master_of(slot);
    std::uint16_t to = cluster.other_master(from);

    recording_sink sink;
    auto sub = run(h.ioc, subscribe(h.sub, channel, sink), 10s);
    run(h.ioc, h.cli.async_exec(redis::make_command({"SET", wire::cancel_key(id), "before"})));

    cluster.migrate_slot(slot, to);
    BOOST_TEST(cluster.master_of(slot) == to);
    BOOST_TEST(eventually(
        h.ioc, [&] { return sink.lost == 1; }, 5s));

    // The client still reads the key (now on `to`) and writes a new one.
    redis::reply get =
        run(h.ioc, h.cli.async_exec(redis::make_command({"GET", wire::cancel_key(id)})));
    BOOST_TEST(get.value == "before");
    redis::reply set =
        run(h.ioc, h.cli.async_exec(redis::make_command({"SET", wire::log_key(id), "after"})));
    BOOST_TEST(set.value == "OK");
    BOOST_TEST(redis_cli(to, {"GET", wire::log_key(id)}).at(0) == "after");

    recording_sink again;
    auto resubscribed = run(h.ioc, subscribe(h.sub, channel, again), 10s);
    BOOST_TEST(shard_subscribers(to, channel) == 1);
    BOOST_TEST(h.publish(channel, "after the move") == 1);
    BOOST_TEST(eventually(
        h.ioc, [&] { return again.messages.size() == 1; }, 5s));
    BOOST_TEST(sink.messages.empty());
}

// ASK: while a slot is migrating, a key already moved is read on the
// importing node (ASKING first).
BOOST_AUTO_TEST_CASE(a_key_of_a_migrating_slot_is_asked_for_on_its_new_node) {
    redis_cluster cluster(3, 0);
    harness h(cluster);
    std::string key = wire::cancel_key(wire::make_session_id());
    std::uint16_t slot = redis::key_slot(key);
    std::uint16_t from = cluster.master_of(slot);
    std::uint16_t to = cluster.other_master(from);
    std::string s = std::to_string(slot);
    redis_cli(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", cluster.node_id(from)});
    redis_cli(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", cluster.node_id(to)});
    // Absent on the migrating node: it answers ASK, the importing node has the write.
    redis::reply set = run(h.ioc, h.cli.async_exec(redis::make_command({"SET", key, "asked"})));
    BOOST_TEST(set.value == "OK");
    redis::reply get = run(h.ioc, h.cli.async_exec(redis::make_command({"GET", key})));
    BOOST_TEST(get.value == "asked");
    // It went to the importing node: once the slot is its own, it has the key.
    for (auto port : {to, from})
        redis_cli(port, {"CLUSTER", "SETSLOT", s, "NODE", cluster.node_id(to)});
    BOOST_TEST(redis_cli(to, {"GET", key}).at(0) == "asked");
}

// A master dies: its subscriptions are lost (the sinks hear it), the
// others go on; once a replica took over, subscribing and publishing on
// its slots work again. Prints the recovery time.
BOOST_AUTO_TEST_CASE(a_killed_master_loses_its_subscriptions_and_its_replica_takes_over) {
    redis_cluster cluster(3, 1);
    harness h(cluster);
    std::vector<std::string> channels;
    std::vector<std::unique_ptr<recording_sink>> sinks;
    std::vector<redis::subscriber::subscription> subs;
    for (int i = 0; i < 24; ++i) {
        channels.push_back(wire::session_channel(wire::make_session_id()));
        sinks.push_back(std::make_unique<recording_sink>());
        subs.push_back(run(h.ioc, subscribe(h.sub, channels.back(), *sinks.back()), 10s));
    }
    std::uint16_t victim = cluster.master_of(redis::key_slot(channels[0]));
    std::set<std::size_t> on_victim;
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (cluster.master_of(redis::key_slot(channels[i])) == victim)
            on_victim.insert(i);

    auto killed = std::chrono::steady_clock::now();
    cluster.kill(victim);
    run_until(
        h.ioc,
        [&] {
            for (auto i : on_victim)
                if (sinks[i]->lost != 1)
                    return false;
            return true;
        },
        10s);
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (!on_victim.count(i)) {
            BOOST_TEST(sinks[i]->lost == 0);
            BOOST_TEST(h.publish(channels[i], "still here") == 1);
        }
    auto failover = cluster.wait_for_failover(victim);

    // Subscribing again succeeds once the map names the new master.
    recording_sink again;
    std::optional<redis::subscriber::subscription> resubscribed;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!resubscribed && std::chrono::steady_clock::now() < deadline) {
        try {
            resubscribed = run(h.ioc, subscribe(h.sub, channels[0], again), 5s);
        } catch (const std::exception&) { // not yet: the old map, or no master
            run(h.ioc, sleep_for(100ms));
        }
    }
    BOOST_TEST_REQUIRE(resubscribed.has_value());
    auto recovered = std::chrono::steady_clock::now() - killed;
    BOOST_TEST(h.publish(channels[0], "after the failover") == 1);
    BOOST_TEST(eventually(
        h.ioc, [&] { return again.messages.size() == 1; }, 5s));
    BOOST_TEST(eventually(
        h.ioc, [&] { return h.sub.connected() && h.cli.connected(); }, 10s));
    std::cout << "master killed: its " << on_victim.size()
              << " subscriptions lost at once; cluster failover in " << failover.count()
              << " ms; subscribed again after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(recovered).count()
              << " ms\n";
}
