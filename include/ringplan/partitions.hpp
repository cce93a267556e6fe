// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Fixed partitions: the key space cut into Q partitions, each held by min(rf, N) distinct nodes,
// the first its primary (Riak's ring of Q partitions, Dynamo's strategy 3, Redis Cluster's
// slots). Balanced to within one replica and one primary per node, rebalanced with the fewest
// copies any balanced map needs, and the change given as events a store can run in order
// (docs/partitions.md). Given a Topology, each partition's replicas sit on distinct racks
// whenever balance allows it (docs/partitions.md, "Racks").
#ifndef RINGPLAN_PARTITIONS_HPP
#define RINGPLAN_PARTITIONS_HPP

#include <ringplan/bytes.hpp>
#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/md5.hpp>
#include <ringplan/error.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// A partition number, 0 <= p < Q.
using PartitionId = std::uint32_t;

/// The most partitions a map holds (2^24; Redis Cluster has 2^14, Riak rings up to 2^10 or so).
constexpr std::size_t max_partitions = std::size_t{1} << 24;

/// The partition of token `t` among `q`: floor(t * q / 2^64) (Lemire's multiply-shift, not a
/// modulo). Partition p is the contiguous token range [ceil(p 2^64/q), ceil((p+1) 2^64/q)), so
/// the partitions' sizes differ by at most one token: no modulo bias. q >= 1.
constexpr PartitionId partition_at(Token t, std::size_t q) noexcept {
    __extension__ typedef unsigned __int128 U128;  // -Wpedantic knows no __int128
    return static_cast<PartitionId>((static_cast<U128>(t) * q) >> 64);
}

/// The partition of `key` among `q` under hash policy Hash: partition_at(key_token<Hash>(key)).
template <class Hash, class Key>
PartitionId key_partition(const Key& key, std::size_t q) {
    return partition_at(key_token<Hash>(key), q);
}

/// Balance figures of a map (PartitionMap::stats).
struct PartitionStats {
    std::size_t min_replicas = 0;
    std::size_t max_replicas = 0;
    std::size_t min_primaries = 0;
    std::size_t max_primaries = 0;
    double replica_max_over_mean = 0;  ///< max replicas / (Q r / N)
    double primary_max_over_mean = 0;  ///< max primaries / (Q / N)
};

namespace detail {
// A map's parts: `slots` holds Q * min(rf, N) node indices, partition by partition, primary
// first; `nodes` ascending.
template <class NodeId>
struct MapParts {
    std::size_t q;
    Rf rf;
    std::vector<NodeId> nodes;
    std::vector<std::uint32_t> weights;
    std::vector<std::uint32_t> slots;
};
}  // namespace detail

/// One node's load in a map.
template <class NodeId>
struct PartitionLoad {
    NodeId node;
    std::uint32_t weight = 1;
    std::size_t replicas = 0;   ///< partitions it holds, as primary or not
    std::size_t primaries = 0;  ///< partitions it is the primary of
};

/// An assignment of Q partitions to nodes: each partition has replica_count() = min(rf, N)
/// distinct nodes, the first its primary. A value: copy it, compare it, keep old ones.
///
/// NodeId: copyable, ordered by operator<, equality-comparable (a ByteRepr only for the
/// ClusterKit scheme). Functions that name a node take anything ordered against NodeId.
template <class NodeId = std::string>
class PartitionMap {
public:
    using node_id = NodeId;

    PartitionMap() = default;

    /// A map from explicit lists (a map read back from storage): `lists[p]` are partition p's
    /// nodes, primary first. Q = lists.size(); the nodes are those the lists name, weight 1.
    /// Errors: invalid_partition_count (no lists, or more than max_partitions), invalid_map
    /// (a list that is not min(rf, N) distinct nodes, where N counts the nodes named).
    static PartitionMap from_lists(std::vector<std::vector<NodeId>> lists, Rf rf);

    std::size_t partition_count() const noexcept { return q_; }
    Rf rf() const noexcept { return rf_; }
    /// min(rf, node_count()): the nodes each partition has.
    std::size_t replica_count() const noexcept { return r_; }
    std::size_t node_count() const noexcept { return nodes_.size(); }
    /// The members, ascending; node_at(i) is nodes()[i].
    const std::vector<NodeId>& nodes() const noexcept { return nodes_; }
    const NodeId& node_at(std::size_t i) const noexcept { return nodes_[i]; }

    /// The primary of partition p. Errors: invalid_partition.
    const NodeId& primary_at(PartitionId p) const { return nodes_[slots(p)[0]]; }
    /// The nodes of partition p, primary first. Errors: invalid_partition.
    [[nodiscard]] std::vector<NodeId> replicas_at(PartitionId p) const {
        const std::uint32_t* s = slots(p);
        std::vector<NodeId> out;
        out.reserve(r_);
        for (std::size_t k = 0; k < r_; ++k) {
            out.push_back(nodes_[s[k]]);
        }
        return out;
    }
    /// Partition p's nodes as indices into nodes(), replica_count() of them, primary first:
    /// the allocation-free form. Errors: invalid_partition.
    const std::uint32_t* replica_indices_at(PartitionId p) const { return slots(p); }

    /// Whether `node` holds partition p. Errors: invalid_partition.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool holds(PartitionId p, const K& node) const {
        const std::size_t n = find(node);
        const std::uint32_t* s = slots(p);
        return n != npos && std::find(s, s + r_, static_cast<std::uint32_t>(n)) != s + r_;
    }
    /// Whether `node` is a member of the map.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool contains(const K& node) const {
        return find(node) != npos;
    }

    /// The partitions `node` holds, ascending. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    [[nodiscard]] std::vector<PartitionId> partitions_of(const K& node) const;
    /// The weight `node` was given. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::uint32_t weight_of(const K& node) const {
        return weights_[index_of(node)];
    }

    /// Every node's weight, replicas and primaries, by ascending id.
    [[nodiscard]] std::vector<PartitionLoad<NodeId>> loads() const;

    /// How even the map is: the fewest and most replicas and primaries on a node, and the
    /// most over the mean (1 is perfect balance; unweighted maps only read naturally).
    [[nodiscard]] PartitionStats stats() const;

    friend bool operator==(const PartitionMap& a, const PartitionMap& b) {
        return a.q_ == b.q_ && a.rf_ == b.rf_ && a.nodes_ == b.nodes_ && a.weights_ == b.weights_ &&
               a.slots_ == b.slots_;
    }
    friend bool operator!=(const PartitionMap& a, const PartitionMap& b) { return !(a == b); }

    // For the functions that build maps: parts they have checked (a detail type, so no user
    // builds an unchecked map by accident).
    explicit PartitionMap(detail::MapParts<NodeId> parts)
        : q_(parts.q),
          rf_(parts.rf),
          r_(std::min(parts.rf.value(), parts.nodes.size())),
          nodes_(std::move(parts.nodes)),
          weights_(std::move(parts.weights)),
          slots_(std::move(parts.slots)) {}

    /// The index of `node` in nodes(), or node_count() if it is not a member.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::size_t find_node(const K& node) const {
        const std::size_t i = find(node);
        return i == npos ? nodes_.size() : i;
    }

private:
    static constexpr std::size_t npos = ~std::size_t{0};

    const std::uint32_t* slots(PartitionId p) const {
        if (p >= q_) {
            detail::raise(Errc::invalid_partition, "partition " + std::to_string(p) +
                                                       " is not below the partition count " +
                                                       std::to_string(q_));
        }
        return slots_.data() + std::size_t{p} * r_;
    }
    template <class K>
    std::size_t find(const K& key) const {
        const auto& id = detail::as_id<NodeId>(key);
        auto it = std::lower_bound(nodes_.begin(), nodes_.end(), id,
                                   [](const NodeId& e, const auto& v) { return e < v; });
        if (it == nodes_.end() || id < *it) {
            return npos;
        }
        return static_cast<std::size_t>(it - nodes_.begin());
    }
    template <class K>
    std::size_t index_of(const K& key) const {
        const std::size_t i = find(key);
        if (i == npos) {
            detail::raise(Errc::unknown_node,
                          "node " + detail::describe(key) + " is not in the partition map");
        }
        return i;
    }

    std::size_t q_ = 0;
    Rf rf_{1};
    std::size_t r_ = 0;
    std::vector<NodeId> nodes_;
    std::vector<std::uint32_t> weights_;
    std::vector<std::uint32_t> slots_;
};

/// What a change asks a node to do with a partition.
enum class PartitionAction {
    copy,      ///< copy the partition to `node` from one of `sources` (a full copy)
    catch_up,  ///< `node` returns with the partition's old data: fetch what it missed
    promote,   ///< `node` (which holds the partition, or has just received it) becomes primary
    drop,      ///< `node` may delete the partition: every copy of the step is done
    lost,      ///< no live node holds the partition: its data is gone
};

/// Why a change event happens.
enum class ChangeReason {
    join,       ///< a node joined
    leave,      ///< a node leaves gracefully (it still sends)
    failure,    ///< a node failed: its data is gone
    rejoin,     ///< a node listed in the map returns with its old data
    rebalance,  ///< balance moved the replica (no node joined, left or failed for it)
};

constexpr const char* to_string(PartitionAction a) noexcept {
    switch (a) {
        case PartitionAction::copy:
            return "copy";
        case PartitionAction::catch_up:
            return "catch_up";
        case PartitionAction::promote:
            return "promote";
        case PartitionAction::drop:
            return "drop";
        case PartitionAction::lost:
            return "lost";
    }
    return "unknown";
}
constexpr const char* to_string(ChangeReason r) noexcept {
    switch (r) {
        case ChangeReason::join:
            return "join";
        case ChangeReason::leave:
            return "leave";
        case ChangeReason::failure:
            return "failure";
        case ChangeReason::rejoin:
            return "rejoin";
        case ChangeReason::rebalance:
            return "rebalance";
    }
    return "unknown";
}

/// One step of a change, for one partition.
template <class NodeId>
struct PartitionEvent {
    PartitionAction action = PartitionAction::copy;
    PartitionId partition = 0;
    /// The receiver (copy, catch_up), the new primary (promote), the node that deletes (drop);
    /// empty for lost.
    NodeId node{};
    /// copy and catch_up: every live node that holds the partition, best first (the first is
    /// the planned sender, chosen to spread the sends; the rest are fallbacks).
    std::vector<NodeId> sources;
    ChangeReason reason = ChangeReason::rebalance;

    friend bool operator==(const PartitionEvent& a, const PartitionEvent& b) {
        return a.action == b.action && a.partition == b.partition && a.node == b.node &&
               a.sources == b.sources && a.reason == b.reason;
    }
};

/// What a membership change does to a map: the new map and the events that get a store from
/// the old layout to the new one, in the order to run them: lost, then copies and catch-ups,
/// then promotions, then drops. Every drop comes after every copy of the step, so no partition
/// has fewer live holders during the step than before it.
template <class NodeId>
struct PartitionChange {
    PartitionMap<NodeId> map;
    std::vector<PartitionEvent<NodeId>> events;
    /// Full copies (copy events).
    std::size_t copies = 0;
    /// A lower bound on the full copies any balanced map of the new membership needs: Q r,
    /// less each node's replicas kept up to its target, less r per lost partition. It counts
    /// each node alone, so the distinct-node rule can make it unreachable: when rf is close to
    /// N (the partitions that lost a replica have too few candidates with room), or weights
    /// give a node (nearly) every partition. Unweighted balanced rebalances make the fewest
    /// copies any balanced map can (tested against a min-cost flow over random changes), which
    /// is this bound in nearly every change. ClusterKit's unbalanced map may copy fewer or more.
    /// With a topology whose racks allow distinct racks, the bound also counts each rack alone
    /// (it keeps each partition it holds at most once).
    std::size_t minimum_copies = 0;
    /// Partitions with no live holder left.
    std::size_t lost = 0;
    /// Partitions of the new map with two replicas in one rack (0 without a topology, and 0
    /// whenever the racks allow it: see assign_partitions with a topology).
    std::size_t rack_shared = 0;
};

