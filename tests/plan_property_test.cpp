// Property tests of the plans (docs/design.md "Plans"): on random rings, diff, plan_leave,
// plan_crash and plan_join agree token range by token range with the reference model of
// tests/plan_model.hpp, have the promised structure, totals and key projections, reject bad
// input, and do not depend on how the rings were built.
#include "catch.hpp"
#include "expect_error.hpp"
#include "plan_model.hpp"
#include "test_util.hpp"
#include "topology_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using ringplan::Errc;
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

template <class Hash>
using Ring = ringplan::Ring<Hash>;
using Plan = ringplan::Plan<std::string>;  // the same for every policy
using Options = ringplan::PlanOptions<std::string>;
using Move = ringplan::Move<std::string>;

// Collects failed expectations, so that the hot loops run without Catch assertions and a
// failure still says exactly what went wrong (the first dozen, and how many in all).
class Failures {
public:
    template <class Message>
    void expect(bool ok, Message&& message) {
        if (!ok) {
            if (count_ < 12) {
                text_ += "\n  - ";
                text_ += message();
            }
            ++count_;
        }
    }
    std::string summary() const {
        return count_ == 0 ? std::string() : std::to_string(count_) + " failed:" + text_;
    }

private:
    std::size_t count_ = 0;
    std::string text_;
};

// One Catch assertion per check; the context (seed, round, rings...) is built only on failure.
void report(const std::string& problems, const std::function<std::string()>& context) {
    if (problems.empty()) {
        CHECK(problems.empty());
        return;
    }
    INFO(context());
    CHECK(problems == "");
}

using rp_model::str;
std::string str(const Move& m) {
    return str(m.range) + " " + m.from + "->" + m.to;
}

bool in_ranges(const std::vector<TokenRange>& ranges, Token t) {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), t,
                               [](Token x, const TokenRange& r) { return x < r.first; });
    return it != ranges.begin() && std::prev(it)->contains(t);
}

// "" when equal, else the first difference.
std::string range_difference(const std::vector<TokenRange>& got,
                             const std::vector<TokenRange>& want) {
    for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
        if (i >= got.size() || i >= want.size() || got[i] != want[i]) {
            return "range " + std::to_string(i) + ": got " +
                   (i < got.size() ? str(got[i]) : "nothing") + ", want " +
                   (i < want.size() ? str(want[i]) : "nothing") + " (" +
                   std::to_string(got.size()) + " vs " + std::to_string(want.size()) + " ranges)";
        }
    }
    return "";
}

std::string plan_difference(const Plan& a, const Plan& b) {
    if (a.rf != b.rf) {
        return "rf " + std::to_string(a.rf.value()) + " vs " + std::to_string(b.rf.value());
    }
    for (std::size_t i = 0; i < std::max(a.moves.size(), b.moves.size()); ++i) {
        if (i >= a.moves.size() || i >= b.moves.size() || a.moves[i] != b.moves[i]) {
            return "move " + std::to_string(i) + ": " +
                   (i < a.moves.size() ? str(a.moves[i]) : "nothing") + " vs " +
                   (i < b.moves.size() ? str(b.moves[i]) : "nothing");
        }
    }
    std::string d = range_difference(a.lost, b.lost);
    if (!d.empty()) {
        return "lost " + d;
    }
    d = range_difference(a.under_replicated, b.under_replicated);
    return d.empty() ? d : "under_replicated " + d;
}

// The moves of a plan by receiving node, each list sorted by range start.
struct ByReceiver {
    std::map<std::string, std::vector<const Move*>> lists;

    explicit ByReceiver(const std::vector<Move>& moves) {
        for (const Move& m : moves) {
            lists[m.to].push_back(&m);
        }
        for (auto& entry : lists) {
            std::stable_sort(entry.second.begin(), entry.second.end(),
                             [](const Move* x, const Move* y) { return x->range < y->range; });
        }
    }

    // The moves whose range holds t (one per receiver at most, once the receivers' ranges are
    // known to be disjoint), by receiver.
    std::vector<const Move*> at(Token t) const {
        std::vector<const Move*> out;
        for (const auto& entry : lists) {
            const auto& list = entry.second;
            auto it = std::upper_bound(list.begin(), list.end(), t,
                                       [](Token x, const Move* m) { return x < m->range.first; });
            if (it != list.begin() && (*std::prev(it))->range.contains(t)) {
                out.push_back(*std::prev(it));
            }
        }
        return out;
    }
};

// 6. Sorted moves, merged (from, to) runs; lost and under_replicated sorted, disjoint, merged.
void check_ranges(const std::vector<TokenRange>& ranges, const std::string& what, Failures& f) {
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        f.expect(ranges[i].first <= ranges[i].last,
                 [&] { return what + " range " + str(ranges[i]) + " is reversed"; });
        if (i > 0) {
            const TokenRange& a = ranges[i - 1];
            const TokenRange& b = ranges[i];
            f.expect(a.last < b.first && a.last + 1 != b.first, [&] {
                return what + " ranges " + str(a) + " and " + str(b) +
                       " are unsorted, overlapping or not merged";
            });
        }
    }
}

void check_structure(const Plan& plan, std::size_t rf, Failures& f) {
    f.expect(plan.rf == rf, [&] { return "plan.rf is " + std::to_string(plan.rf.value()); });
    const auto& moves = plan.moves;
    const auto key = [](const Move& m) {
        return std::tie(m.range.first, m.range.last, m.from, m.to);
    };
    std::map<std::pair<std::string, std::string>, std::vector<TokenRange>> runs;
    for (std::size_t i = 0; i < moves.size(); ++i) {
        const Move& m = moves[i];
        f.expect(m.range.first <= m.range.last, [&] { return "reversed move " + str(m); });
        f.expect(m.from != m.to, [&] { return "move to itself " + str(m); });
        if (i > 0) {
            f.expect(key(moves[i - 1]) < key(m), [&] {
                return "moves out of order or repeated: " + str(moves[i - 1]) + " then " + str(m);
            });
        }
        runs[{m.from, m.to}].push_back(m.range);
    }
    for (auto& run : runs) {
        auto& ranges = run.second;
        std::sort(ranges.begin(), ranges.end());
        for (std::size_t i = 1; i < ranges.size(); ++i) {
            f.expect(ranges[i - 1].last == max_token || ranges[i - 1].last + 1 != ranges[i].first,
                     [&] {
                         return "adjacent moves " + run.first.first + "->" + run.first.second +
                                " not merged: " + str(ranges[i - 1]) + " " + str(ranges[i]);
                     });
        }
    }
    check_ranges(plan.lost, "lost", f);
    check_ranges(plan.under_replicated, "under_replicated", f);
}

