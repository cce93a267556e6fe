// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Plans: what moves, from whom, to whom, when membership changes (docs/plans.md,
// docs/design.md, "plans").
#ifndef RINGPLAN_PLAN_HPP
#define RINGPLAN_PLAN_HPP

#include <ringplan/detail/domain_plan.hpp>
#include <ringplan/detail/planner.hpp>
#include <ringplan/detail/ring_view.hpp>
#include <ringplan/error.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

namespace detail {
// Names NodeId in a non-deduced context, so `plan_leave(ring, "n2", Rf{3})` deduces NodeId
// from the ring alone.
template <class T>
struct IdentityType {
    using type = T;
};
template <class T>
using Id = typename IdentityType<T>::type;
}  // namespace detail

/// The plan that turns a store laid out by `before` into one laid out by `after`: for every
/// token range whose replica set changes, one move per node that gains it. Sources are a node
/// that drops out of the set, else another old replica (any up old replica when
/// `options.strict_sources` is false), never a node in `options.down`; the busiest source sends
/// at most the splittable optimum plus the largest range (Plan::optimal_max_sent). One merge of
/// the two rings: O((vnodes of both) x rf), plus the balancing of the sources.
/// Errors: unknown_node (a down node in neither ring).
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> diff(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                                const PlanOptions<detail::Id<NodeId>>& options = {});

/// Graceful departure: `node` streams each range it replicates to the node that takes its place,
/// then goes (docs/design.md, "plans"). Costs O(runs x (rf + log vnodes)) over the runs of vnodes
/// whose replica lists hold `node`: with vnodes spread evenly that is O(vnodes(node) x rf), and
/// it never grows with the other nodes' vnode counts alone. Errors: unknown_node.
template <class Hash, class NodeId, class K, class = detail::IdArg<NodeId, K>>
[[nodiscard]] Plan<NodeId> plan_leave(const Ring<Hash, NodeId>& ring, const K& node,
                                      const PlanOptions<detail::Id<NodeId>>& options = {});

/// A crash: `node` is gone; each of its ranges is rebuilt from surviving replicas, and what has
/// no surviving replica is reported in `lost`. Cost as plan_leave. Errors: unknown_node.
template <class Hash, class NodeId, class K, class = detail::IdArg<NodeId, K>>
[[nodiscard]] Plan<NodeId> plan_crash(const Ring<Hash, NodeId>& ring, const K& node,
                                      const PlanOptions<detail::Id<NodeId>>& options = {});

/// A join with `vnodes` derived vnodes: each range `node` takes is streamed from the replica
/// that drops out of the set (Cassandra's strict source), else from another old replica. Cost
/// as plan_leave. Errors: duplicate_node, zero_vnodes, too_many_vnodes, unknown_node.
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> plan_join(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                                     std::uint32_t vnodes,
                                     const PlanOptions<detail::Id<NodeId>>& options = {});

/// A join at explicit tokens (any order). Errors: as plan_join, and token_collision.
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> plan_join_with_tokens(
    const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node, std::vector<Token> tokens,
    const PlanOptions<detail::Id<NodeId>>& options = {});

/// Crashes of several nodes at once (a rack or a datacenter that loses power): the plan from
/// `ring` to `ring` without `nodes`, every one of them down. What no surviving replica holds
/// is in `lost` (and, under a network-topology rule, in each datacenter's entry of
/// Plan::datacenters). Cost as diff. An empty list gives an empty plan.
/// Errors: unknown_node (a node not in the ring), duplicate_node (a node listed twice).
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> plan_crash_nodes(const Ring<Hash, NodeId>& ring,
                                            const std::vector<detail::Id<NodeId>>& nodes,
                                            const PlanOptions<detail::Id<NodeId>>& options = {});

/// plan_crash_nodes of every member of `ring` that options.topology puts in `datacenter`
/// and `rack`. Errors: invalid_topology (no member there).
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> plan_crash_rack(const Ring<Hash, NodeId>& ring,
                                           std::string_view datacenter, std::string_view rack,
                                           const PlanOptions<detail::Id<NodeId>>& options);