/// Who left how, for rebalance_partitions: nodes of the old map missing from the new
/// membership leave gracefully unless listed in `failed`.
template <class NodeId>
struct RebalanceOptions {
    /// Departed nodes whose data is gone. A failed node may also be in the new membership: it
    /// came back empty (a replaced disk) and holds nothing.
    std::vector<NodeId> failed;
    /// Members of the old map that were down and are back with their old data: they keep their
    /// partitions and catch up instead of copying.
    std::vector<NodeId> returning;
    /// Where the new members sit: when set, the new map is rack-aware (as assign_partitions
    /// with a topology) and keeps the most replicas that rule allows. A value, not a pointer,
    /// so options kept beyond the topology they were built from can not dangle. (The
    /// initializer keeps `{failed, returning}` free of -Wmissing-field-initializers.)
    std::optional<Topology<NodeId>> topology = std::nullopt;
};

/// A balanced map of `nodes` (any order; duplicates refused): every node holds
/// floor(Q r / N) or ceil(Q r / N) replicas and floor(Q / N) or ceil(Q / N) primaries,
/// r = min(rf, N). Deterministic: depends only on the set of nodes, Q and rf.
/// Errors: invalid_partition_count, empty_ring (no nodes), duplicate_node.
template <class NodeId>
[[nodiscard]] PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes,
                                                     std::size_t q, Rf rf);

/// As assign_partitions, with capacity weights (node, weight >= 1): each node's replicas are
/// within one of its exact share Q r w / W, and its primaries within one of Q w / W. A node
/// whose share would exceed Q holds every partition; the others share the rest by weight.
/// Errors: as assign_partitions, and invalid_weight (a weight of 0).
template <class NodeId>
[[nodiscard]] PartitionMap<NodeId> assign_partitions(
    const std::vector<std::pair<NodeId, std::uint32_t>>& nodes, std::size_t q, Rf rf);

/// As assign_partitions, rack-aware (Kafka's rack-aware assignment, Ceph CRUSH's rack failure
/// domain, Riak's location awareness). A rack is a (datacenter, rack) pair of `topology`; a
/// node with an empty rack is a rack of its own; datacenters mean nothing more (a map has one
/// rf). Balance is as without a topology; the round-ups (who gets the ceil) go where they keep
/// every rack's total target at most Q, when some choice does.
/// Guarantee: when some balanced choice of targets has every rack's total at most Q (which is
/// exactly when r distinct racks per partition are possible: a partition holds a rack once, and
/// a 0/1 partition x rack matrix with rows r and columns at most Q always exists), no partition
/// repeats a rack. Otherwise any map repeats racks at least sum over racks of
/// max(0, total - Q) times; this one repeats a rack only where no rack the partition lacks has
/// room (not always that least; docs/partitions.md has figures). Primaries are balanced as
/// without a topology. Deterministic: depends only on the nodes, topology, Q and rf.
/// Errors: as assign_partitions, and invalid_topology (a member with no location, named).
template <class NodeId>
[[nodiscard]] PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes,
                                                     std::size_t q, Rf rf,
                                                     const Topology<NodeId>& topology);
template <class NodeId>
[[nodiscard]] PartitionMap<NodeId> assign_partitions(
    const std::vector<std::pair<NodeId, std::uint32_t>>& nodes, std::size_t q, Rf rf,
    const Topology<NodeId>& topology);

/// The partitions of `map` with two replicas in one rack of `topology` (racks as for
/// assign_partitions with a topology). Errors: invalid_topology (a member with no location).
template <class NodeId>
[[nodiscard]] std::size_t rack_shared_partitions(const PartitionMap<NodeId>& map,
                                                 const Topology<NodeId>& topology);

/// The balanced map of the new membership `nodes` that keeps the most replicas of `map` where
/// they are (each node keeps what it holds up to its target: minimum_copies), and the events to get
/// there. Joins, graceful leaves, failures, empty returns and returns with data, in any mix.
/// Q and rf are the map's. Errors: empty_ring (no nodes), duplicate_node, unknown_node (a
/// failed or returning node that is not in the map), invalid_weight, invalid_map (a
/// returning node that is not in `nodes` or is also failed), and invalid_topology (a member
/// with no location in options.topology).
/// With options.topology the new map is rack-aware as assign_partitions with a topology: where
/// two holders of a partition share a rack only one keeps it, the others keep what they hold
/// up to their target, and when the racks allow distinct racks the map has none repeated
/// (rack_shared 0; tested on random changes, the last-resort swap is not proven to succeed).
template <class NodeId>
[[nodiscard]] PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map, const std::vector<NodeId>& nodes,
    const RebalanceOptions<NodeId>& options = {});
template <class NodeId>
[[nodiscard]] PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map, const std::vector<std::pair<NodeId, std::uint32_t>>& nodes,
    const RebalanceOptions<NodeId>& options = {});

/// The membership as a braced list: `rebalance_partitions(map, {"a", "b", "d"})`.
template <class NodeId>
[[nodiscard]] PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map,
    std::initializer_list<typename PartitionMap<NodeId>::node_id> nodes,
    const RebalanceOptions<NodeId>& options = {}) {
    return rebalance_partitions(map, std::vector<NodeId>(nodes), options);
}

/// ClusterKit's partition scheme, bit for bit (github.com/skshohagmiah/clusterkit,
/// partitions.go): a key's partition is the big-endian uint32 of the first 4 bytes of
/// MD5(key), modulo Q; partition i is named "partition-<i>", and its nodes are all nodes sorted
/// ascending by the big-endian uint32 of the first 4 bytes of MD5("partition-<i>" + id) (ties,
/// which ClusterKit leaves to an unstable sort, by id), the first the primary and the next
/// rf - 1 its replicas. A rebalance recomputes the map the same way, as ClusterKit does; the
/// events are ringplan's.
namespace clusterkit {

/// The partition of `key` among `q`. q >= 1.
template <class Key>
PartitionId key_partition(const Key& key, std::size_t q);

/// The map ClusterKit computes for `nodes`. Errors: as assign_partitions.
template <class NodeId>
[[nodiscard]] PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes,
                                                     std::size_t q, Rf rf);

/// ClusterKit's recomputed map of the new membership, with ringplan's events. Errors: as the
/// balanced rebalance_partitions.
template <class NodeId>
[[nodiscard]] PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map, const std::vector<NodeId>& nodes,
    const RebalanceOptions<NodeId>& options = {});

template <class NodeId>
[[nodiscard]] PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map,
    std::initializer_list<typename PartitionMap<NodeId>::node_id> nodes,
    const RebalanceOptions<NodeId>& options = {}) {
    return clusterkit::rebalance_partitions(map, std::vector<NodeId>(nodes), options);
}

}  // namespace clusterkit

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

// splitmix64's finalizer: a deterministic scramble for tie-breaks (Steele et al., OOPSLA 2014).
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

inline void check_partition_count(std::size_t q) {
    if (q < 1 || q > max_partitions) {
        raise(Errc::invalid_partition_count, "the partition count must be in [1, " +
                                                 std::to_string(max_partitions) + "], got " +
                                                 std::to_string(q));
    }
}

// A membership sorted by id, with weights; refuses duplicates and zero weights.
template <class NodeId>
struct Members {
    std::vector<NodeId> ids;
    std::vector<std::uint32_t> weights;
};

template <class NodeId>
Members<NodeId> sorted_members(std::vector<std::pair<NodeId, std::uint32_t>> nodes) {
    if (nodes.empty()) {
        raise(Errc::empty_ring, "a partition map needs at least one node");
    }
    std::sort(nodes.begin(), nodes.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    Members<NodeId> m;
    m.ids.reserve(nodes.size());
    m.weights.reserve(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (i > 0 && !(m.ids.back() < nodes[i].first)) {  // nodes[i - 1] is moved from
            raise(Errc::duplicate_node, "node " + describe(nodes[i].first) + " is listed twice");
        }
        if (nodes[i].second == 0) {
            raise(Errc::invalid_weight,
                  "node " + describe(nodes[i].first) + " has weight 0; weights start at 1");
        }
        m.ids.push_back(std::move(nodes[i].first));
        m.weights.push_back(nodes[i].second);
    }
    return m;
}

template <class NodeId>
std::vector<std::pair<NodeId, std::uint32_t>> weight_one(const std::vector<NodeId>& nodes) {
    std::vector<std::pair<NodeId, std::uint32_t>> out;
    out.reserve(nodes.size());
    for (const NodeId& n : nodes) {
        out.emplace_back(n, 1u);
    }
    return out;
}

// Counts that split `total` by weight, each within one of its exact share and at most `cap`
// (a node holds a partition once): nodes whose share exceeds the cap get the cap, the rest
// share what is left (water-filling). Who rounds up: first the nodes whose `prefer` (the
// replicas they hold) exceeds their floor, since rounding up keeps one more of them; then the
// nodes `can_use(node, count after the round-up)` accepts, in the order below (it is asked only
// about nodes that get the round-up if it says yes, so it may reserve what the round-up uses);
// then the largest remainder, then the lowest index. Sum of counts == total.
// `rounding`, when given, receives per node: 0 its share is whole or capped (its count is
// fixed), 1 it could round up but did not, 2 it rounded up.
template <class CanUse>
std::vector<std::uint32_t> balanced_counts_with(std::uint64_t total,
                                                const std::vector<std::uint32_t>& weights,
                                                std::uint64_t cap,
                                                const std::vector<std::uint32_t>& prefer,
                                                std::vector<std::uint8_t>* rounding,
                                                CanUse&& can_use) {
    __extension__ typedef unsigned __int128 U128;
    const std::size_t n = weights.size();
    std::vector<std::uint32_t> count(n, 0);
    std::vector<bool> capped(n, false);
    for (;;) {
        std::uint64_t left = total;
        std::uint64_t w_left = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (capped[i]) {
                left -= cap;
            } else {
                w_left += weights[i];
            }
        }
        bool changed = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (!capped[i] &&
                static_cast<U128>(left) * weights[i] > static_cast<U128>(cap) * w_left) {
                capped[i] = true;
                changed = true;
            }
        }
        if (changed) {
            continue;
        }
        std::vector<std::uint64_t> rem(n, 0);
        std::uint64_t given = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (capped[i]) {
                count[i] = static_cast<std::uint32_t>(cap);
            } else {
                const U128 exact = static_cast<U128>(left) * weights[i];
                count[i] = static_cast<std::uint32_t>(exact / w_left);
                rem[i] = static_cast<std::uint64_t>(exact % w_left);
            }
            given += count[i];
        }
        std::vector<std::uint32_t> order;
        for (std::size_t i = 0; i < n; ++i) {
            if (rem[i] > 0) {
                order.push_back(static_cast<std::uint32_t>(i));
            }
        }
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            // A round-up is worth one kept replica exactly to a node that holds more than its
            // floor: those first (so sum of min(held, count) is as large as it can be).
            const bool ga = prefer[a] > count[a];
            const bool gb = prefer[b] > count[b];
            if (ga != gb) {
                return ga;
            }
            if (rem[a] != rem[b]) {
                return rem[a] > rem[b];
            }
            return a < b;
        });
        // After the nodes that keep more, those that can use a round-up, in that order.
        const std::uint64_t ups = total - given;
        std::vector<std::uint32_t> first, rest;
        for (std::uint32_t i : order) {
            if (prefer[i] > count[i]) {
                first.push_back(i);
            }
        }
        for (std::uint32_t i : order) {
            if (prefer[i] > count[i]) {
                continue;
            }
            if (first.size() < ups && can_use(i, std::uint64_t{count[i]} + 1)) {
                first.push_back(i);
            } else {
                rest.push_back(i);
            }
        }
        order = std::move(first);
        order.insert(order.end(), rest.begin(), rest.end());
        if (rounding != nullptr) {
            rounding->assign(n, 0);
            for (std::uint32_t i : order) {
                (*rounding)[i] = 1;
            }
        }
        for (std::uint64_t k = 0; k < ups; ++k) {
            ++count[order[k]];
            if (rounding != nullptr) {
                (*rounding)[order[k]] = 2;
            }
        }
        return count;
    }
}

