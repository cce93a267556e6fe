// Errors: every code is raised where documented, with a message that names what was wrong, and
// a failed call leaves the ring exactly as it was (strong guarantee).
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <string>
#include <vector>

using Ring = ringplan::Ring<>;
using ringplan::Errc;
using ringplan::Error;
using ringplan::Token;

namespace {

using rp_test::expect_error;

Ring sample() {
    Ring ring;
    ring.add_nodes({"a", "b"}, 8);
    ring.add_node_with_tokens("c", {100, 200});
    return ring;
}

}  // namespace

TEST_CASE("duplicate_node", "[errors]") {
    Ring ring = sample();
    const Ring before = ring;
    expect_error([&] { ring.add_node("a", 4); }, Errc::duplicate_node, "'a'");
    expect_error([&] { ring.add_node_with_tokens("c", {300}); }, Errc::duplicate_node, "'c'");
    expect_error([&] { ring.add_nodes({"x", "b"}, 4); }, Errc::duplicate_node, "'b'");
    expect_error([&] { ring.add_nodes({"x", "y", "x"}, 4); }, Errc::duplicate_node, "'x'");
    CHECK(ring == before);
    CHECK_FALSE(ring.contains("x"));
}

TEST_CASE("unknown_node", "[errors]") {
    Ring ring = sample();
    const Ring before = ring;
    expect_error([&] { ring.remove_node("zz"); }, Errc::unknown_node, "'zz'");
    expect_error([&] { (void)ring.ranges_of("zz"); }, Errc::unknown_node, "'zz'");
    expect_error([&] { (void)ring.tokens_of("zz"); }, Errc::unknown_node, "'zz'");
    expect_error([&] { (void)ring.vnode_count("zz"); }, Errc::unknown_node, "'zz'");
    expect_error([&] { (void)ring.ownership("zz"); }, Errc::unknown_node, "'zz'");
    CHECK(ring == before);
}

TEST_CASE("empty_ring", "[errors]") {
    Ring ring;
    expect_error([&] { (void)ring.owner("key"); }, Errc::empty_ring, "no nodes");
    expect_error([&] { (void)ring.owner_at(5); }, Errc::empty_ring, "no nodes");
    expect_error([&] { (void)ring.replicas("key", ringplan::Rf{3}); }, Errc::empty_ring,
                 "no nodes");
    expect_error([&] { (void)ring.successor("key"); }, Errc::empty_ring, "no nodes");
    expect_error([&] { (void)ring.vnode_at(5); }, Errc::empty_ring, "no nodes");
    CHECK(ring.ownership().empty());
    CHECK(ring.nodes().empty());
}

TEST_CASE("zero_vnodes", "[errors]") {
    Ring ring = sample();
    const Ring before = ring;
    expect_error([&] { ring.add_node("z", 0); }, Errc::zero_vnodes, "'z'");
    expect_error([&] { ring.add_nodes({"y", "z"}, 0); }, Errc::zero_vnodes, "at least one vnode");
    expect_error([&] { ring.add_node_with_tokens("z", {}); }, Errc::zero_vnodes,
                 "at least one token");
    CHECK(ring == before);
}

TEST_CASE("invalid_rf", "[errors]") {
    const Ring ring = sample();
    expect_error([&] { (void)ring.replicas("key", ringplan::Rf{0}); }, Errc::invalid_rf,
                 "at least 1");
    expect_error([&] { (void)ring.replicas_at(7, ringplan::Rf{0}); }, Errc::invalid_rf,
                 "at least 1");
}

TEST_CASE("token_collision", "[errors]") {
    Ring ring = sample();
    const Ring before = ring;
    expect_error(
        [&] {
            ring.add_node_with_tokens("d", {50, 200});
        },
        Errc::token_collision, "token 200 of node 'd' is already held by node 'c'");
    expect_error(
        [&] {
            ring.add_node_with_tokens("d", {7, 9, 7});
        },
        Errc::token_collision, "token 7 is listed twice");
    const std::vector<std::pair<std::string, std::vector<Token>>> both = {{"d", {9}}, {"e", {9}}};
    expect_error([&] { ring.add_nodes_with_tokens(both.begin(), both.end()); },
                 Errc::token_collision, "token 9 is listed for both node 'd' and node 'e'");
    const std::vector<std::pair<std::string, std::vector<Token>>> twice = {{"d", {1}}, {"d", {2}}};
    expect_error([&] { ring.add_nodes_with_tokens(twice.begin(), twice.end()); },
                 Errc::duplicate_node, "'d'");
    const auto a_token = ring.tokens_of("a").front();
    expect_error([&] { ring.add_node_with_tokens("d", {a_token}); }, Errc::token_collision,
                 "already held by node 'a'");
    CHECK(ring == before);
    CHECK_FALSE(ring.contains("d"));
}

