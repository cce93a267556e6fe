// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_HANDOFF_HPP
#define RINGPLAN_HANDOFF_HPP

#include <ringplan/error.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// One node of a sloppy-quorum preference list (preference_list).
template <class NodeId>
struct PreferenceEntry {
    /// A healthy node that takes the write.
    NodeId node;
    /// Empty for a home replica; for a fallback, the down home replica it stands in for (the
    /// hint it stores the data under, to hand it back when that node returns).
    std::optional<NodeId> hint;

    friend bool operator==(const PreferenceEntry& a, const PreferenceEntry& b) {
        return a.node == b.node && a.hint == b.hint;
    }
    friend bool operator!=(const PreferenceEntry& a, const PreferenceEntry& b) { return !(a == b); }
};

/// The sloppy-quorum preference list of token `t` (Dynamo, DeCandia et al., SOSP 2007, §4.6):
/// the first `n` healthy distinct nodes clockwise from the owner.
///
/// The home replicas are the first min(n, node_count()) distinct nodes clockwise
/// (replicas_of(t, n)). Each healthy home replica is in the list without a hint. Each down home
/// replica is replaced by the next healthy distinct node further clockwise that is not a home
/// replica, which carries a hint naming it: the k-th down home replica (in walk order) is
/// paired with the k-th such fallback. A node is never listed twice.
///
/// Order: the healthy home replicas in walk order, then the fallbacks in walk order; this is
/// also the order of the first `n` healthy nodes met clockwise.
///
/// With fewer than `n` healthy nodes in the ring the list holds all of them (possibly none);
/// the down home replicas left without a fallback are the last ones in walk order, and no entry
/// names them.
///
/// `is_up(const NodeId&) -> bool` says whether a node is healthy; it is called at most once per
/// distinct node met. Cost: the walk stops at the n-th healthy distinct node.
/// Errors: invalid_rf (n < 1), empty_ring.
template <class Hash, class NodeId, class IsUp>
std::vector<PreferenceEntry<NodeId>> preference_list_of(const Ring<Hash, NodeId>& ring, Token t,
                                                        std::size_t n, IsUp&& is_up);

/// preference_list_of for the token of `key`.
template <class Hash, class NodeId, class Key, class IsUp>
std::vector<PreferenceEntry<NodeId>> preference_list(const Ring<Hash, NodeId>& ring, const Key& key,
                                                     std::size_t n, IsUp&& is_up) {
    return preference_list_of(ring, Ring<Hash, NodeId>::key_token(key), n,
                              std::forward<IsUp>(is_up));
}

/// The hint return plan: what the fallbacks hand back to `returning` when it comes back after
/// an outage during which the nodes of `options.down` were down (`returning` is counted as down
/// whether or not it is listed there).
///
/// For every token range where `returning` is a home replica (one of the first `options.rf`
/// distinct nodes), the preference list with every down node down names the fallback that held
/// `returning`'s hint; the plan has a Move{range, fallback, returning} for it. The other down
/// nodes stay down, so no move comes from one of them.
///
/// The result reads like any plan: moves sorted by range and adjacent ranges with the same
/// (from, to) merged; `lost` is empty; `under_replicated` lists the ranges of `returning` for
/// which no fallback existed (fewer than rf healthy nodes during the outage): no hint holds
/// their writes, so they need repair from the other replicas (anti-entropy).
/// Cost: O(vnodes(returning) x rf) segments, each a walk of the ring from its vnode.
/// Errors: invalid_rf, unknown_node (`returning` or a down node not in the ring).
template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_hint_return(const Ring<Hash, NodeId>& ring,
                                    const detail::Id<NodeId>& returning,
                                    const PlanOptions<detail::Id<NodeId>>& options = {});

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// A preference list in node indices; hint == no_node for a home replica.
struct RawEntry {
    std::uint32_t node;
    std::uint32_t hint;
};

// The walk of preference_list_of from position p of view w, with `up(index)` telling whether a
// node (shared index) is healthy. `homes` and `fallbacks` are scratch space.
template <class Up>
void raw_preference_list(const RingView& w, RingView::Pos p, std::size_t n, Up&& up,
                         std::vector<RawEntry>& out, std::vector<std::uint32_t>& seen,
                         std::vector<std::uint32_t>& down_homes) {
    out.clear();
    seen.clear();
    down_homes.clear();
    std::size_t healthy = 0;
    std::size_t fallbacks = 0;
    for (std::size_t step = 0; step < w.size() && healthy < n; ++step, p = w.next(p)) {
        const std::uint32_t node = w.node(p);
        if (std::find(seen.begin(), seen.end(), node) != seen.end()) {
            continue;
        }
        seen.push_back(node);
        const bool home = seen.size() <= n;
        if (!up(node)) {
            if (home) {
                down_homes.push_back(node);
            }
            continue;
        }
        ++healthy;
        if (home) {
            out.push_back(RawEntry{node, no_node});
        } else {
            // The first healthy nodes past the homes stand in for the down homes, in order.
            out.push_back(RawEntry{node, down_homes[fallbacks++]});
        }
    }
}

