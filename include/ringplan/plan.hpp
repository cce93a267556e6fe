// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_PLAN_HPP
#define RINGPLAN_PLAN_HPP

#include <ringplan/error.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

namespace detail {
// Names NodeId in a non-deduced context, so `plan_leave(ring, "n2", 3)` deduces NodeId from
// the ring alone.
template <class T>
struct IdentityType {
    using type = T;
};
template <class T>
using Id = typename IdentityType<T>::type;
}  // namespace detail

/// How a plan is computed.
template <class NodeId>
struct PlanOptions {
    /// The replication factor: each token lives on the first `rf` distinct nodes clockwise.
    std::size_t rf = 1;
    /// Nodes that can not serve as sources (they are down). A crashed node is added by
    /// plan_crash itself.
    std::vector<NodeId> down;

    PlanOptions() = default;
    /// Implicit, so that `plan_leave(ring, id, 3)` reads as "with rf = 3".
    PlanOptions(std::size_t replication_factor) : rf(replication_factor) {}  // NOLINT
};

/// One transfer: the tokens of `range` are copied from `from` to `to`.
template <class NodeId>
struct Move {
    TokenRange range;
    NodeId from;
    NodeId to;

    friend bool operator==(const Move& a, const Move& b) {
        return a.range == b.range && a.from == b.from && a.to == b.to;
    }
    friend bool operator!=(const Move& a, const Move& b) { return !(a == b); }
};

/// What one node sends and receives in a plan, in fractions of the ring (a node that receives
/// two ranges of a quarter each receives 0.5) and in ranges.
template <class NodeId>
struct NodeTraffic {
    NodeId node;
    double sent = 0;
    double received = 0;
    std::size_t ranges_sent = 0;
    std::size_t ranges_received = 0;
};

/// One key that moves: its index in the input, its token, and the move that carries it.
template <class NodeId>
struct KeyMove {
    std::size_t index;   ///< position of the key in the input
    Token token;         ///< the key's token
    const NodeId* from;  ///< points into the Plan's moves: valid while the Plan lives
    const NodeId* to;
};

/// The result of diff, plan_leave, plan_crash and plan_join (docs/plans.md).
template <class Hash, class NodeId>
class Plan {
public:
    /// The transfers, sorted by range (then from, to); adjacent ranges with the same from and
    /// to are merged. Applying them to a store laid out by the old ring gives the new layout.
    std::vector<Move<NodeId>> moves;
    /// Ranges whose data can not be kept: the replica set changed, a node must receive the
    /// range (or no node is left at all), and every old replica is down. Sorted, merged.
    std::vector<TokenRange> lost;
    /// Ranges the new ring places on fewer than rf distinct nodes. Sorted, merged.
    std::vector<TokenRange> under_replicated;
    /// The replication factor the plan was computed for.
    std::size_t rf = 1;

    /// True when nothing moves and nothing is lost.
    bool empty() const noexcept { return moves.empty() && lost.empty(); }

    /// The ring fractions copied, summed over moves (up to rf with replication).
    double moved_fraction() const noexcept {
        double total = 0;
        for (const auto& m : moves) {
            total += m.range.fraction();
        }
        return total;
    }

    /// The fraction of the ring whose data is lost.
    double lost_fraction() const noexcept {
        double total = 0;
        for (const auto& r : lost) {
            total += r.fraction();
        }
        return total;
    }

    /// Per node, what it sends and receives; only nodes that do either, by ascending id.
    std::vector<NodeTraffic<NodeId>> traffic() const;

    /// The moves of concrete keys: every (key, from, to) for the keys given, sorted by token,
    /// then input index, then from and to. Keys are hashed with the ring's policy.
    template <class Key>
    std::vector<KeyMove<NodeId>> project(const std::vector<Key>& keys) const;

    /// As project, for keys given as tokens. When the tokens come sorted (the fast path) no
    /// sorting is needed.
    std::vector<KeyMove<NodeId>> project_tokens(const std::vector<Token>& tokens) const;

    /// The indices of the keys (given as tokens) that fall in lost ranges, ascending.
    std::vector<std::size_t> lost_tokens(const std::vector<Token>& tokens) const;
};

/// The plan that turns a store laid out by `before` into one laid out by `after`: for every
/// token range whose replica set changes, one move per node that gains it. Sources are a node
/// that drops out of the set, else another old replica, never a node in `options.down`; the
/// load is spread over the candidates. One linear merge of the two rings.
/// Errors: invalid_rf, unknown_node (a down node in neither ring).
template <class Hash, class NodeId>
Plan<Hash, NodeId> diff(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                        const PlanOptions<detail::Id<NodeId>>& options = {});

/// Graceful departure: `node` streams each range it replicates to the node that takes its place,
/// then goes (DESIGN.md "plans"). Costs O(vnodes(node) x rf x log(ring)).
/// Errors: invalid_rf, unknown_node.
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_leave(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                              const PlanOptions<detail::Id<NodeId>>& options = {});

/// A crash: `node` is gone; each of its ranges is rebuilt from surviving replicas, and what has
/// no surviving replica is reported in `lost`. Errors: invalid_rf, unknown_node.
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_crash(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                              const PlanOptions<detail::Id<NodeId>>& options = {});

/// A join with `vnodes` derived vnodes: each range `node` takes is streamed from the replica
/// that drops out of the set (Cassandra's strict source), else from another old replica.
/// Errors: invalid_rf, duplicate_node, zero_vnodes, too_many_vnodes, unknown_node.
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_join(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                             std::uint32_t vnodes,
                             const PlanOptions<detail::Id<NodeId>>& options = {});

/// A join at explicit tokens. Errors: as plan_join, and token_collision.
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_join_with_tokens(const Ring<Hash, NodeId>& ring,
                                         const detail::Id<NodeId>& node, std::vector<Token> tokens,
                                         const PlanOptions<detail::Id<NodeId>>& options = {});

/// The share of the ring `node` holds a replica of, in [0, 1]: what it must stream away when it
/// leaves, and the least any leave plan can move. Errors: invalid_rf, unknown_node.
template <class Hash, class NodeId>
double replicated_share(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                        std::size_t rf);

