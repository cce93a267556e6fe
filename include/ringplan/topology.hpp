// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Failure domains: where each node sits (datacenter, rack) and the rule that picks a key's
// replicas from them (docs/topology.md). placement.hpp applies the rule to a ring; the plans
// take it through PlanOptions.
#ifndef RINGPLAN_TOPOLOGY_HPP
#define RINGPLAN_TOPOLOGY_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/error.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// Where a node sits. An empty rack means the node has no rack (docs/topology.md says how each
/// rule treats it); the datacenter is never empty.
struct Location {
    std::string datacenter;
    std::string rack;

    friend bool operator==(const Location& a, const Location& b) {
        return a.datacenter == b.datacenter && a.rack == b.rack;
    }
    friend bool operator!=(const Location& a, const Location& b) { return !(a == b); }
};

/// The locations of nodes: a map from node id to Location, sorted by id. It may hold nodes
/// that are not in a ring (they are ignored) and must hold every member of a ring that a
/// rack-aware or network-topology rule is applied to.
template <class NodeId = std::string>
class Topology {
public:
    using value_type = std::pair<NodeId, Location>;
    using const_iterator = typename std::vector<value_type>::const_iterator;

    Topology() = default;
    /// Errors: invalid_topology (an empty datacenter, a node listed twice).
    Topology(std::initializer_list<value_type> nodes) {
        for (const value_type& n : nodes) {
            if (find(n.first) != nullptr) {
                detail::raise(Errc::invalid_topology,
                              "node " + detail::describe(n.first) + " is listed twice");
            }
            set(n.first, n.second);
        }
    }

    /// Sets (or replaces) the location of `id`. Errors: invalid_topology (empty datacenter).
    void set(const NodeId& id, Location where) {
        if (where.datacenter.empty()) {
            detail::raise(Errc::invalid_topology,
                          "node " + detail::describe(id) + " needs a datacenter");
        }
        auto it = lower(id);
        if (it != nodes_.end() && !(id < it->first)) {
            it->second = std::move(where);
        } else {
            nodes_.insert(it, value_type(id, std::move(where)));
        }
    }
    void set(const NodeId& id, std::string datacenter, std::string rack) {
        set(id, Location{std::move(datacenter), std::move(rack)});
    }

    /// Removes `id`; false when it had no location.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool erase(const K& id) {
        auto it = lower(id);
        if (it == nodes_.end() || detail::as_id<NodeId>(id) < it->first) {
            return false;
        }
        nodes_.erase(it);
        return true;
    }

    /// The location of `id`, or nullptr.
    template <class K, class = detail::IdArg<NodeId, K>>
    const Location* find(const K& id) const {
        auto it = std::lower_bound(
            nodes_.begin(), nodes_.end(), id,
            [](const value_type& e, const K& v) { return e.first < detail::as_id<NodeId>(v); });
        if (it == nodes_.end() || detail::as_id<NodeId>(id) < it->first) {
            return nullptr;
        }
        return &it->second;
    }

    /// The location of `id`. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    const Location& at(const K& id) const {
        const Location* l = find(id);
        if (l == nullptr) {
            detail::raise(Errc::unknown_node, "node " +
                                                  detail::describe(detail::as_id<NodeId>(id)) +
                                                  " has no location in the topology");
        }
        return *l;
    }

    std::size_t size() const noexcept { return nodes_.size(); }
    bool empty() const noexcept { return nodes_.empty(); }
    const_iterator begin() const noexcept { return nodes_.begin(); }
    const_iterator end() const noexcept { return nodes_.end(); }

    /// The ids located in `datacenter`, ascending.
    std::vector<NodeId> nodes_in(std::string_view datacenter) const {
        return collect(datacenter, nullptr);
    }
    /// The ids located in `rack` of `datacenter` ("" for the nodes without a rack), ascending.
    std::vector<NodeId> nodes_in(std::string_view datacenter, std::string_view rack) const {
        return collect(datacenter, &rack);
    }

    friend bool operator==(const Topology& a, const Topology& b) { return a.nodes_ == b.nodes_; }
    friend bool operator!=(const Topology& a, const Topology& b) { return !(a == b); }