// The identity remap: a ring's own node indices as the shared table.
template <class Hash, class NodeId>
std::vector<std::uint32_t> identity_remap(const Ring<Hash, NodeId>& ring) {
    std::vector<std::uint32_t> remap(ring.node_count());
    for (std::size_t i = 0; i < remap.size(); ++i) {
        remap[i] = static_cast<std::uint32_t>(i);
    }
    return remap;
}

}  // namespace detail

template <class Hash, class NodeId, class IsUp>
std::vector<PreferenceEntry<NodeId>> preference_list_of(const Ring<Hash, NodeId>& ring, Token t,
                                                        std::size_t n, IsUp&& is_up) {
    using detail::RingAccess;
    detail::check_rf(n);
    const std::size_t start = ring.vnode_of(t);  // empty_ring
    const std::vector<std::uint32_t> remap = detail::identity_remap(ring);
    const detail::RingView w = detail::view_of(ring, remap);
    // Ask is_up once per node, lazily: 0 unknown, 1 up, 2 down.
    std::vector<unsigned char> state(ring.node_count(), 0);
    const auto up = [&](std::uint32_t node) {
        if (state[node] == 0) {
            state[node] = is_up(RingAccess::id(ring, node)) ? 1 : 2;
        }
        return state[node] == 1;
    };
    std::vector<detail::RawEntry> raw;
    std::vector<std::uint32_t> seen, down_homes;
    detail::raw_preference_list(w, detail::RingView::Pos{start, 0}, n, up, raw, seen, down_homes);
    std::vector<PreferenceEntry<NodeId>> out;
    out.reserve(raw.size());
    for (const detail::RawEntry& e : raw) {
        PreferenceEntry<NodeId> entry{RingAccess::id(ring, e.node), std::nullopt};
        if (e.hint != detail::no_node) {
            entry.hint = RingAccess::id(ring, e.hint);
        }
        out.push_back(std::move(entry));
    }
    return out;
}

template <class Hash, class NodeId>
Plan<Hash, NodeId> plan_hint_return(const Ring<Hash, NodeId>& ring,
                                    const detail::Id<NodeId>& returning,
                                    const PlanOptions<detail::Id<NodeId>>& options) {
    using detail::RingAccess;
    detail::check_rf(options.rf);
    const std::size_t node = RingAccess::find(ring, returning);
    if (node == ~std::size_t{0}) {
        detail::raise(Errc::unknown_node,
                      "returning node " + detail::describe(returning) + " is not in the ring");
    }
    const auto back = static_cast<std::uint32_t>(node);
    std::vector<const NodeId*> ids;
    ids.reserve(ring.node_count());
    for (std::size_t i = 0; i < ring.node_count(); ++i) {
        ids.push_back(&RingAccess::id(ring, i));
    }
    std::vector<bool> down = detail::down_flags(options.down, ids);
    down[back] = true;

    const std::vector<std::uint32_t> remap = detail::identity_remap(ring);
    const detail::RingView w = detail::view_of(ring, remap);
    std::vector<detail::RingView::Pos> segments;
    detail::for_each_replicated_segment(w, back, RingAccess::node_tokens(ring, node), options.rf,
                                        [&](detail::RingView::Pos q) { segments.push_back(q); });
    std::sort(
        segments.begin(), segments.end(),
        [](const detail::RingView::Pos& a, const detail::RingView::Pos& b) { return a.i < b.i; });
    segments.erase(std::unique(segments.begin(), segments.end()), segments.end());

    detail::RawPlan raw;
    std::vector<detail::RawEntry> list;
    std::vector<std::uint32_t> seen, down_homes;
    const auto up = [&](std::uint32_t n) { return !down[n]; };
    for (const detail::RingView::Pos& q : segments) {
        const Token hi = w.token(q);
        const Token lo = w.token(w.prev(q));
        const bool first = q == w.first();
        if (!first && !(lo < hi)) {
            continue;  // an empty range (equal tokens)
        }
        detail::raw_preference_list(w, q, options.rf, up, list, seen, down_homes);
        std::uint32_t from = detail::no_node;
        for (const detail::RawEntry& e : list) {
            if (e.hint == back) {
                from = e.node;
            }
        }
        detail::for_each_range(lo, hi, first, first && lo == hi, [&](const TokenRange& r) {
            if (from == detail::no_node) {
                raw.under.push_back(r);
            } else {
                raw.moves.push_back(detail::RawMove{r, from, back});
            }
        });
    }
    return detail::finish<Hash, NodeId>(std::move(raw), ids, options.rf);
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_HANDOFF_HPP