// ---- implementation ------------------------------------------------------------------------

namespace detail {

constexpr std::uint32_t no_node = 0xFFFFFFFFu;

// A ring seen as the cyclic sequence of its vnodes (token, node) in (token, node) order, where
// node is an index into a node table shared by both rings of a plan (sorted by id, so index
// order is id order). The view can hide one node's vnodes (the ring after a departure) and add
// one node's vnodes (the ring after a join) without copying the ring.
struct RingView {
    const Token* tokens = nullptr;
    const std::uint32_t* owners = nullptr;
    const std::uint32_t* remap = nullptr;  // ring-local node index -> shared index
    std::size_t base_size = 0;
    std::size_t node_count = 0;  // distinct nodes in the view
    std::uint32_t hidden = no_node;
    std::size_t hidden_count = 0;
    const Token* extra = nullptr;  // sorted tokens of one added node
    std::size_t extra_size = 0;
    std::uint32_t extra_node = no_node;

    // A position: base[i] and extra[j] are the next candidates; the current vnode is the
    // smaller of the two. Normalized positions never point at a hidden vnode.
    struct Pos {
        std::size_t i = 0;
        std::size_t j = 0;
        bool operator==(const Pos& o) const noexcept { return i == o.i && j == o.j; }
    };

    std::size_t size() const noexcept { return base_size - hidden_count + extra_size; }

    std::uint32_t base_node(std::size_t i) const noexcept { return remap[owners[i]]; }

    // Whether the current vnode of a normalized position comes from the extra tokens.
    bool from_extra(const Pos& p) const noexcept {
        if (p.j == extra_size) {
            return false;
        }
        if (p.i == base_size) {
            return true;
        }
        return extra[p.j] != tokens[p.i] ? extra[p.j] < tokens[p.i] : extra_node < base_node(p.i);
    }
    Token token(const Pos& p) const noexcept { return from_extra(p) ? extra[p.j] : tokens[p.i]; }
    std::uint32_t node(const Pos& p) const noexcept {
        return from_extra(p) ? extra_node : base_node(p.i);
    }

    Pos normalize(Pos p) const noexcept {
        while (p.i < base_size && base_node(p.i) == hidden) {
            ++p.i;
        }
        if (p.i == base_size && p.j == extra_size) {
            p = Pos{0, 0};  // past the last vnode: wrap
            while (p.i < base_size && base_node(p.i) == hidden) {
                ++p.i;
            }
        }
        return p;
    }

    Pos first() const noexcept { return normalize(Pos{0, 0}); }

    // The vnode that owns token t: the first vnode >= t, wrapping.
    Pos locate(Token t) const noexcept {
        const auto i =
            static_cast<std::size_t>(std::lower_bound(tokens, tokens + base_size, t) - tokens);
        const auto j =
            static_cast<std::size_t>(std::lower_bound(extra, extra + extra_size, t) - extra);
        return normalize(Pos{i, j});
    }

    Pos next(Pos p) const noexcept {
        if (from_extra(p)) {
            ++p.j;
        } else {
            ++p.i;
        }
        return normalize(p);
    }

    Pos prev(Pos p) const noexcept {
        // The previous vnode is the larger of the base vnode before i and the extra one before j.
        std::size_t i = p.i;
        while (i > 0 && base_node(i - 1) == hidden) {
            --i;
        }
        const bool have_base = i > 0;
        const bool have_extra = p.j > 0;
        if (!have_base && !have_extra) {
            // Before the first vnode: the last one.
            Pos last{base_size, extra_size};
            std::size_t k = base_size;
            while (k > 0 && base_node(k - 1) == hidden) {
                --k;
            }
            const bool last_base =
                k > 0 && (extra_size == 0 || (tokens[k - 1] != extra[extra_size - 1]
                                                  ? tokens[k - 1] > extra[extra_size - 1]
                                                  : base_node(k - 1) > extra_node));
            if (last_base) {
                last.i = k - 1;
            } else {
                last.j = extra_size - 1;
            }
            return last;
        }
        bool take_base = have_base;
        if (have_base && have_extra) {
            const Token tb = tokens[i - 1];
            const Token te = extra[p.j - 1];
            take_base = tb != te ? tb > te : base_node(i - 1) > extra_node;
        }
        return take_base ? Pos{i - 1, p.j} : Pos{p.i, p.j - 1};
    }

    // The first rf distinct nodes clockwise from p (Dynamo's preference list).
    void replicas(Pos p, std::size_t rf, std::vector<std::uint32_t>& out) const {
        out.clear();
        const std::size_t want = std::min(rf, node_count);
        for (std::size_t step = 0; step < size() && out.size() < want; ++step) {
            const std::uint32_t n = node(p);
            if (std::find(out.begin(), out.end(), n) == out.end()) {
                out.push_back(n);
            }
            p = next(p);
        }
    }
};

template <class R>
RingView view_of(const R& ring, const std::vector<std::uint32_t>& remap) {
    RingView v;
    v.tokens = RingAccess::tokens(ring).data();
    v.owners = RingAccess::owners(ring).data();
    v.remap = remap.data();
    v.base_size = RingAccess::tokens(ring).size();
    v.node_count = ring.node_count();
    return v;
}

// A plan in shared node indices, before ids are put in.
struct RawMove {
    TokenRange range;
    std::uint32_t from;
    std::uint32_t to;
};

struct RawPlan {
    std::vector<RawMove> moves;
    std::vector<TokenRange> lost;
    std::vector<TokenRange> under;
};

// The ranges of the segment (lo, hi] of a view, where `first` says the segment is the first
// vnode's, which wraps around the top of the token space.
template <class F>
void for_each_range(Token lo, Token hi, bool first, bool whole, F&& f) {
    if (whole) {
        f(TokenRange{0, max_token});
    } else if (first) {
        f(TokenRange{0, hi});
        if (lo != max_token) {
            f(TokenRange{lo + 1, max_token});
        }
    } else if (lo < hi) {
        f(TokenRange{lo + 1, hi});
    }
}

// Compares replica sets segment by segment and emits moves, choosing sources.
class Planner {
public:
    Planner(std::size_t rf, std::vector<bool> down, std::size_t nodes)
        : rf_(rf), down_(std::move(down)), load_(nodes, 0.0) {}