private:
    std::vector<NodeId> collect(std::string_view datacenter, const std::string_view* rack) const {
        std::vector<NodeId> out;
        for (const value_type& n : nodes_) {
            if (n.second.datacenter == datacenter && (rack == nullptr || n.second.rack == *rack)) {
                out.push_back(n.first);
            }
        }
        return out;
    }
    template <class K>
    typename std::vector<value_type>::iterator lower(const K& id) {
        return std::lower_bound(
            nodes_.begin(), nodes_.end(), id,
            [](const value_type& e, const K& v) { return e.first < detail::as_id<NodeId>(v); });
    }
    std::vector<value_type> nodes_;
};

/// The order in which a network-topology rule lists a key's replicas (the set is the same).
enum class ReplicaOrder {
    /// The Cassandra server's (NetworkTopologyStrategy.calculateNaturalReplicas, 4.x): in the
    /// order the walk accepts them, datacenters interleaved.
    server,
    /// The DataStax Python driver's (NetworkTopologyStrategy.make_token_replica_map, 3.25):
    /// datacenter by datacenter, in the order datacenters first appear in the token ring.
    driver,
};

/// One datacenter's replication factor; 0 keeps no replica there.
struct DatacenterRf {
    std::string datacenter;
    std::uint32_t rf = 0;
};

/// The rule that picks a key's replicas, walking clockwise from the key's token
/// (docs/topology.md).
class ReplicaPolicy {
public:
    enum class Kind {
        /// The first rf distinct nodes (Dynamo's preference list; Cassandra's SimpleStrategy).
        distinct_nodes,
        /// The network-topology rule with one datacenter holding every node: rf nodes on
        /// distinct racks while unseen racks remain.
        rack_aware,
        /// Cassandra's NetworkTopologyStrategy: per datacenter, rf nodes of that datacenter,
        /// an unseen rack first, a repeated rack only as often as rf exceeds its racks.
        network_topology,
    };

    /// distinct_nodes with rf 1.
    ReplicaPolicy() = default;

    static ReplicaPolicy distinct_nodes(Rf rf) {
        if (rf.value() > 0xFFFFFFFFu) {
            detail::raise(
                Errc::invalid_rf,
                "a replication factor of " + std::to_string(rf.value()) + " is above 4294967295");
        }
        ReplicaPolicy p;
        p.rfs_.assign(1, DatacenterRf{std::string(), static_cast<std::uint32_t>(rf.value())});
        return p;
    }

    /// Errors: invalid_rf (above 2^32 - 1).
    static ReplicaPolicy rack_aware(Rf rf) {
        ReplicaPolicy p = distinct_nodes(rf);
        p.kind_ = Kind::rack_aware;
        return p;
    }

