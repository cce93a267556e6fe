// Hinted handoff (include/ringplan/handoff.hpp, docs/handoff.md): sloppy-quorum preference lists
// and hint return plans, on worked examples and on random rings and down sets against a naive
// model built on tests/test_util.hpp's linear-scan ring.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <ringplan/handoff.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

using ringplan::Errc;
using ringplan::max_token;
using ringplan::Token;
using ringplan::TokenRange;

namespace {

using Entry = ringplan::PreferenceEntry<std::string>;
using Down = std::set<std::string>;

Entry home(const std::string& node) {
    return Entry{node, std::nullopt};
}
Entry fallback(const std::string& node, const std::string& hint) {
    return Entry{node, std::optional<std::string>(hint)};
}

// a@100, b@200, c@300, d@400: token 150 belongs to b, then c, d, a clockwise.
ringplan::Ring<> four() {
    ringplan::Ring<> ring;
    ring.add_node_with_tokens("a", {100});
    ring.add_node_with_tokens("b", {200});
    ring.add_node_with_tokens("c", {300});
    ring.add_node_with_tokens("d", {400});
    return ring;
}

auto up_unless(const Down& down) {
    return [&down](const std::string& n) { return down.count(n) == 0; };
}

// The model, straight from the definition: the distinct nodes in walk order; the first n are
// the homes; healthy homes stay; the k-th down home goes to the k-th healthy non-home.
std::vector<Entry> naive_preference(const rp_test::NaiveRing<std::string>& naive, Token t,
                                    std::size_t n, const Down& down) {
    std::vector<std::string> walk;
    for (std::size_t i : naive.clockwise(t)) {
        const std::string& node = naive.vnodes[i].second;
        if (std::find(walk.begin(), walk.end(), node) == walk.end()) {
            walk.push_back(node);
        }
    }
    std::vector<Entry> out;
    std::vector<std::string> down_homes;
    for (std::size_t k = 0; k < walk.size() && k < n; ++k) {
        if (down.count(walk[k]) != 0) {
            down_homes.push_back(walk[k]);
        } else {
            out.push_back(home(walk[k]));
        }
    }
    std::size_t next = 0;
    for (std::size_t k = n; k < walk.size() && next < down_homes.size(); ++k) {
        if (down.count(walk[k]) == 0) {
            out.push_back(fallback(walk[k], down_homes[next++]));
        }
    }
    return out;
}

using rp_test::expect_error;

std::string show(const std::vector<Entry>& list) {
    std::string out = "[";
    for (const Entry& e : list) {
        out += " " + e.node + (e.hint ? "(for " + *e.hint + ")" : "");
    }
    return out + " ]";
}

// Tokens worth probing: the edges, every vnode token and its neighbours, and random ones.
std::vector<Token> probes(const rp_test::NaiveRing<std::string>& naive, std::mt19937_64& rng) {
    std::vector<Token> out = {0, 1, max_token - 1, max_token};
    for (const auto& v : naive.vnodes) {
        out.push_back(v.first);
        out.push_back(v.first + 1);
        out.push_back(v.first - 1);
    }
    for (int i = 0; i < 32; ++i) {
        out.push_back(rng());
    }
    return out;
}

template <class Hash>
struct RandomCase {
    std::vector<rp_test::Member> members;
    ringplan::Ring<Hash> ring;
    rp_test::NaiveRing<std::string> naive;
    std::vector<std::string> ids;
    Down down;
};

template <class Hash>
RandomCase<Hash> random_case(std::mt19937_64& rng) {
    RandomCase<Hash> c;
    // Explicit tokens would collide with the coarse policy's derived ones (it hits 0 and 2^64-1).
    c.members = rp_test::random_members(rng, 7, 6, !std::is_same<Hash, rp_test::CoarseHash>::value);
    for (const auto& m : c.members) {
        rp_test::add_member(c.ring, m);
        c.ids.push_back(m.id);
    }
    c.naive = rp_test::naive_of<Hash>(c.members);
    for (const auto& id : c.ids) {
        if (rng() % 3 == 0) {
            c.down.insert(id);
        }
    }
    return c;
}

}  // namespace

