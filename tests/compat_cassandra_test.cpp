// Cassandra: Murmur3Partitioner tokens against golden vectors from the DataStax Python driver
// 3.25 (tests/data/compat/make_golden.sh), the signed/unsigned token mapping, and SimpleStrategy
// replicas. The live cross-check against the installed driver is tests/compat/murmur3_live.py.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <ringplan/cassandra.hpp>
#include <ringplan/plan.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cassandra = ringplan::cassandra;
using ringplan::Token;

TEST_CASE("Murmur3 tokens match golden vectors from the DataStax driver",
          "[compat][cassandra][golden]") {
    const auto rows = rp_test::read_golden("compat/murmur3.txt");
    std::size_t checked = 0;
    for (const auto& row : rows) {
        if (row[0][0] == '#') {
            continue;
        }
        REQUIRE(row.size() == 3);
        const auto bytes = row[0] == "-" ? std::vector<unsigned char>{} : rp_test::from_hex(row[0]);
        INFO("key " << row[0]);
        CHECK(cassandra::murmur3(bytes.data(), bytes.size()) == std::stoll(row[1]));
        CHECK(cassandra::key_token(bytes.data(), bytes.size()) == std::stoll(row[2]));
        CHECK(cassandra::Murmur3Hash::hash(bytes.data(), bytes.size()) ==
              cassandra::token_to_unsigned(std::stoll(row[2])));
        ++checked;
    }
    CHECK(checked >= 150);
}

TEST_CASE("signed Cassandra tokens map onto the unsigned space in order", "[compat][cassandra]") {
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    static_assert(cassandra::token_to_unsigned(lo) == 0, "");
    static_assert(cassandra::token_to_unsigned(-1) == (Token{1} << 63) - 1, "");
    static_assert(cassandra::token_to_unsigned(0) == Token{1} << 63, "");
    static_assert(cassandra::token_to_unsigned(hi) == ~Token{0}, "");
    const std::int64_t samples[] = {lo, lo + 1, -4611686018427387904, -2,     -1, 0,
                                    1,  42,     4611686018427387904,  hi - 1, hi};
    for (std::size_t i = 0; i < sizeof samples / sizeof samples[0]; ++i) {
        CHECK(cassandra::unsigned_to_token(cassandra::token_to_unsigned(samples[i])) == samples[i]);
        if (i > 0) {
            CHECK(cassandra::token_to_unsigned(samples[i - 1]) <
                  cassandra::token_to_unsigned(samples[i]));
        }
    }
}

TEST_CASE("a Cassandra ring routes as Murmur3Partitioner and SimpleStrategy",
          "[compat][cassandra]") {
    // Three nodes at evenly spaced tokens, as `nodetool ring` prints them.
    const auto ring = cassandra::build_ring({{"n1", {-9223372036854775807}},
                                             {"n2", {-3074457345618258603}},
                                             {"n3", {3074457345618258602}}});
    // A key's owner is the first node token >= the key token, wrapping (Cassandra's ring).
    const auto owner_of_signed = [&](std::int64_t t) {
        return ring.owner_at(cassandra::token_to_unsigned(t));
    };
    CHECK(owner_of_signed(-3074457345618258603) == "n2");
    CHECK(owner_of_signed(-3074457345618258602) == "n3");
    CHECK(owner_of_signed(3074457345618258603) == "n1");  // wraps
    CHECK(owner_of_signed(std::numeric_limits<std::int64_t>::max()) == "n1");
    // "key:0" has token 8944296364800046971 (murmur3.txt): past n3, so n1, then n2, n3.
    CHECK(cassandra::key_token("key:0") == 8944296364800046971);
    CHECK(ring.replicas("key:0", ringplan::Rf{3}) == std::vector<std::string>{"n1", "n2", "n3"});
    CHECK(ring.replicas("key:0", ringplan::Rf{5}).size() == 3);
    const auto plan = ringplan::plan_crash(ring, "n2", ringplan::Rf{2});
    CHECK(plan.lost.empty());
    CHECK(!plan.moves.empty());
}

TEST_CASE("Cassandra builder errors", "[compat][cassandra]") {
    const auto code = [](const std::vector<cassandra::Node>& nodes) {
        return rp_test::error_code([&] { (void)cassandra::build_ring(nodes); });
    };
    CHECK(code({{"a", {1}}, {"b", {1}}}) == ringplan::Errc::token_collision);
    CHECK(code({{"a", {1}}, {"a", {2}}}) == ringplan::Errc::duplicate_node);
    CHECK(code({{"a", {}}}) == ringplan::Errc::zero_vnodes);
}