    /// One rf per datacenter, any order (kept sorted by name). A datacenter with no node gets
    /// no replica; one that is not listed, or listed with 0, keeps none.
    /// Errors: invalid_topology (an empty or repeated datacenter name), invalid_rf (no
    /// datacenter with an rf above 0).
    static ReplicaPolicy network_topology(std::vector<DatacenterRf> rfs,
                                          ReplicaOrder order = ReplicaOrder::server) {
        std::sort(rfs.begin(), rfs.end(), [](const DatacenterRf& a, const DatacenterRf& b) {
            return a.datacenter < b.datacenter;
        });
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < rfs.size(); ++i) {
            if (rfs[i].datacenter.empty()) {
                detail::raise(Errc::invalid_topology, "a datacenter's name is empty");
            }
            if (i > 0 && rfs[i - 1].datacenter == rfs[i].datacenter) {
                detail::raise(Errc::invalid_topology, "datacenter " +
                                                          detail::describe(rfs[i].datacenter) +
                                                          " is given two replication factors");
            }
            total += rfs[i].rf;
        }
        if (total == 0) {
            detail::raise(Errc::invalid_rf,
                          "a network-topology rule needs a datacenter with an rf of at least 1");
        }
        if (total > 0xFFFFFFFFu) {
            detail::raise(Errc::invalid_rf, "the replication factors sum to " +
                                                std::to_string(total) + ", above 4294967295");
        }
        ReplicaPolicy p;
        p.kind_ = Kind::network_topology;
        p.order_ = order;
        p.rfs_ = std::move(rfs);
        return p;
    }

    Kind kind() const noexcept { return kind_; }
    ReplicaOrder order() const noexcept { return order_; }
    /// The replicas a key gets when every datacenter has enough nodes: the sum of the rfs.
    Rf total_rf() const {
        std::size_t total = 0;
        for (const DatacenterRf& d : rfs_) {
            total += d.rf;
        }
        return Rf(total);
    }
    /// The datacenters and their rfs, by name (network_topology only; empty otherwise).
    std::vector<DatacenterRf> datacenter_rfs() const {
        return kind_ == Kind::network_topology ? rfs_ : std::vector<DatacenterRf>{};
    }
    /// The rf of one datacenter: 0 when it is not listed (network_topology only).
    std::uint32_t rf_of(std::string_view datacenter) const noexcept {
        if (kind_ != Kind::network_topology) {
            return 0;
        }
        for (const DatacenterRf& d : rfs_) {
            if (d.datacenter == datacenter) {
                return d.rf;
            }
        }
        return 0;
    }
    /// True unless the rule is distinct_nodes: then every member needs a location.
    bool needs_topology() const noexcept { return kind_ != Kind::distinct_nodes; }

    friend bool operator==(const ReplicaPolicy& a, const ReplicaPolicy& b) {
        if (a.kind_ != b.kind_ || a.order_ != b.order_ || a.rfs_.size() != b.rfs_.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.rfs_.size(); ++i) {
            if (a.rfs_[i].datacenter != b.rfs_[i].datacenter || a.rfs_[i].rf != b.rfs_[i].rf) {
                return false;
            }
        }
        return true;
    }
    friend bool operator!=(const ReplicaPolicy& a, const ReplicaPolicy& b) { return !(a == b); }

private:
    Kind kind_ = Kind::distinct_nodes;
    ReplicaOrder order_ = ReplicaOrder::server;
    std::vector<DatacenterRf> rfs_{DatacenterRf{std::string(), 1}};
};

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// A policy resolved against one ring's members: small integers per node index, so a walk
// compares numbers, never strings.
struct DomainTable {
    static constexpr std::uint32_t none = 0xFFFFFFFFu;
    ReplicaPolicy::Kind kind = ReplicaPolicy::Kind::distinct_nodes;
    ReplicaOrder order = ReplicaOrder::server;
    std::size_t total_rf = 1;
    // Per node index (a table that may be wider than the ring: plans share one table between
    // two rings): its datacenter's index in dc_rf, or none (not a member, or a datacenter
    // that keeps no replica); its rack's id, unique over (datacenter, rack) pairs, or none
    // (only for nodes that are not members).
    std::vector<std::uint32_t> dc;
    std::vector<std::uint32_t> rack;
    std::vector<bool> racked;  // the node has a rack (the driver counts only these)
    // Per datacenter of the policy, in its order (by name).
    std::vector<std::string> dc_name;
    std::vector<std::uint32_t> dc_rf;
    std::vector<std::uint32_t> dc_nodes;         // members there
    std::vector<std::uint32_t> dc_racks;         // distinct racks there, "no rack" counting as one
    std::vector<std::uint32_t> dc_named_racks;   // distinct non-empty racks (the driver's count)
    std::vector<std::uint32_t> dc_racked_nodes;  // members with a rack (the driver's count)
    // The driver's datacenter order: by first appearance in token order from the ring's start.
    std::vector<std::uint32_t> driver_order;
};