inline std::vector<std::uint32_t> balanced_counts(std::uint64_t total,
                                                  const std::vector<std::uint32_t>& weights,
                                                  std::uint64_t cap,
                                                  const std::vector<std::uint32_t>& prefer,
                                                  std::vector<std::uint8_t>* rounding = nullptr) {
    return balanced_counts_with(total, weights, cap, prefer, rounding,
                                [](std::uint32_t, std::uint64_t) { return false; });
}

// Each member's rack, numbered by ascending (datacenter, rack) and then, for nodes without a
// rack (each a rack of its own), by member index: the numbers depend only on the membership
// and the topology. `count` receives the number of racks.
template <class NodeId>
std::vector<std::uint32_t> rack_ids(const std::vector<NodeId>& ids,
                                    const Topology<NodeId>& topology, std::size_t& count) {
    std::vector<const Location*> where(ids.size());
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint32_t>> named;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        where[i] = topology.find(ids[i]);
        if (where[i] == nullptr) {
            raise(Errc::invalid_topology,
                  "node " + describe(ids[i]) + " is a member but has no location in the topology");
        }
        if (!where[i]->rack.empty()) {
            named.push_back({{where[i]->datacenter, where[i]->rack}, 0});
        }
    }
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    for (std::size_t k = 0; k < named.size(); ++k) {
        named[k].second = static_cast<std::uint32_t>(k);
    }
    std::vector<std::uint32_t> rack(ids.size());
    count = named.size();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (where[i]->rack.empty()) {
            rack[i] = static_cast<std::uint32_t>(count++);
        } else {
            const std::pair<std::string, std::string> key(where[i]->datacenter, where[i]->rack);
            rack[i] =
                std::lower_bound(named.begin(), named.end(), key, [](const auto& e, const auto& k) {
                    return e.first < k;
                })->second;
        }
    }
    return rack;
}

// Moves round-ups (balanced_counts' `rounding` 2) out of racks whose targets sum above q into
// nodes that could round up (rounding 1) in racks below q, so each rack can appear once per
// partition. Each move lowers the total excess sum max(0, rack sum - q) by one, and when no
// move is left no other choice of round-ups has less (every remaining round-up would land in a
// rack at q or above). Receivers: first those that hold more than their floor (the round-up
// keeps a replica), then the emptiest rack, then the lowest index. True when no rack exceeds q.
inline bool rack_targets(std::vector<std::uint32_t>& count, std::vector<std::uint8_t>& rounding,
                         const std::vector<std::uint32_t>& rack, std::size_t racks, std::uint64_t q,
                         const std::vector<std::uint32_t>& prefer) {
    const std::size_t n = count.size();
    std::vector<std::uint64_t> sum(racks, 0);
    for (std::size_t i = 0; i < n; ++i) {
        sum[rack[i]] += count[i];
    }
    for (;;) {
        std::size_t give = n, take = n;
        for (std::size_t i = 0; i < n; ++i) {
            // A giver whose round-up keeps nothing (it holds no more than its floor) first.
            if (rounding[i] == 2 && sum[rack[i]] > q &&
                (give == n || (prefer[i] >= count[i]) < (prefer[give] >= count[give]))) {
                give = i;
            }
            if (rounding[i] == 1 && sum[rack[i]] < q) {
                const bool gi = prefer[i] > count[i];
                const bool gt = take != n && prefer[take] > count[take];
                if (take == n || gi > gt || (gi == gt && sum[rack[i]] < sum[rack[take]])) {
                    take = i;
                }
            }
        }
        if (give == n || take == n) {
            break;
        }
        --count[give];
        rounding[give] = 1;
        --sum[rack[give]];
        ++count[take];
        rounding[take] = 2;
        ++sum[rack[take]];
    }
    return std::all_of(sum.begin(), sum.end(), [&](std::uint64_t s) { return s <= q; });
}

// The balanced planner. Input: Q, r, the new members' weights, and for each partition the new
// members that hold its data now (`held`, old primary first), with `old_primary[p]` the new
// index of p's old primary if it still holds p (else none). Output: Q * r slots.
class PartitionPlanner {
public:
    static constexpr std::uint32_t none = 0xFFFFFFFFu;

    PartitionPlanner(std::size_t q, std::size_t r, const std::vector<std::uint32_t>& weights)
        : q_(q), r_(r), n_(weights.size()), weights_(weights) {}

    // held: for each partition, the holders (new indices), old primary first. Returns slots.
    std::vector<std::uint32_t> plan(const std::vector<std::vector<std::uint32_t>>& held,
                                    std::size_t& kept_out) {
        lists_.assign(q_, {});
        kept_count_.clear();
        // Holdings per node; over-capacity nodes drop the partitions they are not primary of
        // first, then by a scramble of (partition, node), so the drops spread.
        std::vector<std::vector<PartitionId>> holding(n_);
        std::vector<std::uint32_t> h(n_, 0);
        for (std::size_t p = 0; p < q_; ++p) {
            for (std::uint32_t n : held[p]) {
                holding[n].push_back(static_cast<PartitionId>(p));
                ++h[n];
            }
        }
        // A round-up is of use to a node that can fill a partition short of holders with it; one
        // that makes the node's count Q forces it into every partition, so each partition it
        // lacks must be short, and the round-up takes a place in each (else it would displace a
        // kept replica: one copy more).
        std::vector<std::uint32_t> room(q_, 0);
        std::uint32_t short_count = 0;
        std::vector<std::uint32_t> short_held(n_, 0);
        for (std::size_t p = 0; p < q_; ++p) {
            if (held[p].size() < r_) {
                room[p] = static_cast<std::uint32_t>(r_ - held[p].size());
                ++short_count;
                for (std::uint32_t n : held[p]) {
                    ++short_held[n];
                }
            }
        }
        std::vector<std::uint8_t> has(q_, 0);
        const auto can_use = [&](std::uint32_t n, std::uint64_t count) {
            if (count < q_) {
                return short_count > short_held[n];
            }
            for (PartitionId p : holding[n]) {
                has[p] = 1;
            }
            bool fits = true;
            for (std::size_t p = 0; p < q_ && fits; ++p) {
                fits = has[p] != 0 || room[p] > 0;
            }
            for (std::size_t p = 0; p < q_; ++p) {
                if (fits && has[p] == 0) {
                    --room[p];
                }
                has[p] = 0;
            }
            return fits;
        };
        cap_ = balanced_counts_with(std::uint64_t{q_} * r_, weights_, q_, h, &rounding_, can_use);
        if (!rack_.empty()) {
            rack_feasible_ = rack_targets(cap_, rounding_, rack_, rack_count_, q_, h);
        }
        drop_beside_forced(held, holding, h);
        if (!rack_.empty() && rack_feasible_) {
            drop_rack_repeats(held, holding, h);
        }
        // Nodes above their cap drop their excess, the most excess first. Each drops from the
        // partitions with the most slack (short of the fewest holders so far, and held by the
        // fewest nodes below their cap), so the shortfall spreads over partitions the nodes
        // below their cap can fill (a node fills a partition once); then partitions it is not
        // the primary of; then by a scramble of (partition, node), so the drops spread.
        // Slack of a partition: how many nodes below their cap could still fill it, less what
        // it already lacks. Nodes below their cap that hold p can not fill it.
        // With racks, a node below its cap can not fill p either when its rack holds p: count
        // each rack of p's holders once, with all its nodes below their cap.
        std::vector<std::uint32_t> below_in_rack(rack_count_, 0);
        for (std::size_t n = 0; n < rack_.size(); ++n) {
            below_in_rack[rack_[n]] += h[n] < cap_[n] ? 1u : 0u;
        }
        std::vector<std::uint32_t> deficit(q_);
        for (std::size_t p = 0; p < q_; ++p) {
            deficit[p] = static_cast<std::uint32_t>(r_ - std::min(r_, held[p].size()));
            const auto& list = held[p];
            for (std::size_t k = 0; k < list.size(); ++k) {
                if (rack_.empty()) {
                    deficit[p] += h[list[k]] < cap_[list[k]] ? 1u : 0u;
                } else if (std::none_of(
                               list.begin(), list.begin() + static_cast<std::ptrdiff_t>(k),
                               [&](std::uint32_t m) { return rack_[m] == rack_[list[k]]; })) {
                    deficit[p] += below_in_rack[rack_[list[k]]];
                }
            }
        }
        std::vector<std::uint32_t> order;
        for (std::size_t n = 0; n < n_; ++n) {
            if (h[n] > cap_[n]) {
                order.push_back(static_cast<std::uint32_t>(n));
            }
        }
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            return h[a] - cap_[a] != h[b] - cap_[b] ? h[a] - cap_[a] > h[b] - cap_[b] : a < b;
        });
        for (std::uint32_t n : order) {
            auto& mine = holding[n];
            const std::size_t excess = h[n] - cap_[n];
            // The `excess` first by this order, in linear time (the join of one node costs
            // O(Q r) here, not O(Q r log)).
            std::nth_element(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(excess - 1),
                             mine.end(), [&](PartitionId a, PartitionId b) {
                                 if (deficit[a] != deficit[b]) {
                                     return deficit[a] < deficit[b];
                                 }
                                 const bool pa = held[a][0] == n;
                                 const bool pb = held[b][0] == n;
                                 if (pa != pb) {
                                     return pb;  // drop where it is not the primary first
                                 }
                                 const std::uint64_t ka = mix64((std::uint64_t{a} << 32) ^ n);
                                 const std::uint64_t kb = mix64((std::uint64_t{b} << 32) ^ n);
                                 return ka != kb ? ka < kb : a < b;
                             });
            for (std::size_t k = 0; k < excess; ++k) {
                ++deficit[mine[k]];
            }
            mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(excess));
        }
        kept_out = 0;
        for (std::size_t n = 0; n < n_; ++n) {
            for (PartitionId p : holding[n]) {
                lists_[p].push_back(static_cast<std::uint32_t>(n));
            }
            kept_out += holding[n].size();
        }
        // Keep each partition's kept holders in their old order (old primary first).
        for (std::size_t p = 0; p < q_; ++p) {
            if (lists_[p].size() > 1) {
                const auto& old_order = held[p];
                std::sort(lists_[p].begin(), lists_[p].end(),
                          [&](std::uint32_t a, std::uint32_t b) {
                              return std::find(old_order.begin(), old_order.end(), a) <
                                     std::find(old_order.begin(), old_order.end(), b);
                          });
            }
            kept_count_.push_back(static_cast<std::uint32_t>(lists_[p].size()));
        }
        if (rack_.empty()) {
            fill();
        } else {
            rack_fill();
        }
        return choose_primaries(held);
    }

    // Makes the plan rack-aware: rack[n] is node n's rack, below `count`.
    void set_racks(std::vector<std::uint32_t> rack, std::size_t count) {
        rack_ = std::move(rack);
        rack_count_ = count;
    }