    // One segment: its replica sets before and after, and its token ranges.
    void segment(const std::vector<std::uint32_t>& before, const std::vector<std::uint32_t>& after,
                 const TokenRange* ranges, std::size_t range_count) {
        if (after.size() < rf_) {
            for (std::size_t k = 0; k < range_count; ++k) {
                plan_.under.push_back(ranges[k]);
            }
        }
        if (before == after || before.empty()) {
            return;  // unchanged, or no data anywhere yet
        }
        gained_.clear();
        for (std::uint32_t n : after) {
            if (std::find(before.begin(), before.end(), n) == before.end()) {
                gained_.push_back(n);
            }
        }
        if (gained_.empty() && !after.empty()) {
            return;  // replicas only dropped out: nothing to copy
        }
        // Sources: nodes dropping out of the set first (Cassandra's strict source; the leaving
        // node in a graceful departure), then any other old replica; never a down node.
        dropped_.clear();
        others_.clear();
        for (std::uint32_t n : before) {
            if (down_[n]) {
                continue;
            }
            if (std::find(after.begin(), after.end(), n) == after.end()) {
                dropped_.push_back(n);
            } else {
                others_.push_back(n);
            }
        }
        if (after.empty() || (dropped_.empty() && others_.empty())) {
            for (std::size_t k = 0; k < range_count; ++k) {
                plan_.lost.push_back(ranges[k]);
            }
            return;
        }
        const std::vector<std::uint32_t>& pool = dropped_.empty() ? others_ : dropped_;
        double width = 0;
        for (std::size_t k = 0; k < range_count; ++k) {
            width += ranges[k].size();
        }
        for (std::uint32_t to : gained_) {
            // The least-loaded candidate so far; ties go to the closest replica.
            std::uint32_t from = pool.front();
            for (std::uint32_t c : pool) {
                if (load_[c] < load_[from]) {
                    from = c;
                }
            }
            load_[from] += width;
            for (std::size_t k = 0; k < range_count; ++k) {
                plan_.moves.push_back(RawMove{ranges[k], from, to});
            }
        }
    }

    // Processes the segment owned by vnode q of view w (whose breakpoints include those of both
    // rings), with replica sets read from `before` and `after`.
    void segment_of(const RingView& w, RingView::Pos q, const RingView& before,
                    const RingView& after) {
        const Token hi = w.token(q);
        const Token lo = w.token(w.prev(q));
        const bool first = q == w.first();
        const bool whole = first && (lo == hi);
        if (!first && !(lo < hi)) {
            return;  // an empty range (equal tokens)
        }
        TokenRange ranges[2];
        std::size_t count = 0;
        for_each_range(lo, hi, first, whole, [&](const TokenRange& r) { ranges[count++] = r; });
        if (before.size() > 0) {
            before.replicas(before.locate(hi), rf_, rb_);
        } else {
            rb_.clear();
        }
        if (after.size() > 0) {
            after.replicas(after.locate(hi), rf_, ra_);
        } else {
            ra_.clear();
        }
        segment(rb_, ra_, ranges, count);
    }

