// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_SCHEDULE_HPP
#define RINGPLAN_SCHEDULE_HPP

#include <ringplan/error.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// How much may stream at once: the limits of one wave of a schedule.
struct ScheduleLimits {
    /// The most moves one node sends in one wave (concurrent outgoing streams). At least 1.
    std::size_t max_send = 1;
    /// The most moves one node receives in one wave (concurrent incoming streams). At least 1.
    std::size_t max_recv = 1;
    /// An optional budget per wave, in fractions of the ring: the ranges of a wave's moves sum
    /// to at most this much (TokenRange::fraction() is the cost; with data spread evenly over
    /// the ring, a budget of b bytes out of a store of B bytes is b / B). Any positive value; a
    /// move larger than the budget gets a wave of its own.
    std::optional<double> max_fraction;
};

/// Moves ordered into waves: run the waves one after the other, the moves of a wave at once.
template <class NodeId>
struct Schedule {
    /// The waves in order; each holds its moves in the order of the input. Every input move is
    /// in exactly one wave.
    std::vector<std::vector<Move<NodeId>>> waves;
    /// No schedule has fewer waves than this: the largest, over nodes, of ceil(sent / max_send)
    /// and ceil(received / max_recv); with a budget, also the number of moves larger than the
    /// budget plus ceil(the other moves' total fraction / max_fraction).
    std::size_t lower_bound = 0;
};

/// Orders `moves` into waves so that in every wave no node sends more than `limits.max_send`
/// moves, none receives more than `limits.max_recv`, and (with a budget) the wave's ranges sum
/// to at most `limits.max_fraction` of the ring (throttled catch-up).
///
/// Greedy: moves are taken busiest first (the larger of their sender's sent / max_send and their
/// receiver's received / max_recv, then input order) and each goes to the first wave with room.
/// Without a budget this uses at most 2 x lower_bound - 1 waves (a move waits only for waves
/// its sender or its receiver fills); on random plans it is within a wave or two of the lower
/// bound (tests/schedule_test.cpp reports the measured ratio). Deterministic.
/// Cost: O(moves x waves) time, O(moves + waves x nodes) memory.
/// Errors: invalid_limit (max_send or max_recv of 0, a budget that is not positive).
template <class NodeId>
Schedule<NodeId> schedule(const std::vector<Move<NodeId>>& moves, const ScheduleLimits& limits);

/// schedule over the moves of a plan.
template <class NodeId>
Schedule<NodeId> schedule(const Plan<NodeId>& plan, const ScheduleLimits& limits) {
    return schedule(plan.moves, limits);
}

// ---- implementation ------------------------------------------------------------------------

namespace detail {

inline void check_limits(const ScheduleLimits& limits) {
    if (limits.max_send == 0) {
        raise(Errc::invalid_limit, "max_send must be at least 1, got 0");
    }
    if (limits.max_recv == 0) {
        raise(Errc::invalid_limit, "max_recv must be at least 1, got 0");
    }
    if (limits.max_fraction && !(*limits.max_fraction > 0)) {  // also NaN
        raise(Errc::invalid_limit,
              "max_fraction must be positive, got " + std::to_string(*limits.max_fraction));
    }
}

inline std::size_t ceil_div(std::size_t a, std::size_t b) noexcept {
    return (a + b - 1) / b;
}

}  // namespace detail

template <class NodeId>
Schedule<NodeId> schedule(const std::vector<Move<NodeId>>& moves, const ScheduleLimits& limits) {
    detail::check_limits(limits);
    Schedule<NodeId> out;
    const std::size_t m = moves.size();
    if (m == 0) {
        return out;
    }
    // Node indices: the ids in ascending order.
    std::vector<const NodeId*> ids;
    ids.reserve(2 * m);
    for (const Move<NodeId>& mv : moves) {
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
        out.lower_bound = std::max({out.lower_bound, detail::ceil_div(sent[n], limits.max_send),
                                    detail::ceil_div(received[n], limits.max_recv)});
    }
    if (limits.max_fraction) {
        // A move over the budget needs a wave of its own; the others share waves.
        std::size_t big = 0;
        double small = 0;
        for (const Move<NodeId>& mv : moves) {
            if (mv.range.fraction() > *limits.max_fraction) {
                ++big;
            } else {
                small += mv.range.fraction();
            }
        }
        const double waves = std::ceil(small / *limits.max_fraction - 1e-9);
        out.lower_bound = std::max(out.lower_bound, big + static_cast<std::size_t>(waves));
    }

    // Busiest first: a move's weight is the larger of its endpoints' wave counts. Weights are
    // compared as exact fractions a/b by cross-multiplying.
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

    // First fit. Per wave: what each node sends and receives so far, and the budget used.
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

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_SCHEDULE_HPP
