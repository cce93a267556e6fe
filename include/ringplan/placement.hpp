// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// A replica rule applied to a ring: the replicas of a key under distinct-node, rack-aware or
// network-topology placement (docs/topology.md).
#ifndef RINGPLAN_PLACEMENT_HPP
#define RINGPLAN_PLACEMENT_HPP

#include <ringplan/detail/ring_view.hpp>
#include <ringplan/error.hpp>
#include <ringplan/handoff.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// A ring, the locations of its nodes and a replica rule, resolved once so that each lookup
/// compares small integers: `Placement p(ring, topology, policy); p.replicas("user:42")`.
///
/// It refers to the ring (not a copy): it is valid until the ring changes or dies; build a new
/// one after each membership change. The topology and the policy are copied in. Const members
/// may run concurrently.
///
/// Errors (constructor): invalid_topology (a member without a location when the rule needs
/// one).
template <class Hash, class NodeId>
class Placement {
public:
    Placement(const Ring<Hash, NodeId>& ring, const Topology<NodeId>& topology,
              ReplicaPolicy policy)
        : ring_(&ring), policy_(std::move(policy)) {
        const Topology<NodeId>* located =
            topology.empty() && !policy_.needs_topology() ? nullptr : &topology;
        table_ = detail::make_domains(policy_, located, ring.node_count(), [&](auto&& f) {
            for (std::size_t i = 0; i < ring.node_count(); ++i) {
                f(i, ring.node_at(i));
            }
        });
        detail::set_driver_order(table_, ring.vnode_owners(), ring.vnode_count());
    }
    /// A temporary ring would die before the placement: keep the ring in a variable.
    Placement(Ring<Hash, NodeId>&& ring, const Topology<NodeId>& topology,
              ReplicaPolicy policy) = delete;

    /// The replicas of `key`, in the rule's order (owner's walk first). Fewer than
    /// max_replicas() when a datacenter has fewer nodes than its rf. Errors: empty_ring.
    template <class Key>
    [[nodiscard]] std::vector<NodeId> replicas(const Key& key) const {
        return replicas_at(ring_->key_token(key));
    }
    [[nodiscard]] std::vector<NodeId> replicas_at(Token t) const {
        std::vector<const NodeId*> ptrs(max_replicas());
        ptrs.resize(replicas_at(t, ptrs.data()));
        std::vector<NodeId> out;
        out.reserve(ptrs.size());
        for (const NodeId* p : ptrs) {
            out.push_back(*p);
        }
        return out;
    }