TEST_CASE("preference_list: down home replicas are replaced by hinted fallbacks", "[handoff]") {
    const ringplan::Ring<> ring = four();
    const Down none;
    const Down all = {"a", "b", "c", "d"};
    using L = std::vector<Entry>;
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{2}, up_unless(none)) ==
          L{home("b"), home("c")});
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{2}, up_unless(Down{"c"})) ==
          L{home("b"), fallback("d", "c")});
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{2}, up_unless(Down{"b", "c"})) ==
          L{fallback("d", "b"), fallback("a", "c")});
    // A down node past the homes is skipped, never hinted for.
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{2}, up_unless(Down{"b", "d"})) ==
          L{home("c"), fallback("a", "b")});
    // Fewer healthy nodes than n: all of them; the last down home in walk order goes unnamed.
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{2},
                                       up_unless(Down{"b", "c", "d"})) == L{fallback("a", "b")});
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{3}, up_unless(all)).empty());
    // n larger than the ring: every node is a home.
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{9}, up_unless(Down{"c"})) ==
          L{home("b"), home("d"), home("a")});
    // Healthy homes first, then fallbacks: the first n healthy nodes in walk order.
    CHECK(ringplan::preference_list_at(ring, 150, ringplan::Rf{3}, up_unless(Down{"b"})) ==
          L{home("c"), home("d"), fallback("a", "b")});
    // Keys hash to their token.
    const std::string key = "user:42";
    CHECK(ringplan::preference_list(ring, key, ringplan::Rf{2}, up_unless(none)) ==
          ringplan::preference_list_at(ring, ringplan::Ring<>::key_token(key), ringplan::Rf{2},
                                       up_unless(none)));
    // is_up is asked once per distinct node met.
    std::size_t calls = 0;
    (void)ringplan::preference_list_at(ring, 150, ringplan::Rf{2}, [&](const std::string&) {
        ++calls;
        return false;
    });
    CHECK(calls == 4);
}

TEST_CASE("preference_list: errors", "[handoff]") {
    const ringplan::Ring<> ring = four();
    const Down none;
    expect_error(
        [&] { (void)ringplan::preference_list_at(ring, 1, ringplan::Rf{0}, up_unless(none)); },
        Errc::invalid_rf, "at least 1");
    expect_error(
        [&] {
            (void)ringplan::preference_list_at(ringplan::Ring<>(), 1, ringplan::Rf{1},
                                               up_unless(none));
        },
        Errc::empty_ring, "no nodes");
}

template <class Hash>
void check_random_preference_lists(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 150; ++round) {
        const RandomCase<Hash> c = random_case<Hash>(rng);
        const std::size_t n = 1 + rng() % 4;
        const auto up = up_unless(c.down);
        const std::size_t healthy = c.ids.size() - c.down.size();
        for (Token t : probes(c.naive, rng)) {
            const auto got = ringplan::preference_list_at(c.ring, t, ringplan::Rf{n}, up);
            const auto want = naive_preference(c.naive, t, n, c.down);
            INFO("token " << t << " n " << n << ": got " << show(got) << ", model " << show(want));
            REQUIRE(got == want);
            // The structural promises, checked directly as well.
            CHECK(got.size() == std::min(n, healthy));
            const auto homes = c.ring.replicas_at(t, ringplan::Rf{n});
            std::set<std::string> nodes, hints;
            bool fallback_seen = false;
            for (const Entry& e : got) {
                CHECK(up(e.node));
                CHECK(nodes.insert(e.node).second);  // distinct
                if (e.hint) {
                    fallback_seen = true;
                    CHECK_FALSE(up(*e.hint));
                    CHECK(std::find(homes.begin(), homes.end(), *e.hint) != homes.end());
                    CHECK(std::find(homes.begin(), homes.end(), e.node) == homes.end());
                    CHECK(hints.insert(*e.hint).second);
                } else {
                    CHECK_FALSE(fallback_seen);  // homes before fallbacks
                    CHECK(std::find(homes.begin(), homes.end(), e.node) != homes.end());
                }
            }
            // Every down home has a fallback while healthy nodes remain.
            std::size_t down_homes = 0;
            for (const auto& h : homes) {
                down_homes += up(h) ? 0u : 1u;
            }
            CHECK(hints.size() == std::min(down_homes, healthy - (homes.size() - down_homes)));
        }
    }
}