// 1-5, exhaustively: every segment between consecutive tokens of the two rings, against the
// model's expectation; each receiver's moves are disjoint and cover exactly what it gains, and
// each move's source is allowed everywhere along its range.
void check_segments(const Plan& plan, const ByReceiver& by, const SortedRing& before,
                    const SortedRing& after, std::size_t rf, const Nodes& down, Failures& f) {
    std::vector<rp_model::Expect> expects;
    std::vector<std::pair<TokenRange, std::size_t>> pieces;  // (range, index in expects)
    std::vector<TokenRange> lost, under;
    std::map<std::string, std::vector<TokenRange>> gains;
    for (const auto& s : rp_model::segments(before, after)) {
        const auto e =
            rp_model::expect(before.replicas(s.hi, rf), after.replicas(s.hi, rf), rf, down);
        for (std::size_t k = 0; k < s.count; ++k) {
            const TokenRange r = s.ranges[k];
            if (e.lost) {
                lost.push_back(r);
            }
            if (e.under) {
                under.push_back(r);
            }
            for (const auto& g : e.gained) {
                gains[g].push_back(r);
            }
            pieces.emplace_back(r, expects.size());
        }
        expects.push_back(e);
    }
    std::sort(pieces.begin(), pieces.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    const std::string lost_diff = range_difference(plan.lost, rp_model::merged(lost));
    f.expect(lost_diff.empty(), [&] { return "plan.lost differs from the model: " + lost_diff; });
    const std::string under_diff = range_difference(plan.under_replicated, rp_model::merged(under));
    f.expect(under_diff.empty(),
             [&] { return "plan.under_replicated differs from the model: " + under_diff; });

    std::set<std::string> receivers;
    for (const auto& g : gains) {
        receivers.insert(g.first);
    }
    for (const auto& l : by.lists) {
        receivers.insert(l.first);
    }
    for (const std::string& to : receivers) {
        std::vector<TokenRange> got;
        auto it = by.lists.find(to);
        if (it != by.lists.end()) {
            for (const Move* m : it->second) {
                if (!got.empty()) {
                    f.expect(got.back().last < m->range.first, [&] {
                        return to + " receives " + str(got.back()) + " and " + str(m->range) +
                               ": overlapping";
                    });
                }
                got.push_back(m->range);
            }
        }
        const std::string d = range_difference(rp_model::merged(got), rp_model::merged(gains[to]));
        f.expect(d.empty(), [&] { return to + " receives other ranges than it gains: " + d; });
    }

    for (const Move& m : plan.moves) {
        // The pieces that meet m.range: from the last one starting at or before m.range.first.
        auto it = std::upper_bound(
            pieces.begin(), pieces.end(), m.range.first,
            [](Token x, const std::pair<TokenRange, std::size_t>& p) { return x < p.first.first; });
        if (it != pieces.begin()) {
            --it;
        }
        for (; it != pieces.end() && it->first.first <= m.range.last; ++it) {
            if (it->first.last < m.range.first) {
                continue;
            }
            const auto& e = expects[it->second];
            f.expect(has(e.gained, m.to) && has(e.sources, m.from), [&] {
                return "move " + str(m) + " over " + str(it->first) + ": rb " + str(e.rb) + " ra " +
                       str(e.ra) + " gained " + str(e.gained) + " allowed sources " +
                       str(e.sources) + (e.lost ? " (lost)" : "");
            });
        }
    }
}

// 1-5 as stated, at probe tokens, straight from the two replica lists.
void check_probe(const Plan& plan, const ByReceiver& by, const SortedRing& before,
                 const SortedRing& after, std::size_t rf, const Nodes& down, Token t, Failures& f) {
    const Nodes rb = before.replicas(t, rf);
    const Nodes ra = after.replicas(t, rf);
    const auto moves = by.at(t);
    const bool lost = in_ranges(plan.lost, t);
    const auto where = [&] {
        std::string moved;
        for (const Move* m : moves) {
            moved += " " + str(*m);
        }
        return "token " + std::to_string(t) + " rb " + str(rb) + " ra " + str(ra) + " down " +
               str(down) + " moves{" + moved + " } lost " + (lost ? "yes" : "no") + ": ";
    };
    const Nodes gained = minus(ra, rb);
    bool all_down = true;
    for (const auto& n : rb) {
        all_down = all_down && has(down, n);
    }
    if (rb.empty() || rp_model::same_set(rb, ra)) {
        f.expect(moves.empty() && !lost, [&] { return where() + "(1) nothing may happen"; });
    } else if (ra.empty() || (!gained.empty() && all_down)) {
        f.expect(moves.empty() && lost, [&] { return where() + "(2) must be lost, no moves"; });
    } else {
        f.expect(!lost, [&] { return where() + "(4) must not be lost"; });
        Nodes tos;
        for (const Move* m : moves) {
            tos.push_back(m->to);
        }
        f.expect(tos.size() == gained.size() && rp_model::same_set(tos, gained),
                 [&] { return where() + "(3) receivers must be exactly " + str(gained); });
        const Nodes dropped_up = minus(minus(rb, ra), down);
        for (const Move* m : moves) {
            f.expect(has(rb, m->from) && !has(down, m->from),
                     [&] { return where() + "(3) source must be an up old replica"; });
            f.expect(dropped_up.empty() || has(dropped_up, m->from), [&] {
                return where() + "(3) source must be a node that drops out: " + str(dropped_up);
            });
        }
        // 4. Applying the moves gives the new layout.
        Nodes layout;
        for (const auto& n : rb) {
            if (has(ra, n)) {
                layout.push_back(n);
            }
        }
        for (const auto& n : tos) {
            if (!has(layout, n)) {
                layout.push_back(n);
            }
        }
        f.expect(rp_model::same_set(layout, ra),
                 [&] { return where() + "(4) the moves give " + str(layout); });
    }
    const bool under = in_ranges(plan.under_replicated, t);
    f.expect(under == (ra.size() < rf), [&] {
        return where() + "(5) under_replicated is " + (under ? "set" : "unset") + " for rf " +
               std::to_string(rf);
    });
}

// 10. traffic() and the totals are sums over the moves.
void check_totals(const Plan& plan, Failures& f) {
    struct Sums {
        double sent = 0, received = 0;
        std::size_t ranges_sent = 0, ranges_received = 0;
    };
    std::map<std::string, Sums> want;
    double moved = 0;
    for (const Move& m : plan.moves) {
        want[m.from].sent += m.range.fraction();
        ++want[m.from].ranges_sent;
        want[m.to].received += m.range.fraction();
        ++want[m.to].ranges_received;
        moved += m.range.fraction();
    }
    double lost = 0;
    for (const TokenRange& r : plan.lost) {
        lost += r.fraction();
    }
    const auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-9; };
    f.expect(close(plan.moved_fraction(), moved), [&] { return "moved_fraction is off"; });
    f.expect(close(plan.lost_fraction(), lost), [&] { return "lost_fraction is off"; });
    f.expect(plan.empty() == (plan.moves.empty() && plan.lost.empty()),
             [&] { return "empty() is off"; });
    const auto traffic = plan.traffic();
    f.expect(traffic.size() == want.size(), [&] {
        return "traffic() lists " + std::to_string(traffic.size()) + " nodes, want " +
               std::to_string(want.size());
    });
    auto w = want.begin();
    for (std::size_t i = 0; i < traffic.size() && w != want.end(); ++i, ++w) {
        const auto& t = traffic[i];
        f.expect(t.node == w->first && close(t.sent, w->second.sent) &&
                     close(t.received, w->second.received) &&
                     t.ranges_sent == w->second.ranges_sent &&
                     t.ranges_received == w->second.ranges_received,
                 [&] { return "traffic() of " + t.node + " (want " + w->first + ") is off"; });
    }
}

