// Balanced stream sources (docs/plans.md, "Sources"): on random rings, every plan's busiest
// source sends at most the splittable optimum plus the largest range, every source is a
// candidate, and the plan moves the same ranges to the same nodes as the contract says. The
// candidate pools and the optimum are derived here from the two rings (tests/plan_model.hpp),
// the optimum by its min-cut formula: max over node sets T of (the tokens of the jobs whose
// candidates all lie in T) / |T|.
#include "catch.hpp"
#include "plan_model.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using ringplan::max_token;
using ringplan::Token;
using ringplan::TokenRange;
using rp_model::has;
using rp_model::minus;
using rp_model::Nodes;
using rp_model::SortedRing;
using rp_test::ids_of;
using rp_test::Member;
using rp_test::pick;
using rp_test::random_down;

namespace {

using Plan = ringplan::Plan<std::string>;
using Options = ringplan::PlanOptions<std::string>;

// Tokens as long double: exact below 2^64 on x86, and the checks allow a few tokens of slack.
using Tokens = long double;
constexpr Tokens ring_tokens = 18446744073709551616.0L;

Tokens width(const TokenRange& r) {
    return static_cast<Tokens>(r.last - r.first) + 1;
}

// One model segment: its ranges, replica lists and what the contract says about it.
struct Piece {
    TokenRange ranges[2];
    std::size_t count = 0;
    Tokens tokens = 0;
    Nodes rb, ra, gained, pool;
    bool lost = false;
};

std::vector<Piece> pieces(const SortedRing& before, const SortedRing& after, std::size_t rf,
                          const Nodes& down, bool strict) {
    std::vector<Piece> out;
    for (const auto& s : rp_model::segments(before, after)) {
        Piece p;
        p.rb = before.replicas(s.hi, rf);
        p.ra = after.replicas(s.hi, rf);
        const auto e = rp_model::expect(p.rb, p.ra, rf, down);
        p.lost = e.lost;
        p.gained = e.gained;
        // Strict: a node that drops out, if one is up; else (or not strict) any up old replica.
        p.pool = strict ? e.sources : minus(p.rb, down);
        for (std::size_t k = 0; k < s.count; ++k) {
            p.ranges[p.count++] = s.ranges[k];
            p.tokens += width(s.ranges[k]);
        }
        out.push_back(p);
    }
    return out;
}

// The splittable optimum: max over candidate sets T of w(jobs with pool within T) / |T|.
Tokens splittable_optimum(const std::vector<Piece>& ps) {
    Nodes nodes;
    for (const auto& p : ps) {
        for (const auto& n : p.pool) {
            if (!p.gained.empty() && !has(nodes, n)) {
                nodes.push_back(n);
            }
        }
    }
    REQUIRE(nodes.size() <= 16);
    std::map<std::uint32_t, Tokens> by_pool;  // pool as a bit set of `nodes`
    for (const auto& p : ps) {
        if (p.gained.empty()) {
            continue;
        }
        std::uint32_t bits = 0;
        for (const auto& n : p.pool) {
            bits |= 1u << (std::find(nodes.begin(), nodes.end(), n) - nodes.begin());
        }
        by_pool[bits] += p.tokens * static_cast<Tokens>(p.gained.size());
    }
    Tokens best = 0;
    for (std::uint32_t t = 1; t < (1u << nodes.size()); ++t) {
        Tokens inside = 0;
        for (const auto& entry : by_pool) {
            if ((entry.first & ~t) == 0) {
                inside += entry.second;
            }
        }
        best = std::max(best, inside / static_cast<Tokens>(__builtin_popcount(t)));
    }
    return best;
}

// The largest job: the widest stretch of consecutive segments (around the circle) with the same
// lists and something gained. The planner's jobs are never wider.
Tokens largest_job(const std::vector<Piece>& ps) {
    const std::size_t n = ps.size();
    const auto same = [&](std::size_t a, std::size_t b) {
        return ps[a].rb == ps[b].rb && ps[a].ra == ps[b].ra;
    };
    Tokens best = 0;
    // Segment 0 wraps: it follows the last one. Start after a change of lists, if any.
    std::size_t start = 0;
    while (start < n && same(start, (start + n - 1) % n)) {
        ++start;
    }
    if (start == n) {  // one list all around
        return ps[0].gained.empty() ? 0 : ring_tokens;
    }
    Tokens run = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (start + k) % n;
        if (k > 0 && !same(i, (i + n - 1) % n)) {
            run = 0;
        }
        if (!ps[i].gained.empty() && !ps[i].lost) {
            run += ps[i].tokens;
            best = std::max(best, run);
        }
    }
    return best;
}