// Builds the table for `count` node indices; members(f) calls f(index, id) for each member of
// the ring. Without a topology (only for distinct_nodes) every member is its own rack.
template <class NodeId, class Members>
DomainTable make_domains(const ReplicaPolicy& policy, const Topology<NodeId>* topology,
                         std::size_t count, Members&& members) {
    DomainTable t;
    t.kind = policy.kind();
    t.order = policy.order();
    t.total_rf = policy.total_rf().value();
    t.dc.assign(count, DomainTable::none);
    t.rack.assign(count, DomainTable::none);
    t.racked.assign(count, false);
    if (policy.kind() == ReplicaPolicy::Kind::network_topology) {
        for (const DatacenterRf& d : policy.datacenter_rfs()) {
            t.dc_name.push_back(d.datacenter);
            t.dc_rf.push_back(d.rf);
        }
    } else {
        t.dc_name.emplace_back();
        t.dc_rf.push_back(static_cast<std::uint32_t>(t.total_rf));
    }
    const std::size_t dcs = t.dc_name.size();
    t.dc_nodes.assign(dcs, 0);
    t.dc_racks.assign(dcs, 0);
    t.dc_named_racks.assign(dcs, 0);
    t.dc_racked_nodes.assign(dcs, 0);
    // Racks by (datacenter, rack) name pair, numbered in order of first sight.
    std::vector<std::pair<std::pair<std::string_view, std::string_view>, std::uint32_t>> racks;
    members([&](std::size_t index, const NodeId& id) {
        if (policy.kind() == ReplicaPolicy::Kind::distinct_nodes && topology == nullptr) {
            t.dc[index] = 0;
            t.rack[index] = static_cast<std::uint32_t>(index);  // unused by the rule
            return;
        }
        const Location* where = topology != nullptr ? topology->find(id) : nullptr;
        if (where == nullptr) {
            raise(Errc::invalid_topology,
                  "node " + describe(id) + " is in the ring but has no location in the topology");
        }
        std::uint32_t d = 0;
        if (policy.kind() == ReplicaPolicy::Kind::network_topology) {
            auto it = std::lower_bound(t.dc_name.begin(), t.dc_name.end(), where->datacenter);
            if (it == t.dc_name.end() || *it != where->datacenter ||
                t.dc_rf[static_cast<std::size_t>(it - t.dc_name.begin())] == 0) {
                // A datacenter that keeps no replica: its nodes are never picked, but still get
                // a rack id (reports name them).
                d = DomainTable::none;
            } else {
                d = static_cast<std::uint32_t>(it - t.dc_name.begin());
            }
        }
        const auto key =
            std::make_pair(std::string_view(where->datacenter), std::string_view(where->rack));
        std::uint32_t r = DomainTable::none;
        for (const auto& e : racks) {
            if (e.first == key) {
                r = e.second;
                break;
            }
        }
        const bool fresh = r == DomainTable::none;
        if (fresh) {
            r = static_cast<std::uint32_t>(racks.size());
            racks.emplace_back(key, r);
        }
        t.dc[index] = policy.kind() == ReplicaPolicy::Kind::distinct_nodes ? 0 : d;
        t.rack[index] = r;
        t.racked[index] = !where->rack.empty();
        if (d != DomainTable::none) {
            ++t.dc_nodes[d];
            if (fresh) {
                ++t.dc_racks[d];
                if (!where->rack.empty()) {
                    ++t.dc_named_racks[d];
                }
            }
            if (!where->rack.empty()) {
                ++t.dc_racked_nodes[d];
            }
        }
    });
    if (policy.kind() == ReplicaPolicy::Kind::distinct_nodes) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < count; ++i) {
            n += t.dc[i] == 0 ? 1u : 0u;
        }
        t.dc_nodes[0] = static_cast<std::uint32_t>(n);
    }
    return t;
}

// The driver's datacenter order for a ring's owner array.
inline void set_driver_order(DomainTable& t, const std::uint32_t* owners, std::size_t size) {
    t.driver_order.clear();
    std::vector<bool> seen(t.dc_name.size(), false);
    for (std::size_t i = 0; i < size && t.driver_order.size() < seen.size(); ++i) {
        const std::uint32_t d = t.dc[owners[i]];
        if (d != DomainTable::none && !seen[d]) {
            seen[d] = true;
            t.driver_order.push_back(d);
        }
    }
}

inline bool holds(const std::uint32_t* list, std::size_t size, std::uint32_t v) noexcept {
    return std::find(list, list + size, v) != list + size;
}