// 9. Projections, against a naive walk of the moves.
using KeyMoveValue = std::tuple<Token, std::size_t, std::string, std::string>;

std::vector<KeyMoveValue> naive_projection(const ByReceiver& by, const std::vector<Token>& tokens) {
    std::vector<KeyMoveValue> out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        for (const Move* m : by.at(tokens[i])) {
            out.emplace_back(tokens[i], i, m->from, m->to);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string projection_difference(const Plan& plan, const std::vector<ringplan::KeyMove>& got,
                                  const std::vector<KeyMoveValue>& want) {
    for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
        if (i >= got.size() || i >= want.size()) {
            return "projection has " + std::to_string(got.size()) + " key moves, want " +
                   std::to_string(want.size());
        }
        const auto& g = got[i];
        if (g.move >= plan.moves.size()) {
            return "key move " + std::to_string(i) + " names move " + std::to_string(g.move) +
                   " of " + std::to_string(plan.moves.size());
        }
        const Move& m = plan.moves[g.move];
        const KeyMoveValue value(g.token, g.index, m.from, m.to);
        if (value != want[i]) {
            return "key move " + std::to_string(i) + ": index " + std::to_string(g.index) +
                   " token " + std::to_string(g.token) + " " + m.from + "->" + m.to +
                   ", want index " + std::to_string(std::get<1>(want[i])) + " token " +
                   std::to_string(std::get<0>(want[i])) + " " + std::get<2>(want[i]) + "->" +
                   std::get<3>(want[i]);
        }
    }
    return "";
}

void check_projection(const Plan& plan, const ByReceiver& by, const std::vector<Token>& probes,
                      std::mt19937_64& rng, Failures& f) {
    // Unsorted, with repeats: probes (tokens on and next to vnodes) and random tokens.
    std::vector<Token> tokens;
    for (int i = 0; i < 120; ++i) {
        tokens.push_back(rng() % 3 == 0 ? rng() : probes[rng() % probes.size()]);
    }
    tokens.push_back(tokens.front());
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) {
            std::sort(tokens.begin(), tokens.end());  // the fast path
        }
        const std::string d = projection_difference(plan, ringplan::project_tokens(plan, tokens),
                                                    naive_projection(by, tokens));
        f.expect(d.empty(),
                 [&] { return std::string(pass == 0 ? "unsorted" : "sorted") + " tokens: " + d; });
        std::vector<std::size_t> lost;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (in_ranges(plan.lost, tokens[i])) {
                lost.push_back(i);
            }
        }
        f.expect(ringplan::lost_tokens(plan, tokens) == lost,
                 [&] { return "lost_tokens() is off"; });
    }
    // String keys hash with the ring's policy.
    std::vector<std::string> keys;
    std::vector<Token> key_tokens;
    for (int i = 0; i < 40; ++i) {
        keys.push_back("key:" + std::to_string(rng() % 1000));
        key_tokens.push_back(ringplan::key_token<ringplan::Xxh3>(keys.back()));
    }
    const std::string d = projection_difference(
        plan, ringplan::project_keys<ringplan::Xxh3>(plan, keys), naive_projection(by, key_tokens));
    f.expect(d.empty(), [&] { return "string keys: " + d; });
}

