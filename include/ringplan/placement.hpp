// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// A replica rule applied to a ring: the replicas of a key under distinct-node, rack-aware or
// network-topology placement (docs/topology.md).
#ifndef RINGPLAN_PLACEMENT_HPP
#define RINGPLAN_PLACEMENT_HPP

#include <ringplan/error.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
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
        std::uint32_t racks_small[16];
        detail::DcState state_small[8];
        std::vector<std::uint32_t> nodes_big, racks_big;
        std::vector<detail::DcState> state_big;
        std::uint32_t* nodes = nodes_small;
        std::uint32_t* racks = racks_small;
        detail::DcState* state = state_small;
        if (table_.total_rf > 16) {
            nodes_big.resize(table_.total_rf);
            racks_big.resize(table_.total_rf);
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