private:
    // Nodes whose target is every partition (only weights do that, while N > r) will be in
    // every list; the others share the r - F slots left. Where a partition holds more of the
    // others than that, the ones most above their cap let it go (then by a scramble): a kept
    // set that does not fit could not be completed.
    void drop_beside_forced(const std::vector<std::vector<std::uint32_t>>& held,
                            std::vector<std::vector<PartitionId>>& holding,
                            std::vector<std::uint32_t>& h) {
        std::size_t forced = 0;
        for (std::size_t n = 0; n < n_; ++n) {
            forced += cap_[n] == q_ ? 1u : 0u;
        }
        if (forced == 0 || forced >= r_) {
            return;
        }
        const std::size_t room = r_ - forced;
        std::vector<std::uint32_t> others;
        std::vector<std::uint8_t> gone(n_, 0);
        for (std::size_t p = 0; p < q_; ++p) {
            others.clear();
            for (std::uint32_t n : held[p]) {
                if (cap_[n] != q_) {
                    others.push_back(n);
                }
            }
            if (others.size() <= room) {
                continue;
            }
            std::sort(others.begin(), others.end(), [&](std::uint32_t a, std::uint32_t b) {
                const long long ea = static_cast<long long>(h[a]) - cap_[a];
                const long long eb = static_cast<long long>(h[b]) - cap_[b];
                if (ea != eb) {
                    return ea > eb;
                }
                return mix64((std::uint64_t{p} << 32) ^ a) < mix64((std::uint64_t{p} << 32) ^ b);
            });
            for (std::size_t k = 0; k < others.size() - room; ++k) {
                const std::uint32_t n = others[k];
                auto& mine = holding[n];
                mine.erase(std::find(mine.begin(), mine.end(), static_cast<PartitionId>(p)));
                --h[n];
            }
        }
    }

    // Where two holders of a partition share a rack, only one may keep it: the one with the
    // least excess over its cap (then the old order, primary first), so a node above its cap
    // sheds the repeat instead of a partition it alone could keep.
    void drop_rack_repeats(const std::vector<std::vector<std::uint32_t>>& held,
                           std::vector<std::vector<PartitionId>>& holding,
                           std::vector<std::uint32_t>& h) {
        std::vector<std::vector<std::uint32_t>> cur(q_);
        for (std::size_t n = 0; n < n_; ++n) {
            for (PartitionId p : holding[n]) {
                cur[p].push_back(static_cast<std::uint32_t>(n));
            }
        }
        std::vector<std::vector<PartitionId>> gone(n_);  // ascending, as holding[n] is
        for (std::size_t p = 0; p < q_; ++p) {
            auto& c = cur[p];
            if (c.size() < 2) {
                continue;
            }
            const auto& old_order = held[p];
            std::sort(c.begin(), c.end(), [&](std::uint32_t a, std::uint32_t b) {
                if (rack_[a] != rack_[b]) {
                    return rack_[a] < rack_[b];
                }
                const long long ea = static_cast<long long>(h[a]) - cap_[a];
                const long long eb = static_cast<long long>(h[b]) - cap_[b];
                if (ea != eb) {
                    return ea < eb;
                }
                return std::find(old_order.begin(), old_order.end(), a) <
                       std::find(old_order.begin(), old_order.end(), b);
            });
            for (std::size_t k = 1; k < c.size(); ++k) {
                if (rack_[c[k]] == rack_[c[k - 1]]) {
                    gone[c[k]].push_back(static_cast<PartitionId>(p));
                }
            }
        }
        for (std::size_t n = 0; n < n_; ++n) {
            if (gone[n].empty()) {
                continue;
            }
            auto& mine = holding[n];
            std::size_t g = 0;
            mine.erase(std::remove_if(mine.begin(), mine.end(),
                                      [&](PartitionId p) {
                                          if (g < gone[n].size() && gone[n][g] == p) {
                                              ++g;
                                              return true;
                                          }
                                          return false;
                                      }),
                       mine.end());
            h[n] -= static_cast<std::uint32_t>(gone[n].size());
        }
    }

    // rack_fill's picks: the node with the most room (then a scramble of (partition, node))
    // among those with room that `allowed` accepts, or none.
    template <class Allowed>
    std::uint32_t most_room(PartitionId p, const std::vector<std::uint32_t>& candidates,
                            const std::vector<std::uint32_t>& residual, Allowed&& allowed) const {
        std::uint32_t best = none;
        std::uint64_t best_key = 0;
        for (std::uint32_t n : candidates) {
            if (residual[n] == 0 || !allowed(n)) {
                continue;
            }
            const std::uint64_t key = mix64((std::uint64_t{p} << 32) ^ n);
            if (best == none || residual[n] > residual[best] ||
                (residual[n] == residual[best] && key < best_key)) {
                best = n;
                best_key = key;
            }
        }
        return best;
    }

    // The rack-aware fill: each partition takes the racks with the most room left that it does
    // not have yet (largest residual first: Ryser's greedy for a 0/1 matrix with given row and
    // column sums, which completes whenever every rack's total is at most Q), and in each rack
    // the node with the most room. If the racks with room are all in the partition already, an
    // augmenting path over the slots filled in this run, then a swap with another partition
    // (repair, which may move a kept replica); only when the racks do not allow it, or those
    // fail, a node of a rack the partition already has.
    void rack_fill() {
        std::vector<std::uint32_t> residual = residuals();
        rack_res_.assign(rack_count_, 0);
        nodes_of_rack_.assign(rack_count_, {});
        for (std::size_t n = 0; n < n_; ++n) {
            nodes_of_rack_[rack_[n]].push_back(static_cast<std::uint32_t>(n));
            rack_res_[rack_[n]] += residual[n];
        }
        std::vector<std::uint32_t> all_nodes(n_);
        for (std::size_t n = 0; n < n_; ++n) {
            all_nodes[n] = static_cast<std::uint32_t>(n);
        }
        std::vector<std::uint8_t> rack_in(rack_count_, 0);
        for (std::size_t pi = 0; pi < q_; ++pi) {
            const auto p = static_cast<PartitionId>(pi);
            auto& list = lists_[p];
            if (list.size() >= r_) {
                continue;
            }
            for (std::uint32_t n : list) {
                rack_in[rack_[n]] = 1;
            }
            while (list.size() < r_) {
                std::uint32_t g = none;
                std::uint64_t g_key = 0;
                for (std::uint32_t k = 0; k < rack_count_; ++k) {
                    if (rack_in[k] || rack_res_[k] == 0) {
                        continue;
                    }
                    const std::uint64_t key = mix64((std::uint64_t{p} << 32) ^ k ^ 0x5A5A5A5Au);
                    if (g == none || rack_res_[k] > rack_res_[g] ||
                        (rack_res_[k] == rack_res_[g] && key < g_key)) {
                        g = k;
                        g_key = key;
                    }
                }
                if (g == none) {
                    break;
                }
                take(p,
                     most_room(p, nodes_of_rack_[g], residual, [](std::uint32_t) { return true; }),
                     residual);
                rack_in[g] = 1;
            }
            while (list.size() < r_ && rack_feasible_ && rack_augment(p, residual)) {
            }
            while (list.size() < r_ && rack_feasible_ && rack_repair(p, residual, true)) {
            }
            // The racks do not allow it: a node the partition does not have, most room first.
            while (list.size() < r_) {
                const std::uint32_t n = most_room(p, all_nodes, residual, [&](std::uint32_t m) {
                    return std::find(list.begin(), list.end(), m) == list.end();
                });
                if (n == none) {
                    break;
                }
                take(p, n, residual);
            }
            while (list.size() < r_) {
                if (!rack_repair(p, residual, false)) {
                    raise(Errc::invalid_map,
                          "internal: partition " + std::to_string(p) + " can not be completed");
                }
            }
            for (std::size_t k = 0; k < rack_count_; ++k) {
                rack_in[k] = 0;
            }
        }
    }

    void take(PartitionId p, std::uint32_t n, std::vector<std::uint32_t>& residual) {
        lists_[p].push_back(n);
        --residual[n];
        --rack_res_[rack_[n]];
    }

    bool rack_in_list(std::size_t x, std::uint32_t g) const {
        for (std::uint32_t m : lists_[x]) {
            if (rack_[m] == g) {
                return true;
            }
        }
        return false;
    }

    // An augmenting path's steps: the mover leaves partition x for `to` (via[x]).
    struct Via {
        PartitionId to;
        std::uint32_t mover;
    };

    // Node -> the partitions where it fills a slot of this run (not a kept one).
    std::vector<std::vector<PartitionId>> filled_slots() const {
        std::vector<std::vector<PartitionId>> filled_at(n_);
        for (std::size_t x = 0; x < q_; ++x) {
            for (std::size_t k = kept_count_[x]; k < lists_[x].size(); ++k) {
                filled_at[lists_[x][k]].push_back(static_cast<PartitionId>(x));
            }
        }
        return filled_at;
    }

    // `filler` fills y; each mover on the path leaves its slot to the filler before it, and the
    // last joins p.
    void walk_fill_path(PartitionId p, PartitionId y, std::uint32_t filler,
                        const std::vector<Via>& via) {
        for (PartitionId x = y;;) {
            if (x == p) {
                lists_[p].push_back(filler);
                return;
            }
            const Via v = via[x];
            *std::find(lists_[x].begin(), lists_[x].end(), v.mover) = filler;
            filler = v.mover;
            x = v.to;
        }
    }

    // augment_fill at the level of racks: breadth first from p, a partition y that needs a
    // rack takes a node with room from a rack it lacks, or a node m of such a rack that fills
    // a slot of this run in another partition z (m moves to y, and z needs a rack). Moving m
    // keeps every count; a kept replica never moves.
    bool rack_augment(PartitionId p, std::vector<std::uint32_t>& residual) {
        const std::vector<std::vector<PartitionId>> filled_at = filled_slots();
        std::vector<Via> via(q_, Via{none, none});
        std::vector<std::uint8_t> seen(q_, 0);
        std::vector<PartitionId> frontier{p};
        seen[p] = 1;
        for (std::size_t i = 0; i < frontier.size(); ++i) {
            const PartitionId y = frontier[i];
            for (std::uint32_t g = 0; g < rack_count_; ++g) {
                if (rack_in_list(y, g)) {
                    continue;
                }
                if (rack_res_[g] > 0) {
                    std::uint32_t filler = most_room(p, nodes_of_rack_[g], residual,
                                                     [](std::uint32_t) { return true; });
                    --residual[filler];
                    --rack_res_[g];
                    walk_fill_path(p, y, filler, via);
                    return true;
                }
                for (std::uint32_t m : nodes_of_rack_[g]) {
                    for (PartitionId z : filled_at[m]) {
                        if (!seen[z]) {
                            seen[z] = 1;
                            via[z] = Via{y, m};
                            frontier.push_back(z);
                        }
                    }
                }
            }
        }
        return false;
    }

    // repair at the level of racks (`by_rack`) or of nodes: a node n with room whose rack (or
    // itself) p already has takes the slot of some m in a partition x that lacks n's rack (n),
    // where p lacks m's rack (m), and m moves to p. A slot filled in this run first; a kept one
    // (which adds a copy) only if no such slot exists.
    bool rack_repair(PartitionId p, std::vector<std::uint32_t>& residual, bool by_rack) {
        const auto key = [&](std::uint32_t m) { return by_rack ? rack_[m] : m; };
        const auto has = [&](std::size_t x, std::uint32_t k) {
            for (std::uint32_t m : lists_[x]) {
                if (key(m) == k) {
                    return true;
                }
            }
            return false;
        };
        for (std::size_t ni = 0; ni < n_; ++ni) {
            const auto n = static_cast<std::uint32_t>(ni);
            if (residual[n] == 0) {
                continue;
            }
            for (int pass = 0; pass < 2; ++pass) {
                for (std::size_t x = 0; x < q_; ++x) {
                    if (x == p || has(x, key(n))) {
                        continue;
                    }
                    auto& lx = lists_[x];
                    const std::size_t first = pass == 0 ? kept_count_[x] : 0;
                    for (std::size_t k = first; k < lx.size(); ++k) {
                        const std::uint32_t m = lx[k];
                        if (has(p, key(m)) || (!by_rack && m == n)) {
                            continue;
                        }
                        lx[k] = n;
                        if (k < kept_count_[x]) {
                            std::swap(lx[k], lx[kept_count_[x] - 1]);
                            --kept_count_[x];
                        }
                        lists_[p].push_back(m);
                        --residual[n];
                        --rack_res_[rack_[n]];
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // Each node's room left: its cap less the slots it has in the lists.
    std::vector<std::uint32_t> residuals() const {
        std::vector<std::uint32_t> residual(cap_);
        for (std::size_t p = 0; p < q_; ++p) {
            for (std::uint32_t n : lists_[p]) {
                --residual[n];
            }
        }
        return residual;
    }

    // Completes every partition to r distinct nodes from the nodes below their cap: largest
    // residual first (Havel-Hakimi: with a complete choice this always succeeds), a scramble
    // among equals so a node's partitions do not all share the same co-replicas.
    void fill() {
        std::vector<std::uint32_t> residual = residuals();
        std::uint32_t top = 0;
        for (std::size_t n = 0; n < n_; ++n) {
            top = std::max(top, residual[n]);
        }
        buckets_.assign(std::size_t{top} + 1, {});
        pos_.assign(n_, 0);
        for (std::size_t n = 0; n < n_; ++n) {
            if (residual[n] > 0) {
                pos_[n] = static_cast<std::uint32_t>(buckets_[residual[n]].size());
                buckets_[residual[n]].push_back(static_cast<std::uint32_t>(n));
            }
        }
        std::vector<std::uint8_t> in_p(n_, 0);
        std::vector<std::uint32_t> picked;
        for (std::size_t p = 0; p < q_; ++p) {
            auto& list = lists_[p];
            if (list.size() >= r_) {
                continue;
            }
            for (std::uint32_t n : list) {
                in_p[n] = 1;
            }
            picked.clear();
            std::size_t need = r_ - list.size();
            for (std::size_t b = top; b > 0 && need > 0; --b) {
                auto& bucket = buckets_[b];
                for (std::size_t t = 0; t < bucket.size() && need > 0; ++t) {
                    const std::size_t j =
                        t + static_cast<std::size_t>(mix64((std::uint64_t{p} << 20) ^ t) %
                                                     (bucket.size() - t));
                    swap_in_bucket(bucket, t, j);
                    const std::uint32_t n = bucket[t];
                    if (!in_p[n]) {
                        in_p[n] = 1;
                        picked.push_back(n);
                        --need;
                    }
                }
            }
            for (std::uint32_t n : picked) {
                move_down(n, residual);
                list.push_back(n);
            }
            for (; need > 0 && augment_fill(static_cast<PartitionId>(p), residual); --need) {
            }
            if (need > 0) {
                for (std::uint32_t n : list) {
                    in_p[n] = 1;  // augment_fill may have added some
                }
                repair(static_cast<PartitionId>(p), need, residual, in_p);
            }
            for (std::uint32_t n : list) {
                in_p[n] = 0;
            }
            while (top > 0 && buckets_[top].empty()) {
                --top;
            }
        }
    }

    void swap_in_bucket(std::vector<std::uint32_t>& bucket, std::size_t a, std::size_t b) {
        std::swap(bucket[a], bucket[b]);
        pos_[bucket[a]] = static_cast<std::uint32_t>(a);
        pos_[bucket[b]] = static_cast<std::uint32_t>(b);
    }

    void move_down(std::uint32_t n, std::vector<std::uint32_t>& residual) {
        auto& from = buckets_[residual[n]];
        const std::uint32_t at = pos_[n];
        from[at] = from.back();
        pos_[from[at]] = at;
        from.pop_back();
        --residual[n];
        if (residual[n] > 0) {
            pos_[n] = static_cast<std::uint32_t>(buckets_[residual[n]].size());
            buckets_[residual[n]].push_back(n);
        }
    }

    // Partition p lacks a node, and every node below its cap already holds p: an augmenting
    // path over the slots filled in this run (never a kept one, so no copy is added). Breadth
    // first from p: a partition y that needs a filler can take any node m not in y that has a
    // filled slot in another partition z (then z needs a filler), or, to end the path, a node
    // below its cap not in y. Then each filler moves along the path. A bipartite b-matching
    // step (Ford-Fulkerson); it runs only when the greedy fill can not complete p.
    bool augment_fill(PartitionId p, std::vector<std::uint32_t>& residual) {
        const std::vector<std::vector<PartitionId>> filled_at = filled_slots();
        std::vector<Via> via(q_, Via{none, none});
        std::vector<std::uint8_t> seen(q_, 0);
        std::vector<PartitionId> frontier{p};
        seen[p] = 1;
        const std::uint32_t giver = unused_round_up(residual);
        const auto holds = [&](std::size_t x, std::uint32_t n) {
            return std::find(lists_[x].begin(), lists_[x].end(), n) != lists_[x].end();
        };
        for (std::size_t i = 0; i < frontier.size(); ++i) {
            const PartitionId y = frontier[i];
            for (std::uint32_t m = 0; m < n_; ++m) {
                if (holds(y, m)) {
                    continue;
                }
                // A round-up may move: a node that rounded up but can not use it (it still has
                // room) hands it to m, which could round up too; both stay within one of their
                // share, and no kept replica moves.
                const bool takes_round_up = residual[m] == 0 && rounding_[m] == 1 && giver != none;
                if (residual[m] > 0 || takes_round_up) {
                    if (takes_round_up) {
                        rounding_[giver] = 1;
                        --cap_[giver];
                        move_down(giver, residual);
                        rounding_[m] = 2;
                        ++cap_[m];
                        ++residual[m];
                        pos_[m] = static_cast<std::uint32_t>(buckets_[1].size());
                        buckets_[1].push_back(m);
                    }
                    walk_fill_path(p, y, m, via);
                    move_down(m, residual);
                    return true;
                }
                for (PartitionId z : filled_at[m]) {
                    if (!seen[z] && holds(z, m)) {
                        seen[z] = 1;
                        via[z] = Via{y, m};
                        frontier.push_back(z);
                    }
                }
            }
        }
        return false;
    }

    // A node that rounded up and still has room (so the round-up keeps nothing), or none.
    std::uint32_t unused_round_up(const std::vector<std::uint32_t>& residual) const {
        for (std::size_t b = 1; b < buckets_.size(); ++b) {
            for (std::uint32_t n : buckets_[b]) {
                if (rounding_[n] == 2 && residual[n] > 0) {
                    return n;
                }
            }
        }
        return none;
    }

    // Partition p still needs `need` nodes but every node below its cap already holds p. For
    // each missing slot: a node n below its cap (so n is in p) takes the slot of some m in a
    // partition x that n is not in, where m is not in p, and m moves to p. m's count is
    // unchanged, n's grows by one. Slots that were filled in this run are moved first (no
    // copy is lost); a kept slot only if no such slot exists.
    void repair(PartitionId p, std::size_t need, std::vector<std::uint32_t>& residual,
                std::vector<std::uint8_t>& in_p) {
        auto& list = lists_[p];
        for (; need > 0; --need) {
            std::uint32_t n = none;
            for (std::size_t b = buckets_.size(); b-- > 1 && n == none;) {
                if (!buckets_[b].empty()) {
                    n = buckets_[b][0];
                }
            }
            if (n == none) {
                raise(Errc::invalid_map,
                      "internal: no node left below its cap for partition " + std::to_string(p));
            }
            bool done = false;
            for (int pass = 0; pass < 2 && !done; ++pass) {
                for (std::size_t x = 0; x < q_ && !done; ++x) {
                    if (x == p) {
                        continue;
                    }
                    auto& lx = lists_[x];
                    if (std::find(lx.begin(), lx.end(), n) != lx.end()) {
                        continue;
                    }
                    const std::size_t first = pass == 0 ? kept_count_[x] : 0;
                    for (std::size_t k = first; k < lx.size() && !done; ++k) {
                        const std::uint32_t m = lx[k];
                        if (in_p[m]) {
                            continue;
                        }
                        lx[k] = n;
                        if (k < kept_count_[x]) {
                            // m's kept slot becomes a copy to n: keep the kept prefix compact.
                            std::swap(lx[k], lx[kept_count_[x] - 1]);
                            --kept_count_[x];
                        }
                        list.push_back(m);
                        in_p[m] = 1;
                        move_down(n, residual);
                        done = true;
                    }
                }
            }
            if (!done) {
                raise(Errc::invalid_map,
                      "internal: partition " + std::to_string(p) + " can not be completed");
            }
        }
    }

    // Primaries: each node within one of its share of Q. The old primary stays where its node
    // still holds the partition and has room; the rest go to the holder with the most room,
    // through an augmenting path when every holder is full (a bipartite b-matching).
    std::vector<std::uint32_t> choose_primaries(
        const std::vector<std::vector<std::uint32_t>>& held) {
        std::vector<std::uint32_t> kept_primaries(n_, 0);
        for (std::size_t p = 0; p < q_; ++p) {
            if (!held[p].empty() && kept_count_[p] > 0 && lists_[p][0] == held[p][0]) {
                ++kept_primaries[held[p][0]];
            }
        }
        pcap_ = balanced_counts(q_, weights_, q_, kept_primaries, &prounding_);
        primary_overflow_ = false;
        primary_.assign(q_, none);
        pcount_.assign(n_, 0);
        primary_of_.assign(n_, {});
        via_node_.assign(n_, none);
        scan_from_.assign(n_, 0);
        // Old primaries stay, up to their node's cap. Where another holder of the partition
        // has room to spare (a node that joined, or lost primaries), the old primary is kept
        // only after the partitions that have no such holder: those would otherwise need an
        // augmenting path, and a join would cost a search per primary it takes.
        std::vector<bool> has_spare(n_);
        for (std::size_t n = 0; n < n_; ++n) {
            has_spare[n] = pcap_[n] > kept_primaries[n];
        }
        const auto most_room_for_primary = [&](std::size_t p) {
            std::uint32_t best = none;
            for (std::uint32_t n : lists_[p]) {
                if (pcount_[n] < pcap_[n] &&
                    (best == none || pcap_[n] - pcount_[n] > pcap_[best] - pcount_[best])) {
                    best = n;
                }
            }
            return best;
        };
        for (int pass = 0; pass < 2; ++pass) {
            if (pass == 1 && !rack_.empty()) {
                // With racks, a joiner shares no partition with the nodes of its own rack:
                // their primaries above their share can only go to holders that the second
                // pass would fill, so they are placed first (else each needs a search).
                for (std::size_t p = 0; p < q_; ++p) {
                    if (primary_[p] == none &&
                        std::none_of(lists_[p].begin(), lists_[p].end(),
                                     [&](std::uint32_t m) { return has_spare[m]; })) {
                        const std::uint32_t best = most_room_for_primary(p);
                        if (best != none) {
                            set_primary(static_cast<PartitionId>(p), best);
                        }
                    }
                }
            }
            for (std::size_t p = 0; p < q_; ++p) {
                if (held[p].empty() || kept_count_[p] == 0 || lists_[p][0] != held[p][0] ||
                    primary_[p] != none) {
                    continue;
                }
                const std::uint32_t o = held[p][0];
                const bool spare_elsewhere =
                    std::any_of(lists_[p].begin(), lists_[p].end(),
                                [&](std::uint32_t m) { return m != o && has_spare[m]; });
                if ((pass == 1 || !spare_elsewhere) && pcount_[o] < pcap_[o]) {
                    set_primary(static_cast<PartitionId>(p), o);
                }
            }
        }
        for (std::size_t p = 0; p < q_; ++p) {
            if (primary_[p] != none) {
                continue;
            }
            const std::uint32_t best = most_room_for_primary(p);
            if (best != none) {
                set_primary(static_cast<PartitionId>(p), best);
            } else {
                augment(static_cast<PartitionId>(p));
            }
        }
        if (primary_overflow_) {
            fix_primaries();
        }
        std::vector<std::uint32_t> slots;
        slots.reserve(q_ * r_);
        for (std::size_t p = 0; p < q_; ++p) {
            auto& list = lists_[p];
            const auto it = std::find(list.begin(), list.end(), primary_[p]);
            std::rotate(list.begin(), it, it + 1);  // primary first, the others in order
            slots.insert(slots.end(), list.begin(), list.end());
        }
        return slots;
    }

    // The caps above fix one choice of round-ups; when a partition found no holder within
    // them, each node only needs to end within the floor and ceil of its share. Nodes above
    // the ceil hand a primary along a path of holders to one below it; then nodes below the
    // floor take one along a path from one above it (augmenting paths of a flow with lower and
    // upper bounds). Where no path exists, no balanced choice exists for this replica layout.
    void fix_primaries() {
        std::vector<std::uint32_t> lo(n_), hi(n_);
        for (std::size_t n = 0; n < n_; ++n) {
            lo[n] = prounding_[n] == 2 ? pcap_[n] - 1 : pcap_[n];
            hi[n] = prounding_[n] == 1 ? pcap_[n] + 1 : pcap_[n];
        }
        std::vector<std::vector<PartitionId>> holds(n_);
        for (std::size_t p = 0; p < q_; ++p) {
            for (std::uint32_t n : lists_[p]) {
                holds[n].push_back(static_cast<PartitionId>(p));
            }
        }
        // give: a path from `from` (which loses a primary) to a node that may gain one; take:
        // from `from` (which gains one) to a node that may lose one.
        const auto shift = [&](std::uint32_t from, bool give) {
            std::vector<PartitionId> via(n_, none);       // node -> the partition it was reached by
            std::vector<std::uint32_t> parent(n_, none);  // ... and from which node
            std::vector<std::uint32_t> queue{from};
            std::vector<std::uint8_t> seen(n_, 0);
            seen[from] = 1;
            for (std::size_t i = 0; i < queue.size(); ++i) {
                const std::uint32_t u = queue[i];
                for (PartitionId x : holds[u]) {
                    // give: u is x's primary, another holder m may take it. take: u holds x,
                    // and x's primary m may hand it to u.
                    if (give != (primary_[x] == u)) {
                        continue;
                    }
                    for (std::uint32_t m : lists_[x]) {
                        if (m == u || seen[m] || (!give && primary_[x] != m)) {
                            continue;
                        }
                        seen[m] = 1;
                        via[m] = x;
                        parent[m] = u;
                        if (give ? pcount_[m] < hi[m] : pcount_[m] > lo[m]) {
                            for (std::uint32_t v = m; v != from; v = parent[v]) {
                                primary_[via[v]] = give ? v : parent[v];
                            }
                            ++pcount_[give ? m : from];
                            --pcount_[give ? from : m];
                            return true;
                        }
                        queue.push_back(m);
                    }
                }
            }
            return false;
        };
        for (std::size_t n = 0; n < n_; ++n) {
            while (pcount_[n] > hi[n] && shift(static_cast<std::uint32_t>(n), true)) {
            }
        }
        for (std::size_t n = 0; n < n_; ++n) {
            while (pcount_[n] < lo[n] && shift(static_cast<std::uint32_t>(n), false)) {
            }
        }
    }

    void set_primary(PartitionId p, std::uint32_t n) {
        primary_[p] = n;
        ++pcount_[n];
        primary_of_[n].push_back(p);
    }

    // Breadth-first search from partition `start` over "a full holder -> a partition it is
    // primary of -> that partition's other holders" until a holder with room; then shift the
    // primaries along the path. Each node is reached once, and the search stops at the first
    // holder with room: a call costs what it explores, not O(Q + N) (which made a rebalance
    // quadratic in Q).
    void augment(PartitionId start) {
        std::vector<std::uint32_t>& via = via_node_;
        std::vector<std::uint32_t>& reached = reached_;
        reached.clear();
        std::uint32_t found = none;
        const auto reach = [&](PartitionId x) {
            for (std::uint32_t m : lists_[x]) {
                if (via[m] != none) {
                    continue;
                }
                via[m] = x;
                reached.push_back(m);
                if (pcount_[m] < pcap_[m]) {
                    found = m;
                    return;
                }
            }
        };
        reach(start);
        // Once every node is reached without room, no path exists.
        const auto searching = [&] { return found == none && reached.size() < n_; };
        for (std::size_t i = 0; i < reached.size() && searching(); ++i) {
            // n is full: one of its primaries may move to another holder. Scan n's partitions
            // from where the last successful scan stopped, so the partitions that led nowhere
            // are not scanned again on every call (room only shrinks).
            const std::uint32_t n = reached[i];
            const auto& mine = primary_of_[n];
            const std::size_t size = mine.size();
            for (std::size_t step = 0; step < size && searching(); ++step) {
                std::size_t k = scan_from_[n] + step;
                k = k >= size ? k - size : k;
                if (primary_[mine[k]] != n) {
                    continue;  // a stale entry: the partition's primary moved on
                }
                reach(mine[k]);
                if (found != none) {
                    scan_from_[n] = k + 1 == size ? 0 : k + 1;
                }
            }
        }
        if (found == none) {
            // No path within the caps: the least loaded holder, and fix_primaries afterwards.
            primary_overflow_ = true;
            std::uint32_t best = lists_[start][0];
            for (std::uint32_t n : lists_[start]) {
                if (pcount_[n] < pcount_[best]) {
                    best = n;
                }
            }
            set_primary(start, best);
        } else {
            // Walk back: n takes partition via[n], whose old primary moves on, and so on.
            std::uint32_t n = found;
            ++pcount_[n];
            for (;;) {
                const PartitionId p = via[n];
                const std::uint32_t prev = primary_[p];
                primary_[p] = n;
                primary_of_[n].push_back(p);
                if (p == start) {
                    break;
                }
                n = prev;  // prev lost p but keeps its count: it takes the partition before it
            }
        }
        for (std::uint32_t m : reached) {
            via[m] = none;
        }
    }

    std::size_t q_, r_, n_;
    std::vector<std::uint32_t> weights_;
    // Rack-aware plans only: each node's rack, the racks' count, their nodes and room left,
    // and whether the targets let every partition have r distinct racks.
    std::vector<std::uint32_t> rack_;
    std::size_t rack_count_ = 0;
    std::vector<std::vector<std::uint32_t>> nodes_of_rack_;
    std::vector<std::uint32_t> rack_res_;
    bool rack_feasible_ = false;
    std::vector<std::uint32_t> cap_, pcap_;
    std::vector<std::uint8_t> prounding_;  // balanced_counts' rounding of pcap_
    bool primary_overflow_ = false;        // a primary went above its node's cap
    std::vector<std::uint8_t> rounding_;   // balanced_counts' rounding of cap_
    std::vector<std::vector<std::uint32_t>> lists_;
    std::vector<std::uint32_t> kept_count_;
    std::vector<std::vector<std::uint32_t>> buckets_;
    std::vector<std::uint32_t> pos_;
    std::vector<std::uint32_t> primary_, pcount_;
    std::vector<std::vector<PartitionId>> primary_of_;
    // augment's search, kept between calls: node -> the partition it was reached from (or
    // none), the nodes reached, and where to resume scanning each node's primaries.
    std::vector<std::uint32_t> via_node_, reached_;
    std::vector<std::size_t> scan_from_;
};

// A lower bound on the copies any balanced map of the new membership needs: Q r minus the most
// replicas a balanced map can keep, which is sum over nodes of min(held, cap) with the round-ups
// given to nodes that hold more than their floor (balanced_counts). Lost partitions need no copy.
inline std::size_t minimum_copies(std::size_t q, std::size_t r,
                                  const std::vector<std::uint32_t>& weights,
                                  const std::vector<std::vector<std::uint32_t>>& held,
                                  std::size_t lost) {
    std::vector<std::uint32_t> h(weights.size(), 0);
    for (const auto& list : held) {
        for (std::uint32_t n : list) {
            ++h[n];
        }
    }
    const std::vector<std::uint32_t> cap = balanced_counts(std::uint64_t{q} * r, weights, q, h);
    std::size_t kept = 0;
    for (std::size_t n = 0; n < h.size(); ++n) {
        kept += std::min(h[n], cap[n]);
    }
    return q * r - kept - lost * r;
}

// The bound for rack-aware maps: when the racks allow r distinct racks per partition, a rack
// keeps a partition at most once, so each rack keeps at most the partitions it holds, and its
// nodes at most their held replicas up to the largest target balance could give them. When
// the racks do not allow it, the bound without racks.
inline std::size_t rack_minimum_copies(std::size_t q, std::size_t r,
                                       const std::vector<std::uint32_t>& weights,
                                       const std::vector<std::vector<std::uint32_t>>& held,
                                       std::size_t lost, const std::vector<std::uint32_t>& rack,
                                       std::size_t racks) {
    const std::size_t plain = minimum_copies(q, r, weights, held, lost);
    std::vector<std::uint32_t> h(weights.size(), 0);
    for (const auto& list : held) {
        for (std::uint32_t n : list) {
            ++h[n];
        }
    }
    std::vector<std::uint8_t> rounding;
    std::vector<std::uint32_t> cap =
        balanced_counts(std::uint64_t{q} * r, weights, q, h, &rounding);
    std::vector<std::uint32_t> most(cap.size());
    for (std::size_t n = 0; n < cap.size(); ++n) {
        most[n] = std::min(h[n], cap[n] + (rounding[n] == 1 ? 1u : 0u));
    }
    if (!rack_targets(cap, rounding, rack, racks, q, h)) {
        return plain;
    }
    std::vector<std::size_t> by_nodes(racks, 0), distinct(racks, 0);
    for (std::size_t n = 0; n < most.size(); ++n) {
        by_nodes[rack[n]] += most[n];
    }
    std::vector<std::uint32_t> seen(racks, PartitionPlanner::none);
    for (std::size_t p = 0; p < held.size(); ++p) {
        for (std::uint32_t n : held[p]) {
            if (seen[rack[n]] != p) {
                seen[rack[n]] = static_cast<std::uint32_t>(p);
                ++distinct[rack[n]];
            }
        }
    }
    std::size_t kept = 0;
    for (std::size_t g = 0; g < racks; ++g) {
        kept += std::min(by_nodes[g], distinct[g]);
    }
    // plain = Q r - (the most replicas kept, each node alone) - r lost.
    const std::size_t kept_alone = q * r - lost * r - plain;
    return q * r - std::min(kept, kept_alone) - lost * r;
}

// Partitions whose slots (q lists of r node indices) name two nodes of one rack.
inline std::size_t count_rack_shared(const std::vector<std::uint32_t>& slots, std::size_t r,
                                     const std::vector<std::uint32_t>& rack) {
    std::size_t shared = 0;
    std::vector<std::uint32_t> list(r);
    for (std::size_t at = 0; at + r <= slots.size() && r > 0; at += r) {
        for (std::size_t k = 0; k < r; ++k) {
            list[k] = rack[slots[at + k]];
        }
        std::sort(list.begin(), list.end());
        shared += std::adjacent_find(list.begin(), list.end()) != list.end() ? 1u : 0u;
    }
    return shared;
}

// What the rebalance needs to know about the old map against the new membership.
template <class NodeId>
struct ChangeInput {
    Members<NodeId> members;                       // the new membership
    std::vector<std::uint32_t> old_to_new;         // old index -> new index, or none
    std::vector<std::uint8_t> old_failed;          // per old index
    std::vector<std::uint8_t> new_returning;       // per new index
    std::vector<std::uint8_t> new_joined;          // per new index: not in the old map
    std::vector<std::uint8_t> new_back_empty;      // per new index: failed, and a member again
    std::vector<std::vector<std::uint32_t>> held;  // per partition: new indices with its data
};

template <class NodeId>
ChangeInput<NodeId> change_input(const PartitionMap<NodeId>& map,
                                 std::vector<std::pair<NodeId, std::uint32_t>> nodes,
                                 const RebalanceOptions<NodeId>& options) {
    constexpr std::uint32_t none = PartitionPlanner::none;
    ChangeInput<NodeId> in;
    in.members = sorted_members(std::move(nodes));
    const auto& ids = in.members.ids;
    const std::size_t n_new = ids.size();
    const std::size_t n_old = map.node_count();
    in.old_failed.assign(n_old, 0);
    for (const NodeId& f : options.failed) {
        const std::size_t i = map.find_node(f);
        if (i == n_old) {
            raise(Errc::unknown_node,
                  "failed node " + describe(f) + " is not in the partition map");
        }
        in.old_failed[i] = 1;
    }
    in.old_to_new.assign(n_old, none);
    in.new_joined.assign(n_new, 1);
    in.new_back_empty.assign(n_new, 0);
    for (std::size_t i = 0, j = 0; i < n_old && j < n_new;) {
        if (map.node_at(i) < ids[j]) {
            ++i;
        } else if (ids[j] < map.node_at(i)) {
            ++j;
        } else {
            in.new_joined[j] = 0;
            if (in.old_failed[i]) {
                in.new_back_empty[j] = 1;
            } else {
                in.old_to_new[i] = static_cast<std::uint32_t>(j);
            }
            ++i;
            ++j;
        }
    }
    in.new_returning.assign(n_new, 0);
    for (const NodeId& r : options.returning) {
        const std::size_t i = map.find_node(r);
        if (i == n_old) {
            raise(Errc::unknown_node,
                  "returning node " + describe(r) + " is not in the partition map");
        }
        if (in.old_failed[i]) {
            raise(Errc::invalid_map, "node " + describe(r) + " is listed as failed and returning");
        }
        if (in.old_to_new[i] == none) {
            raise(Errc::invalid_map,
                  "returning node " + describe(r) + " is not in the new membership");
        }
        in.new_returning[in.old_to_new[i]] = 1;
    }
    const std::size_t q = map.partition_count();
    in.held.assign(q, {});
    for (std::size_t p = 0; p < q; ++p) {
        const std::uint32_t* s = map.replica_indices_at(static_cast<PartitionId>(p));
        for (std::size_t k = 0; k < map.replica_count(); ++k) {
            const std::uint32_t j = in.old_to_new[s[k]];
            if (j != none) {
                in.held[p].push_back(j);
            }
        }
    }
    return in;
}

// Partitions of the old map with no live holder: every holder failed.
template <class NodeId>
std::size_t count_lost(const PartitionMap<NodeId>& map, const ChangeInput<NodeId>& in) {
    std::size_t lost = 0;
    for (std::size_t p = 0; p < map.partition_count(); ++p) {
        const std::uint32_t* s = map.replica_indices_at(static_cast<PartitionId>(p));
        bool any_live = false;
        for (std::size_t k = 0; k < map.replica_count(); ++k) {
            any_live = any_live || !in.old_failed[s[k]];
        }
        lost += any_live ? 0 : 1;
    }
    return lost;
}

// The events that turn the old map into the new one (see PartitionChange).
template <class NodeId>
PartitionChange<NodeId> change_events(const PartitionMap<NodeId>& old_map,
                                      PartitionMap<NodeId> new_map, const ChangeInput<NodeId>& in,
                                      std::size_t minimum) {
    constexpr std::uint32_t none = PartitionPlanner::none;
    using Event = PartitionEvent<NodeId>;
    PartitionChange<NodeId> out;
    const std::size_t q = old_map.partition_count();
    const std::size_t n_old = old_map.node_count();
    std::vector<Event> lost, copies, promotes, drops;
    std::vector<std::size_t> sends(n_old, 0);
    std::vector<std::uint32_t> new_to_old(new_map.node_count(), none);
    for (std::size_t i = 0; i < n_old; ++i) {
        if (in.old_to_new[i] != none) {
            new_to_old[in.old_to_new[i]] = static_cast<std::uint32_t>(i);
        }
    }
    bool any_join = false;
    for (std::uint8_t j : in.new_joined) {
        any_join = any_join || j;
    }
    std::vector<std::uint32_t> live;  // old indices of p's live holders
    for (std::size_t pi = 0; pi < q; ++pi) {
        const auto p = static_cast<PartitionId>(pi);
        const std::uint32_t* os = old_map.replica_indices_at(p);
        const std::uint32_t* ns = new_map.replica_indices_at(p);
        const std::size_t r_old = old_map.replica_count();
        const std::size_t r_new = new_map.replica_count();
        live.clear();
        std::size_t failed = 0, left = 0;
        for (std::size_t k = 0; k < r_old; ++k) {
            const std::uint32_t o = os[k];
            if (in.old_failed[o]) {
                ++failed;
            } else {
                live.push_back(o);
                if (in.old_to_new[o] == none) {
                    ++left;
                }
            }
        }
        const auto in_new = [&](std::uint32_t old_index) {
            const std::uint32_t j = in.old_to_new[old_index];
            return j != none && std::find(ns, ns + r_new, j) != ns + r_new;
        };
        if (live.empty()) {
            Event e;
            e.action = PartitionAction::lost;
            e.partition = p;
            e.reason = ChangeReason::failure;
            lost.push_back(std::move(e));
            ++out.lost;
        } else {
            // Receivers: new holders that are not live old holders.
            for (std::size_t k = 0; k < r_new; ++k) {
                const std::uint32_t j = ns[k];
                const std::uint32_t o = new_to_old[j];
                const bool holds =
                    o != none && std::find(live.begin(), live.end(), o) != live.end();
                if (holds && !in.new_returning[j]) {
                    continue;
                }
                Event e;
                e.partition = p;
                e.node = new_map.node_at(j);
                if (holds) {
                    e.action = PartitionAction::catch_up;
                    e.reason = ChangeReason::rejoin;
                } else {
                    e.action = PartitionAction::copy;
                    if (in.new_joined[j]) {
                        e.reason = ChangeReason::join;
                    } else if (in.new_back_empty[j]) {
                        e.reason = ChangeReason::failure;  // back empty
                    } else if (failed > 0) {
                        --failed;
                        e.reason = ChangeReason::failure;
                    } else if (left > 0) {
                        --left;
                        e.reason = ChangeReason::leave;
                    } else {
                        e.reason = any_join ? ChangeReason::join : ChangeReason::rebalance;
                    }
                    ++out.copies;
                }
                // Sources: holders with current data first (returning ones last), fewest sends
                // so far first, then map order; the first is the planned sender.
                std::vector<std::uint32_t> src;
                for (std::uint32_t s : live) {
                    if (s != o) {
                        src.push_back(s);
                    }
                }
                const auto stale = [&](std::uint32_t s) {
                    const std::uint32_t j2 = in.old_to_new[s];
                    return j2 != none && in.new_returning[j2];
                };
                std::stable_sort(src.begin(), src.end(), [&](std::uint32_t a, std::uint32_t b) {
                    if (stale(a) != stale(b)) {
                        return !stale(a);
                    }
                    return sends[a] < sends[b];
                });
                if (src.empty()) {
                    continue;  // a returning node is the partition's only holder: nothing to fetch
                }
                ++sends[src[0]];
                for (std::uint32_t s : src) {
                    e.sources.push_back(old_map.node_at(s));
                }
                copies.push_back(std::move(e));
            }
            // The primary.
            const std::uint32_t old_primary = os[0];
            const std::uint32_t new_primary = ns[0];
            if (in.old_to_new[old_primary] != new_primary) {
                Event e;
                e.action = PartitionAction::promote;
                e.partition = p;
                e.node = new_map.node_at(new_primary);
                if (in.old_failed[old_primary]) {
                    e.reason = ChangeReason::failure;
                } else if (in.old_to_new[old_primary] == none) {
                    e.reason = ChangeReason::leave;
                } else if (in.new_joined[new_primary]) {
                    e.reason = ChangeReason::join;
                } else if (in.new_returning[new_primary]) {
                    e.reason = ChangeReason::rejoin;
                } else {
                    e.reason = any_join ? ChangeReason::join : ChangeReason::rebalance;
                }
                promotes.push_back(std::move(e));
            }
        }
        // Drops: live old holders that the new map does not list.
        for (std::uint32_t o : live) {
            if (in_new(o)) {
                continue;
            }
            Event e;
            e.action = PartitionAction::drop;
            e.partition = p;
            e.node = old_map.node_at(o);
            if (in.old_to_new[o] == none) {
                e.reason = ChangeReason::leave;
            } else {
                e.reason = any_join ? ChangeReason::join : ChangeReason::rebalance;
            }
            drops.push_back(std::move(e));
        }
    }
    out.events.reserve(lost.size() + copies.size() + promotes.size() + drops.size());
    for (auto* part : {&lost, &copies, &promotes, &drops}) {
        for (Event& e : *part) {
            out.events.push_back(std::move(e));
        }
    }
    out.map = std::move(new_map);
    out.minimum_copies = minimum;
    return out;
}

// `rack`: each member's rack (rack_ids), or empty for a map without racks.
template <class NodeId>
PartitionMap<NodeId> balanced_map(std::size_t q, Rf rf, Members<NodeId> members,
                                  const std::vector<std::vector<std::uint32_t>>& held,
                                  std::size_t& kept, std::vector<std::uint32_t> rack = {},
                                  std::size_t racks = 0) {
    const std::size_t r = std::min(rf.value(), members.ids.size());
    PartitionPlanner planner(q, r, members.weights);
    if (!rack.empty()) {
        planner.set_racks(std::move(rack), racks);
    }
    std::vector<std::uint32_t> slots = planner.plan(held, kept);
    return PartitionMap<NodeId>(MapParts<NodeId>{q, rf, std::move(members.ids),
                                                 std::move(members.weights), std::move(slots)});
}

template <class NodeId>
PartitionChange<NodeId> rebalance_balanced(const PartitionMap<NodeId>& map,
                                           std::vector<std::pair<NodeId, std::uint32_t>> nodes,
                                           const RebalanceOptions<NodeId>& options) {
    ChangeInput<NodeId> in = change_input(map, std::move(nodes), options);
    const std::size_t q = map.partition_count();
    const std::size_t r = std::min(map.rf().value(), in.members.ids.size());
    const std::size_t lost = count_lost(map, in);
    if (!options.topology) {
        const std::size_t minimum = minimum_copies(q, r, in.members.weights, in.held, lost);
        std::size_t kept = 0;
        PartitionMap<NodeId> next = balanced_map(q, map.rf(), in.members, in.held, kept);
        return change_events(map, std::move(next), in, minimum);
    }
    std::size_t racks = 0;
    std::vector<std::uint32_t> rack = rack_ids(in.members.ids, *options.topology, racks);
    const std::size_t minimum =
        rack_minimum_copies(q, r, in.members.weights, in.held, lost, rack, racks);
    std::size_t kept = 0;
    PartitionMap<NodeId> next = balanced_map(q, map.rf(), in.members, in.held, kept, rack, racks);
    std::vector<std::uint32_t> slots;
    for (std::size_t p = 0; p < q; ++p) {
        const std::uint32_t* s = next.replica_indices_at(static_cast<PartitionId>(p));
        slots.insert(slots.end(), s, s + next.replica_count());
    }
    PartitionChange<NodeId> out = change_events(map, std::move(next), in, minimum);
    out.rack_shared = count_rack_shared(slots, r, rack);
    return out;
}

// The big-endian uint32 of the first 4 bytes of MD5(data): ClusterKit's hashKey.
inline std::uint32_t md5_be32(const void* data, std::size_t size) noexcept {
    const Md5::Digest d = Md5::digest(data, size);
    return (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) |
           std::uint32_t{d[3]};
}

template <class NodeId>
PartitionMap<NodeId> clusterkit_map(std::size_t q, Rf rf, Members<NodeId> members) {
    const std::size_t n = members.ids.size();
    const std::size_t r = std::min(rf.value(), n);
    std::vector<std::uint32_t> slots;
    slots.reserve(q * r);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> scores(n);  // (score, index)
    std::string name;
    for (std::size_t p = 0; p < q; ++p) {
        const std::string prefix = "partition-" + std::to_string(p);
        for (std::size_t i = 0; i < n; ++i) {
            const auto b = bytes_of(members.ids[i]);
            name.assign(prefix);
            name.append(static_cast<const char*>(b.data()), b.size());
            scores[i] = {md5_be32(name.data(), name.size()), static_cast<std::uint32_t>(i)};
        }
        // Ascending score; ties by id (the index order), where ClusterKit's sort is unstable.
        std::partial_sort(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(r),
                          scores.end());
        for (std::size_t k = 0; k < r; ++k) {
            slots.push_back(scores[k].second);
        }
    }
    return PartitionMap<NodeId>(MapParts<NodeId>{q, rf, std::move(members.ids),
                                                 std::move(members.weights), std::move(slots)});
}

}  // namespace detail

template <class NodeId>
PartitionMap<NodeId> PartitionMap<NodeId>::from_lists(std::vector<std::vector<NodeId>> lists,
                                                      Rf rf) {
    detail::check_partition_count(lists.size());
    std::vector<NodeId> ids;
    for (const auto& list : lists) {
        ids.insert(ids.end(), list.begin(), list.end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end(),
                          [](const NodeId& a, const NodeId& b) { return !(a < b) && !(b < a); }),
              ids.end());
    const std::size_t r = std::min(rf.value(), ids.size());
    std::vector<std::uint32_t> slots;
    slots.reserve(lists.size() * r);
    for (std::size_t p = 0; p < lists.size(); ++p) {
        const auto& list = lists[p];
        // Repeats: sorted indices (long lists stay O(r log r), not O(r^2)).
        std::vector<std::uint32_t> sorted;
        sorted.reserve(list.size());
        for (const NodeId& id : list) {
            sorted.push_back(static_cast<std::uint32_t>(
                std::lower_bound(ids.begin(), ids.end(), id) - ids.begin()));
        }
        std::sort(sorted.begin(), sorted.end());
        const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
        if (twice != sorted.end()) {
            detail::raise(Errc::invalid_map, "partition " + std::to_string(p) + " lists node " +
                                                 detail::describe(ids[*twice]) + " twice");
        }
        if (list.size() != r) {
            detail::raise(Errc::invalid_map, "partition " + std::to_string(p) + " lists " +
                                                 std::to_string(list.size()) + " nodes; with rf " +
                                                 std::to_string(rf.value()) + " and " +
                                                 std::to_string(ids.size()) + " nodes it needs " +
                                                 std::to_string(r));
        }
        for (std::size_t k = 0; k < list.size(); ++k) {
            const auto it = std::lower_bound(ids.begin(), ids.end(), list[k]);
            slots.push_back(static_cast<std::uint32_t>(it - ids.begin()));
        }
    }
    std::vector<std::uint32_t> weights(ids.size(), 1);
    return PartitionMap(detail::MapParts<NodeId>{lists.size(), rf, std::move(ids),
                                                 std::move(weights), std::move(slots)});
}

template <class NodeId>
template <class K, class>
std::vector<PartitionId> PartitionMap<NodeId>::partitions_of(const K& node) const {
    const auto n = static_cast<std::uint32_t>(index_of(node));
    std::vector<PartitionId> out;
    for (std::size_t p = 0; p < q_; ++p) {
        const std::uint32_t* s = slots_.data() + p * r_;
        if (std::find(s, s + r_, n) != s + r_) {
            out.push_back(static_cast<PartitionId>(p));
        }
    }
    return out;
}

template <class NodeId>
std::vector<PartitionLoad<NodeId>> PartitionMap<NodeId>::loads() const {
    std::vector<PartitionLoad<NodeId>> out(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        out[i].node = nodes_[i];
        out[i].weight = weights_[i];
    }
    for (std::size_t p = 0; p < q_; ++p) {
        const std::uint32_t* s = slots_.data() + p * r_;
        ++out[s[0]].primaries;
        for (std::size_t k = 0; k < r_; ++k) {
            ++out[s[k]].replicas;
        }
    }
    return out;
}

template <class NodeId>
PartitionStats PartitionMap<NodeId>::stats() const {
    PartitionStats st;
    if (nodes_.empty()) {
        return st;
    }
    const std::vector<PartitionLoad<NodeId>> all = loads();
    st.min_replicas = st.min_primaries = ~std::size_t{0};
    for (const auto& l : all) {
        st.min_replicas = std::min(st.min_replicas, l.replicas);
        st.max_replicas = std::max(st.max_replicas, l.replicas);
        st.min_primaries = std::min(st.min_primaries, l.primaries);
        st.max_primaries = std::max(st.max_primaries, l.primaries);
    }
    const double n = static_cast<double>(nodes_.size());
    st.replica_max_over_mean =
        static_cast<double>(st.max_replicas) / (static_cast<double>(q_ * r_) / n);
    st.primary_max_over_mean =
        static_cast<double>(st.max_primaries) / (static_cast<double>(q_) / n);
    return st;
}

template <class NodeId>
PartitionMap<NodeId> assign_partitions(const std::vector<std::pair<NodeId, std::uint32_t>>& nodes,
                                       std::size_t q, Rf rf) {
    detail::check_partition_count(q);
    detail::Members<NodeId> members = detail::sorted_members(nodes);
    std::size_t kept = 0;
    return detail::balanced_map(q, rf, std::move(members),
                                std::vector<std::vector<std::uint32_t>>(q), kept);
}

template <class NodeId>
PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes, std::size_t q, Rf rf) {
    return assign_partitions(detail::weight_one(nodes), q, rf);
}

template <class NodeId>
PartitionMap<NodeId> assign_partitions(const std::vector<std::pair<NodeId, std::uint32_t>>& nodes,
                                       std::size_t q, Rf rf, const Topology<NodeId>& topology) {
    detail::check_partition_count(q);
    detail::Members<NodeId> members = detail::sorted_members(nodes);
    std::size_t racks = 0;
    std::vector<std::uint32_t> rack = detail::rack_ids(members.ids, topology, racks);
    std::size_t kept = 0;
    return detail::balanced_map(q, rf, std::move(members),
                                std::vector<std::vector<std::uint32_t>>(q), kept, std::move(rack),
                                racks);
}

template <class NodeId>
PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes, std::size_t q, Rf rf,
                                       const Topology<NodeId>& topology) {
    return assign_partitions(detail::weight_one(nodes), q, rf, topology);
}

template <class NodeId>
std::size_t rack_shared_partitions(const PartitionMap<NodeId>& map,
                                   const Topology<NodeId>& topology) {
    std::size_t racks = 0;
    const std::vector<std::uint32_t> rack = detail::rack_ids(map.nodes(), topology, racks);
    std::vector<std::uint32_t> slots;
    for (std::size_t p = 0; p < map.partition_count(); ++p) {
        const std::uint32_t* s = map.replica_indices_at(static_cast<PartitionId>(p));
        slots.insert(slots.end(), s, s + map.replica_count());
    }
    return detail::count_rack_shared(slots, map.replica_count(), rack);
}

template <class NodeId>
PartitionChange<NodeId> rebalance_partitions(
    const PartitionMap<NodeId>& map, const std::vector<std::pair<NodeId, std::uint32_t>>& nodes,
    const RebalanceOptions<NodeId>& options) {
    return detail::rebalance_balanced(map, nodes, options);
}

template <class NodeId>
PartitionChange<NodeId> rebalance_partitions(const PartitionMap<NodeId>& map,
                                             const std::vector<NodeId>& nodes,
                                             const RebalanceOptions<NodeId>& options) {
    return detail::rebalance_balanced(map, detail::weight_one(nodes), options);
}

namespace clusterkit {

template <class Key>
PartitionId key_partition(const Key& key, std::size_t q) {
    const auto b = detail::bytes_of(key);
    return static_cast<PartitionId>(detail::md5_be32(b.data(), b.size()) % q);
}

template <class NodeId>
PartitionMap<NodeId> assign_partitions(const std::vector<NodeId>& nodes, std::size_t q, Rf rf) {
    detail::check_partition_count(q);
    return detail::clusterkit_map(q, rf, detail::sorted_members(detail::weight_one(nodes)));
}

template <class NodeId>
PartitionChange<NodeId> rebalance_partitions(const PartitionMap<NodeId>& map,
                                             const std::vector<NodeId>& nodes,
                                             const RebalanceOptions<NodeId>& options) {
    detail::ChangeInput<NodeId> in = detail::change_input(map, detail::weight_one(nodes), options);
    const std::size_t q = map.partition_count();
    const std::size_t r = std::min(map.rf().value(), in.members.ids.size());
    const std::size_t lost = detail::count_lost(map, in);
    const std::size_t minimum = detail::minimum_copies(q, r, in.members.weights, in.held, lost);
    PartitionMap<NodeId> next = detail::clusterkit_map(q, map.rf(), in.members);
    return detail::change_events(map, std::move(next), in, minimum);
}

}  // namespace clusterkit

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PARTITIONS_HPP