TEST_CASE("preference_list: random rings and down sets against the model", "[handoff]") {
    check_random_preference_lists<ringplan::Xxh3>(11);
    check_random_preference_lists<rp_test::CoarseHash>(12);  // colliding tokens, edge tokens
}

TEST_CASE("plan_hint_return: fallbacks hand their hints back", "[handoff]") {
    const ringplan::Ring<> ring = four();
    using Move = ringplan::Move<std::string>;
    ringplan::PlanOptions<std::string> options(ringplan::Rf{2});
    // c was down alone: d held c's hint for (100, 200] (homes b, c), a for (200, 300].
    auto plan = ringplan::plan_hint_return(ring, "c", options);
    CHECK(plan.moves == std::vector<Move>{Move{TokenRange{101, 200}, "d", "c"},
                                          Move{TokenRange{201, 300}, "a", "c"}});
    CHECK(plan.lost.empty());
    CHECK(plan.under_replicated.empty());
    CHECK(plan.rf == 2);
    // b and c were down: (100, 200] (homes b, c) had fallbacks d for b and a for c;
    // (200, 300] (homes c, d) had a for c (b is down). Both ranges go back from a, merged.
    options.down = {"b"};
    plan = ringplan::plan_hint_return(ring, "c", options);
    CHECK(plan.moves == std::vector<Move>{Move{TokenRange{101, 300}, "a", "c"}});
    // rf = 1: c's own range goes back from its successor.
    plan =
        ringplan::plan_hint_return(ring, "c", ringplan::PlanOptions<std::string>(ringplan::Rf{1}));
    CHECK(plan.moves == std::vector<Move>{Move{TokenRange{201, 300}, "d", "c"}});
    // Everyone else down too: no fallback held anything; the ranges need repair.
    options.down = {"a", "b", "d"};
    plan = ringplan::plan_hint_return(ring, "c", options);
    CHECK(plan.moves.empty());
    CHECK(plan.under_replicated == std::vector<TokenRange>{TokenRange{101, 300}});
}

TEST_CASE("plan_hint_return: errors", "[handoff]") {
    const ringplan::Ring<> ring = four();
    expect_error([&] { (void)ringplan::plan_hint_return(ring, "zz", ringplan::Rf{2}); },
                 Errc::unknown_node, "returning node 'zz'");
    ringplan::PlanOptions<std::string> options(ringplan::Rf{2});
    options.down = {"nope"};
    expect_error([&] { (void)ringplan::plan_hint_return(ring, "a", options); }, Errc::unknown_node,
                 "'nope'");
    expect_error([&] { (void)ringplan::plan_hint_return(ring, "a", ringplan::Rf{0}); },
                 Errc::invalid_rf, "at least 1");
}