// The pieces a range meets (pieces are sorted by hi; the first wraps).
template <class F>
void for_pieces_meeting(const std::vector<Piece>& ps, const TokenRange& r, F&& f) {
    for (const auto& p : ps) {
        for (std::size_t k = 0; k < p.count; ++k) {
            if (p.ranges[k].first <= r.last && r.first <= p.ranges[k].last) {
                f(p);
            }
        }
    }
}

// Checks one plan against the model; "" when all holds, else what failed.
std::string check(const Plan& plan, const SortedRing& before, const SortedRing& after,
                  std::size_t rf, const Nodes& down, bool strict) {
    const std::vector<Piece> ps = pieces(before, after, rf, down, strict);
    std::string problems;
    const auto fail = [&](const std::string& what) {
        if (problems.size() < 2000) {
            problems += "\n  - " + what;
        }
    };
    // Every source a candidate of every segment its move covers, every receiver a gainer.
    std::map<std::string, Tokens> sent;
    std::map<std::string, std::vector<TokenRange>> got, want;
    for (const auto& m : plan.moves) {
        sent[m.from] += width(m.range);
        got[m.to].push_back(m.range);
        for_pieces_meeting(ps, m.range, [&](const Piece& p) {
            if (!has(p.pool, m.from) || !has(p.gained, m.to)) {
                fail("move " + rp_model::str(m.range) + " " + m.from + "->" + m.to + ": rb " +
                     rp_model::str(p.rb) + " ra " + rp_model::str(p.ra) + " candidates " +
                     rp_model::str(p.pool));
            }
        });
    }
    // The same (range, receiver) pairs as the contract: each gainer gets exactly its gains.
    for (const auto& p : ps) {
        for (const auto& g : p.gained) {
            want[g].insert(want[g].end(), p.ranges, p.ranges + p.count);
        }
    }
    for (auto& entry : want) {
        if (rp_model::merged(entry.second) != rp_model::merged(got[entry.first])) {
            fail(entry.first + " receives other ranges than it gains");
        }
    }
    for (const auto& entry : got) {
        if (!want.count(entry.first) && !entry.second.empty()) {
            fail(entry.first + " receives ranges it does not gain");
        }
    }
    // The bound, and the figures on the plan.
    Tokens most = 0;
    for (const auto& entry : sent) {
        most = std::max(most, entry.second);
    }
    const Tokens optimum = splittable_optimum(ps);
    const Tokens largest = largest_job(ps);
    const Tokens slack = 4 + optimum * 1e-15L;
    if (most > optimum + largest + slack) {
        fail("the busiest source sends " + std::to_string(static_cast<double>(most / ring_tokens)) +
             ", more than the optimum " +
             std::to_string(static_cast<double>(optimum / ring_tokens)) +
             " plus the largest range " +
             std::to_string(static_cast<double>(largest / ring_tokens)));
    }
    const auto near = [](double a, Tokens b) {
        const Tokens x = static_cast<Tokens>(a) * ring_tokens;
        return x <= b * (1 + 1e-12L) + 4 && b <= x * (1 + 1e-12L) + 4;
    };
    if (!near(plan.max_sent, most)) {
        fail("plan.max_sent " + std::to_string(plan.max_sent) + " is not the busiest source's " +
             std::to_string(static_cast<double>(most / ring_tokens)));
    }
    if (!near(plan.optimal_max_sent, optimum)) {
        fail("plan.optimal_max_sent " + std::to_string(plan.optimal_max_sent) +
             " is not the optimum " + std::to_string(static_cast<double>(optimum / ring_tokens)));
    }
    if (plan.max_sent < plan.optimal_max_sent * (1 - 1e-12)) {
        fail("max_sent below the optimum");
    }
    return problems;
}

