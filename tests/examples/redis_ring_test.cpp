// examples/redis_ring's server-free logic (examples/redis_ring_lib.hpp): the cluster file, keys
// and values, and the bucketing of keys into moves. The program itself runs end to end against
// redis-server in the e2e test (tests/examples/redis_e2e.sh).
#include "catch.hpp"

#include "redis_ring_lib.hpp"
#include "run_program.hpp"

#include <ringplan/plan_types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

redis_ring::Cluster parse(const std::string& text) {
    std::istringstream in(text);
    return redis_ring::parse_cluster(in, "c");
}

std::string parse_error(const std::string& text) {
    try {
        parse(text);
    } catch (const redis_ring::Failure& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("redis_ring: a cluster file with comments, CRLF and a down node", "[redis_ring]") {
    const redis_ring::Cluster c =
        parse("# nodes\r\nn1 127.0.0.1:7001\r\n\n  n2\t10.0.0.2:7002  down\nn3 [::1]:7003\n");
    REQUIRE(c.nodes.size() == 3);
    CHECK(c.nodes[0].id == "n1");
    CHECK(c.nodes[0].port == 7001);
    CHECK_FALSE(c.nodes[0].down);
    CHECK(c.nodes[1].host == "10.0.0.2");
    CHECK(c.nodes[1].down);
    CHECK(c.nodes[2].host == "[::1]");
    CHECK(c.find("n2") == &c.nodes[1]);
    CHECK(c.find("n4") == nullptr);
}

TEST_CASE("redis_ring: a cluster file that does not parse names its line", "[redis_ring]") {
    CHECK(parse_error("n1 h:1\nn2 h:0\n") == "c:2: bad port '0' (a whole number from 1 to 65535)");
    CHECK(parse_error("n1 h:1\n# c\nn2 h\n") == "c:3: bad address 'h' (HOST:PORT)");
    CHECK(parse_error("n1 h:1 up\n") ==
          "c:1: expected '<id> <host>:<port>' or '<id> <host>:<port> down'");
    CHECK(parse_error("n1 h:1\nn1 h:2\n") == "c:2: node n1 is listed twice");
    CHECK(parse_error("n1 h:1\nn2 h:1\n") == "c:2: address h:1 is already node n1");
    CHECK(parse_error("# nothing\n") == "c: no nodes");
    CHECK(parse_error("n1 h:1\n" + std::string(5000, 'x') + "\n") ==
          "c:2: line longer than 4096 bytes");
    CHECK(parse_error("n1 h:99999999999999999999999\n").rfind("c:1: bad port", 0) == 0);
}

TEST_CASE("redis_ring: the cluster file is rewritten whole and reads back", "[redis_ring]") {
    example_test::TempDir dir;
    const std::string path = dir.file("cluster");
    redis_ring::Cluster c = parse("a h:1\nb h:2 down\n");
    redis_ring::write_cluster(path, c);
    const redis_ring::Cluster back = redis_ring::read_cluster(path);
    REQUIRE(back.nodes.size() == 2);
    CHECK(back.nodes[1].id == "b");
    CHECK(back.nodes[1].down);
    CHECK_THROWS_AS(redis_ring::write_cluster(dir.file("no/such/dir/cluster"), c),
                    redis_ring::WriteFailure);
}

TEST_CASE("redis_ring: keys and their values", "[redis_ring]") {
    std::uint64_t i = 0;
    CHECK(redis_ring::parse_key("key:0", i));
    CHECK(i == 0);
    CHECK(redis_ring::parse_key("key:123", i));
    CHECK(i == 123);
    CHECK_FALSE(redis_ring::parse_key("key:012", i));
    CHECK_FALSE(redis_ring::parse_key("key:", i));
    CHECK_FALSE(redis_ring::parse_key("key:1x", i));
    CHECK_FALSE(redis_ring::parse_key("ringplan:hints:n1", i));
    const std::string v = redis_ring::value_of("key:7");
    CHECK(v.rfind("v:7:", 0) == 0);
    CHECK(v.size() == 4 + 16);
    CHECK(v != redis_ring::value_of("key:8"));
}

TEST_CASE("redis_ring: keys are bucketed into every move whose range holds them", "[redis_ring]") {
    using Move = ringplan::Move<std::string>;
    std::mt19937_64 rng(7);
    for (int round = 0; round < 50; ++round) {
        std::vector<Move> moves;
        std::vector<std::size_t> indices;
        const std::size_t n = 1 + rng() % 12;
        for (std::size_t m = 0; m < n; ++m) {
            ringplan::Token a = rng() % 1000, b = rng() % 1000;
            if (a > b) {
                std::swap(a, b);
            }
            if (m == 0) {
                b = ~ringplan::Token{0};  // a range that reaches the top of the ring
            }
            moves.push_back(Move{{a, b}, "s", "t" + std::to_string(m)});
            indices.push_back(m);
        }
        const redis_ring::MoveBuckets buckets(moves, indices);
        // The moves whose range holds t, by brute force, against the buckets.
        const auto agree = [&](ringplan::Token t) {
            std::vector<std::size_t> want;
            for (std::size_t m = 0; m < n; ++m) {
                if (moves[m].range.contains(t)) {
                    want.push_back(m);
                }
            }
            std::vector<std::size_t> got = buckets.at(t);
            std::sort(got.begin(), got.end());
            return got == want;
        };
        for (ringplan::Token t : {ringplan::Token{0}, ringplan::Token{999}, ~ringplan::Token{0}}) {
            CHECK(agree(t));
        }
        for (ringplan::Token t = 0; t < 1001; ++t) {
            REQUIRE(agree(t));
        }
    }
}
