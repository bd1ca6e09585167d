// The RESP2 parser, checked against hiredis's redisReader as an oracle.
#include <ssebridge/redis/resp.hpp>

#define BOOST_TEST_MODULE resp
#include <boost/test/unit_test.hpp>

#include <hiredis/hiredis.h>

#include <random>

using namespace ssebridge::redis;

namespace {

// Builds a random canonical RESP2 value.
std::string random_value(std::mt19937& rng, int depth) {
    std::uniform_int_distribution<int> kind(0, depth > 3 ? 4 : 6);
    auto text = [&](std::size_t max, bool binary) {
        std::uniform_int_distribution<std::size_t> len(0, max);
        std::uniform_int_distribution<int> byte(binary ? 0 : 32, binary ? 255 : 126);
        std::string s(len(rng), '\0');
        for (auto& c : s)
            c = static_cast<char>(byte(rng));
        return s;
    };
    switch (kind(rng)) {
    case 0:
        return "+" + text(20, false) + "\r\n";
    case 1:
        return "-ERR " + text(20, false) + "\r\n";
    case 2:
        return ":" +
               std::to_string(std::uniform_int_distribution<long long>(-1'000'000'000'000,
                                                                       1'000'000'000'000)(rng)) +
               "\r\n";
    case 3: {
        std::string s = text(300, true);
        return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
    }
    case 4:
        return "$-1\r\n";
    default: {
        std::uniform_int_distribution<int> n(0, 5);
        int count = n(rng);
        std::string out = "*" + std::to_string(count) + "\r\n";
        for (int i = 0; i < count; ++i)
            out += random_value(rng, depth + 1);
        return out;
    }
    }
}

// Compares our pre-order nodes with hiredis's reply tree.
bool same(const std::vector<node>& nodes, std::size_t& i, const redisReply* r) {
    if (i >= nodes.size())
        return false;
    const node& n = nodes[i++];
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        return n.type == resp_type::simple_string && n.value == std::string_view(r->str, r->len);
    case REDIS_REPLY_ERROR:
        return n.type == resp_type::error && n.value == std::string_view(r->str, r->len);
    case REDIS_REPLY_INTEGER:
        return n.type == resp_type::integer && n.integer == r->integer;
    case REDIS_REPLY_STRING:
        return n.type == resp_type::bulk_string && n.value == std::string_view(r->str, r->len);
    case REDIS_REPLY_NIL:
        return n.type == resp_type::nil;
    case REDIS_REPLY_ARRAY:
        if (n.type != resp_type::array || n.size != r->elements)
            return false;
        for (std::size_t k = 0; k < r->elements; ++k)
            if (!same(nodes, i, r->element[k]))
                return false;
        return true;
    }
    return false;
}