// 1-12 members with 1-64 vnodes (mixed), or skewed: one with 64 vnodes among ones with 1.
std::vector<Member> random_members(rp_model::World& world, bool skewed) {
    auto& rng = world.rng;
    std::vector<Member> out;
    const std::size_t n = 1 + rng() % 12;
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t most =
            skewed ? (k == 0 ? 64u : 1u) : pick<std::uint32_t>(rng, {1, 4, 64});
        Member m = world.member(most, rng() % 4 == 0);
        if (skewed && m.vnodes > 0) {
            m.vnodes = most;
        }
        out.push_back(m);
    }
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

std::string where(std::uint64_t seed, int round, const std::string& what, std::size_t rf,
                  const Nodes& down, bool strict, const std::vector<Member>& before,
                  const std::vector<Member>& after) {
    return "seed " + std::to_string(seed) + " round " + std::to_string(round) + " " + what +
           " rf " + std::to_string(rf) + " strict " + (strict ? "yes" : "no") + " down " +
           rp_model::str(down) + "\nbefore: " + rp_model::describe(before) +
           "\nafter: " + rp_model::describe(after);
}

}  // namespace

TEST_CASE("plans keep the busiest source within the optimum plus the largest range",
          "[plan][sources][property]") {
    using Hash = ringplan::Xxh3;
    const std::uint64_t seed = 1606;
    std::mt19937_64 rng(seed);
    int checked = 0;
    for (int round = 0; round < 120; ++round) {
        rp_model::World world(rng);
        const bool skewed = round % 4 == 0;
        const auto members = random_members(world, skewed);
        const auto ring = rp_model::build<Hash>(members);
        const auto model = rp_model::model_of<Hash>(members);
        const std::size_t rf = 1 + rng() % 4;
        const bool strict = rng() % 2 == 0;
        Options options(ringplan::Rf{rf});
        options.down = random_down(rng, ids_of(members), {0, 0, 10, 30});
        options.strict_sources = strict;
        const std::string node = members[rng() % members.size()].id;
        std::vector<Member> without;
        for (const auto& m : members) {
            if (m.id != node) {
                without.push_back(m);
            }
        }
        const auto model_without = rp_model::model_of<Hash>(without);
        const auto report = [&](const std::string& what, const Plan& plan, const SortedRing& after,
                                const Nodes& down, const std::vector<Member>& after_members) {
            const std::string problems = check(plan, model, after, rf, down, strict);
            INFO(where(seed, round, what, rf, down, strict, members, after_members));
            CHECK(problems == "");
            ++checked;
        };
        {
            const auto leave = ringplan::plan_leave(ring, node, options);
            report("leave " + node, leave, model_without, options.down, without);
            auto ring_without = ring;
            ring_without.remove_node(node);
            CHECK(leave.moves == ringplan::diff(ring, ring_without, options).moves);
        }
        {
            Nodes down = options.down;
            if (!has(down, node)) {
                down.push_back(node);
            }
            report("crash " + node, ringplan::plan_crash(ring, node, options), model_without, down,
                   without);
        }
        {
            const Member joiner = world.member(skewed ? 64 : 16, false);
            auto with = members;
            with.push_back(joiner);
            report("join " + joiner.id,
                   ringplan::plan_join(ring, joiner.id, joiner.vnodes, options),
                   rp_model::model_of<Hash>(with), options.down, with);
        }
        {
            // Several changes at once: one member goes, one comes, one changes its vnodes.
            auto after = without;
            after.push_back(world.member(skewed ? 1 : 64, rng() % 3 == 0));
            if (!after.empty() && after[0].vnodes > 0) {
                after[0].vnodes = 1 + static_cast<std::uint32_t>(rng() % 64);
            }
            if (ids_of(after).size() > 0) {
                Nodes all = ids_of(members);
                for (const auto& id : ids_of(after)) {
                    if (!has(all, id)) {
                        all.push_back(id);
                    }
                }
                Options o = options;
                o.down = random_down(rng, all, {0, 0, 10, 30});
                report("diff", ringplan::diff(ring, rp_model::build<Hash>(after), o),
                       rp_model::model_of<Hash>(after), o.down, after);
            }
        }
    }
    CHECK(checked == 480);
}