    RawPlan& result() noexcept { return plan_; }

private:
    std::size_t rf_;
    std::vector<bool> down_;
    std::vector<double> load_;
    std::vector<std::uint32_t> gained_, dropped_, others_, rb_, ra_;
    RawPlan plan_;
};

// The vnodes of `node` in view w, and for each the vnodes before it whose ranges have `node`
// among their rf replicas: walking back, until rf-1 other distinct nodes have been seen or
// another vnode of `node` is met. These are exactly the ranges `node` replicates.
template <class F>
void for_each_replicated_segment(const RingView& w, std::uint32_t node,
                                 const std::vector<Token>& node_tokens, std::size_t rf, F&& f) {
    std::vector<std::uint32_t> seen;
    for (std::size_t k = 0; k < node_tokens.size(); ++k) {
        if (k > 0 && node_tokens[k] == node_tokens[k - 1]) {
            continue;  // a repeated token: the later copies own empty ranges
        }
        RingView::Pos p = w.locate(node_tokens[k]);
        while (w.node(p) != node) {
            p = w.next(p);  // equal tokens of smaller ids come first
        }
        f(p);
        seen.clear();
        RingView::Pos q = w.prev(p);
        for (std::size_t steps = 1; steps < w.size(); ++steps, q = w.prev(q)) {
            const std::uint32_t n = w.node(q);
            if (n == node) {
                break;
            }
            if (std::find(seen.begin(), seen.end(), n) == seen.end()) {
                if (seen.size() + 1 >= rf) {
                    break;
                }
                seen.push_back(n);
            }
            f(q);
        }
    }
}

inline void check_rf(std::size_t rf) {
    if (rf < 1) {
        raise(Errc::invalid_rf, "the replication factor must be at least 1, got 0");
    }
}

inline void sort_merge_ranges(std::vector<TokenRange>& ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<TokenRange> merged;
    for (const TokenRange& r : ranges) {
        if (!merged.empty() && merged.back().last != max_token &&
            merged.back().last + 1 >= r.first) {
            merged.back().last = std::max(merged.back().last, r.last);
        } else {
            merged.push_back(r);
        }
    }
    ranges.swap(merged);
}

// Puts ids into a raw plan: merges adjacent moves with the same (from, to), sorts everything.
template <class Hash, class NodeId>
Plan<Hash, NodeId> finish(RawPlan raw, const std::vector<const NodeId*>& ids, std::size_t rf) {
    auto& moves = raw.moves;
    std::sort(moves.begin(), moves.end(), [](const RawMove& a, const RawMove& b) {
        if (a.from != b.from)
            return a.from < b.from;
        if (a.to != b.to)
            return a.to < b.to;
        return a.range < b.range;
    });
    std::vector<RawMove> merged;
    for (const RawMove& m : moves) {
        if (!merged.empty() && merged.back().from == m.from && merged.back().to == m.to &&
            merged.back().range.last != max_token &&
            merged.back().range.last + 1 == m.range.first) {
            merged.back().range.last = m.range.last;
        } else {
            merged.push_back(m);
        }
    }
    std::sort(merged.begin(), merged.end(), [](const RawMove& a, const RawMove& b) {
        if (a.range != b.range)
            return a.range < b.range;
        if (a.from != b.from)
            return a.from < b.from;
        return a.to < b.to;
    });
    Plan<Hash, NodeId> plan;
    plan.rf = rf;
    plan.moves.reserve(merged.size());
    for (const RawMove& m : merged) {
        plan.moves.push_back(Move<NodeId>{m.range, *ids[m.from], *ids[m.to]});
    }
    sort_merge_ranges(raw.lost);
    sort_merge_ranges(raw.under);
    plan.lost = std::move(raw.lost);
    plan.under_replicated = std::move(raw.under);
    return plan;
}

// Flags the nodes of `down` in the shared table; a down node in neither ring is an error.
template <class NodeId>
std::vector<bool> down_flags(const std::vector<NodeId>& down,
                             const std::vector<const NodeId*>& ids) {
    std::vector<bool> flags(ids.size(), false);
    for (const NodeId& d : down) {
        auto it = std::lower_bound(ids.begin(), ids.end(), &d,
                                   [](const NodeId* a, const NodeId* b) { return *a < *b; });
        if (it == ids.end() || d < **it) {
            raise(Errc::unknown_node,
                  "down node " + describe(d) + " is not in the ring the plan is for");
        }
        flags[static_cast<std::size_t>(it - ids.begin())] = true;
    }
    return flags;
}

// One departure or arrival of `node`, planned over `node`'s vnodes only.
//  leave/crash: the ring holds the node; `after` hides it.
//  join: the ring lacks it; `after` adds its tokens.
// `existing` is the node's index in the ring for a leave or crash (the caller looked it up).
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_one(const Ring<Hash, NodeId>& ring, const NodeId& node,
                            const std::vector<Token>* join_tokens, bool crash,
                            const PlanOptions<detail::Id<NodeId>>& options,
                            std::size_t existing = 0) {
    check_rf(options.rf);
    const std::size_t n = ring.node_count();
    // The shared node table: the ring's ids, plus the joining node in its place.
    std::vector<const NodeId*> ids;
    ids.reserve(n + 1);
    std::vector<std::uint32_t> remap(n);
    std::uint32_t node_index = no_node;
    for (std::size_t i = 0; i < n; ++i) {
        const NodeId& id = RingAccess::id(ring, i);
        if (join_tokens != nullptr && node_index == no_node && node < id) {
            node_index = static_cast<std::uint32_t>(ids.size());
            ids.push_back(&node);
        }
        remap[i] = static_cast<std::uint32_t>(ids.size());
        ids.push_back(&id);
    }
    if (join_tokens != nullptr && node_index == no_node) {
        node_index = static_cast<std::uint32_t>(ids.size());
        ids.push_back(&node);
    }
    if (join_tokens == nullptr) {
        node_index = static_cast<std::uint32_t>(existing);
    }
    std::vector<bool> down = down_flags(options.down, ids);
    if (crash) {
        down[node_index] = true;
    }

    RingView before = view_of(ring, remap);
    RingView after = before;
    std::vector<Token> tokens;
    if (join_tokens != nullptr) {
        after.extra = join_tokens->data();
        after.extra_size = join_tokens->size();
        after.extra_node = node_index;
        after.node_count = n + 1;
        tokens = *join_tokens;
    } else {
        after.hidden = node_index;
        after.hidden_count = RingAccess::vnodes(ring, existing);
        after.node_count = n - 1;
        tokens = RingAccess::node_tokens(ring, existing);
    }
    const RingView& with_node = join_tokens != nullptr ? after : before;

    Planner planner(options.rf, std::move(down), ids.size());
    std::vector<RingView::Pos> segments;
    for_each_replicated_segment(with_node, node_index, tokens, options.rf,
                                [&](RingView::Pos q) { segments.push_back(q); });
    // Token order, so the source balancing is deterministic and spreads along the ring.
    std::sort(segments.begin(), segments.end(),
              [&](const RingView::Pos& a, const RingView::Pos& b) {
                  return a.i != b.i ? a.i < b.i : a.j < b.j;
              });
    segments.erase(std::unique(segments.begin(), segments.end()), segments.end());
    for (const RingView::Pos& q : segments) {
        planner.segment_of(with_node, q, before, after);
    }
    RawPlan& raw = planner.result();
    if (after.node_count < options.rf) {
        raw.under.assign(1, TokenRange{0, max_token});  // every range, not only the node's
    } else {
        raw.under.clear();
    }
    return finish<Hash, NodeId>(std::move(raw), ids, options.rf);
}

}  // namespace detail