TEST_CASE("no_successor", "[errors]") {
    Ring ring;
    ring.add_node("lonely", 16);
    expect_error([&] { (void)ring.successor("key"); }, Errc::no_successor, "'lonely'");
    expect_error([&] { (void)ring.successor_at(0); }, Errc::no_successor, "only node");
}

TEST_CASE("too_many_vnodes", "[errors]") {
    Ring ring = sample();
    const Ring before = ring;
    // Refused before anything is allocated: the limit is checked first.
    expect_error([&] { ring.add_node("huge", 0xFFFFFFFFu); }, Errc::too_many_vnodes,
                 "exceeds the limit of 4294967295");
    std::vector<std::string> many(3, "");
    many[0] = "p";
    many[1] = "q";
    many[2] = "r";
    expect_error([&] { ring.add_nodes(many, 0x7FFFFFFFu); }, Errc::too_many_vnodes, "exceeds");
    CHECK(ring == before);
    CHECK(Ring::max_vnodes() == 0xFFFFFFFFu);
}

TEST_CASE("invalid_limit", "[errors]") {
    const std::vector<ringplan::Move<std::string>> moves = {
        ringplan::Move<std::string>{ringplan::TokenRange{0, 9}, "a", "b"}};
    expect_error(
        [&] {
            (void)ringplan::schedule(moves, ringplan::ScheduleLimits{0, 1, {}});
        },
        Errc::invalid_limit, "max_send must be at least 1, got 0");
    expect_error(
        [&] {
            (void)ringplan::schedule(moves, ringplan::ScheduleLimits{1, 0, {}});
        },
        Errc::invalid_limit, "max_recv must be at least 1, got 0");
    expect_error(
        [&] {
            (void)ringplan::schedule(moves, ringplan::ScheduleLimits{1, 1, 0.0});
        },
        Errc::invalid_limit, "max_fraction must be positive");
}

TEST_CASE("error codes have stable names", "[errors]") {
    CHECK(std::string(ringplan::to_string(Errc::duplicate_node)) == "duplicate_node");
    CHECK(std::string(ringplan::to_string(Errc::unknown_node)) == "unknown_node");
    CHECK(std::string(ringplan::to_string(Errc::empty_ring)) == "empty_ring");
    CHECK(std::string(ringplan::to_string(Errc::zero_vnodes)) == "zero_vnodes");
    CHECK(std::string(ringplan::to_string(Errc::invalid_rf)) == "invalid_rf");
    CHECK(std::string(ringplan::to_string(Errc::token_collision)) == "token_collision");
    CHECK(std::string(ringplan::to_string(Errc::no_successor)) == "no_successor");
    CHECK(std::string(ringplan::to_string(Errc::too_many_vnodes)) == "too_many_vnodes");
    CHECK(std::string(ringplan::to_string(Errc::invalid_limit)) == "invalid_limit");
    CHECK(std::string(ringplan::to_string(Errc::invalid_partition_count)) ==
          "invalid_partition_count");
    CHECK(std::string(ringplan::to_string(Errc::invalid_partition)) == "invalid_partition");
    CHECK(std::string(ringplan::to_string(Errc::invalid_weight)) == "invalid_weight");
    CHECK(std::string(ringplan::to_string(Errc::invalid_map)) == "invalid_map");
    CHECK(std::string(ringplan::to_string(Errc::invalid_option)) == "invalid_option");
    CHECK(std::string(ringplan::to_string(Errc::clock_backwards)) == "clock_backwards");
    CHECK(std::string(ringplan::to_string(Errc::stale_epoch)) == "stale_epoch");
    CHECK(std::string(ringplan::to_string(Errc::invalid_transition)) == "invalid_transition");
    CHECK(std::string(ringplan::to_string(Errc::parse_error)) == "parse_error");
    CHECK(std::string(ringplan::to_string(Errc::invalid_topology)) == "invalid_topology");
    // Error is a std::runtime_error, so generic handlers catch it.
    try {
        Ring().owner_at(0);
        FAIL("no error");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("empty_ring") != std::string::npos);
    }
}