// Every check of one plan against the model of diff(before, after, {rf, down}).
std::string check_plan(const Plan& plan, const SortedRing& before, const SortedRing& after,
                       std::size_t rf, const Nodes& down, std::mt19937_64& rng) {
    Failures f;
    check_structure(plan, rf, f);
    const ByReceiver by(plan.moves);
    check_segments(plan, by, before, after, rf, down, f);

    // Probes: the space's edges, CoarseHash's points and their neighbours, random tokens, and
    // (a sample of at most 400 of) both rings' vnode tokens and their neighbours.
    std::vector<Token> probes = {0, 1, max_token - 1, max_token};
    for (std::uint64_t k = 0; k < 16; ++k) {
        probes.push_back(rp_model::coarse_point(k) - 1);
        probes.push_back(rp_model::coarse_point(k));
        probes.push_back(rp_model::coarse_point(k) + 1);
        probes.push_back(rng());
    }
    std::vector<Token> vnode_tokens = before.tokens();
    const auto more = after.tokens();
    vnode_tokens.insert(vnode_tokens.end(), more.begin(), more.end());
    std::shuffle(vnode_tokens.begin(), vnode_tokens.end(), rng);
    vnode_tokens.resize(std::min<std::size_t>(vnode_tokens.size(), 400));
    for (Token t : vnode_tokens) {
        probes.push_back(t - 1);
        probes.push_back(t);
        probes.push_back(t + 1);
    }
    for (Token t : probes) {
        check_probe(plan, by, before, after, rf, down, t, f);
    }
    check_totals(plan, f);
    check_projection(plan, by, probes, rng, f);
    return f.summary();
}

// ---- random scenarios ----------------------------------------------------------------------

// Several membership changes at once: removals, additions, vnode counts or tokens changed.
std::vector<Member> mutate(rp_model::World& world, std::vector<Member> members,
                           std::uint32_t max_vnodes) {
    auto& rng = world.rng;
    const std::size_t changes = 1 + rng() % 4;
    for (std::size_t c = 0; c < changes; ++c) {
        const auto op = rng() % 4;
        if (op == 0 && !members.empty()) {
            members.erase(members.begin() + static_cast<std::ptrdiff_t>(rng() % members.size()));
        } else if (op == 1 && !members.empty()) {
            Member& m = members[rng() % members.size()];
            if (m.vnodes > 0) {
                m.vnodes = static_cast<std::uint32_t>(1 + rng() % max_vnodes);
            } else {
                std::shuffle(m.tokens.begin(), m.tokens.end(), rng);
                m.tokens.resize(rng() % m.tokens.size());
                const auto extra = world.fresh_tokens(rng() % 4 + (m.tokens.empty() ? 1 : 0));
                m.tokens.insert(m.tokens.end(), extra.begin(), extra.end());
            }
        } else {
            members.push_back(world.member(max_vnodes, rng() % 3 == 0));
        }
    }
    return members;
}

template <class Hash>
std::uint64_t seed_for(std::uint64_t base) {
    return base + (std::is_same<Hash, rp_test::CoarseHash>::value ? 1000 : 0);
}

std::string context(std::uint64_t seed, int round, std::size_t rf, const Nodes& down,
                    const std::vector<Member>& before, const std::vector<Member>& after) {
    return "seed " + std::to_string(seed) + " round " + std::to_string(round) + " rf " +
           std::to_string(rf) + " down " + str(down) + "\nbefore: " + rp_model::describe(before) +
           "\nafter: " + rp_model::describe(after);
}

}  // namespace

TEMPLATE_TEST_CASE("diff agrees with the reference model on random membership changes",
                   "[plan][property]", ringplan::Xxh3, rp_test::CoarseHash) {
    const std::uint64_t seed = seed_for<TestType>(101);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 150; ++round) {
        rp_model::World world(rng);
        const std::size_t max_nodes = pick<std::size_t>(rng, {2, 6, 40});
        const std::uint32_t max_vnodes = pick<std::uint32_t>(rng, {1, 8, 64});
        auto before = world.members(max_nodes, max_vnodes, rng() % 2 == 0);
        auto after = mutate(world, before, max_vnodes);
        switch (round % 15) {
            case 3:
                after = before;  // nothing changes
                break;
            case 7:
                before.clear();  // the first ring: nothing to move yet
                break;
            case 11:
                after.clear();  // everything goes
                break;
            default:
                break;
        }
        const std::size_t rf = 1 + rng() % 5;
        Nodes all = ids_of(before);
        for (const auto& id : ids_of(after)) {
            if (!has(all, id)) {
                all.push_back(id);
            }
        }
        Options options(ringplan::Rf{rf});
        options.down = random_down(rng, all, {0, 10, 30, 70});
        const auto ring_before = rp_model::build<TestType>(before);
        const auto ring_after = rp_model::build<TestType>(after);
        const auto model_before = rp_model::model_of<TestType>(before);
        const auto model_after = rp_model::model_of<TestType>(after);
        if (model_before.vnodes.size() + model_after.vnodes.size() <= 200) {
            // The model's lookups are test_util's naive ones, only faster.
            const auto naive_before = rp_test::naive_of<TestType>(before);
            const auto naive_after = rp_test::naive_of<TestType>(after);
            Failures f;
            for (int k = 0; k < 8; ++k) {
                const Token t = k < 2 ? max_token * static_cast<Token>(k) : rng();
                f.expect(model_before.replicas(t, rf) == naive_before.replicas(t, rf) &&
                             model_after.replicas(t, rf) == naive_after.replicas(t, rf),
                         [&] { return "the model's replicas are off at " + std::to_string(t); });
            }
            report(f.summary(), [&] { return context(seed, round, rf, {}, before, after); });
        }
        const auto plan = ringplan::diff(ring_before, ring_after, options);
        report(check_plan(plan, model_before, model_after, rf, options.down, rng),
               [&] { return context(seed, round, rf, options.down, before, after); });
        // 8. The same inputs give the same plan.
        report(plan_difference(plan, ringplan::diff(ring_before, ring_after, options)),
               [&] { return context(seed, round, rf, options.down, before, after); });
    }
}

