// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_SCHEDULE_HPP
#define RINGPLAN_SCHEDULE_HPP

#include <ringplan/detail/text.hpp>  // format_double
#include <ringplan/error.hpp>
#include <ringplan/plan_types.hpp>  // Move and Plan, without the planner
#include <ringplan/token.hpp>
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
/// receiver's received / max_recv, compared exactly, then input order) and each goes to the
/// first wave with room. Without a budget this uses at most 2 x lower_bound - 1 waves (a move
/// waits only for waves its sender or its receiver fills); on random plans it is within a wave
/// or two of the lower bound (tests/schedule_test.cpp reports the measured ratio).
/// Deterministic.
///
/// Cost, for m moves: O(m log m) to number the nodes and sort the moves, then per move a search
/// that alternates between the first wave where the sender has room, the first where the
/// receiver has room and (with a budget) the first with budget left, until one wave passes all
/// three. The first two are finds in a per-node "next wave with room" forest (union-find with
/// path compression over the full (node, wave) slots, in a hash table), the third an O(log m)
/// descent of a min segment tree over the waves. Every round but the last skips a wave full for
/// the sender, the receiver or the budget; on random plans of 10^3 to 2 x 10^5 moves a move
/// takes 1.0 to 3.1 rounds on average, so the whole is close to O(m log m). The worst case is
/// O(m x waves) rounds, as for a plain scan of the waves. Memory O(m + nodes).
/// Errors: invalid_limit (max_send or max_recv of 0, a budget that is not positive).
template <class NodeId>
[[nodiscard]] Schedule<NodeId> schedule(const std::vector<Move<NodeId>>& moves,
                                        const ScheduleLimits& limits);

/// schedule over the moves of a plan.
template <class NodeId>
[[nodiscard]] Schedule<NodeId> schedule(const Plan<NodeId>& plan, const ScheduleLimits& limits) {
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
              "max_fraction must be positive, got " + format_double(*limits.max_fraction));
    }
}

/// ceil(a / b) for b > 0; (a + b - 1) / b would wrap for large a + b.
constexpr std::size_t ceil_div(std::size_t a, std::size_t b) noexcept {
    return a / b + (a % b != 0 ? 1 : 0);
}

/// a / b < c / d exactly, for b, d > 0, without forming a product: compare the integer parts,
/// then the fractional parts ra / b < rc / d, which is d / rc < b / ra, and so on down the
/// continued-fraction expansions (Euclid's algorithm: O(log min(b, d)) steps).
constexpr bool fraction_less_portable(std::size_t a, std::size_t b, std::size_t c,
                                      std::size_t d) noexcept {
    for (;;) {
        const std::size_t qa = a / b;
        const std::size_t qc = c / d;
        if (qa != qc) {
            return qa < qc;
        }
        const std::size_t ra = a % b;
        const std::size_t rc = c % d;
        if (ra == 0 || rc == 0) {
            return ra == 0 && rc != 0;
        }
        a = d;
        c = b;
        b = rc;
        d = ra;
    }
}

/// a / b < c / d exactly, for b, d > 0: the cross products in 128 bits where the compiler has
/// them, else fraction_less_portable.
constexpr bool fraction_less(std::size_t a, std::size_t b, std::size_t c, std::size_t d) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 Wide;  // __extension__: no -Wpedantic warning
    static_assert(sizeof(std::size_t) <= 8, "size_t products must fit 128 bits");
    return static_cast<Wide>(a) * d < static_cast<Wide>(c) * b;
#else
    return fraction_less_portable(a, b, c, d);
#endif
}

/// Per node, how many moves it has in each wave (sent, or received), and the first wave from a
/// given one where it has room. The full (node, wave) slots form a forest: a full slot points
/// at a later wave, and a find follows the pointers to a wave with room, compressing the path
/// (Tarjan's disjoint-set forest, as in "next free slot" allocation). Only touched slots are
/// stored, in an open-addressing table sized once for `max_slots` (at most one slot per move),
/// so the memory is O(moves) whatever the number of waves and nodes.
class WaveRoom {
public:
    WaveRoom(std::size_t limit, std::size_t max_slots) : limit_(limit) {
        std::size_t capacity = 16;
        while (capacity < 2 * max_slots) {  // load factor at most 1/2: short probe runs
            capacity *= 2;
        }
        slots_.resize(capacity);
        mask_ = capacity - 1;
    }