/// plan_crash_nodes of every member of `ring` that options.topology puts in `datacenter`.
/// Errors: invalid_topology (no member there).
template <class Hash, class NodeId>
[[nodiscard]] Plan<NodeId> plan_crash_datacenter(const Ring<Hash, NodeId>& ring,
                                                 std::string_view datacenter,
                                                 const PlanOptions<detail::Id<NodeId>>& options);

/// The share of the ring `node` holds a replica of, in [0, 1]: what it must stream away when it
/// leaves, and the least any leave plan can move. Errors: unknown_node.
template <class Hash, class NodeId, class K, class = detail::IdArg<NodeId, K>>
[[nodiscard]] double replicated_share(const Ring<Hash, NodeId>& ring, const K& node, Rf rf);

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// The ids of a ring, by node index.
template <class Hash, class NodeId>
std::vector<const NodeId*> ids_of(const Ring<Hash, NodeId>& ring) {
    std::vector<const NodeId*> ids;
    ids.reserve(ring.node_count() + 1);
    for (std::size_t i = 0; i < ring.node_count(); ++i) {
        ids.push_back(&ring.node_at(i));
    }
    return ids;
}

// Every range is under-replicated when the new ring has fewer than rf nodes, not only the
// ranges the plan visited.
inline void mark_under_replicated(RawPlan& raw, std::size_t nodes_after, std::size_t rf) {
    if (nodes_after < rf) {
        raw.under.assign(1, TokenRange{0, max_token});
    } else {
        raw.under.clear();
    }
}

// Whether a plan goes through the rule's walk (domain_plan) rather than the distinct-node
// planner's run-by-run sweeps.
template <class NodeId>
bool uses_domains(const PlanOptions<NodeId>& options) {
    return options.policy.has_value() || !options.topology.empty();
}

// A leave or a crash of the member `node`, over the stretches it replicates.
template <class Hash, class NodeId, class K>
Plan<NodeId> plan_departure(const Ring<Hash, NodeId>& ring, const K& node, bool crash,
                            const PlanOptions<NodeId>& options) {
    const auto index = static_cast<std::uint32_t>(ring.node_index(node));  // unknown_node
    if (uses_domains(options)) {
        Ring<Hash, NodeId> after = ring;
        after.remove_node(node);
        return domain_plan(
            ring, after, options,
            crash ? std::vector<NodeId>{ring.node_at(index)} : std::vector<NodeId>{});
    }
    const std::size_t rf = options.rf.value();
    const std::vector<const NodeId*> ids = ids_of(ring);
    std::vector<bool> down = down_flags(options.down, ids);
    if (crash) {
        down[index] = true;
    }
    const RingView before = view_of(ring);
    RingView after = before;
    after.hidden = index;
    after.hidden_count = ring.vnode_count(node);
    after.node_count = ring.node_count() - 1;
    Planner planner(rf, std::move(down), ids.size(), options.strict_sources);
    plan_node_segments(before, index, ring.tokens_of(node), rf, before, after, planner);
    RawPlan& raw = planner.result();
    mark_under_replicated(raw, after.node_count, rf);
    return finish(std::move(raw), ids, rf);
}