struct oracle {
    redisReader* reader = redisReaderCreate();
    ~oracle() { redisReaderFree(reader); }
    // 1: a reply, 0: incomplete, -1: protocol error
    int feed(std::string_view bytes, redisReply*& reply) {
        redisReaderFeed(reader, bytes.data(), bytes.size());
        void* r = nullptr;
        if (redisReaderGetReply(reader, &r) != REDIS_OK)
            return -1;
        reply = static_cast<redisReply*>(r);
        return r ? 1 : 0;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(random_values_parse_as_hiredis_parses_them) {
    std::mt19937 rng(20261122);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes = random_value(rng, 0);
        oracle o;
        redisReply* expected = nullptr;
        BOOST_TEST_REQUIRE(o.feed(bytes, expected) == 1);
        std::vector<node> nodes;
        boost::system::error_code ec;
        std::size_t used = parse(bytes, nodes, ec);
        BOOST_TEST_REQUIRE(!ec);
        BOOST_TEST_REQUIRE(used == bytes.size());
        std::size_t i = 0;
        BOOST_TEST(same(nodes, i, expected));
        BOOST_TEST(i == nodes.size());
        // Every proper prefix is incomplete, never an error or a reply.
        for (std::size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 16) {
            used = parse(std::string_view(bytes).substr(0, cut), nodes, ec);
            BOOST_TEST(!ec);
            BOOST_TEST(used == 0u);
        }
        freeReplyObject(expected);
    }
}

BOOST_AUTO_TEST_CASE(pipelined_replies_parse_one_by_one) {
    std::string bytes = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n:1\r\n+OK\r\n";
    std::vector<node> nodes;
    boost::system::error_code ec;
    std::string_view rest = bytes;
    std::size_t used = parse(rest, nodes, ec);
    BOOST_TEST_REQUIRE(used > 0u);
    BOOST_TEST(nodes.size() == 4u);
    BOOST_TEST(nodes[3].value == "hello");
    rest.remove_prefix(used);
    used = parse(rest, nodes, ec);
    BOOST_TEST(nodes[0].integer == 1);
    rest.remove_prefix(used);
    used = parse(rest, nodes, ec);
    BOOST_TEST(nodes[0].value == "OK");
    BOOST_TEST(used == rest.size());
}

BOOST_AUTO_TEST_CASE(malformed_input_is_an_error) {
    for (std::string_view bad :
         {"?foo\r\n", "$abc\r\n", "$3\r\nabcXY", "*x\r\n", "$-5\r\n", ":12a\r\n"}) {
        std::vector<node> nodes;
        boost::system::error_code ec;
        BOOST_TEST(parse(bad, nodes, ec) == 0u);
        BOOST_TEST(ec.failed(), bad);
    }
    // hiredis 0.14 is lenient with numbers; on type bytes it agrees with us.
    oracle o;
    redisReply* r = nullptr;
    BOOST_TEST(o.feed("?foo\r\n", r) == -1);
}

BOOST_AUTO_TEST_CASE(limits_are_enforced) {
    std::vector<node> nodes;
    boost::system::error_code ec;
    parser_limits small{.max_bulk = 10, .max_elements = 3, .max_depth = 2};
    parse("$11\r\nhello world\r\n", nodes, ec, small);
    BOOST_TEST((ec == resp_error::too_large));
    parse("*4\r\n:1\r\n:1\r\n:1\r\n:1\r\n", nodes, ec, small);
    BOOST_TEST((ec == resp_error::too_large));
    parse("*1\r\n*1\r\n*1\r\n:1\r\n", nodes, ec, small);
    BOOST_TEST((ec == resp_error::too_deep));
}

BOOST_AUTO_TEST_CASE(mutated_input_never_reads_out_of_bounds) {
    // Run under ASan: any overread in the parser fails the build's test run.
    std::mt19937 rng(7);
    for (int round = 0; round < 20000; ++round) {
        std::string bytes = random_value(rng, 0);
        std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
        std::uniform_int_distribution<int> byte(0, 255);
        for (int k = 0; k < 3; ++k)
            bytes[pos(rng)] = static_cast<char>(byte(rng));
        std::vector<node> nodes;
        boost::system::error_code ec;
        std::size_t used = parse(bytes, nodes, ec);
        BOOST_TEST_REQUIRE(used <= bytes.size());
        for (const node& n : nodes)
            BOOST_TEST_REQUIRE((n.value.empty() ||
                                (n.value.data() >= bytes.data() &&
                                 n.value.data() + n.value.size() <= bytes.data() + bytes.size())));
    }
}

BOOST_AUTO_TEST_CASE(commands_encode_as_bulk_arrays) {
    std::string out;
    append_command(out, {"PUBLISH", "ch", ""});
    BOOST_TEST(out == "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
    reply r = to_reply([&] {
        std::vector<node> nodes;
        boost::system::error_code ec;
        parse(out, nodes, ec);
        return nodes;
    }());
    BOOST_TEST(r.elements.size() == 3u);
    BOOST_TEST(r.elements[0].value == "PUBLISH");
}