TEMPLATE_TEST_CASE("plan_leave, plan_crash and plan_join are diff against the obvious ring",
                   "[plan][property]", ringplan::Xxh3, rp_test::CoarseHash) {
    const std::uint64_t seed = seed_for<TestType>(202);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 50; ++round) {
        rp_model::World world(rng);
        const std::size_t max_nodes = pick<std::size_t>(rng, {2, 6, 40});
        const std::uint32_t max_vnodes = pick<std::uint32_t>(rng, {1, 8, 64});
        const auto members = world.members(max_nodes, max_vnodes, rng() % 2 == 0);
        const auto ring = rp_model::build<TestType>(members);
        const auto model = rp_model::model_of<TestType>(members);
        const std::size_t rf = 1 + rng() % 5;
        Options options(ringplan::Rf{rf});
        options.down = random_down(rng, ids_of(members), {0, 10, 30, 70});

        // Leave and crash of one member.
        const std::string node = members[rng() % members.size()].id;
        std::vector<Member> without;
        for (const auto& m : members) {
            if (m.id != node) {
                without.push_back(m);
            }
        }
        auto ring_without = ring;
        ring_without.remove_node(node);
        const auto model_without = rp_model::model_of<TestType>(without);
        const auto where = [&](const std::string& what, const std::vector<Member>& after,
                               const Nodes& down) {
            return [=] {
                return what + " " + node + ", " + context(seed, round, rf, down, members, after);
            };
        };
        {
            const auto leave = ringplan::plan_leave(ring, node, options);
            report(plan_difference(leave, ringplan::diff(ring, ring_without, options)),
                   where("leave", without, options.down));
            Failures f;
            for (const Move& m : leave.moves) {
                f.expect(m.from == node || has(options.down, node),
                         [&] { return "a leave streams from the leaving node: " + str(m); });
            }
            report(f.summary() + check_plan(leave, model, model_without, rf, options.down, rng),
                   where("leave", without, options.down));
        }
        {
            const auto crash = ringplan::plan_crash(ring, node, options);
            Options crashed = options;
            if (!has(crashed.down, node)) {
                crashed.down.push_back(node);
            }
            report(plan_difference(crash, ringplan::diff(ring, ring_without, crashed)),
                   where("crash", without, crashed.down));
            Failures f;
            for (const Move& m : crash.moves) {
                f.expect(m.from != node, [&] { return "a crashed node sends " + str(m); });
            }
            report(f.summary() + check_plan(crash, model, model_without, rf, crashed.down, rng),
                   where("crash", without, crashed.down));
        }

        // Joins, with the joining node sometimes listed as down (it is in the after ring).
        Options join_options = options;
        const Member joiner = world.member(max_vnodes, false);
        if (rng() % 4 == 0) {
            join_options.down.push_back(joiner.id);
        }
        {
            auto with = members;
            with.push_back(joiner);
            auto ring_with = ring;
            ring_with.add_node(joiner.id, joiner.vnodes);
            const auto join = ringplan::plan_join(ring, joiner.id, joiner.vnodes, join_options);
            report(plan_difference(join, ringplan::diff(ring, ring_with, join_options)),
                   where("join", with, join_options.down));
            report(check_plan(join, model, rp_model::model_of<TestType>(with), rf,
                              join_options.down, rng),
                   where("join", with, join_options.down));
        }
        {
            // Explicit tokens, unsorted, none on an existing vnode.
            const auto taken = model.tokens();
            Member joiner2 = world.member(max_vnodes, true);
            joiner2.tokens = world.fresh_tokens(joiner2.tokens.size(),
                                                std::set<Token>(taken.begin(), taken.end()));
            auto with = members;
            with.push_back(joiner2);
            auto ring_with = ring;
            ring_with.add_node_with_tokens(joiner2.id, joiner2.tokens);
            const auto join =
                ringplan::plan_join_with_tokens(ring, joiner2.id, joiner2.tokens, options);
            report(plan_difference(join, ringplan::diff(ring, ring_with, options)),
                   where("join_with_tokens", with, options.down));
            report(
                check_plan(join, model, rp_model::model_of<TestType>(with), rf, options.down, rng),
                where("join_with_tokens", with, options.down));
        }
    }
}

TEMPLATE_TEST_CASE("plans do not depend on the order the rings were built in", "[plan][property]",
                   ringplan::Xxh3, rp_test::CoarseHash) {
    const std::uint64_t seed = seed_for<TestType>(303);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 40; ++round) {
        rp_model::World world(rng);
        const std::size_t max_nodes = pick<std::size_t>(rng, {6, 40});
        const std::uint32_t max_vnodes = pick<std::uint32_t>(rng, {8, 64});
        auto before = world.members(max_nodes, max_vnodes, true);
        auto after = mutate(world, before, max_vnodes);
        const std::size_t rf = 1 + rng() % 5;
        Options options(ringplan::Rf{rf});
        options.down = random_down(rng, ids_of(before), {0, 10, 30, 70});
        const auto b1 = rp_model::build<TestType>(before);
        const auto a1 = rp_model::build<TestType>(after);
        std::shuffle(before.begin(), before.end(), rng);
        std::shuffle(after.begin(), after.end(), rng);
        const auto b2 = rp_model::build<TestType>(before);
        const auto a2 = rp_model::build<TestType>(after);
        INFO("seed " << seed << " round " << round << " rf " << rf);
        REQUIRE(b1 == b2);
        REQUIRE(a1 == a2);
        Options shuffled = options;
        std::shuffle(shuffled.down.begin(), shuffled.down.end(), rng);
        CHECK(plan_difference(ringplan::diff(b1, a1, options), ringplan::diff(b2, a2, shuffled)) ==
              "");
        const std::string node = before[rng() % before.size()].id;
        CHECK(plan_difference(ringplan::plan_leave(b1, node, options),
                              ringplan::plan_leave(b2, node, shuffled)) == "");
        CHECK(plan_difference(ringplan::plan_crash(b1, node, options),
                              ringplan::plan_crash(b2, node, shuffled)) == "");
        const std::string joiner = world.fresh_id();
        CHECK(plan_difference(ringplan::plan_join(b1, joiner, 16, options),
                              ringplan::plan_join(b2, joiner, 16, shuffled)) == "");
    }
}