TEST_CASE("without strict sources a leave spreads its streams over the survivors",
          "[plan][sources]") {
    // 12 nodes of 8 vnodes, rf 3: a strict leave streams everything from the leaving node;
    // a non-strict one may use every up old replica, and balances over them.
    ringplan::Ring<> ring;
    Nodes ids;
    for (int k = 0; k < 12; ++k) {
        ids.push_back("n" + std::to_string(k));
    }
    ring.add_nodes(ids, 8);
    Options strict(ringplan::Rf{3});
    const auto a = ringplan::plan_leave(ring, "n5", strict);
    Options loose = strict;
    loose.strict_sources = false;
    const auto b = ringplan::plan_leave(ring, "n5", loose);
    std::set<std::string> senders;
    for (const auto& m : a.moves) {
        senders.insert(m.from);
    }
    CHECK(senders == std::set<std::string>{"n5"});
    CHECK(a.source_balance() == 1.0);  // one candidate everywhere: nothing to balance
    senders.clear();
    for (const auto& m : b.moves) {
        senders.insert(m.from);
    }
    CHECK(senders.size() > 1);
    CHECK(b.max_sent < a.max_sent);
    CHECK(b.moved_fraction() == a.moved_fraction());
    // The same receivers get the same ranges.
    const auto received = [](const Plan& p) {
        std::map<std::string, std::vector<TokenRange>> out;
        for (const auto& m : p.moves) {
            out[m.to].push_back(m.range);
        }
        for (auto& e : out) {
            e.second = rp_model::merged(e.second);
        }
        return out;
    };
    CHECK(received(a) == received(b));
}

TEST_CASE("crash plans on rings with few vnodes stay within the bound, deterministically",
          "[plan][sources]") {
    // 30 nodes of 4 vnodes, rf 3, every node crashing in turn: ranges are wide next to the
    // optimum here, the case the bound is about.
    ringplan::Ring<> ring;
    Nodes ids;
    for (int k = 0; k < 30; ++k) {
        ids.push_back("node-" + std::to_string(k));
    }
    ring.add_nodes(ids, 4);
    for (const auto& id : ids) {
        const auto plan = ringplan::plan_crash(ring, id, ringplan::Rf{3});
        REQUIRE(plan.optimal_max_sent > 0);
        CHECK(plan.max_sent >= plan.optimal_max_sent);
        double largest = 0;
        for (const auto& m : plan.moves) {
            largest = std::max(largest, m.range.fraction());
        }
        // A job that wraps around token 0 is two moves: twice the largest move bounds any job.
        CHECK(plan.max_sent <= plan.optimal_max_sent + 2 * largest + 1e-15);
        const auto again = ringplan::plan_crash(ring, id, ringplan::Rf{3});
        CHECK(again.moves == plan.moves);
        CHECK(again.max_sent == plan.max_sent);
        CHECK(again.optimal_max_sent == plan.optimal_max_sent);
    }
}

TEST_CASE("a hint return's sources are fixed: its figures are what the busiest fallback sends",
          "[plan][sources]") {
    ringplan::Ring<> ring;
    Nodes ids;
    for (int k = 0; k < 8; ++k) {
        ids.push_back("n" + std::to_string(k));
    }
    ring.add_nodes(ids, 16);
    Options options(ringplan::Rf{3});
    options.down = {"n2"};
    const auto plan = ringplan::plan_hint_return(ring, "n5", options);
    REQUIRE(!plan.moves.empty());
    double most = 0;
    for (const auto& t : plan.traffic()) {
        most = std::max(most, t.sent);
    }
    CHECK(std::abs(plan.max_sent - most) <= 1e-12);
    CHECK(plan.optimal_max_sent == plan.max_sent);
    CHECK(plan.source_balance() == 1.0);
    // An empty plan sends nothing: the ratio is 1 by definition.
    const auto none = ringplan::diff(ring, ring, options);
    CHECK(none.max_sent == 0);
    CHECK(none.optimal_max_sent == 0);
    CHECK(none.source_balance() == 1.0);
}