template <class Hash>
void check_random_return_plans(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::size_t checked = 0;
    for (int round = 0; round < 150; ++round) {
        RandomCase<Hash> c = random_case<Hash>(rng);
        const std::string back = c.ids[rng() % c.ids.size()];
        const std::size_t rf = 1 + rng() % 4;
        ringplan::PlanOptions<std::string> options(ringplan::Rf{rf});
        options.down.assign(c.down.begin(), c.down.end());
        const auto plan = ringplan::plan_hint_return(c.ring, back, options);
        Down down = c.down;
        down.insert(back);

        // Sorted, disjoint, merged, all to `back`, none from a down node.
        for (std::size_t k = 0; k < plan.moves.size(); ++k) {
            const auto& m = plan.moves[k];
            CHECK(m.to == back);
            CHECK(down.count(m.from) == 0);
            if (k > 0) {
                const auto& p = plan.moves[k - 1];
                REQUIRE(p.range.last < m.range.first);
                CHECK_FALSE((p.range.last + 1 == m.range.first && p.from == m.from));
            }
        }
        CHECK(plan.lost.empty());
        for (Token t : probes(c.naive, rng)) {
            const auto homes = c.naive.replicas(t, rf);
            std::vector<std::string> from;
            for (const auto& m : plan.moves) {
                if (m.range.contains(t)) {
                    from.push_back(m.from);
                }
            }
            bool under = false;
            for (const auto& r : plan.under_replicated) {
                under = under || r.contains(t);
            }
            INFO("token " << t << " returning " << back << " rf " << rf);
            if (std::find(homes.begin(), homes.end(), back) == homes.end()) {
                CHECK(from.empty());
                CHECK_FALSE(under);
                continue;
            }
            std::optional<std::string> holder;
            for (const Entry& e : naive_preference(c.naive, t, rf, down)) {
                if (e.hint == back) {
                    holder = e.node;
                }
            }
            if (holder) {
                CHECK(from == std::vector<std::string>{*holder});
                CHECK_FALSE(under);
            } else {
                CHECK(from.empty());
                CHECK(under);
            }
            ++checked;
        }
    }
    CHECK(checked > 1000);
}

TEST_CASE("plan_hint_return: random rings and down sets against the model", "[handoff]") {
    check_random_return_plans<ringplan::Xxh3>(21);
    check_random_return_plans<rp_test::CoarseHash>(22);
}

TEST_CASE("hint return and preference lists with fewer healthy nodes than rf end",
          "[handoff][skewed]") {
    // Three nodes at rf 3: the returning node is a home replica of every range and no fallback
    // exists. Before, each of its ~200,000 segments walked the whole ring looking for a third
    // healthy node (11.5 s at 8,192 vnodes each; 100,000 did not finish).
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b", "c"}, 100000);
    const auto plan = ringplan::plan_hint_return(ring, "a", ringplan::Rf{3});
    CHECK(plan.moves.empty());
    CHECK(plan.under_replicated == std::vector<TokenRange>{{0, ringplan::max_token}});
    // One node up of three, n = 3: the list holds it, and the walk stops once every node is met.
    for (int k = 0; k < 1000; ++k) {
        const auto list =
            ringplan::preference_list(ring, "key-" + std::to_string(k), ringplan::Rf{3},
                                      [](const std::string& n) { return n == "b"; });
        REQUIRE(list.size() == 1);
        CHECK(list[0].node == "b");
    }
}

TEST_CASE("preference_list past 16 nodes met or down homes matches the model", "[handoff]") {
    // preference_list_at keeps up to 16 nodes met and down homes in place, then moves them to
    // the heap: many nodes, most of them down, cross that bound both ways.
    std::mt19937_64 rng(1129);
    for (int round = 0; round < 60; ++round) {
        const auto members = rp_test::random_members(rng, 48, 4, false);
        ringplan::Ring<> ring;
        for (const auto& m : members) {
            rp_test::add_member(ring, m);
        }
        const auto naive = rp_test::naive_of<ringplan::Xxh3>(members);
        Down down;
        for (const auto& m : members) {
            if (rng() % 4 != 0) {
                down.insert(m.id);
            }
        }
        for (int q = 0; q < 10; ++q) {
            const Token t = rng();
            const std::size_t n = 1 + rng() % 30;
            INFO("round " << round << ", token " << t << ", n " << n);
            CHECK(ringplan::preference_list_at(ring, t, ringplan::Rf{n}, up_unless(down)) ==
                  naive_preference(naive, t, n, down));
        }
    }
}