TEMPLATE_TEST_CASE("replicated_share is the share of the ring a node replicates",
                   "[plan][property]", ringplan::Xxh3, rp_test::CoarseHash) {
    const std::uint64_t seed = seed_for<TestType>(404);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 60; ++round) {
        rp_model::World world(rng);
        const auto members = world.members(pick<std::size_t>(rng, {3, 40}),
                                           pick<std::uint32_t>(rng, {4, 64}), rng() % 2 == 0);
        const auto ring = rp_model::build<TestType>(members);
        const auto model = rp_model::model_of<TestType>(members);
        const auto segments = rp_model::segments(model, model);
        const std::size_t rf = 1 + rng() % 5;
        for (int k = 0; k < 4; ++k) {
            const std::string node = members[rng() % members.size()].id;
            double want = 0;
            for (const auto& s : segments) {
                if (has(model.replicas(s.hi, rf), node)) {
                    for (std::size_t i = 0; i < s.count; ++i) {
                        want += s.ranges[i].fraction();
                    }
                }
            }
            INFO("seed " << seed << " round " << round << " rf " << rf << " node " << node
                         << "\nring: " << rp_model::describe(members));
            const double share = ringplan::replicated_share(ring, node, ringplan::Rf{rf});
            CHECK(share == Approx(want).margin(1e-9));
            if (ring.node_count() - 1 >= rf) {
                CHECK(ringplan::plan_leave(ring, node, ringplan::Rf{rf}).moved_fraction() ==
                      Approx(share).margin(1e-9));
            }
        }
    }
}

TEST_CASE("crash sources are spread so no node streams much more than the others",
          "[plan][property]") {
    // 10-20 nodes with 64-256 vnodes, rf 3, one node crashes: how much more the busiest source
    // sends than the mean source. Measured over these 24 rounds: at most 1.29, 1.12 on average
    // (300 other rounds: at most 1.44, 1.12 on average). Always taking the first surviving
    // replica instead reaches 1.74 here, 1.48 on average.
    const std::uint64_t seed = 505;
    std::mt19937_64 rng(seed);
    const int rounds = 24;
    double sum = 0;
    for (int round = 0; round < rounds; ++round) {
        rp_model::World world(rng);
        ringplan::Ring<> ring;
        const std::size_t nodes = 10 + rng() % 11;
        Nodes ids;
        for (std::size_t k = 0; k < nodes; ++k) {
            ids.push_back(world.fresh_id());
        }
        ring.add_nodes(ids, static_cast<std::uint32_t>(64 + rng() % 193));
        const std::string crashed = pick(rng, ids);
        const auto plan = ringplan::plan_crash(ring, crashed, ringplan::Rf{3});
        double total = 0, most = 0;
        std::size_t senders = 0;
        for (const auto& t : plan.traffic()) {
            if (t.sent > 0) {
                total += t.sent;
                most = std::max(most, t.sent);
                ++senders;
            }
        }
        INFO("seed " << seed << " round " << round << " nodes " << nodes << " crashed " << crashed);
        REQUIRE(senders > 0);
        const double ratio = most / (total / static_cast<double>(senders));
        CHECK(ratio <= 1.6);
        sum += ratio;
    }
    CHECK(sum / rounds <= 1.25);
}

TEST_CASE("a ring with no nodes places every token on fewer than rf nodes", "[plan][property]") {
    // Property 5 at its edge: |Ra| = 0 < rf everywhere when the new ring is empty, whatever the
    // old one was.
    ringplan::Ring<> empty;
    ringplan::Ring<> one;
    one.add_node("a", 4);
    const std::vector<TokenRange> all = {{0, max_token}};
    CHECK(range_difference(ringplan::diff(one, empty, ringplan::Rf{1}).under_replicated, all) ==
          "");
    CHECK(range_difference(ringplan::plan_leave(one, "a", ringplan::Rf{1}).under_replicated, all) ==
          "");
    CHECK(range_difference(ringplan::diff(empty, empty, ringplan::Rf{1}).under_replicated, all) ==
          "");
    CHECK(ringplan::diff(empty, empty, ringplan::Rf{3}).empty());
    CHECK(
        ringplan::diff(empty, one, ringplan::Rf{3}).empty());  // nothing to move into a first ring
}

