// Differential test: on random rings, every lookup agrees with a naive linear-scan reference
// model (tests/test_util.hpp) at random tokens and at every vnode's edges.
#include "catch.hpp"
#include "test_util.hpp"

#include <random>
#include <string>
#include <vector>

using ringplan::max_token;
using ringplan::Token;

namespace {

template <class Hash>
void run_differential(std::uint64_t seed, int rounds, bool explicit_tokens) {
    std::mt19937_64 rng(seed);
    for (int round = 0; round < rounds; ++round) {
        const auto members = rp_test::random_members(rng, 10, 16, explicit_tokens);
        ringplan::Ring<Hash> ring;
        for (const auto& m : members) {
            rp_test::add_member(ring, m);
        }
        const auto naive = rp_test::naive_of<Hash>(members);
        REQUIRE(ring.vnode_count() == naive.vnodes.size());

        // Probe tokens: random ones, the space's edges, and each vnode's token and neighbours.
        std::vector<Token> probes = {0, 1, max_token - 1, max_token};
        for (int i = 0; i < 32; ++i) {
            probes.push_back(rng());
        }
        for (const auto& v : naive.vnodes) {
            probes.push_back(v.first);
            probes.push_back(v.first + 1);  // wraps at the top, which is also an edge
            probes.push_back(v.first - 1);
        }
        for (Token t : probes) {
            INFO("round " << round << " token " << t);
            REQUIRE(ring.owner_at(t) == naive.owner(t));
            const std::size_t rf = 1 + rng() % 5;
            REQUIRE(ring.replicas_at(t, ringplan::Rf{rf}) == naive.replicas(t, rf));
            if (ring.node_count() > 1) {
                REQUIRE(ring.successor_at(t) == naive.replicas(t, 2).at(1));
            }
        }

        // ranges_of: every range's ends belong to the node and the tokens just outside do not.
        double total = 0;
        for (const std::string& id : ring.nodes()) {
            const auto ranges = ring.ranges_of(id);
            for (std::size_t i = 0; i < ranges.size(); ++i) {
                const auto& r = ranges[i];
                INFO("round " << round << " node " << id << " range " << r.first << ".." << r.last);
                REQUIRE(r.first <= r.last);
                if (i > 0) {
                    REQUIRE(ranges[i - 1].last + 1 < r.first);  // disjoint and merged
                }
                REQUIRE(naive.owner(r.first) == id);
                REQUIRE(naive.owner(r.last) == id);
                REQUIRE(naive.owner(r.first + (r.last - r.first) / 2) == id);
                if (r.first > 0) {
                    REQUIRE(naive.owner(r.first - 1) != id);
                }
                if (r.last < max_token) {
                    REQUIRE(naive.owner(r.last + 1) != id);
                }
                total += r.fraction();
            }
            // A node owns a token exactly when one of its ranges holds it.
            for (Token t : probes) {
                bool inside = false;
                for (const auto& r : ranges) {
                    inside = inside || r.contains(t);
                }
                REQUIRE(inside == (naive.owner(t) == id));
            }
        }
        REQUIRE(total == Approx(1.0).epsilon(1e-12));
        for (const auto& [id, share] : ring.ownership()) {
            REQUIRE(share == Approx(ring.ownership(id)).margin(1e-12));
        }
    }
}

}  // namespace

TEST_CASE("lookups agree with the naive model: XXH3, derived and explicit tokens",
          "[differential]") {
    run_differential<ringplan::Xxh3>(1, 150, false);
    run_differential<ringplan::Xxh3>(2, 150, true);
}

TEST_CASE("lookups agree with the naive model: FNV-1a", "[differential]") {
    run_differential<ringplan::Fnv1a64>(3, 150, true);
}

TEST_CASE("lookups agree with the naive model under heavy token collisions", "[differential]") {
    run_differential<rp_test::CoarseHash>(4, 300, false);
}