    /// replicas into caller storage of max_replicas() entries; returns how many it wrote. It
    /// allocates nothing for up to 8 datacenters and a total rf up to 16. Errors: empty_ring.
    template <class Key>
    std::size_t replicas(const Key& key, const NodeId** out) const {
        return replicas_at(ring_->key_token(key), out);
    }
    std::size_t replicas_at(Token t, const NodeId** out) const {
        const std::size_t start = ring_->vnode_at(t);  // empty_ring
        std::uint32_t nodes_small[16];
        std::uint32_t racks_small[32];
        detail::DcState state_small[8];
        std::vector<std::uint32_t> nodes_big, racks_big;
        std::vector<detail::DcState> state_big;
        std::uint32_t* nodes = nodes_small;
        std::uint32_t* racks = racks_small;
        detail::DcState* state = state_small;
        if (table_.total_rf > 16) {
            nodes_big.resize(table_.total_rf);
            racks_big.resize(2 * table_.total_rf);
            nodes = nodes_big.data();
            racks = racks_big.data();
        }
        if (table_.dc_name.size() > 8) {
            state_big.resize(table_.dc_name.size());
            state = state_big.data();
        }
        const std::size_t n = detail::walk_replicas(
            table_, ring_->vnode_owners(), ring_->vnode_count(), start, nodes, racks, state);
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = &ring_->node_at(nodes[i]);
        }
        return n;
    }

    /// The sloppy-quorum preference list of token `t` under the rule (Dynamo, SOSP 2007,
    /// §4.6, kept in the datacenter): the healthy replicas in the rule's order, then for each
    /// down replica, in that order, a fallback with a hint naming it: the first healthy node
    /// clockwise that is no replica and no other fallback, in the down node's datacenter,
    /// preferring its rack. A down replica whose datacenter has no healthy node left gets no
    /// fallback (the list is shorter). Under distinct_nodes without racks this is
    /// ringplan::preference_list_at. `is_up(const NodeId&) -> bool` is called at most once per
    /// node. Errors: empty_ring.
    template <class IsUp>
    [[nodiscard]] std::vector<PreferenceEntry<NodeId>> preference_list_at(Token t,
                                                                          IsUp&& is_up) const {
        const std::size_t start = ring_->vnode_at(t);  // empty_ring
        std::vector<std::uint32_t> homes(max_replicas());
        std::vector<std::uint32_t> racks(2 * max_replicas());
        std::vector<detail::DcState> state(table_.dc_name.size());
        std::size_t n = detail::walk_replicas(table_, ring_->vnode_owners(), ring_->vnode_count(),
                                              start, homes.data(), racks.data(), state.data());
        homes.resize(n);
        homes.erase(detail::unique_in_order(homes.begin(), homes.end()), homes.end());
        std::vector<signed char> known(ring_->node_count(), -1);
        const auto up = [&](std::uint32_t node) {
            if (known[node] < 0) {
                known[node] = static_cast<bool>(is_up(ring_->node_at(node))) ? 1 : 0;
            }
            return known[node] == 1;
        };
        std::vector<detail::RuleEntry> raw;
        detail::rule_preference(table_, ring_->vnode_owners(), ring_->vnode_count(), start,
                                homes.data(), homes.size(), up, raw);
        std::vector<PreferenceEntry<NodeId>> out;
        out.reserve(raw.size());
        for (const detail::RuleEntry& e : raw) {
            PreferenceEntry<NodeId> entry{ring_->node_at(e.node), std::nullopt};
            if (e.hint != detail::DomainTable::none) {
                entry.hint = ring_->node_at(e.hint);
            }
            out.push_back(std::move(entry));
        }
        return out;
    }
    /// preference_list_at for the token of `key`.
    template <class Key, class IsUp>
    [[nodiscard]] std::vector<PreferenceEntry<NodeId>> preference_list(const Key& key,
                                                                       IsUp&& is_up) const {
        return preference_list_at(ring_->key_token(key), std::forward<IsUp>(is_up));
    }

    /// The share of the ring `node` holds a replica of under the rule, in [0, 1]: what it
    /// streams away when it leaves. One walk per vnode of the ring. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    [[nodiscard]] double replicated_share(const K& node) const {
        const auto index = static_cast<std::uint32_t>(ring_->node_index(node));
        const std::size_t size = ring_->vnode_count();
        std::vector<std::uint32_t> homes(max_replicas());
        std::vector<std::uint32_t> racks(2 * max_replicas());
        std::vector<detail::DcState> state(table_.dc_name.size());
        double share = 0;
        for (std::size_t i = 0; i < size; ++i) {
            const std::size_t n = detail::walk_replicas(table_, ring_->vnode_owners(), size, i,
                                                        homes.data(), racks.data(), state.data());
            if (!detail::holds(homes.data(), n, index)) {
                continue;
            }
            const Token hi = ring_->vnode_token(i);
            const Token lo = ring_->vnode_token(i == 0 ? size - 1 : i - 1);
            detail::for_each_range(lo, hi, i == 0, i == 0 && lo == hi,
                                   [&](const TokenRange& r) { share += r.fraction(); });
        }
        return share;
    }

    /// The most replicas a key can get: the policy's total rf.
    std::size_t max_replicas() const noexcept { return table_.total_rf; }

    const Ring<Hash, NodeId>& ring() const noexcept { return *ring_; }
    const ReplicaPolicy& policy() const noexcept { return policy_; }

private:
    const Ring<Hash, NodeId>* ring_;
    ReplicaPolicy policy_;
    detail::DomainTable table_;
};

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PLACEMENT_HPP