TEMPLATE_TEST_CASE("plans reject bad input", "[plan][property]", ringplan::Xxh3,
                   rp_test::CoarseHash) {
    Ring<TestType> ring;
    ring.add_nodes({"a", "b", "c"}, 8);
    ring.add_node_with_tokens("d", {101, 202});
    Ring<TestType> other = ring;
    other.add_node("e", 4);
    const auto code = [](const std::function<void()>& call) {
        const auto c = rp_test::error_code(call);
        return std::string(c ? ringplan::to_string(*c) : "no error");
    };
    // An rf of 0 is refused where it is made, before any plan sees it.
    CHECK(code([&] { (void)ringplan::Rf{0}; }) == "invalid_rf");
    CHECK(code([&] { (void)ringplan::plan_leave(ring, "a", ringplan::Rf{0}); }) == "invalid_rf");
    CHECK(code([&] { (void)ringplan::replicated_share(ring, "a", ringplan::Rf{-3}); }) ==
          "invalid_rf");

    CHECK(code([&] { (void)ringplan::plan_leave(ring, "z", ringplan::Rf{2}); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::plan_crash(ring, "z", ringplan::Rf{2}); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::replicated_share(ring, "z", ringplan::Rf{2}); }) ==
          "unknown_node");
    Options stranger(ringplan::Rf{2});
    stranger.down = {"b", "z"};
    CHECK(code([&] { (void)ringplan::diff(ring, other, stranger); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::plan_leave(ring, "a", stranger); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::plan_crash(ring, "a", stranger); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::plan_join(ring, "y", 4, stranger); }) == "unknown_node");
    CHECK(code([&] { (void)ringplan::plan_join_with_tokens(ring, "y", {7}, stranger); }) ==
          "unknown_node");
    // A down node of either ring is fine: "e" is only in `other`, a joining node only after.
    Options in_after(ringplan::Rf{2});
    in_after.down = {"e"};
    CHECK(code([&] { (void)ringplan::diff(ring, other, in_after); }) == "no error");
    CHECK(code([&] { (void)ringplan::diff(other, ring, in_after); }) == "no error");
    in_after.down = {"y"};
    CHECK(code([&] { (void)ringplan::plan_join(ring, "y", 4, in_after); }) == "no error");
    CHECK(code([&] { (void)ringplan::plan_join_with_tokens(ring, "y", {7}, in_after); }) ==
          "no error");

    CHECK(code([&] { (void)ringplan::plan_join(ring, "a", 4, ringplan::Rf{2}); }) ==
          "duplicate_node");
    CHECK(code([&] { (void)ringplan::plan_join_with_tokens(ring, "d", {7}, ringplan::Rf{2}); }) ==
          "duplicate_node");
    CHECK(code([&] { (void)ringplan::plan_join(ring, "z", 0, ringplan::Rf{2}); }) == "zero_vnodes");
    CHECK(code([&] { (void)ringplan::plan_join_with_tokens(ring, "z", {}, ringplan::Rf{2}); }) ==
          "zero_vnodes");
    CHECK(code([&] {
              (void)ringplan::plan_join_with_tokens(ring, "z", {7, 202}, ringplan::Rf{2});
          }) == "token_collision");
    CHECK(code([&] {
              (void)ringplan::plan_join_with_tokens(ring, "z", {7, 9, 7}, ringplan::Rf{2});
          }) == "token_collision");
    CHECK(code([&] {
              (void)ringplan::plan_join_with_tokens(ring, "z", {ring.vnode_token(5)},
                                                    ringplan::Rf{2});
          }) == "token_collision");
}