    /// The first wave >= `wave` in which `node` has room.
    std::size_t first_from(std::size_t node, std::size_t wave) {
        std::size_t root = wave;
        for (const Slot* slot = find(node, root); slot != nullptr && slot->used == limit_;
             slot = find(node, root)) {
            root = slot->next;
        }
        while (wave != root) {  // every slot on the path is full: point it at the root
            Slot* slot = find(node, wave);
            wave = slot->next;
            slot->next = root;
        }
        return root;
    }

    /// One more move of `node` in `wave` (which has room).
    void add(std::size_t node, std::size_t wave) {
        std::size_t at = hash(node, wave) & mask_;
        while (slots_[at].node_plus_1 != 0 &&
               (slots_[at].node_plus_1 != node + 1 || slots_[at].wave != wave)) {
            at = (at + 1) & mask_;
        }
        Slot& slot = slots_[at];
        slot.node_plus_1 = node + 1;
        slot.wave = wave;
        if (++slot.used == limit_) {
            slot.next = wave + 1;
        }
    }

private:
    struct Slot {
        std::size_t node_plus_1 = 0;  // 0: empty
        std::size_t wave = 0;
        std::size_t used = 0;
        std::size_t next = 0;  // when full: a later wave to look at (path-compressed)
    };

    static std::size_t hash(std::size_t node, std::size_t wave) noexcept {
        // splitmix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number
        // generators", OOPSLA 2014) over both halves of the key.
        std::uint64_t x = static_cast<std::uint64_t>(node) * 0x9e3779b97f4a7c15ULL ^
                          static_cast<std::uint64_t>(wave);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return static_cast<std::size_t>(x ^ (x >> 31));
    }

    Slot* find(std::size_t node, std::size_t wave) {
        for (std::size_t at = hash(node, wave) & mask_;; at = (at + 1) & mask_) {
            Slot& slot = slots_[at];
            if (slot.node_plus_1 == 0) {
                return nullptr;
            }
            if (slot.node_plus_1 == node + 1 && slot.wave == wave) {
                return &slot;
            }
        }
    }

    std::size_t limit_;
    std::size_t mask_ = 0;
    std::vector<Slot> slots_;
};

/// The budget used per wave, and the first wave from a given one that a move of some cost still
/// fits: a segment tree of minima over the waves, descended left first.
class WaveBudget {
public:
    WaveBudget(double budget, std::size_t max_waves) : budget_(budget) {
        while (leaves_ < max_waves) {
            leaves_ *= 2;
        }
        min_.assign(2 * leaves_, 0.0);
    }

    /// The first wave w in [wave, end) with used(w) + cost <= budget, else `end`. The test is
    /// the one the scan made, in the same floating point; it is monotone in used(w) (rounding
    /// is), so a subtree whose minimum fails holds no wave that passes.
    std::size_t first_from(std::size_t wave, std::size_t end, double cost) const {
        return wave >= end ? end : find(1, 0, leaves_, wave, end, cost);
    }

    void add(std::size_t wave, double cost) {
        std::size_t at = leaves_ + wave;
        min_[at] += cost;
        for (at /= 2; at >= 1; at /= 2) {
            min_[at] = std::min(min_[2 * at], min_[2 * at + 1]);
        }
    }

private:
    std::size_t find(std::size_t at, std::size_t lo, std::size_t hi, std::size_t wave,
                     std::size_t end, double cost) const {
        if (hi <= wave || lo >= end || !(min_[at] + cost <= budget_)) {
            return end;
        }
        if (hi - lo == 1) {
            return lo;
        }
        const std::size_t mid = lo + (hi - lo) / 2;
        const std::size_t left = find(2 * at, lo, mid, wave, end, cost);
        return left != end ? left : find(2 * at + 1, mid, hi, wave, end, cost);
    }

    double budget_;
    std::size_t leaves_ = 1;
    std::vector<double> min_;  // min_[1] is the root; leaf w at leaves_ + w
};

}  // namespace detail