// A join of `node` at `tokens` (sorted, validated): the ring's own view is `before`; `after`
// adds the tokens, in a node table with `node` in its place.
template <class Hash, class NodeId>
Plan<NodeId> plan_arrival(const Ring<Hash, NodeId>& ring, const NodeId& node,
                          const std::vector<Token>& tokens, const PlanOptions<NodeId>& options) {
    const std::size_t rf = options.rf.value();
    const std::size_t n = ring.node_count();
    std::vector<const NodeId*> ids;
    ids.reserve(n + 1);
    std::vector<std::uint32_t> remap(n);
    std::uint32_t index = no_node;
    for (std::size_t i = 0; i < n; ++i) {
        if (index == no_node && node < ring.node_at(i)) {
            index = static_cast<std::uint32_t>(ids.size());
            ids.push_back(&node);
        }
        remap[i] = static_cast<std::uint32_t>(ids.size());
        ids.push_back(&ring.node_at(i));
    }
    if (index == no_node) {
        index = static_cast<std::uint32_t>(ids.size());
        ids.push_back(&node);
    }
    const RingView before = view_of(ring, remap.data());
    RingView after = before;
    after.extra = tokens.data();
    after.extra_size = tokens.size();
    after.extra_node = index;
    after.node_count = n + 1;
    Planner planner(rf, down_flags(options.down, ids), ids.size(), options.strict_sources);
    plan_node_segments(after, index, tokens, rf, before, after, planner);
    RawPlan& raw = planner.result();
    mark_under_replicated(raw, after.node_count, rf);
    return finish(std::move(raw), ids, rf);
}

}  // namespace detail

template <class Hash, class NodeId>
Plan<NodeId> diff(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                  const PlanOptions<detail::Id<NodeId>>& options) {
    if (detail::uses_domains(options)) {
        return detail::domain_plan(before, after, options, {});
    }
    const std::size_t rf = options.rf.value();
    const std::size_t na = after.node_count();
    // The shared node table: the union of both rings' ids, in id order.
    const detail::SharedIds<NodeId> shared = detail::shared_ids(before, after);
    const std::vector<const NodeId*>& ids = shared.ids;
    detail::Planner planner(rf, detail::down_flags(options.down, ids), ids.size(),
                            options.strict_sources);
    const detail::RingView vb = detail::view_of(before, shared.remap_b.data());
    const detail::RingView va = detail::view_of(after, shared.remap_a.data());

    // The segments are the gaps between the distinct tokens of both rings, visited from the top
    // down so each ring's replica lists come from one backward sweep (O(rf) a vnode).
    detail::SweptLists swept(vb, va, rf);
    const auto owner_index = [](const detail::RingView& v, std::size_t i) {
        return i == v.base_size ? v.first() : detail::RingView::Pos{i, 0};
    };
    bool top = true;
    detail::for_each_cut(before, after,
                         [&](Token lo, Token hi, bool first, std::size_t ib, std::size_t ia) {
                             swept.at(owner_index(vb, ib), owner_index(va, ia), top);
                             top = false;
                             planner.add(lo, hi, first, swept.before(), swept.after());
                         });
    detail::RawPlan& raw = planner.result();
    if (na < rf) {
        // Also when both rings are empty and there is no segment to visit.
        raw.under.assign(1, TokenRange{0, max_token});
    }
    return detail::finish(std::move(raw), ids, rf);
}

template <class Hash, class NodeId, class K, class>
Plan<NodeId> plan_leave(const Ring<Hash, NodeId>& ring, const K& node,
                        const PlanOptions<detail::Id<NodeId>>& options) {
    return detail::plan_departure(ring, node, false, options);
}

template <class Hash, class NodeId, class K, class>
Plan<NodeId> plan_crash(const Ring<Hash, NodeId>& ring, const K& node,
                        const PlanOptions<detail::Id<NodeId>>& options) {
    return detail::plan_departure(ring, node, true, options);
}

template <class Hash, class NodeId>
Plan<NodeId> plan_join_with_tokens(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                                   std::vector<Token> tokens,
                                   const PlanOptions<detail::Id<NodeId>>& options) {
    ring.check_tokens_addable(node, tokens);  // sorts them
    if (detail::uses_domains(options)) {
        Ring<Hash, NodeId> after = ring;
        after.add_node_with_tokens(node, std::move(tokens));
        return detail::domain_plan(ring, after, options, {});
    }
    return detail::plan_arrival(ring, node, tokens, options);
}