namespace {

// A topology for every id: up to 3 datacenters, up to 4 racks each (rack 0 the biggest), some
// nodes without a rack.
struct RandomTopology {
    ringplan::Topology<std::string> topology;
    rp_topo::Locations locations;
    rp_topo::Rfs rfs;
    std::vector<ringplan::DatacenterRf> policy_rfs;
};

RandomTopology random_topology(const Nodes& ids, std::mt19937_64& rng) {
    RandomTopology t;
    const std::size_t dcs = 1 + rng() % 3;
    const std::size_t racks = 1 + rng() % 4;
    for (const auto& id : ids) {
        const std::string dc = "dc" + std::to_string(rng() % dcs);
        std::string rack = "r" + std::to_string(rng() % 2 == 0 ? 0 : rng() % racks);
        if (rng() % 8 == 0) {
            rack.clear();
        }
        t.topology.set(id, dc, rack);
        t.locations[id] = {dc, rack};
    }
    for (std::size_t d = 0; d < dcs; ++d) {
        const auto rf = static_cast<std::uint32_t>(rng() % 4);
        t.rfs["dc" + std::to_string(d)] = static_cast<int>(rf);
        t.policy_rfs.push_back(ringplan::DatacenterRf{"dc" + std::to_string(d), rf});
    }
    if (t.rfs["dc0"] == 0) {
        t.rfs["dc0"] = 1;
        t.policy_rfs[0].rf = 1;
    }
    return t;
}

Nodes dedup(const Nodes& nodes) {
    Nodes out;
    for (const auto& n : nodes) {
        if (!has(out, n)) {
            out.push_back(n);
        }
    }
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("plans under rack-aware and network-topology rules agree with the model",
                   "[plan][property][topology]", ringplan::Xxh3, rp_test::CoarseHash) {
    const std::uint64_t seed = seed_for<TestType>(909);
    std::mt19937_64 rng(seed);
    std::size_t dc_checks = 0;
    for (int round = 0; round < 90; ++round) {
        rp_model::World world(rng);
        const std::size_t max_nodes = pick<std::size_t>(rng, {3, 8, 24});
        const std::uint32_t max_vnodes = pick<std::uint32_t>(rng, {1, 4, 16});
        auto before = world.members(max_nodes, max_vnodes, rng() % 2 == 0);
        auto after = mutate(world, before, max_vnodes);
        Nodes all = ids_of(before);
        for (const auto& id : ids_of(after)) {
            if (!has(all, id)) {
                all.push_back(id);
            }
        }
        const RandomTopology topo = random_topology(all, rng);
        const int kind = round % 4;
        const int rf = 1 + static_cast<int>(rng() % 4);
        ringplan::ReplicaPolicy policy =
            kind == 0   ? ringplan::ReplicaPolicy::rack_aware(ringplan::Rf(rf))
            : kind == 3 ? ringplan::ReplicaPolicy::distinct_nodes(ringplan::Rf(rf))
                        : ringplan::ReplicaPolicy::network_topology(
                              topo.policy_rfs, kind == 1 ? ringplan::ReplicaOrder::server
                                                         : ringplan::ReplicaOrder::driver);
        Options options;
        options.policy = policy;
        options.topology = topo.topology;
        options.down = random_down(rng, all, {0, 10, 30});
        const auto rule = [&](const SortedRing& r, Token t) {
            switch (kind) {
                case 0:
                    return rp_topo::rack_aware(r.vnodes, topo.locations, rf, t);
                case 1:
                    return rp_topo::nts_server(r.vnodes, topo.locations, topo.rfs, t);
                case 2:
                    return dedup(rp_topo::nts_driver(r.vnodes, topo.locations, topo.rfs, t));
                default:
                    return r.replicas(t, static_cast<std::size_t>(rf));
            }
        };
        auto model_before = rp_model::model_of<TestType>(before);
        auto model_after = rp_model::model_of<TestType>(after);
        if (kind != 3) {
            model_before.rule = rule;
            model_after.rule = rule;
        }
        const auto ring_before = rp_model::build<TestType>(before);
        const auto ring_after = rp_model::build<TestType>(after);
        const std::size_t total = policy.total_rf().value();
        const auto plan = ringplan::diff(ring_before, ring_after, options);
        const auto where = [&] {
            return "kind " + std::to_string(kind) + ", " +
                   context(seed, round, total, options.down, before, after);
        };
        report(check_plan(plan, model_before, model_after, total, options.down, rng), where);

        // Per datacenter and per rack, at every segment's last token, from the model's lists.
        Failures f;
        const auto dc_of = [&](const std::string& n) { return topo.locations.at(n).first; };
        for (const auto& s : rp_model::segments(model_before, model_after)) {
            const Nodes rb = model_before.replicas(s.hi, total);
            const Nodes ra = model_after.replicas(s.hi, total);
            const Token t = s.ranges[0].first;  // a token of the segment
            f.expect(kind == 1 || kind == 2 || plan.datacenters.empty(),
                     [&] { return "datacenters reported without a network-topology rule"; });
            if (kind == 1 || kind == 2) {
                f.expect(
                    plan.datacenters.size() ==
                        topo.policy_rfs.size() - static_cast<std::size_t>(std::count_if(
                                                     topo.policy_rfs.begin(), topo.policy_rfs.end(),
                                                     [](const auto& d) { return d.rf == 0; })),
                    [&] { return "one entry per datacenter with an rf"; });
                for (const auto& entry : plan.datacenters) {
                    const auto rf_d = static_cast<std::size_t>(topo.rfs.at(entry.datacenter));
                    std::size_t kept = 0;
                    bool gained = false, had = false, up = false;
                    for (const auto& n : ra) {
                        if (dc_of(n) == entry.datacenter) {
                            ++kept;
                            gained = gained || !has(rb, n);
                        }
                    }
                    for (const auto& n : rb) {
                        if (dc_of(n) == entry.datacenter) {
                            had = true;
                            up = up || !has(options.down, n);
                        }
                    }
                    const bool lost = (gained || (had && kept == 0)) && !up && !rb.empty();
                    f.expect(in_ranges(entry.under_replicated, t) == (kept < rf_d), [&] {
                        return entry.datacenter + " under_replicated at " + std::to_string(t);
                    });
                    f.expect(in_ranges(entry.lost, t) == lost,
                             [&] { return entry.datacenter + " lost at " + std::to_string(t); });
                    ++dc_checks;
                }
            }
            // The rules that know racks never share one while the datacenter has racks to
            // spare; the distinct-node rule is reported when it does.
            std::map<std::string, std::set<std::string>> racks_of_dc, used;
            std::map<std::string, std::size_t> count;
            for (const auto& m : model_after.vnodes) {
                const auto& l = topo.locations.at(m.second);
                racks_of_dc[kind == 1 || kind == 2 ? l.first : ""].insert(l.first + "/" + l.second);
            }
            bool shared = false;
            for (const auto& n : ra) {
                const auto& l = topo.locations.at(n);
                const std::string group = kind == 1 || kind == 2 ? l.first : "";
                used[group].insert(l.first + "/" + l.second);
                ++count[group];
            }
            for (const auto& u : used) {
                shared = shared ||
                         u.second.size() < std::min(count[u.first], racks_of_dc[u.first].size());
            }
            f.expect(in_ranges(plan.rack_shared, t) == shared,
                     [&] { return "rack_shared at " + std::to_string(t); });
            f.expect(!shared || kind == 3 || kind == 2,
                     [&] { return "a rack-aware rule shares a rack at " + std::to_string(t); });
        }
        // Sources stay in the receiver's datacenter when an allowed source is there.
        if (kind == 1 || kind == 2) {
            for (const Move& m : plan.moves) {
                const auto e = rp_model::expect(model_before.replicas(m.range.last, total),
                                                model_after.replicas(m.range.last, total), total,
                                                options.down);
                const bool local =
                    std::any_of(e.sources.begin(), e.sources.end(),
                                [&](const auto& n) { return dc_of(n) == dc_of(m.to); });
                f.expect(!local || dc_of(m.from) == dc_of(m.to),
                         [&] { return "move " + str(m) + " crosses datacenters needlessly"; });
            }
        }
        report(f.summary(), where);

        // Departures and arrivals are diff against the obvious ring, crashes of a rack too.
        if (!before.empty()) {
            // Down nodes of the ring the departures are planned on.
            Options options_b = options;
            options_b.down.clear();
            for (const auto& d : options.down) {
                if (ring_before.contains(d)) {
                    options_b.down.push_back(d);
                }
            }
            const std::string node = before[rng() % before.size()].id;
            auto without = ring_before;
            without.remove_node(node);
            report(plan_difference(ringplan::plan_leave(ring_before, node, options_b),
                                   ringplan::diff(ring_before, without, options_b)),
                   where);
            Options crashed = options_b;
            crashed.down.push_back(node);
            report(plan_difference(ringplan::plan_crash(ring_before, node, options_b),
                                   ringplan::diff(ring_before, without, crashed)),
                   where);
            const auto& l = topo.locations.at(node);
            std::vector<std::string> rack_nodes;
            for (const auto& id : ring_before.nodes()) {
                if (topo.locations.at(id) == l) {
                    rack_nodes.push_back(id);
                }
            }
            auto rackless = ring_before;
            Options rack_down = options_b;
            for (const auto& id : rack_nodes) {
                rackless.remove_node(id);
                rack_down.down.push_back(id);
            }
            const auto rack_plan =
                ringplan::plan_crash_rack(ring_before, l.first, l.second, options_b);
            report(plan_difference(rack_plan, ringplan::diff(ring_before, rackless, rack_down)),
                   where);
            CHECK(rack_plan.datacenters.size() ==
                  ringplan::diff(ring_before, rackless, rack_down).datacenters.size());
        }
    }
    if (TestType::name == std::string("xxh3")) {
        CHECK(dc_checks > 1000);
    }
}
