// The wave scheduler as it was before the rewrite (ringplan commit 8ebad11,
// include/ringplan/schedule.hpp), kept verbatim as a baseline: tests/schedule_test.cpp checks
// that ringplan::schedule makes the same waves, and bench/schedule_bench.cpp times both.
// Greedy busiest-first first fit, scanning every wave for every move: O(moves x waves) time and
// O(waves x nodes) memory. Its known defects are kept too: ceil_div wraps for limits near
// SIZE_MAX and the weights are compared by cross-multiplying, which overflows for limits above
// about 2^32, so only compare it with ringplan::schedule on small limits.
#ifndef RINGPLAN_TESTS_SCHEDULE_REFERENCE_HPP
#define RINGPLAN_TESTS_SCHEDULE_REFERENCE_HPP

#include <ringplan/schedule.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace rp_test {

template <class NodeId>
ringplan::Schedule<NodeId> schedule_reference(const std::vector<ringplan::Move<NodeId>>& moves,
                                              const ringplan::ScheduleLimits& limits) {
    using Move = ringplan::Move<NodeId>;
    const auto ceil_div = [](std::size_t a, std::size_t b) { return (a + b - 1) / b; };
    ringplan::Schedule<NodeId> out;
    const std::size_t m = moves.size();
    if (m == 0) {
        return out;
    }
    std::vector<const NodeId*> ids;
    ids.reserve(2 * m);
    for (const Move& mv : moves) {
        ids.push_back(&mv.from);
        ids.push_back(&mv.to);
    }
    const auto less = [](const NodeId* a, const NodeId* b) { return *a < *b; };
    std::sort(ids.begin(), ids.end(), less);
    ids.erase(std::unique(ids.begin(), ids.end(),
                          [](const NodeId* a, const NodeId* b) { return *a == *b; }),
              ids.end());
    const auto index_of = [&](const NodeId& id) {
        return static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), &id, less) -
                                        ids.begin());
    };
    std::vector<std::size_t> from(m), to(m);
    std::vector<std::size_t> sent(ids.size(), 0), received(ids.size(), 0);
    for (std::size_t k = 0; k < m; ++k) {
        from[k] = index_of(moves[k].from);
        to[k] = index_of(moves[k].to);
        ++sent[from[k]];
        ++received[to[k]];
    }
    for (std::size_t n = 0; n < ids.size(); ++n) {
        out.lower_bound = std::max({out.lower_bound, ceil_div(sent[n], limits.max_send),
                                    ceil_div(received[n], limits.max_recv)});
    }
    if (limits.max_fraction) {
        std::size_t big = 0;
        double small = 0;
        for (const Move& mv : moves) {
            if (mv.range.fraction() > *limits.max_fraction) {
                ++big;
            } else {
                small += mv.range.fraction();
            }
        }
        const double waves = std::ceil(small / *limits.max_fraction - 1e-9);
        out.lower_bound = std::max(out.lower_bound, big + static_cast<std::size_t>(waves));
    }
    struct Weight {
        std::size_t num;
        std::size_t den;
    };
    std::vector<Weight> weight(m);
    const auto greater = [](const Weight& a, const Weight& b) {
        return a.num * b.den > b.num * a.den;
    };
    for (std::size_t k = 0; k < m; ++k) {
        const Weight s{sent[from[k]], limits.max_send};
        const Weight r{received[to[k]], limits.max_recv};
        weight[k] = greater(r, s) ? r : s;
    }
    std::vector<std::size_t> order(m);
    for (std::size_t k = 0; k < m; ++k) {
        order[k] = k;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return greater(weight[a], weight[b]); });
    std::vector<std::vector<std::size_t>> wave_sent, wave_received;
    std::vector<double> wave_fraction;
    std::vector<std::size_t> wave_of(m);
    for (std::size_t k : order) {
        const double cost = moves[k].range.fraction();
        std::size_t w = 0;
        for (; w < wave_sent.size(); ++w) {
            if (wave_sent[w][from[k]] < limits.max_send &&
                wave_received[w][to[k]] < limits.max_recv &&
                (!limits.max_fraction || wave_fraction[w] + cost <= *limits.max_fraction)) {
                break;
            }
        }
        if (w == wave_sent.size()) {
            wave_sent.emplace_back(ids.size(), 0);
            wave_received.emplace_back(ids.size(), 0);
            wave_fraction.push_back(0.0);
        }
        ++wave_sent[w][from[k]];
        ++wave_received[w][to[k]];
        wave_fraction[w] += cost;
        wave_of[k] = w;
    }
    out.waves.resize(wave_sent.size());
    for (std::size_t k = 0; k < m; ++k) {
        out.waves[wave_of[k]].push_back(moves[k]);
    }
    return out;
}

}  // namespace rp_test

#endif  // RINGPLAN_TESTS_SCHEDULE_REFERENCE_HPP