template <class Hash, class NodeId>
Plan<NodeId> plan_join(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                       std::uint32_t vnodes, const PlanOptions<detail::Id<NodeId>>& options) {
    ring.check_addable(node, vnodes);
    if (detail::uses_domains(options)) {
        Ring<Hash, NodeId> after = ring;
        after.add_node(node, vnodes);
        return detail::domain_plan(ring, after, options, {});
    }
    // Derived tokens may coincide with existing ones (ties are ordered by id), as in add_node.
    const std::vector<Token> tokens = Ring<Hash, NodeId>::derived_tokens(node, vnodes);
    return detail::plan_arrival(ring, node, tokens, options);
}

template <class Hash, class NodeId>
Plan<NodeId> plan_crash_nodes(const Ring<Hash, NodeId>& ring,
                              const std::vector<detail::Id<NodeId>>& nodes,
                              const PlanOptions<detail::Id<NodeId>>& options) {
    std::vector<NodeId> sorted(nodes);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0 && !(sorted[i - 1] < sorted[i])) {
            detail::raise(Errc::duplicate_node,
                          "node " + detail::describe(sorted[i]) + " is listed twice");
        }
        (void)ring.node_index(sorted[i]);  // unknown_node
    }
    Ring<Hash, NodeId> after = ring;
    for (const NodeId& n : sorted) {
        after.remove_node(n);
    }
    if (detail::uses_domains(options)) {
        return detail::domain_plan(ring, after, options, sorted);
    }
    PlanOptions<NodeId> with_down = options;
    with_down.down.insert(with_down.down.end(), sorted.begin(), sorted.end());
    return diff(ring, after, with_down);
}

namespace detail {
// The members of `ring` that `topology` puts in `datacenter` (and `rack`, unless null).
template <class Hash, class NodeId>
std::vector<NodeId> members_in(const Ring<Hash, NodeId>& ring, const Topology<NodeId>& topology,
                               std::string_view datacenter, const std::string_view* rack) {
    std::vector<NodeId> out;
    for (const auto& [id, where] : topology) {
        if (where.datacenter == datacenter && (rack == nullptr || where.rack == *rack) &&
            ring.contains(id)) {
            out.push_back(id);
        }
    }
    if (out.empty()) {
        std::string what = "no member of the ring is in datacenter " + describe(datacenter);
        if (rack != nullptr) {
            what += ", rack " + describe(*rack);
        }
        raise(Errc::invalid_topology, what);
    }
    return out;
}
}  // namespace detail

template <class Hash, class NodeId>
Plan<NodeId> plan_crash_rack(const Ring<Hash, NodeId>& ring, std::string_view datacenter,
                             std::string_view rack,
                             const PlanOptions<detail::Id<NodeId>>& options) {
    return plan_crash_nodes(ring, detail::members_in(ring, options.topology, datacenter, &rack),
                            options);
}

template <class Hash, class NodeId>
Plan<NodeId> plan_crash_datacenter(const Ring<Hash, NodeId>& ring, std::string_view datacenter,
                                   const PlanOptions<detail::Id<NodeId>>& options) {
    return plan_crash_nodes(ring, detail::members_in(ring, options.topology, datacenter, nullptr),
                            options);
}

template <class Hash, class NodeId, class K, class>
double replicated_share(const Ring<Hash, NodeId>& ring, const K& node, Rf rf) {
    const auto index = static_cast<std::uint32_t>(ring.node_index(node));
    const detail::RingView w = detail::view_of(ring);
    const detail::RingView::Pos top = w.first();
    double share = 0;
    detail::for_each_replicated_run(
        w, index, ring.tokens_of(node), rf.value(), [&](detail::RingView::Pos start, Token hi) {
            const Token lo = w.token_before(start);
            const bool first = start == top;
            detail::for_each_range(lo, hi, first, first && lo == hi,
                                   [&](const TokenRange& r) { share += r.fraction(); });
        });
    return share;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PLAN_HPP