template <class Hash, class NodeId>
Plan<Hash, NodeId> diff(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                        const PlanOptions<detail::Id<NodeId>>& options) {
    using detail::RingAccess;
    detail::check_rf(options.rf);
    // The shared node table: the union of both rings' ids, in id order.
    const std::size_t nb = before.node_count();
    const std::size_t na = after.node_count();
    std::vector<const NodeId*> ids;
    ids.reserve(nb + na);
    std::vector<std::uint32_t> remap_b(nb), remap_a(na);
    for (std::size_t i = 0, j = 0; i < nb || j < na;) {
        const auto k = static_cast<std::uint32_t>(ids.size());
        if (j == na || (i < nb && RingAccess::id(before, i) < RingAccess::id(after, j))) {
            remap_b[i] = k;
            ids.push_back(&RingAccess::id(before, i++));
        } else if (i == nb || RingAccess::id(after, j) < RingAccess::id(before, i)) {
            remap_a[j] = k;
            ids.push_back(&RingAccess::id(after, j++));
        } else {
            remap_b[i++] = k;
            remap_a[j] = k;
            ids.push_back(&RingAccess::id(after, j++));
        }
    }
    detail::Planner planner(options.rf, detail::down_flags(options.down, ids), ids.size());
    const detail::RingView vb = detail::view_of(before, remap_b);
    const detail::RingView va = detail::view_of(after, remap_a);

    // The segments are the gaps between the distinct tokens of both rings, in one merge.
    const auto& tb = RingAccess::tokens(before);
    const auto& ta = RingAccess::tokens(after);
    std::vector<Token> cuts;
    cuts.reserve(tb.size() + ta.size());
    std::merge(tb.begin(), tb.end(), ta.begin(), ta.end(), std::back_inserter(cuts));
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<std::uint32_t> rb, ra;
    detail::RingView::Pos pb, pa;
    for (std::size_t k = 0; k < cuts.size(); ++k) {
        const Token hi = cuts[k];
        const Token lo = cuts[k == 0 ? cuts.size() - 1 : k - 1];
        TokenRange ranges[2];
        std::size_t count = 0;
        detail::for_each_range(lo, hi, k == 0, cuts.size() == 1,
                               [&](const TokenRange& r) { ranges[count++] = r; });
        // The owners of (lo, hi] are the first vnodes >= hi: advance each cursor in turn.
        rb.clear();
        ra.clear();
        if (vb.size() > 0) {
            while (pb.i < tb.size() && tb[pb.i] < hi) {
                ++pb.i;
            }
            vb.replicas(vb.normalize(pb), options.rf, rb);
        }
        if (va.size() > 0) {
            while (pa.i < ta.size() && ta[pa.i] < hi) {
                ++pa.i;
            }
            va.replicas(va.normalize(pa), options.rf, ra);
        }
        planner.segment(rb, ra, ranges, count);
    }
    if (after.node_count() < options.rf) {
        // Also when both rings are empty and there is no segment to visit.
        planner.result().under.assign(1, TokenRange{0, max_token});
    }
    return detail::finish<Hash, NodeId>(std::move(planner.result()), ids, options.rf);
}

template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_leave(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                              const PlanOptions<detail::Id<NodeId>>& options) {
    const std::size_t index = detail::RingAccess::index_of(ring, node);
    return detail::plan_one(ring, node, nullptr, false, options, index);
}

template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_crash(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                              const PlanOptions<detail::Id<NodeId>>& options) {
    const std::size_t index = detail::RingAccess::index_of(ring, node);
    return detail::plan_one(ring, node, nullptr, true, options, index);
}

namespace detail {

// The checks add_node would make, for a node that a plan adds to a copy it never builds.
template <class Hash, class NodeId>
void check_join(const Ring<Hash, NodeId>& ring, const NodeId& node, std::size_t count,
                const char* unit) {
    if (count == 0) {
        raise(Errc::zero_vnodes, "node " + describe(node) + " needs at least one " + unit);
    }
    if (ring.contains(node)) {
        raise(Errc::duplicate_node, "node " + describe(node) + " is already in the ring");
    }
    RingAccess::check_capacity(ring, count);
}

}  // namespace detail

template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_join_with_tokens(const Ring<Hash, NodeId>& ring,
                                         const detail::Id<NodeId>& node, std::vector<Token> tokens,
                                         const PlanOptions<detail::Id<NodeId>>& options) {
    detail::check_join(ring, node, tokens.size(), "token");
    std::sort(tokens.begin(), tokens.end());
    const auto& have = detail::RingAccess::tokens(ring);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0 && tokens[i] == tokens[i - 1]) {
            detail::raise(Errc::token_collision, "token " + std::to_string(tokens[i]) +
                                                     " is listed twice for node " +
                                                     detail::describe(node));
        }
        const auto at = static_cast<std::size_t>(
            std::lower_bound(have.begin(), have.end(), tokens[i]) - have.begin());
        if (at < have.size() && have[at] == tokens[i]) {
            detail::raise(Errc::token_collision, "token " + std::to_string(tokens[i]) +
                                                     " of node " + detail::describe(node) +
                                                     " is already held by node " +
                                                     detail::describe(ring.vnode_node(at)));
        }
    }
    return detail::plan_one(ring, node, &tokens, false, options);
}

template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_join(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                             std::uint32_t vnodes, const PlanOptions<detail::Id<NodeId>>& options) {
    detail::check_join(ring, node, vnodes, "vnode");
    // Derived tokens may coincide with existing ones (ties are ordered by id), as in add_node.
    std::vector<Token> tokens(vnodes);
    const auto b = detail::bytes_of(node);
    detail::VnodeTokens<Hash> derive(b.data(), b.size());
    for (std::uint32_t v = 0; v < vnodes; ++v) {
        tokens[v] = derive(v);
    }
    std::sort(tokens.begin(), tokens.end());
    return detail::plan_one(ring, node, &tokens, false, options);
}

template <class Hash, class NodeId>
double replicated_share(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                        std::size_t rf) {
    detail::check_rf(rf);
    using detail::RingAccess;
    const std::size_t index = RingAccess::index_of(ring, node);
    std::vector<std::uint32_t> identity(ring.node_count());
    std::iota(identity.begin(), identity.end(), 0u);
    const detail::RingView w = detail::view_of(ring, identity);
    double share = 0;
    detail::for_each_replicated_segment(
        w, static_cast<std::uint32_t>(index), RingAccess::node_tokens(ring, index), rf,
        [&](detail::RingView::Pos q) {
            const Token hi = w.token(q);
            const Token lo = w.token(w.prev(q));
            const bool first = q == w.first();
            detail::for_each_range(lo, hi, first, first && lo == hi,
                                   [&](const TokenRange& r) { share += r.fraction(); });
        });
    return share;
}

template <class Hash, class NodeId>
std::vector<NodeTraffic<NodeId>> Plan<Hash, NodeId>::traffic() const {
    std::vector<NodeTraffic<NodeId>> out;
    auto entry = [&](const NodeId& id) -> NodeTraffic<NodeId>& {
        auto it = std::lower_bound(
            out.begin(), out.end(), id,
            [](const NodeTraffic<NodeId>& t, const NodeId& v) { return t.node < v; });
        if (it == out.end() || id < it->node) {
            it = out.insert(it, NodeTraffic<NodeId>{id, 0, 0, 0, 0});
        }
        return *it;
    };
    for (const auto& m : moves) {
        auto& from = entry(m.from);
        from.sent += m.range.fraction();
        ++from.ranges_sent;
        auto& to = entry(m.to);
        to.received += m.range.fraction();
        ++to.ranges_received;
    }
    return out;
}