template <class NodeId>
Schedule<NodeId> schedule(const std::vector<Move<NodeId>>& moves, const ScheduleLimits& limits) {
    detail::check_limits(limits);
    Schedule<NodeId> out;
    const std::size_t m = moves.size();
    if (m == 0) {
        return out;
    }
    // Node indices: the ids in ascending order. Sort the 2m endpoints (as move * 2 + 0 for the
    // sender, + 1 for the receiver) and number them in one pass.
    const auto id_of = [&](std::size_t end) -> const NodeId& {
        return end % 2 == 0 ? moves[end / 2].from : moves[end / 2].to;
    };
    std::vector<std::size_t> ends(2 * m);
    for (std::size_t e = 0; e < 2 * m; ++e) {
        ends[e] = e;
    }
    std::sort(ends.begin(), ends.end(),
              [&](std::size_t a, std::size_t b) { return id_of(a) < id_of(b); });
    std::vector<std::size_t> from(m), to(m);
    std::size_t nodes = 0;
    for (std::size_t e = 0; e < 2 * m; ++e) {
        if (e > 0 && !(id_of(ends[e - 1]) == id_of(ends[e]))) {
            ++nodes;
        }
        (ends[e] % 2 == 0 ? from : to)[ends[e] / 2] = nodes;
    }
    ++nodes;
    std::vector<std::size_t>().swap(ends);
    std::vector<std::size_t> sent(nodes, 0), received(nodes, 0);
    for (std::size_t k = 0; k < m; ++k) {
        ++sent[from[k]];
        ++received[to[k]];
    }
    for (std::size_t n = 0; n < nodes; ++n) {
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

    // Busiest first: a move's weight is the larger of its endpoints' wave counts, the fraction
    // count / limit, compared exactly (limits may be as large as SIZE_MAX).
    struct Weight {
        std::size_t num;
        std::size_t den;
    };
    const auto weight_less = [](const Weight& a, const Weight& b) {
        return detail::fraction_less(a.num, a.den, b.num, b.den);
    };
    std::vector<Weight> weight(m);
    for (std::size_t k = 0; k < m; ++k) {
        const Weight s{sent[from[k]], limits.max_send};
        const Weight r{received[to[k]], limits.max_recv};
        weight[k] = weight_less(s, r) ? r : s;
    }
    std::vector<std::size_t> order(m);
    for (std::size_t k = 0; k < m; ++k) {
        order[k] = k;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return weight_less(weight[b], weight[a]);
    });

    // First fit: the first wave where the sender has room, the receiver has room and the budget
    // has room. Each finder jumps only over waves that fail its own test, so alternating them
    // until none moves lands on the first wave that passes all three.
    detail::WaveRoom send_room(limits.max_send, m);
    detail::WaveRoom recv_room(limits.max_recv, m);
    std::optional<detail::WaveBudget> budget;
    if (limits.max_fraction) {
        budget.emplace(*limits.max_fraction, m);
    }
    std::size_t wave_count = 0;
    std::vector<std::size_t> wave_of(m);
    for (std::size_t k : order) {
        const double cost = moves[k].range.fraction();
        std::size_t w = 0;
        for (;;) {
            std::size_t next = send_room.first_from(from[k], w);
            next = recv_room.first_from(to[k], next);
            if (budget) {
                // wave_count when no open wave fits: a new wave takes any move, even one over
                // the budget, and then has no room for another.
                next = budget->first_from(next, wave_count, cost);
            }
            if (next == w) {
                break;
            }
            w = next;
        }
        wave_count = std::max(wave_count, w + 1);
        send_room.add(from[k], w);
        recv_room.add(to[k], w);
        if (budget) {
            budget->add(w, cost);
        }
        wave_of[k] = w;
    }
    std::vector<std::size_t> wave_size(wave_count, 0);
    for (std::size_t k = 0; k < m; ++k) {
        ++wave_size[wave_of[k]];
    }
    out.waves.resize(wave_count);
    for (std::size_t w = 0; w < wave_count; ++w) {
        out.waves[w].reserve(wave_size[w]);
    }
    for (std::size_t k = 0; k < m; ++k) {
        out.waves[wave_of[k]].push_back(moves[k]);
    }
    return out;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_SCHEDULE_HPP