// Drops later repeats, keeping the first of each value in place (the driver's rule can list a
// node twice; a replica set holds it once). Returns the new end. Quadratic: lists are short.
template <class It>
It unique_in_order(It first, It last) {
    It out = first;
    for (It it = first; it != last; ++it) {
        if (std::find(first, out, *it) == out) {
            *out++ = *it;
        }
    }
    return out;
}

// Per-walk state of one datacenter, kept on the stack for up to 8 datacenters.
struct DcState {
    std::int64_t left = 0;     // replicas still wanted there
    std::int64_t repeats = 0;  // rack repeats still acceptable (server rule)
    std::uint32_t placed = 0;  // replicas placed there directly (driver's replicas_this_dc)
};

// The replicas of the range owned by position `start` of a ring's owner array, as node
// indices into out (room for t.total_rf); returns how many. `scratch` has room for
// 2 x t.total_rf (the racks seen, and the driver's skipped hosts), `state` for one DcState per
// datacenter: the walk allocates nothing. The rules are transcriptions of their sources
// (docs/topology.md):
//   distinct nodes: the first total_rf distinct owners;
//   server: Cassandra 4's NetworkTopologyStrategy.calculateNaturalReplicas with
//     DatacenterEndpoints.addEndpointAndCheckIfDone (rack_aware: one datacenter);
//   driver: the Python driver's make_token_replica_map, datacenter by datacenter.
inline std::size_t walk_replicas(const DomainTable& t, const std::uint32_t* owners,
                                 std::size_t size, std::size_t start, std::uint32_t* out,
                                 std::uint32_t* scratch, DcState* state) {
    std::uint32_t* racks_seen = scratch;
    std::size_t n = 0;
    if (size == 0) {
        return 0;
    }
    if (t.kind == ReplicaPolicy::Kind::distinct_nodes) {
        const std::size_t want = std::min<std::size_t>(t.total_rf, t.dc_nodes[0]);
        for (std::size_t k = 0; k < size && n < want; ++k) {
            std::size_t p = start + k;
            p = p >= size ? p - size : p;
            const std::uint32_t node = owners[p];
            if (!holds(out, n, node)) {
                out[n++] = node;
            }
        }
        return n;
    }
    const std::size_t dcs = t.dc_name.size();
    if (t.order == ReplicaOrder::server || t.kind == ReplicaPolicy::Kind::rack_aware) {
        std::size_t to_fill = 0;
        for (std::size_t d = 0; d < dcs; ++d) {
            state[d] = DcState{};
            if (t.dc_rf[d] == 0 || t.dc_nodes[d] == 0) {
                continue;
            }
            state[d].left = std::min<std::int64_t>(t.dc_rf[d], t.dc_nodes[d]);
            state[d].repeats = std::int64_t{t.dc_rf[d]} - std::int64_t{t.dc_racks[d]};
            ++to_fill;
        }
        std::size_t seen = 0;
        for (std::size_t k = 0; k < size && to_fill > 0; ++k) {
            std::size_t p = start + k;
            p = p >= size ? p - size : p;
            const std::uint32_t node = owners[p];
            const std::uint32_t d = t.dc[node];
            if (d == DomainTable::none || state[d].left <= 0 || holds(out, n, node)) {
                continue;
            }
            DcState& s = state[d];
            if (!holds(racks_seen, seen, t.rack[node])) {
                racks_seen[seen++] = t.rack[node];
            } else if (s.repeats > 0) {
                --s.repeats;
            } else {
                continue;  // rfLeft distinct racks remain: no more repeats
            }
            out[n++] = node;
            if (--s.left == 0) {
                --to_fill;
            }
        }
        return n;
    }
    // The driver: each datacenter in its order, one lap of its tokens from the key's.
    for (std::uint32_t d : t.driver_order) {
        if (t.dc_rf[d] == 0) {
            continue;
        }
        std::int64_t remaining = t.dc_rf[d];
        std::uint32_t placed = 0;
        std::size_t placed_racks = 0;  // racks_placed, in racks_seen[first..)
        std::uint32_t* racks_placed = racks_seen;
        // skipped_hosts, in the second half of scratch. Only the first `remaining` can ever be
        // flushed (remaining only falls), so a longer list is cut there: t.total_rf is room.
        std::uint32_t* skipped = scratch + t.total_rf;
        std::size_t skipped_count = 0;
        bool none_placed = false;  // the driver's None rack is in racks_placed
        const auto in_placed = [&](std::uint32_t node) {
            return t.racked[node] ? holds(racks_placed, placed_racks, t.rack[node]) : none_placed;
        };
        const auto placed_count = [&] { return placed_racks + (none_placed ? 1u : 0u); };
        for (std::size_t k = 0; k < size; ++k) {
            std::size_t p = start + k;
            p = p >= size ? p - size : p;
            const std::uint32_t node = owners[p];
            if (t.dc[node] != d) {
                continue;
            }
            if (remaining == 0 || placed == t.dc_racked_nodes[d]) {
                break;
            }
            if (holds(out, n, node)) {
                continue;
            }
            if (in_placed(node) && placed_count() < t.dc_named_racks[d]) {
                if (skipped_count < static_cast<std::size_t>(remaining)) {
                    skipped[skipped_count++] = node;
                }
                continue;
            }
            out[n++] = node;
            ++placed;
            --remaining;
            if (t.racked[node]) {
                if (!holds(racks_placed, placed_racks, t.rack[node])) {
                    racks_placed[placed_racks++] = t.rack[node];
                }
            } else {
                none_placed = true;
            }
            if (placed_count() == t.dc_named_racks[d]) {
                for (std::size_t s = 0; s < skipped_count && remaining > 0; ++s) {
                    out[n++] = skipped[s];
                    --remaining;
                }
                skipped_count = 0;
            }
        }
    }
    return n;
}