namespace detail {

// The points where a set of token ranges start, and the points just past their ends, sorted
// and distinct. They cut the token space into elementary intervals, each inside or outside
// every range: interval j (1 <= j <= size) is [cut j-1, cut j - 1], or up to max_token for
// the last; interval 0 lies before the first cut.
template <class RangeAt>
std::vector<Token> cut_points(std::size_t count, RangeAt range_at) {
    std::vector<Token> cuts;
    cuts.reserve(2 * count);
    for (std::size_t i = 0; i < count; ++i) {
        const TokenRange& r = range_at(i);
        cuts.push_back(r.first);
        if (r.last != max_token) {
            cuts.push_back(r.last + 1);
        }
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    return cuts;
}

// The elementary intervals [first, last] a range covers; first <= last.
inline std::pair<std::size_t, std::size_t> interval_span(const std::vector<Token>& cuts,
                                                         const TokenRange& r) {
    const auto after = [&](Token t) {
        return static_cast<std::size_t>(std::upper_bound(cuts.begin(), cuts.end(), t) -
                                        cuts.begin());
    };
    return {after(r.first), r.last == max_token ? cuts.size() : after(r.last + 1) - 1};
}

// Finds the interval of a token (the number of cuts <= it) in O(1): a table over the token's
// top bits gives the first cut of its bucket, with buckets fine enough that none holds more
// than `width` cuts. The cuts of a bucket are then counted without branches: which of them a
// random token passes is unpredictable, and mispredicted branches would cost more than the
// whole lookup. Index is the integer type of the table (32 bits keeps a realistic plan's table
// in L1). Buckets still crowded at 16 buckets per cut (cuts bunched, not hash-placed) are
// binary-searched instead.
template <class Index>
class CutIndex {
public:
    static constexpr std::size_t width = 4;  // locate reads exactly 4 cuts

    explicit CutIndex(std::vector<Token> cuts) : cuts_(std::move(cuts)), size_(cuts_.size()) {
        unsigned bits = 1;
        while (bits < 24 && (std::size_t{1} << bits) < 2 * size_) {
            ++bits;
        }
        const unsigned most_bits = std::min(24u, bits + 3);
        for (;; ++bits) {
            build(bits);
            std::size_t most = 0;
            for (std::size_t b = 0; b + 1 < first_.size(); ++b) {
                most = std::max(most, static_cast<std::size_t>(first_[b + 1] - first_[b]));
            }
            if (most <= width || bits >= most_bits) {
                break;
            }
        }
        // Room for the fixed-width reads past the last cut.
        cuts_.resize(size_ + width, max_token);
    }

    std::size_t size() const noexcept { return size_; }
    const Token* cuts() const noexcept { return cuts_.data(); }

    std::size_t locate(Token t) const noexcept {
        const auto b = static_cast<std::size_t>(t >> shift_);
        const std::size_t first = first_[b];
        const std::size_t end = first_[b + 1];
        const Token* c = cuts_.data() + first;
        if (end - first > width) {
            return static_cast<std::size_t>(std::upper_bound(c, cuts_.data() + end, t) -
                                            cuts_.data());
        }
        // Cuts past the bucket exceed t, except the padding when t is max_token: hence min.
        // Written out: GCC keeps the loop form as a loop, which is slower.
        const auto le = [&](std::size_t k) { return static_cast<std::size_t>(c[k] <= t); };
        return std::min(first + (le(0) + le(1)) + (le(2) + le(3)), end);
    }

private:
    void build(unsigned bits) {
        shift_ = 64 - bits;
        const std::size_t buckets = std::size_t{1} << bits;
        first_.assign(buckets + 1, 0);
        std::size_t j = 0;
        for (std::size_t b = 0; b < buckets; ++b) {
            while (j < size_ && (cuts_[j] >> shift_) < b) {
                ++j;
            }
            first_[b] = static_cast<Index>(j);
        }
        first_[buckets] = static_cast<Index>(size_);
    }

    std::vector<Token> cuts_;  // sorted, then `width` copies of max_token
    std::size_t size_;
    std::vector<Index> first_;  // first_[b]: the first cut in bucket b
    unsigned shift_ = 63;
};

// For each elementary interval of a plan's moves, the moves covering it, in (from, to) order:
// moves of a general plan may overlap (with rf > 1, or a user-built plan).
template <class Index>
struct MoveCover {
    CutIndex<Index> index;
    std::vector<Index> begin;     // interval j's moves are list[begin[j], begin[j + 1])
    std::vector<Index> list;      // indices into the plan's moves
    double covered_fraction = 0;  // of the token space, by at least one move

    std::size_t count(std::size_t j) const noexcept {
        return static_cast<std::size_t>(begin[j + 1] - begin[j]);
    }
};

// The cuts of a plan's moves, and for each move the intervals it covers.
struct CoverInput {
    std::vector<Token> cuts;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::size_t covered = 0;  // entries of all cover lists

    // Whether 32-bit tables hold it (always, short of a plan of billions of moves).
    bool fits_32_bits() const noexcept {
        return std::max(std::max(cuts.size() + 2, covered), spans.size()) < 0xFFFFFFFFu;
    }
};

template <class NodeId>
CoverInput cover_input(const std::vector<Move<NodeId>>& moves) {
    CoverInput in;
    in.cuts = cut_points(moves.size(),
                         [&](std::size_t i) -> const TokenRange& { return moves[i].range; });
    in.spans.resize(moves.size());
    for (std::size_t i = 0; i < moves.size(); ++i) {
        in.spans[i] = interval_span(in.cuts, moves[i].range);
        in.covered += in.spans[i].second - in.spans[i].first + 1;
    }
    return in;
}

template <class Index, class NodeId>
MoveCover<Index> move_cover(const std::vector<Move<NodeId>>& moves, CoverInput in) {
    const auto& spans = in.spans;
    MoveCover<Index> c{CutIndex<Index>(std::move(in.cuts)), {}, {}, 0.0};
    const std::size_t intervals = c.index.size() + 1;
    c.begin.assign(intervals + 1, 0);
    for (const auto& s : spans) {
        for (std::size_t j = s.first; j <= s.second; ++j) {
            ++c.begin[j + 1];
        }
    }
    for (std::size_t j = 0; j < intervals; ++j) {
        c.begin[j + 1] = static_cast<Index>(c.begin[j + 1] + c.begin[j]);
    }
    // Filling the lists in (from, to, index) order leaves every list in that order.
    std::vector<std::size_t> order(moves.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const Move<NodeId>& x = moves[a];
        const Move<NodeId>& y = moves[b];
        if (x.from < y.from || y.from < x.from) {
            return x.from < y.from;
        }
        if (x.to < y.to || y.to < x.to) {
            return x.to < y.to;
        }
        return a < b;
    });
    const Token* at = c.index.cuts();
    for (std::size_t j = 1; j < intervals; ++j) {
        if (c.count(j) != 0) {
            const Token span = (j < c.index.size() ? at[j] : 0) - at[j - 1];  // 0: all 2^64
            c.covered_fraction +=
                span == 0 ? 1.0 : static_cast<double>(span) / 18446744073709551616.0;
        }
    }
    std::vector<Index> next(c.begin.begin(), c.begin.end() - 1);
    c.list.resize(in.covered);
    for (std::size_t m : order) {
        for (std::size_t j = spans[m].first; j <= spans[m].second; ++j) {
            c.list[next[j]++] = static_cast<Index>(m);
        }
    }
    return c;
}

// A key that moves, before its KeyMoves are written: its token and input index.
struct MovedKey {
    Token token;
    std::size_t index;
};

inline void insertion_sort_by_token(MovedKey* a, std::size_t n) {
    for (std::size_t i = 1; i < n; ++i) {
        const MovedKey x = a[i];
        std::size_t j = i;
        for (; j > 0 && a[j - 1].token > x.token; --j) {
            a[j] = a[j - 1];
        }
        a[j] = x;
    }
}

// Sorts a[0, n) by token, stably, using b[0, n) as scratch; returns where the result is (a or
// b). All tokens agree on their bits above `top`. Most-significant digit first, as hash tokens
// spread evenly: records beyond L2 go to 256 buckets (few enough write streams for the TLB and
// caches), records within L2 to about one per bucket, after which one insertion pass finishes.
// A digit every token shares costs one counting pass and is skipped.
inline MovedKey* sort_by_token(MovedKey* a, MovedKey* b, std::size_t n, unsigned top) {
    for (;;) {
        if (n <= 32 || top == 0) {
            insertion_sort_by_token(a, n);  // top == 0: all equal, already in order
            return a;
        }
        unsigned log2n = 0;
        while ((std::size_t{1} << log2n) < n) {
            ++log2n;
        }
        const unsigned bits = std::min(top, n > (std::size_t{1} << 15) ? 8u : log2n);
        const unsigned shift = top - bits;
        const Token mask = (Token{1} << bits) - 1;
        const auto digit = [&](const MovedKey& k) {
            return static_cast<std::size_t>((k.token >> shift) & mask);
        };
        std::vector<std::size_t> end((std::size_t{1} << bits) + 1, 0);
        for (std::size_t i = 0; i < n; ++i) {
            ++end[digit(a[i]) + 1];
        }
        if (std::find(end.begin(), end.end(), n) != end.end()) {
            top = shift;
            continue;
        }
        for (std::size_t d = 1; d < end.size(); ++d) {
            end[d] += end[d - 1];
        }
        for (std::size_t i = 0; i < n; ++i) {
            b[end[digit(a[i])]++] = a[i];  // end[d] ends as bucket d's end
        }
        for (std::size_t d = 0, at = 0; d + 1 < end.size(); at = end[d++]) {
            const std::size_t count = end[d] - at;
            if (count > 16) {
                const MovedKey* r = sort_by_token(b + at, a + at, count, shift);
                if (r != b + at) {
                    std::copy(r, r + count, b + at);
                }
            }
        }
        insertion_sort_by_token(b, n);
        return b;
    }
}

// Appends the KeyMoves of moved keys sorted by (token, index): walks the intervals alongside,
// as both go up.
template <class Index, class NodeId>
void expand_sorted(const std::vector<Move<NodeId>>& moves, const MoveCover<Index>& c,
                   const MovedKey* keys, std::size_t n, std::vector<KeyMove<NodeId>>& out) {
    const Token* cuts = c.index.cuts();
    std::size_t j = 0;
    for (const MovedKey* key = keys; key != keys + n; ++key) {
        while (j < c.index.size() && cuts[j] <= key->token) {
            ++j;
        }
        for (std::size_t p = c.begin[j]; p < c.begin[j + 1]; ++p) {
            const Move<NodeId>& m = moves[c.list[p]];
            out.push_back(KeyMove<NodeId>{key->index, key->token, &m.from, &m.to});
        }
    }
}

// project and project_tokens: `token_of(i)` is the token of key i, `sorted` says the tokens
// ascend. Costs O(moves log moves) to index the moves, then O(1) expected per key and a radix
// sort of the moved keys only, or with sorted tokens a binary search per interval and nothing
// for keys that stay; memory O(moves + moved keys).
template <class Index, class NodeId, class TokenOf>
std::vector<KeyMove<NodeId>> project_with(const std::vector<Move<NodeId>>& moves, CoverInput in,
                                          std::size_t n, TokenOf&& token_of, bool sorted) {
    const MoveCover<Index> c = move_cover<Index>(moves, std::move(in));
    std::vector<KeyMove<NodeId>> out;
    if (sorted) {
        // Keys in token order give KeyMoves in order, interval by interval: no buffer, no
        // sort, and keys outside every move are skipped by binary search, never visited.
        const Token* cuts = c.index.cuts();
        const std::size_t intervals = c.index.size() + 1;
        std::vector<std::pair<std::size_t, std::size_t>> keys(intervals);  // [first, last)
        std::size_t from = 0;
        const auto first_at_least = [&](Token t) {
            std::size_t lo = from;
            std::size_t hi = n;
            while (lo < hi) {
                const std::size_t mid = lo + (hi - lo) / 2;
                if (token_of(mid) < t) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        };
        std::size_t total = 0;
        for (std::size_t j = 1; j < intervals; ++j) {  // interval 0 is in no move
            if (c.count(j) != 0) {
                from = first_at_least(cuts[j - 1]);
                keys[j] = {from, j < c.index.size() ? first_at_least(cuts[j]) : n};
                total += (keys[j].second - keys[j].first) * c.count(j);
            }
        }
        out.reserve(total);
        for (std::size_t j = 1; j < intervals; ++j) {
            for (std::size_t i = keys[j].first; i < keys[j].second; ++i) {
                const Token t = token_of(i);
                for (std::size_t p = c.begin[j]; p < c.begin[j + 1]; ++p) {
                    const Move<NodeId>& m = moves[c.list[p]];
                    out.push_back(KeyMove<NodeId>{i, t, &m.from, &m.to});
                }
            }
        }
        return out;
    }
    // Collect the moved keys in input order, so equal tokens stay in index order through a
    // stable sort. Branch-free: each key is written, and kept only when it moves, which is
    // cheaper than mispredicting which ~30% of random keys move. The buffer starts at the
    // expected count for hashed keys, so it rarely grows; uninitialized, so the pages of an
    // overestimate are never touched.
    constexpr std::size_t block = 1024;
    const double expected = c.covered_fraction * static_cast<double>(n) * 1.01;
    std::size_t capacity = std::min(n, static_cast<std::size_t>(expected) + 2 * block);
    std::unique_ptr<MovedKey[]> moved(new MovedKey[capacity]);
    std::size_t kept = 0;
    std::size_t total = 0;  // KeyMoves to write
    for (std::size_t base = 0; base < n; base += block) {
        const std::size_t stop = std::min(n, base + block);
        if (capacity - kept < stop - base) {
            capacity = std::max(kept + (stop - base), 2 * capacity);
            std::unique_ptr<MovedKey[]> bigger(new MovedKey[capacity]);
            std::copy(moved.get(), moved.get() + kept, bigger.get());
            moved.swap(bigger);
        }
        MovedKey* buffer = moved.get();
        for (std::size_t i = base; i < stop; ++i) {
            const Token t = token_of(i);
            const std::size_t moves_here = c.count(c.index.locate(t));
            buffer[kept] = MovedKey{t, i};
            kept += moves_here != 0 ? 1 : 0;
            total += moves_here;
        }
    }
    const MovedKey* in_order = moved.get();
    std::unique_ptr<MovedKey[]> scratch;
    if (!std::is_sorted(moved.get(), moved.get() + kept,
                        [](const MovedKey& a, const MovedKey& b) { return a.token < b.token; })) {
        scratch.reset(new MovedKey[kept]);
        in_order = sort_by_token(moved.get(), scratch.get(), kept, 64);
    }
    out.reserve(total);
    expand_sorted(moves, c, in_order, kept, out);
    return out;
}

template <class NodeId, class TokenOf>
std::vector<KeyMove<NodeId>> project_keys(const std::vector<Move<NodeId>>& moves, std::size_t n,
                                          TokenOf&& token_of, bool sorted) {
    if (moves.empty() || n == 0) {
        return {};
    }
    CoverInput in = cover_input(moves);
    if (in.fits_32_bits()) {
        return project_with<std::uint32_t>(moves, std::move(in), n, token_of, sorted);
    }
    return project_with<std::size_t>(moves, std::move(in), n, token_of, sorted);
}

template <class Index>
std::vector<std::size_t> lost_with(const std::vector<TokenRange>& lost,
                                   const std::vector<Token>& tokens) {
    std::vector<Token> cuts =
        cut_points(lost.size(), [&](std::size_t i) -> const TokenRange& { return lost[i]; });
    // Which intervals are lost: a running count over range starts and ends.
    std::vector<std::ptrdiff_t> depth(cuts.size() + 2, 0);
    for (const TokenRange& r : lost) {
        const auto s = interval_span(cuts, r);
        ++depth[s.first];
        --depth[s.second + 1];
    }
    std::vector<unsigned char> is_lost(cuts.size() + 1);
    std::ptrdiff_t open = 0;
    for (std::size_t j = 0; j < is_lost.size(); ++j) {
        open += depth[j];
        is_lost[j] = open != 0 ? 1 : 0;
    }
    const CutIndex<Index> index(std::move(cuts));
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (is_lost[index.locate(tokens[i])] != 0) {
            out.push_back(i);
        }
    }
    return out;
}

}  // namespace detail

template <class Hash, class NodeId>
template <class Key>
std::vector<KeyMove<NodeId>> Plan<Hash, NodeId>::project(const std::vector<Key>& keys) const {
    // Hashing as the keys are looked up: no token array.
    return detail::project_keys(
        moves, keys.size(), [&](std::size_t i) { return ringplan::key_token<Hash>(keys[i]); },
        false);
}

template <class Hash, class NodeId>
std::vector<KeyMove<NodeId>> Plan<Hash, NodeId>::project_tokens(
    const std::vector<Token>& tokens) const {
    return detail::project_keys(
        moves, tokens.size(), [&](std::size_t i) { return tokens[i]; },
        std::is_sorted(tokens.begin(), tokens.end()));
}

template <class Hash, class NodeId>
std::vector<std::size_t> Plan<Hash, NodeId>::lost_tokens(const std::vector<Token>& tokens) const {
    if (lost.empty() || tokens.empty()) {
        return {};
    }
    if (2 * lost.size() + 2 < 0xFFFFFFFFu) {
        return detail::lost_with<std::uint32_t>(lost, tokens);
    }
    return detail::lost_with<std::size_t>(lost, tokens);
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PLAN_HPP
