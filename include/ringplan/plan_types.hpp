// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// What a plan is: moves of token ranges between nodes, what can not be kept, and the options a
// plan is computed with. plan.hpp computes plans, project.hpp maps them onto keys, schedule.hpp
// orders their moves into waves; each needs only this header.
#ifndef RINGPLAN_PLAN_TYPES_HPP
#define RINGPLAN_PLAN_TYPES_HPP

#include <ringplan/error.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// How a plan is computed.
template <class NodeId>
struct PlanOptions {
    /// The replication factor.
    Rf rf{1};
    /// Nodes that can not serve as sources (they are down). A crashed node is added by
    /// plan_crash itself.
    std::vector<NodeId> down;
    /// True (the default): when a node that drops out of a range's replica set is up, it is the
    /// range's only candidate source (Cassandra's strict source; in a graceful leave, the
    /// leaving node). False: every up old replica of the range is a candidate, which spreads a
    /// leave's streams over the survivors (Cassandra's non-strict mode). Either way the load is
    /// balanced over the candidates (docs/plans.md, "Sources").
    bool strict_sources = true;
    /// The replica rule (topology.hpp). Unset (the default): the first `rf` distinct nodes.
    /// Set: the rule picks every replica set and `rf` is not read; the plan's rf is the rule's
    /// total_rf(). Rack-aware and network-topology rules need `topology`.
    std::optional<ReplicaPolicy> policy;
    /// Where the nodes sit. Required by rack-aware and network-topology rules (every member of
    /// both rings needs a location); with the distinct-node rule it only feeds
    /// Plan::rack_shared. Empty: no failure domains known.
    Topology<NodeId> topology;

    PlanOptions() = default;
    /// Implicit, so that `plan_leave(ring, id, Rf{3})` reads as "with rf = 3".
    PlanOptions(Rf replication_factor) : rf(replication_factor) {}  // NOLINT
    PlanOptions(Rf replication_factor, std::vector<NodeId> down_nodes)
        : rf(replication_factor), down(std::move(down_nodes)) {}
};

/// A rule's view of one datacenter: what a plan leaves it (Plan::datacenters).
struct DatacenterRanges {
    std::string datacenter;
    /// Ranges the datacenter must receive (or keeps no replica of any more) while none of
    /// its old replicas is up: they come from another datacenter, or, when Plan::lost holds
    /// them too, from nowhere. Sorted, merged.
    std::vector<TokenRange> lost;
    /// Ranges the new ring gives fewer than the datacenter's rf replicas there. Sorted, merged.
    std::vector<TokenRange> under_replicated;
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

/// The result of diff, plan_leave, plan_crash, plan_join and plan_hint_return
/// (docs/plans.md). A plain value: it refers to no ring and no hash policy.
template <class NodeId>
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
    /// With a network-topology rule: one entry per datacenter with an rf above 0, by name.
    /// Empty otherwise.
    std::vector<DatacenterRanges> datacenters;
    /// With a topology: ranges whose new replicas share a rack although the members hold
    /// enough racks to keep them apart (per datacenter under a network-topology rule, over the
    /// whole ring otherwise). The rack-aware and network-topology rules never do this; the
    /// distinct-node rule can. Sorted, merged.
    std::vector<TokenRange> rack_shared;
    /// The replication factor the plan was computed for (a rule's total_rf()).
    Rf rf{1};
    /// What the busiest source sends, as a fraction of the ring.
    double max_sent = 0;
    /// The least `max_sent` could be if a range could be split between its candidate sources
    /// (the same candidates), rounded up to a whole token. Sources are chosen so that
    /// `max_sent` is at most this plus the largest range one move carries (docs/plans.md,
    /// "Sources"). For plan_hint_return, whose sources are fixed, it equals `max_sent`.
    double optimal_max_sent = 0;

    /// max_sent / optimal_max_sent: 1 is the best any choice of sources can do with whole
    /// ranges split freely; 1 when nothing is sent.
    [[nodiscard]] double source_balance() const noexcept {
        return optimal_max_sent > 0 ? max_sent / optimal_max_sent : 1.0;
    }

    /// True when nothing moves and nothing is lost.
    [[nodiscard]] bool empty() const noexcept { return moves.empty() && lost.empty(); }

    /// The ring fractions copied, summed over moves (up to rf with replication).
    [[nodiscard]] double moved_fraction() const noexcept {
        double total = 0;
        for (const auto& m : moves) {
            total += m.range.fraction();
        }
        return total;
    }

    /// The fraction of the ring whose data is lost.
    [[nodiscard]] double lost_fraction() const noexcept {
        double total = 0;
        for (const auto& r : lost) {
            total += r.fraction();
        }
        return total;
    }

    /// Per node, what it sends and receives; only nodes that do either, by ascending id.
    [[nodiscard]] std::vector<NodeTraffic<NodeId>> traffic() const {
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
};

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PLAN_TYPES_HPP