// One entry of a preference list in node indices: `hint` is the down home replica a fallback
// stands in for, or none for a home replica.
struct RuleEntry {
    std::uint32_t node;
    std::uint32_t hint;
};

// The preference list of the range owned by position `start` under a rule, from its replica
// list `homes` (deduplicated): the healthy homes in the rule's order, then for each down home
// in that order a fallback: the first healthy node clockwise that is not a home nor already a
// fallback, in the down node's datacenter, preferring its rack (Cassandra keeps hints and
// replacements in the datacenter; a rack-mate keeps the rack's share of failures). A down
// home with no healthy node left in its datacenter gets none. up(n) is asked at most once a
// node (the caller caches it).
template <class Up>
void rule_preference(const DomainTable& t, const std::uint32_t* owners, std::size_t size,
                     std::size_t start, const std::uint32_t* homes, std::size_t count, Up&& up,
                     std::vector<RuleEntry>& out) {
    out.clear();
    for (std::size_t k = 0; k < count; ++k) {
        if (up(homes[k])) {
            out.push_back(RuleEntry{homes[k], DomainTable::none});
        }
    }
    for (std::size_t k = 0; k < count; ++k) {
        const std::uint32_t h = homes[k];
        if (up(h)) {
            continue;
        }
        std::uint32_t same_dc = DomainTable::none;
        std::uint32_t same_rack = DomainTable::none;
        for (std::size_t step = 0; step < size && same_rack == DomainTable::none; ++step) {
            std::size_t p = start + step;
            p = p >= size ? p - size : p;
            const std::uint32_t n = owners[p];
            if (t.dc[n] != t.dc[h] || holds(homes, count, n) ||
                std::any_of(out.begin(), out.end(),
                            [&](const RuleEntry& e) { return e.node == n; }) ||
                !up(n)) {
                continue;
            }
            if (t.rack[n] == t.rack[h]) {
                same_rack = n;
            } else if (same_dc == DomainTable::none) {
                same_dc = n;
            }
        }
        const std::uint32_t f = same_rack != DomainTable::none ? same_rack : same_dc;
        if (f != DomainTable::none) {
            out.push_back(RuleEntry{f, h});
        }
    }
}

}  // namespace detail

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_TOPOLOGY_HPP
