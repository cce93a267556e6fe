// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_HANDOFF_HPP
#define RINGPLAN_HANDOFF_HPP

#include <ringplan/detail/planner.hpp>
#include <ringplan/detail/ring_view.hpp>
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
/// (replicas_at(t, n)). Each healthy home replica is in the list without a hint. Each down home
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
[[nodiscard]] std::vector<PreferenceEntry<NodeId>> preference_list_at(
    const Ring<Hash, NodeId>& ring, Token t, Rf n, IsUp&& is_up);

/// preference_list_at for the token of `key`.
template <class Hash, class NodeId, class Key, class IsUp>
[[nodiscard]] std::vector<PreferenceEntry<NodeId>> preference_list(const Ring<Hash, NodeId>& ring,
                                                                   const Key& key, Rf n,
                                                                   IsUp&& is_up) {
    return preference_list_at(ring, Ring<Hash, NodeId>::key_token(key), n,
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
/// Cost: O(runs x (rf + down nodes)) over the runs of vnodes `returning` replicates, as
/// plan_leave; never a walk of the whole ring per range. Under a replica rule
/// (options.policy or options.topology set) the homes are the rule's and the fallbacks those of
/// Placement::preference_list_at (same datacenter, the down node's rack first), found by one
/// walk per vnode of the ring.
/// Errors: unknown_node (`returning` or a down node not in the ring).
template <class Hash, class NodeId, class K, class = detail::IdArg<NodeId, K>>
[[nodiscard]] Plan<NodeId> plan_hint_return(const Ring<Hash, NodeId>& ring, const K& returning,
                                            const PlanOptions<detail::Id<NodeId>>& options = {});

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// A list of small copyable values that lives in the object up to N entries and moves to
// the heap beyond: preference_list_at's per-call lists cost no allocation for ordinary rf.
template <class T, std::size_t N>
class SmallBuffer {
public:
    std::size_t size() const noexcept { return size_; }
    const T* begin() const noexcept { return heap_.empty() ? inline_ : heap_.data(); }
    const T* end() const noexcept { return begin() + size_; }
    const T& operator[](std::size_t i) const noexcept { return begin()[i]; }
    void clear() noexcept {
        heap_.clear();
        size_ = 0;
    }
    void push_back(const T& v) {
        if (heap_.empty() && size_ < N) {
            inline_[size_] = v;
        } else {
            if (heap_.empty()) {
                heap_.reserve(2 * N);
                heap_.assign(inline_, inline_ + size_);
            }
            heap_.push_back(v);
        }
        ++size_;
    }

private:
    T inline_[N] = {};
    std::vector<T> heap_;
    std::size_t size_ = 0;
};

// A preference list in node indices; hint == no_node for a home replica.
struct RawEntry {
    std::uint32_t node;
    std::uint32_t hint;
};

// Builds a preference list from the distinct nodes of a walk, met in order: the first n are
// the homes; each healthy one is listed, each down one is paired with the next healthy
// non-home (its fallback). add() says when the list is complete (n healthy nodes).
// DownHomes: a std::vector<std::uint32_t> or a SmallBuffer of them.
template <class DownHomes>
class PreferenceBuilder {
public:
    PreferenceBuilder(std::size_t n, std::vector<RawEntry>& out, DownHomes& down_homes)
        : n_(n), out_(out), down_homes_(down_homes) {
        out_.clear();
        down_homes_.clear();
    }
    bool add(std::uint32_t node, bool up) {
        const bool home = ++seen_ <= n_;
        if (!up) {
            if (home) {
                down_homes_.push_back(node);
            }
            return false;
        }
        // The first healthy nodes past the homes stand in for the down homes, in order.
        out_.push_back(RawEntry{node, home ? no_node : down_homes_[fallbacks_++]});
        return ++healthy_ == n_;
    }

private:
    std::size_t n_;
    std::size_t seen_ = 0, healthy_ = 0, fallbacks_ = 0;
    std::vector<RawEntry>& out_;
    DownHomes& down_homes_;
};

}  // namespace detail

template <class Hash, class NodeId, class IsUp>
std::vector<PreferenceEntry<NodeId>> preference_list_at(const Ring<Hash, NodeId>& ring, Token t,
                                                        Rf n, IsUp&& is_up) {
    const std::size_t start = ring.vnode_at(t);  // empty_ring
    // The walk goes run by run and ends with the n-th healthy node or once every node has been
    // met; is_up is asked once per distinct node, and `met` holds only the nodes met.
    // Up to 16 nodes met and down homes stay in place, off the heap (raw and out remain).
    detail::SmallBuffer<std::pair<std::uint32_t, bool>, 16> met;
    std::vector<detail::RawEntry> raw;
    detail::SmallBuffer<std::uint32_t, 16> down_homes;
    detail::PreferenceBuilder list(n.value(), raw, down_homes);
    const std::size_t size = ring.vnode_count();
    std::size_t i = start;
    for (std::size_t covered = 0; covered < size && met.size() < ring.node_count();) {
        const std::uint32_t node = ring.vnode_owner(i);
        const bool seen =
            std::any_of(met.begin(), met.end(), [&](const auto& m) { return m.first == node; });
        if (!seen) {
            const bool up = static_cast<bool>(is_up(ring.node_at(node)));
            met.push_back(std::make_pair(node, up));
            if (list.add(node, up)) {
                break;
            }
        }
        const std::size_t end = ring.run_end(i);
        covered += end - i;
        i = end == size ? 0 : end;
    }
    std::vector<PreferenceEntry<NodeId>> out;
    out.reserve(raw.size());
    for (const detail::RawEntry& e : raw) {
        PreferenceEntry<NodeId> entry{ring.node_at(e.node), std::nullopt};
        if (e.hint != detail::no_node) {
            entry.hint = ring.node_at(e.hint);
        }
        out.push_back(std::move(entry));
    }
    return out;
}

namespace detail {

// plan_hint_return under a replica rule (PlanOptions::policy, ::topology): the rule's
// preference list at every vnode whose replica list holds `back`. O(vnodes x walk).
template <class Hash, class NodeId>
Plan<NodeId> rule_hint_return(const Ring<Hash, NodeId>& ring, std::uint32_t back,
                              const PlanOptions<NodeId>& options) {
    const ReplicaPolicy policy =
        options.policy ? *options.policy : ReplicaPolicy::distinct_nodes(options.rf);
    const Topology<NodeId>* topology =
        options.topology.empty() && !policy.needs_topology() ? nullptr : &options.topology;
    const std::vector<const NodeId*> ids = ids_of(ring);
    std::vector<bool> down = down_flags(options.down, ids);
    down[back] = true;
    std::vector<std::uint32_t> identity(ring.node_count());
    for (std::size_t i = 0; i < identity.size(); ++i) {
        identity[i] = static_cast<std::uint32_t>(i);
    }
    DomainWalk walk(ring, identity, ring.node_count(), policy, topology);
    RawPlan raw;
    std::vector<RuleEntry> list;
    const std::size_t size = ring.vnode_count();
    for (std::size_t i = 0; i < size; ++i) {
        const std::vector<std::uint32_t>& homes = walk.at(i);
        if (!holds(homes.data(), homes.size(), back)) {
            continue;
        }
        rule_preference(
            walk.table(), walk.owners().data(), size, i, homes.data(), homes.size(),
            [&](std::uint32_t n) { return !down[n]; }, list);
        std::uint32_t from = no_node;
        for (const RuleEntry& e : list) {
            if (e.hint == back) {
                from = e.node;
            }
        }
        const Token hi = ring.vnode_token(i);
        const Token lo = ring.vnode_token(i == 0 ? size - 1 : i - 1);
        for_each_range(lo, hi, i == 0, i == 0 && lo == hi, [&](const TokenRange& r) {
            if (from == no_node) {
                raw.under.push_back(r);
            } else {
                raw.moves.push_back(RawMove{r, from, back});
            }
        });
    }
    return finish(std::move(raw), ids, walk.table().total_rf);
}

}  // namespace detail

template <class Hash, class NodeId, class K, class>
Plan<NodeId> plan_hint_return(const Ring<Hash, NodeId>& ring, const K& returning,
                              const PlanOptions<detail::Id<NodeId>>& options) {
    const std::size_t rf = options.rf.value();
    if (!ring.contains(returning)) {
        detail::raise(Errc::unknown_node,
                      "returning node " + detail::describe(returning) + " is not in the ring");
    }
    const auto back = static_cast<std::uint32_t>(ring.node_index(returning));
    if (detail::uses_domains(options)) {
        return detail::rule_hint_return(ring, back, options);
    }
    const std::vector<const NodeId*> ids = detail::ids_of(ring);
    std::vector<bool> down = detail::down_flags(options.down, ids);
    down[back] = true;
    const auto down_count = static_cast<std::size_t>(std::count(down.begin(), down.end(), true));

    // The walk of a preference list meets at most rf + (down nodes) distinct nodes before it
    // has rf healthy ones: a backward sweep keeps that many (docs/design.md, "cost").
    const std::size_t keep = rf + down_count;
    const detail::RingView w = detail::view_of(ring);
    const detail::RingView::Pos top = w.first();
    detail::DistinctList walk;
    detail::RingView::Pos at;
    detail::RawPlan raw;
    std::vector<detail::RawEntry> list;
    std::vector<std::uint32_t> down_homes;
    detail::for_each_replicated_run(
        w, back, ring.tokens_of(returning), rf, [&](detail::RingView::Pos start, Token hi) {
            const detail::RingView::Pos q = w.owner_pos(hi);
            if (w.node(start) == back) {
                w.replicas(q, keep, walk);
            } else {
                w.sweep_back(at, q, walk);
            }
            at = q;
            const Token lo = w.token_before(start);
            const bool first = start == top;
            if (!first && !(lo < hi)) {
                return;  // an empty range (equal tokens)
            }
            detail::PreferenceBuilder builder(rf, list, down_homes);
            for (std::uint32_t n : walk.nodes()) {
                if (builder.add(n, !down[n])) {
                    break;
                }
            }
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
        });
    return detail::finish(std::move(raw), ids, rf);
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_HANDOFF_HPP
