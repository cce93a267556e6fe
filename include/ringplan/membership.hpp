// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The membership state machine of one cluster view (docs/membership.md): observations
// (heartbeats, join and leave requests, finished streams, the passing of time) in, decisions
// out, each with the epoch it applies to and the plan to run for it. Pure code: no threads, no
// sockets, no clock of its own, so every node that sees the same observations decides the same.
#ifndef RINGPLAN_MEMBERSHIP_HPP
#define RINGPLAN_MEMBERSHIP_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/rule_text.hpp>
#include <ringplan/detail/text.hpp>
#include <ringplan/error.hpp>
#include <ringplan/failure_detector.hpp>
#include <ringplan/handoff.hpp>
#include <ringplan/partitions.hpp>
#include <ringplan/placement.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <locale>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// Where a node is in its life as a member.
enum class NodeState {
    joining,  ///< asked to join; receives its data (the join plan); not an owner yet
    up,       ///< a member whose heartbeats arrive
    suspect,  ///< a member whose heartbeats are late (the detector's suspect level)
    down,     ///< the detector says it is unavailable; its ranges wait `remove_after`
    leaving,  ///< streams its data away (the leave plan); still an owner until leave_done
    left,     ///< left gracefully; no longer a member
    removed,  ///< was down for `remove_after` (its ranges were rebuilt elsewhere), or its join
              ///< was abandoned; no longer a member
};

/// What the machine decided.
enum class ChangeKind {
    join,     ///< a join began (node joining): run the join plan
    up,       ///< a join completed, or a suspected node's heartbeats are back on time
    suspect,  ///< heartbeats are late
    down,     ///< the detector convicted the node: route its writes to fallbacks with hints
    rejoin,   ///< a down node is back before its removal, with its data: return the hints
    removed,  ///< a down node reached `remove_after` (rebuild its ranges), or a join was
              ///< abandoned (nothing to rebuild: the old owners still hold everything)
    leaving,  ///< a graceful leave began: the node streams its data away (the leave plan)
    left,     ///< the leave completed
    replan,   ///< the epoch moved while a join or leave was streaming: its plan, recomputed
};

/// Which plan a change carries.
enum class PlanKind { none, join, leave, crash, hint_return };

constexpr const char* to_string(NodeState s) noexcept {
    switch (s) {
        case NodeState::joining:
            return "joining";
        case NodeState::up:
            return "up";
        case NodeState::suspect:
            return "suspect";
        case NodeState::down:
            return "down";
        case NodeState::leaving:
            return "leaving";
        case NodeState::left:
            return "left";
        case NodeState::removed:
            return "removed";
    }
    return "unknown";
}
constexpr const char* to_string(ChangeKind k) noexcept {
    switch (k) {
        case ChangeKind::join:
            return "join";
        case ChangeKind::up:
            return "up";
        case ChangeKind::suspect:
            return "suspect";
        case ChangeKind::down:
            return "down";
        case ChangeKind::rejoin:
            return "rejoin";
        case ChangeKind::removed:
            return "removed";
        case ChangeKind::leaving:
            return "leaving";
        case ChangeKind::left:
            return "left";
        case ChangeKind::replan:
            return "replan";
    }
    return "unknown";
}
constexpr const char* to_string(PlanKind k) noexcept {
    switch (k) {
        case PlanKind::none:
            return "none";
        case PlanKind::join:
            return "join";
        case PlanKind::leave:
            return "leave";
        case PlanKind::crash:
            return "crash";
        case PlanKind::hint_return:
            return "hint_return";
    }
    return "unknown";
}

/// How a membership machine decides.
struct MembershipOptions {
    /// When a node is suspected and when it is down.
    DetectorOptions detector{};
    /// How long a node stays down before its ranges are rebuilt on the others (plan_crash).
    /// Until then a flapping node costs no data movement: writes go to fallbacks with hints
    /// (Dynamo's sloppy quorum) and come back with the hint return plan. 0 removes at once.
    std::chrono::milliseconds remove_after{std::chrono::minutes(10)};
    /// The replication factor of the plans.
    Rf rf{3};
    /// The replica rule (topology.hpp). Unset (the default): a range's replicas are the first
    /// `rf` distinct nodes. Set: `rf` is not read; in ring mode every plan, every summary and
    /// every owned share follows the rule, and a rack-aware or network-topology rule needs a
    /// location for every member (Membership's founders' topology, join_request's location).
    /// Partition mode takes the distinct-node rule (its rf) or the rack-aware one (maps on
    /// distinct racks where they allow it); a network-topology rule there is invalid_option.
    std::optional<ReplicaPolicy> policy;
    /// Ring mode: the vnodes each member gets (derived tokens).
    std::uint32_t vnodes = 16;
    /// 0: ring mode. Q >= 1: partition mode, a balanced map of Q partitions
    /// (assign_partitions, rebalance_partitions).
    std::size_t partitions = 0;
};

/// The size of a plan, in either mode.
struct PlanSummary {
    /// Ring: moves. Partitions: copy and catch_up events.
    std::size_t moves = 0;
    /// Ring: the fraction of the ring the moves cover, summed over replicas (up to rf; for a
    /// hint return, the ranges whose hints come back, not the hints' size). Partitions: full
    /// copies / Q (a catch_up fetches only missed writes and is not counted).
    double moved = 0;
    /// The fraction of the data no live node holds any more.
    double lost = 0;
    /// The fraction of the data the new layout keeps on fewer than rf nodes (fewer members
    /// than rf; under a rule, a datacenter with fewer members than its rf).
    double under_replicated = 0;
};

/// One decision.
template <class NodeId>
struct MembershipChange {
    ChangeKind kind = ChangeKind::up;
    NodeId node{};
    /// The epoch after this change: the one its plan applies to. Fenced calls (join_done,
    /// leave_done, check_epoch) refuse any other.
    std::uint64_t epoch = 0;
    /// When it was decided.
    std::chrono::milliseconds at{0};
    /// rejoin: how long the node was away, from its last heartbeat before the outage.
    std::chrono::milliseconds away{0};
    /// down, rejoin, removed, leaving: the share of the data the node holds (ring: its
    /// replicated share; partitions: its partitions / Q).
    double owned = 0;
    PlanKind plan_kind = PlanKind::none;
    /// Ring mode: the plan (join, leave, crash, hint_return), when plan_kind is not none.
    Plan<NodeId> plan;
    /// Partition mode: the map change and its events, when plan_kind is not none.
    PartitionChange<NodeId> partitions;

    /// The plan's size, in the machine's mode.
    [[nodiscard]] PlanSummary summary() const;
};

namespace detail {
inline bool same_options(const MembershipOptions& a, const MembershipOptions& b) {
    const DetectorOptions& x = a.detector;
    const DetectorOptions& y = b.detector;
    return x.model == y.model && x.threshold == y.threshold &&
           x.suspect_fraction == y.suspect_fraction && x.window == y.window &&
           x.min_std_deviation == y.min_std_deviation && x.acceptable_pause == y.acceptable_pause &&
           x.first_interval == y.first_interval && x.max_interval == y.max_interval &&
           x.check_interval == y.check_interval && x.missed_checks == y.missed_checks &&
           a.remove_after == b.remove_after && a.rf == b.rf && a.vnodes == b.vnodes &&
           a.partitions == b.partitions && a.policy == b.policy;
}

// The replication factor the machine works with: the rule's total, else rf.
inline Rf membership_rf(const MembershipOptions& o) {
    return o.policy ? o.policy->total_rf() : o.rf;
}

inline void check_membership_options(const MembershipOptions& o) {
    if (o.remove_after.count() < 0) {
        raise(Errc::invalid_option, "remove_after must not be negative, got " +
                                        std::to_string(o.remove_after.count()) + " ms");
    }
    if (o.partitions == 0 && o.vnodes == 0) {
        raise(Errc::invalid_option, "vnodes must be at least 1 in ring mode, got 0");
    }
    if (o.partitions != 0) {
        check_partition_count(o.partitions);
        if (o.policy && o.policy->kind() == ReplicaPolicy::Kind::network_topology) {
            raise(Errc::invalid_option,
                  std::string("partition mode takes the distinct_nodes or rack_aware rule, got ") +
                      rule_kind_name(o.policy->kind()));
        }
    }
}

// Raises invalid_topology unless `node` has a location or the rule needs none.
template <class NodeId>
void check_located(const MembershipOptions& o, const Topology<NodeId>& topology,
                   const NodeId& node) {
    if (o.policy && o.policy->needs_topology() && topology.find(node) == nullptr) {
        raise(Errc::invalid_topology, "node " + describe(node) + " has no location, and the " +
                                          rule_kind_name(o.policy->kind()) + " rule needs one");
    }
}
}  // namespace detail

/// The membership of one cluster view, as a deterministic state machine (docs/membership.md).
///
/// Feed it what this process observes, with the time from the caller's clock; act on the
/// changes it returns, in order. Every change of who owns, serves or takes writes bumps the
/// epoch and carries the plan for it: a join the join plan, a leave the leave plan (the node
/// goes only at leave_done, after its data streamed), a removal (down for `remove_after`) the
/// crash plan, a rejoin (a down node back before removal) the hint return plan; in partition
/// mode the matching PartitionChange. One join or leave streams at a time (Cassandra's
/// consistent range movement); if the epoch moves while it streams, the machine re-issues its
/// plan (ChangeKind::replan) and only the newest epoch completes it.
///
/// A value: copyable, comparable, and serialized by to_text / from_text, so it can be
/// persisted or replicated through the user's own consensus log. Not thread-safe (like any
/// value, one writer at a time).
template <class Hash = Xxh3, class NodeId = std::string>
class Membership {
public:
    using node_id = NodeId;
    using Change = MembershipChange<NodeId>;

    /// An empty view at epoch 0. Errors: invalid_option.
    explicit Membership(MembershipOptions options = {});
    /// The founding members, all up at epoch 1, monitored from `now`: this counts as each
    /// one's heartbeat at `now` (do not also feed one at the same time: the detector would
    /// learn an interval of 0). `locations` places the founders (and may place nodes that join
    /// later); the machine keeps it (topology()). Errors: invalid_option, duplicate_node,
    /// invalid_topology (a founder without a location when the rule needs one).
    Membership(const std::vector<NodeId>& founders, std::chrono::milliseconds now,
               MembershipOptions options = {}, Topology<NodeId> locations = {});

    // Observations. Each returns the changes it caused, in order, and leaves the machine
    // unchanged when it raises. `now` never goes back (clock_backwards).

    /// A heartbeat. From a suspected node: up. From a down node: rejoin. From an id that is
    /// not a member (never joined, left, removed): ignored; it must ask to join.
    std::vector<Change> heartbeat(const NodeId& node, std::chrono::milliseconds now);
    /// A node asks to join. A new id, or one that left or was removed (it comes back empty,
    /// never as a duplicate): a join, monitored from `now` (the request counts as its first
    /// heartbeat). A down member: a rejoin. `where`, if given, is the node's location (kept in
    /// topology(), replacing a known one); without it the known location is used. A rejoin
    /// keeps the node's location: `where` must be absent or the same. Errors: duplicate_node
    /// (a member that is not down), invalid_transition (another join or leave is streaming),
    /// invalid_topology (no location known or given when the rule needs one; an empty
    /// datacenter; a rejoining node given another location).
    std::vector<Change> join_request(const NodeId& node, std::chrono::milliseconds now,
                                     const std::optional<Location>& where = std::nullopt);
    /// A member asks to leave gracefully. Errors: unknown_node, invalid_transition (the node
    /// is not up or suspect, or another join or leave is streaming).
    std::vector<Change> leave_request(const NodeId& node, std::chrono::milliseconds now);
    /// The join plan of `epoch` has streamed: the node becomes an owner, up. Errors:
    /// invalid_transition (the node is not joining), stale_epoch (not the latest plan's epoch).
    std::vector<Change> join_done(const NodeId& node, std::uint64_t epoch,
                                  std::chrono::milliseconds now);
    /// The leave plan of `epoch` has streamed: the node leaves. Errors: as join_done.
    std::vector<Change> leave_done(const NodeId& node, std::uint64_t epoch,
                                   std::chrono::milliseconds now);
    /// The passing of time: suspicions, convictions (down), recoveries, removals; nodes in
    /// ascending id order.
    std::vector<Change> tick(std::chrono::milliseconds now);

    /// The earliest time at which tick may decide something (a suspicion, a conviction, a
    /// removal), or nothing if no tick ever will without new observations.
    [[nodiscard]] std::optional<std::chrono::milliseconds> next_tick() const;

    /// Raises stale_epoch unless `epoch` is the current one: fencing for the user's own
    /// appliers of plans and events.
    void check_epoch(std::uint64_t epoch) const;
    std::uint64_t epoch() const noexcept { return epoch_; }
    /// The latest observation's time.
    std::chrono::milliseconds now() const noexcept { return now_; }

    /// A known id's state (members, and ids that left or were removed). Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    NodeState state(const K& node) const {
        return record(node).state;
    }
    template <class K, class = detail::IdArg<NodeId, K>>
    bool known(const K& node) const {
        return nodes_.find(detail::as_id<NodeId>(node)) != nodes_.end();
    }
    /// Whether `node` serves reads and takes writes: up, suspect or leaving. The predicate for
    /// preference_list on ring(): a down node's writes go to a fallback with a hint.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool is_up(const K& node) const {
        auto it = nodes_.find(detail::as_id<NodeId>(node));
        return it != nodes_.end() && serving(it->second.state);
    }
    /// Every known id and its state, ascending.
    [[nodiscard]] std::vector<std::pair<NodeId, NodeState>> states() const;
    /// The members (joining, up, suspect, down, leaving), ascending.
    [[nodiscard]] std::vector<NodeId> members() const;
    /// The join or leave whose plan is streaming, if any: (node, plan kind, epoch).
    [[nodiscard]] std::optional<std::pair<NodeId, PlanKind>> in_flight() const;

    /// Ring mode: the owners (up, suspect, down and leaving members; a joining node enters at
    /// join_done). Lookups and preference lists use it.
    const Ring<Hash, NodeId>& ring() const noexcept { return ring_; }
    /// Partition mode: the settled map.
    const PartitionMap<NodeId>& partition_map() const noexcept { return map_; }
    const FailureDetector<NodeId>& detector() const noexcept { return detector_; }
    const MembershipOptions& options() const noexcept { return options_; }
    /// Where the nodes sit: the founders' locations and those join_request gave. Members and
    /// ids that left keep theirs (a returning node needs none given again).
    const Topology<NodeId>& topology() const noexcept { return topology_; }

    /// The whole state as text (docs/membership.md, "Text form"): a machine read back with
    /// from_text compares equal and decides the same. NodeId: std::string or an integer.
    [[nodiscard]] std::string to_text() const;
    /// Errors: parse_error (naming the line), and what the state would violate.
    [[nodiscard]] static Membership from_text(std::string_view text);

    friend bool operator==(const Membership& a, const Membership& b) {
        return detail::same_options(a.options_, b.options_) && a.epoch_ == b.epoch_ &&
               a.now_ == b.now_ && a.nodes_ == b.nodes_ && a.flight_ == b.flight_ &&
               a.ring_ == b.ring_ && a.map_ == b.map_ && a.detector_ == b.detector_ &&
               a.topology_ == b.topology_;
    }
    friend bool operator!=(const Membership& a, const Membership& b) { return !(a == b); }

private:
    struct Record {
        NodeState state = NodeState::up;
        /// When it entered the state.
        std::chrono::milliseconds since{0};
        /// Its last heartbeat (or when monitoring began).
        std::chrono::milliseconds seen{0};
        friend bool operator==(const Record& a, const Record& b) {
            return a.state == b.state && a.since == b.since && a.seen == b.seen;
        }
    };
    struct Flight {
        NodeId node{};
        PlanKind kind = PlanKind::join;
        std::uint64_t epoch = 0;
        friend bool operator==(const Flight& a, const Flight& b) {
            return a.node == b.node && a.kind == b.kind && a.epoch == b.epoch;
        }
    };
    using Records = std::map<NodeId, Record, std::less<>>;

    static bool serving(NodeState s) noexcept {
        return s == NodeState::up || s == NodeState::suspect || s == NodeState::leaving;
    }
    static bool member(NodeState s) noexcept {
        return s != NodeState::left && s != NodeState::removed;
    }
    bool partition_mode() const noexcept { return options_.partitions != 0; }

    template <class K>
    const Record& record(const K& node) const {
        auto it = nodes_.find(detail::as_id<NodeId>(node));
        if (it == nodes_.end()) {
            detail::raise(Errc::unknown_node,
                          "node " + detail::describe(node) + " is not known to the membership");
        }
        return it->second;
    }
    void advance(std::chrono::milliseconds now) const;
    PlanOptions<NodeId> plan_options(const NodeId& except, const Topology<NodeId>& where) const;
    double owned(const NodeId& node) const;
    Change change(ChangeKind kind, const NodeId& node, std::chrono::milliseconds at) const;
    // `where`: the topology to plan with (a join's, with the joining node's location), or
    // nullptr for the machine's.
    void attach_plan(Change& c, PlanKind kind, const NodeId& node,
                     const Topology<NodeId>* where = nullptr) const;
    PartitionMap<NodeId> assign_map(const std::vector<NodeId>& nodes) const;
    bool racks_in_map() const noexcept {
        return options_.policy && options_.policy->kind() == ReplicaPolicy::Kind::rack_aware;
    }
    PartitionChange<NodeId> partition_change(const NodeId& node, PlanKind kind) const;
    Change rejoin(const NodeId& node, std::chrono::milliseconds now);
    void replan_if_stale(std::vector<Change>& out, std::chrono::milliseconds now);
    std::vector<Change> finish_flight(const NodeId& node, PlanKind kind, std::uint64_t epoch,
                                      std::chrono::milliseconds now);
    enum class Decision { none, suspect, recover, convict, remove };
    Decision decide(const NodeId& id, const Record& r, std::chrono::milliseconds now) const;
    void convict(const NodeId& id, std::chrono::milliseconds now, std::vector<Change>& out);
    void remove_down(const NodeId& id, std::chrono::milliseconds now, std::vector<Change>& out);

    MembershipOptions options_;
    std::uint64_t epoch_ = 0;
    std::chrono::milliseconds now_{0};
    Records nodes_;
    std::optional<Flight> flight_;
    FailureDetector<NodeId> detector_;
    Ring<Hash, NodeId> ring_;
    PartitionMap<NodeId> map_;
    Topology<NodeId> topology_;
};

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// A PartitionChange to no node at all: every partition is lost (the last member left or was
// removed; a graceful leave has nowhere to stream to).
template <class NodeId>
PartitionChange<NodeId> change_to_nothing(const PartitionMap<NodeId>& map) {
    PartitionChange<NodeId> out;
    for (std::size_t p = 0; p < map.partition_count(); ++p) {
        PartitionEvent<NodeId> e;
        e.action = PartitionAction::lost;
        e.partition = static_cast<PartitionId>(p);
        e.reason = ChangeReason::failure;
        out.events.push_back(std::move(e));
    }
    out.lost = map.partition_count();
    return out;
}

}  // namespace detail

template <class NodeId>
PlanSummary MembershipChange<NodeId>::summary() const {
    PlanSummary s;
    if (plan_kind == PlanKind::none) {
        return s;
    }
    const std::size_t q = partitions.map.partition_count() != 0
                              ? partitions.map.partition_count()
                              : partitions.events.size();  // a change to no node: lost events
    if (!partitions.events.empty() || partitions.map.partition_count() != 0) {
        for (const auto& e : partitions.events) {
            if (e.action == PartitionAction::copy || e.action == PartitionAction::catch_up) {
                ++s.moves;
            }
        }
        if (q != 0) {
            s.moved = static_cast<double>(partitions.copies) / static_cast<double>(q);
            s.lost = static_cast<double>(partitions.lost) / static_cast<double>(q);
        }
        const PartitionMap<NodeId>& map = partitions.map;
        s.under_replicated = map.replica_count() < map.rf().value() ? 1.0 : 0.0;
        return s;
    }
    s.moves = plan.moves.size();
    s.moved = plan.moved_fraction();
    s.lost = plan.lost_fraction();
    for (const TokenRange& r : plan.under_replicated) {
        s.under_replicated += r.fraction();
    }
    return s;
}

template <class Hash, class NodeId>
Membership<Hash, NodeId>::Membership(MembershipOptions options)
    : options_(options), detector_(options.detector) {
    detail::check_membership_options(options_);
}

template <class Hash, class NodeId>
Membership<Hash, NodeId>::Membership(const std::vector<NodeId>& founders,
                                     std::chrono::milliseconds now, MembershipOptions options,
                                     Topology<NodeId> locations)
    : Membership(options) {
    topology_ = std::move(locations);
    std::vector<NodeId> sorted = founders;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end(),
                                  [](const NodeId& a, const NodeId& b) { return !(a < b); });
    if (dup != sorted.end()) {
        detail::raise(Errc::duplicate_node,
                      "node " + detail::describe(*dup) + " is listed twice among the founders");
    }
    for (const NodeId& id : sorted) {
        detail::check_located(options_, topology_, id);
    }
    now_ = now;
    for (const NodeId& id : sorted) {
        nodes_.emplace(id, Record{NodeState::up, now, now});
        detector_.heartbeat(id, now);
    }
    if (partition_mode()) {
        if (!sorted.empty()) {
            map_ = assign_map(sorted);
        }
    } else {
        ring_.add_nodes(sorted, options_.vnodes);
    }
    epoch_ = sorted.empty() ? 0 : 1;
}

template <class Hash, class NodeId>
void Membership<Hash, NodeId>::advance(std::chrono::milliseconds now) const {
    if (now < now_) {
        detail::raise(Errc::clock_backwards, "observation at " + std::to_string(now.count()) +
                                                 " ms is earlier than the latest one, at " +
                                                 std::to_string(now_.count()) + " ms");
    }
}

template <class Hash, class NodeId>
void Membership<Hash, NodeId>::check_epoch(std::uint64_t epoch) const {
    if (epoch != epoch_) {
        detail::raise(Errc::stale_epoch, "epoch " + std::to_string(epoch) +
                                             " is not the current epoch " + std::to_string(epoch_));
    }
}

// Sources must be live: every other down member is excluded, as in the hint-return outage.
template <class Hash, class NodeId>
PlanOptions<NodeId> Membership<Hash, NodeId>::plan_options(const NodeId& except,
                                                           const Topology<NodeId>& where) const {
    PlanOptions<NodeId> o(detail::membership_rf(options_));
    o.policy = options_.policy;
    if (options_.policy && options_.policy->needs_topology()) {
        o.topology = where;  // the distinct-node rule plans as rf does, locations or not
    }
    for (const auto& [id, r] : nodes_) {
        if (r.state == NodeState::down && !(id == except) && ring_.contains(id)) {
            o.down.push_back(id);
        }
    }
    return o;
}

template <class Hash, class NodeId>
double Membership<Hash, NodeId>::owned(const NodeId& node) const {
    if (partition_mode()) {
        if (!map_.contains(node) || map_.partition_count() == 0) {
            return 0;
        }
        return static_cast<double>(map_.partitions_of(node).size()) /
               static_cast<double>(map_.partition_count());
    }
    if (!ring_.contains(node)) {
        return 0.0;
    }
    if (!options_.policy || !options_.policy->needs_topology()) {
        return replicated_share(ring_, node, detail::membership_rf(options_));
    }
    return Placement<Hash, NodeId>(ring_, topology_, *options_.policy).replicated_share(node);
}

template <class Hash, class NodeId>
typename Membership<Hash, NodeId>::Change Membership<Hash, NodeId>::change(
    ChangeKind kind, const NodeId& node, std::chrono::milliseconds at) const {
    Change c;
    c.kind = kind;
    c.node = node;
    c.epoch = epoch_;
    c.at = at;
    return c;
}

// The partition change of a join, leave, removal or rejoin of `node`, from the settled map.
template <class Hash, class NodeId>
PartitionChange<NodeId> Membership<Hash, NodeId>::partition_change(const NodeId& node,
                                                                   PlanKind kind) const {
    std::vector<NodeId> nodes = map_.nodes();  // the owners
    RebalanceOptions<NodeId> ro;
    switch (kind) {
        case PlanKind::join:
            if (nodes.empty()) {
                // The first node: nothing to copy from or to.
                PartitionChange<NodeId> out;
                out.map = assign_map(std::vector<NodeId>{node});
                return out;
            }
            nodes.insert(std::upper_bound(nodes.begin(), nodes.end(), node), node);
            break;
        case PlanKind::leave:
        case PlanKind::crash:
            nodes.erase(std::find(nodes.begin(), nodes.end(), node));
            if (kind == PlanKind::crash) {
                ro.failed.push_back(node);
            }
            if (nodes.empty()) {
                return detail::change_to_nothing(map_);
            }
            break;
        case PlanKind::hint_return:
            ro.returning.push_back(node);
            break;
        case PlanKind::none:
            break;
    }
    if (racks_in_map()) {
        ro.topology = topology_;
    }
    return rebalance_partitions(map_, nodes, ro);
}

// Partition mode's map of `nodes`: on distinct racks where they allow it under the rack-aware
// rule (assign_partitions with a topology), else plain.
template <class Hash, class NodeId>
PartitionMap<NodeId> Membership<Hash, NodeId>::assign_map(const std::vector<NodeId>& nodes) const {
    const Rf rf = detail::membership_rf(options_);
    return racks_in_map() ? assign_partitions(nodes, options_.partitions, rf, topology_)
                          : assign_partitions(nodes, options_.partitions, rf);
}

template <class Hash, class NodeId>
void Membership<Hash, NodeId>::attach_plan(Change& c, PlanKind kind, const NodeId& node,
                                           const Topology<NodeId>* where) const {
    c.plan_kind = kind;
    if (partition_mode()) {
        c.partitions = partition_change(node, kind);
        return;
    }
    const PlanOptions<NodeId> po = plan_options(node, where != nullptr ? *where : topology_);
    switch (kind) {
        case PlanKind::join:
            c.plan = plan_join(ring_, node, options_.vnodes, po);
            break;
        case PlanKind::leave:
            c.plan = plan_leave(ring_, node, po);
            break;
        case PlanKind::crash:
            c.plan = plan_crash(ring_, node, po);
            break;
        case PlanKind::hint_return:
            c.plan = plan_hint_return(ring_, node, po);
            break;
        case PlanKind::none:
            break;
    }
}

// A down node is back before its removal, with its data.
template <class Hash, class NodeId>
typename Membership<Hash, NodeId>::Change Membership<Hash, NodeId>::rejoin(
    const NodeId& node, std::chrono::milliseconds now) {
    Record& r = nodes_.find(node)->second;
    Change c = change(ChangeKind::rejoin, node, now);
    c.epoch = epoch_ + 1;
    c.away = now - r.seen;
    c.owned = owned(node);
    attach_plan(c, PlanKind::hint_return, node);  // may raise: nothing changed yet
    detector_.heartbeat(node, now);
    ++epoch_;
    r = Record{NodeState::up, now, now};
    if (partition_mode()) {
        map_ = c.partitions.map;
    }
    return c;
}

// The epoch moved while a join or leave streams: its plan is recomputed for the new epoch, and
// only that epoch completes it (a slow coordinator holding the old plan is refused).
template <class Hash, class NodeId>
void Membership<Hash, NodeId>::replan_if_stale(std::vector<Change>& out,
                                               std::chrono::milliseconds now) {
    if (!flight_ || flight_->epoch == epoch_) {
        return;
    }
    Change c = change(ChangeKind::replan, flight_->node, now);
    attach_plan(c, flight_->kind, flight_->node);
    flight_->epoch = epoch_;
    out.push_back(std::move(c));
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::heartbeat(
    const NodeId& node, std::chrono::milliseconds now) {
    advance(now);
    std::vector<Change> out;
    auto it = nodes_.find(node);
    if (it == nodes_.end() || !member(it->second.state)) {
        now_ = now;
        return out;
    }
    Record& r = it->second;
    if (r.state == NodeState::down) {
        out.push_back(rejoin(node, now));
        now_ = now;
        replan_if_stale(out, now);
        return out;
    }
    detector_.heartbeat(node, now);
    now_ = now;
    r.seen = now;
    if (r.state == NodeState::suspect) {
        r.state = NodeState::up;
        r.since = now;
        out.push_back(change(ChangeKind::up, node, now));
    }
    return out;
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::join_request(
    const NodeId& node, std::chrono::milliseconds now, const std::optional<Location>& where) {
    advance(now);
    auto it = nodes_.find(node);
    const Location* known = topology_.find(node);
    Topology<NodeId> topology = topology_;
    if (where) {
        topology.set(node, *where);  // invalid_topology (an empty datacenter)
    }
    if (it != nodes_.end() && it->second.state == NodeState::down) {
        // A rejoin keeps the replica sets it left: moving racks is a leave and a join.
        if (where && known != nullptr && *known != *where) {
            detail::raise(Errc::invalid_topology,
                          "node " + detail::describe(node) +
                              " rejoins at its location; another one needs a leave and a join");
        }
        std::vector<Change> out;
        out.push_back(rejoin(node, now));
        topology_ = std::move(topology);
        now_ = now;
        replan_if_stale(out, now);
        return out;
    }
    if (it != nodes_.end() && member(it->second.state)) {
        detail::raise(Errc::duplicate_node, "node " + detail::describe(node) +
                                                " is already a member (" +
                                                to_string(it->second.state) + ")");
    }
    if (flight_) {
        detail::raise(Errc::invalid_transition,
                      "node " + detail::describe(node) + " can not join while node " +
                          detail::describe(flight_->node) + " is " +
                          (flight_->kind == PlanKind::join ? "joining" : "leaving") +
                          ": one join or leave streams at a time");
    }
    detail::check_located(options_, topology, node);
    Change c = change(ChangeKind::join, node, now);
    c.epoch = epoch_ + 1;
    attach_plan(c, PlanKind::join, node, &topology);  // may raise (duplicate, too many vnodes)
    FailureDetector<NodeId> detector = detector_;
    detector.remove(node);  // a returning id starts a fresh history
    detector.heartbeat(node, now);
    Records nodes = nodes_;
    nodes[node] = Record{NodeState::joining, now, now};
    // Nothing raises below.
    detector_ = std::move(detector);
    nodes_ = std::move(nodes);
    topology_ = std::move(topology);
    ++epoch_;
    now_ = now;
    flight_ = Flight{node, PlanKind::join, epoch_};
    std::vector<Change> out;
    out.push_back(std::move(c));
    return out;
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::leave_request(
    const NodeId& node, std::chrono::milliseconds now) {
    advance(now);
    const Record& r = record(node);
    if (r.state != NodeState::up && r.state != NodeState::suspect) {
        detail::raise(Errc::invalid_transition,
                      "node " + detail::describe(node) + " is " + to_string(r.state) +
                          "; only an up or suspect member can leave gracefully");
    }
    if (flight_) {
        detail::raise(Errc::invalid_transition,
                      "node " + detail::describe(node) + " can not leave while node " +
                          detail::describe(flight_->node) + " is " +
                          (flight_->kind == PlanKind::join ? "joining" : "leaving") +
                          ": one join or leave streams at a time");
    }
    Change c = change(ChangeKind::leaving, node, now);
    c.epoch = epoch_ + 1;
    c.owned = owned(node);
    attach_plan(c, PlanKind::leave, node);
    ++epoch_;
    now_ = now;
    nodes_.find(node)->second.state = NodeState::leaving;
    nodes_.find(node)->second.since = now;
    flight_ = Flight{node, PlanKind::leave, epoch_};
    std::vector<Change> out;
    out.push_back(std::move(c));
    return out;
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::finish_flight(
    const NodeId& node, PlanKind kind, std::uint64_t epoch, std::chrono::milliseconds now) {
    advance(now);
    const bool joining = kind == PlanKind::join;
    const Record& r = record(node);
    const NodeState expected = joining ? NodeState::joining : NodeState::leaving;
    if (r.state != expected || !flight_ || !(flight_->node == node)) {
        detail::raise(Errc::invalid_transition, "node " + detail::describe(node) + " is " +
                                                    to_string(r.state) + ", not " +
                                                    to_string(expected));
    }
    if (epoch != flight_->epoch) {
        detail::raise(Errc::stale_epoch,
                      "the " + std::string(joining ? "join" : "leave") + " plan of node " +
                          detail::describe(node) + " is the one of epoch " +
                          std::to_string(flight_->epoch) + ", not " + std::to_string(epoch));
    }
    // Build the new layout first: the strong guarantee.
    Ring<Hash, NodeId> ring = ring_;
    PartitionMap<NodeId> map = map_;
    if (partition_mode()) {
        map = partition_change(node, kind).map;
    } else if (joining) {
        ring.add_node(node, options_.vnodes);
    } else {
        ring.remove_node(node);
    }
    FailureDetector<NodeId> detector = detector_;
    if (!joining) {
        detector.remove(node);
    }
    ring_ = std::move(ring);
    map_ = std::move(map);
    detector_ = std::move(detector);
    ++epoch_;
    now_ = now;
    Record& rec = nodes_.find(node)->second;
    rec.state = joining ? NodeState::up : NodeState::left;
    rec.since = now;
    flight_.reset();
    std::vector<Change> out;
    out.push_back(change(joining ? ChangeKind::up : ChangeKind::left, node, now));
    return out;
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::join_done(
    const NodeId& node, std::uint64_t epoch, std::chrono::milliseconds now) {
    return finish_flight(node, PlanKind::join, epoch, now);
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::leave_done(
    const NodeId& node, std::uint64_t epoch, std::chrono::milliseconds now) {
    return finish_flight(node, PlanKind::leave, epoch, now);
}

template <class Hash, class NodeId>
typename Membership<Hash, NodeId>::Decision Membership<Hash, NodeId>::decide(
    const NodeId& id, const Record& r, std::chrono::milliseconds now) const {
    if (!member(r.state)) {
        return Decision::none;
    }
    if (r.state == NodeState::down) {
        return now - r.since >= options_.remove_after ? Decision::remove : Decision::none;
    }
    if (!detector_.available(id, now)) {
        return Decision::convict;
    }
    const bool late = detector_.suspected(id, now);
    if (late && r.state == NodeState::up) {
        return Decision::suspect;
    }
    if (!late && r.state == NodeState::suspect) {
        return Decision::recover;
    }
    return Decision::none;
}

// Down: route its writes to fallbacks; its ranges wait remove_after. A joining node that goes
// down abandons its join (it owns nothing yet; the old owners still hold everything); a leaving
// node that goes down cancels its leave (it is still an owner).
template <class Hash, class NodeId>
void Membership<Hash, NodeId>::convict(const NodeId& id, std::chrono::milliseconds now,
                                       std::vector<Change>& out) {
    Record& r = nodes_.find(id)->second;
    if (r.state == NodeState::joining || r.state == NodeState::leaving) {
        flight_.reset();
    }
    ++epoch_;
    if (r.state == NodeState::joining) {
        detector_.remove(id);
        r.state = NodeState::removed;
        r.since = now;
        out.push_back(change(ChangeKind::removed, id, now));
        return;
    }
    r.state = NodeState::down;
    r.since = now;
    Change c = change(ChangeKind::down, id, now);
    c.owned = owned(id);
    out.push_back(std::move(c));
    if (options_.remove_after.count() == 0) {
        remove_down(id, now, out);
    }
}

// Down for remove_after: its ranges are rebuilt from the surviving replicas (plan_crash), and
// what has no surviving copy is reported lost.
template <class Hash, class NodeId>
void Membership<Hash, NodeId>::remove_down(const NodeId& id, std::chrono::milliseconds now,
                                           std::vector<Change>& out) {
    Change c = change(ChangeKind::removed, id, now);
    c.epoch = epoch_ + 1;
    c.owned = owned(id);
    attach_plan(c, PlanKind::crash, id);
    if (partition_mode()) {
        map_ = c.partitions.map;
    } else {
        ring_.remove_node(id);
    }
    detector_.remove(id);
    ++epoch_;
    Record& r = nodes_.find(id)->second;
    r.state = NodeState::removed;
    r.since = now;
    out.push_back(std::move(c));
}

template <class Hash, class NodeId>
std::vector<typename Membership<Hash, NodeId>::Change> Membership<Hash, NodeId>::tick(
    std::chrono::milliseconds now) {
    advance(now);
    std::vector<Change> out;
    const bool anything = std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& e) {
        return decide(e.first, e.second, now) != Decision::none;
    });
    if (!anything) {
        now_ = now;
        return out;
    }
    // Work on a copy: a plan that raises midway leaves the machine as it was. Ticks that decide
    // something are rare, so the copy costs nothing in steady state.
    Membership next = *this;
    next.now_ = now;
    for (auto& [id, r] : next.nodes_) {
        switch (next.decide(id, r, now)) {
            case Decision::none:
                break;
            case Decision::remove:
                next.remove_down(id, now, out);
                break;
            case Decision::convict:
                next.convict(id, now, out);
                break;
            case Decision::suspect:
                r.state = NodeState::suspect;
                r.since = now;
                out.push_back(next.change(ChangeKind::suspect, id, now));
                break;
            case Decision::recover:
                r.state = NodeState::up;
                r.since = now;
                out.push_back(next.change(ChangeKind::up, id, now));
                break;
        }
    }
    next.replan_if_stale(out, now);
    *this = std::move(next);
    return out;
}

template <class Hash, class NodeId>
std::optional<std::chrono::milliseconds> Membership<Hash, NodeId>::next_tick() const {
    std::optional<std::chrono::milliseconds> best;
    auto consider = [&](std::chrono::milliseconds t) {
        t = std::max(t, now_);
        if (!best || t < *best) {
            best = t;
        }
    };
    for (const auto& [id, r] : nodes_) {
        if (!member(r.state)) {
            continue;
        }
        if (r.state == NodeState::down) {
            consider(r.since + options_.remove_after);
            continue;
        }
        const std::optional<std::chrono::milliseconds> down = detector_.down_at(id);
        if (!down) {
            continue;
        }
        // An up node's next decision is its suspicion (at or before its conviction); the
        // others' is their conviction.
        consider(r.state == NodeState::up ? detector_.suspected_at(id).value_or(*down) : *down);
    }
    return best;
}

template <class Hash, class NodeId>
std::vector<std::pair<NodeId, NodeState>> Membership<Hash, NodeId>::states() const {
    std::vector<std::pair<NodeId, NodeState>> out;
    out.reserve(nodes_.size());
    for (const auto& [id, r] : nodes_) {
        out.emplace_back(id, r.state);
    }
    return out;
}

template <class Hash, class NodeId>
std::vector<NodeId> Membership<Hash, NodeId>::members() const {
    std::vector<NodeId> out;
    for (const auto& [id, r] : nodes_) {
        if (member(r.state)) {
            out.push_back(id);
        }
    }
    return out;
}

template <class Hash, class NodeId>
std::optional<std::pair<NodeId, PlanKind>> Membership<Hash, NodeId>::in_flight() const {
    if (!flight_) {
        return std::nullopt;
    }
    return std::make_pair(flight_->node, flight_->kind);
}

// ---- text form -----------------------------------------------------------------------------

namespace detail {

// Version 1 has no rule lines; a machine without a rule or locations still writes it.
inline const char* membership_header(bool with_rule) noexcept {
    return with_rule ? "ringplan-membership 2" : "ringplan-membership 1";
}

// A double as format_double writes it (the shortest text that reads back exactly), read in the
// classic locale; finite only.
inline std::optional<double> read_double(std::string_view token) {
    if (token.empty() || token.size() > 40) {
        return std::nullopt;
    }
    std::istringstream in{std::string(token)};
    in.imbue(std::locale::classic());
    double v = 0;
    if (!(in >> v) || in.peek() != std::char_traits<char>::eof() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

inline std::optional<NodeState> read_state(std::string_view token) noexcept {
    for (const NodeState s :
         {NodeState::joining, NodeState::up, NodeState::suspect, NodeState::down,
          NodeState::leaving, NodeState::left, NodeState::removed}) {
        if (token == to_string(s)) {
            return s;
        }
    }
    return std::nullopt;
}

inline std::optional<DetectorModel> read_model(std::string_view token) noexcept {
    for (const DetectorModel m :
         {DetectorModel::akka, DetectorModel::cassandra, DetectorModel::fixed}) {
        if (token == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

// Reads the tokens of one line against their expected count and keyword.
inline std::vector<std::string_view> line_tokens(TextReader& in, std::string_view keyword,
                                                 std::size_t count) {
    in.expect_line("a '" + std::string(keyword) + "' line");
    std::vector<std::string_view> t = in.tokens();
    if (t.empty() || t[0] != keyword) {
        in.fail("expected a '" + std::string(keyword) + "' line");
    }
    if (count != 0 && t.size() != count) {
        in.fail("a '" + std::string(keyword) + "' line has " + std::to_string(count - 1) +
                " fields, this one has " + std::to_string(t.size() - 1));
    }
    return t;
}

inline std::uint64_t field_u64(const TextReader& in, std::string_view token, const char* what) {
    const auto v = read_u64(token);
    if (!v) {
        in.fail(std::string(what) + " is not an unsigned number: '" + std::string(token) + "'");
    }
    return *v;
}

inline std::chrono::milliseconds field_ms(const TextReader& in, std::string_view token,
                                          const char* what) {
    const auto v = read_i64(token);
    if (!v) {
        in.fail(std::string(what) + " is not a number of milliseconds: '" + std::string(token) +
                "'");
    }
    return std::chrono::milliseconds(*v);
}

}  // namespace detail

template <class Hash, class NodeId>
std::string Membership<Hash, NodeId>::to_text() const {
    const bool with_rule = options_.policy || !topology_.empty();
    std::string out = detail::membership_header(with_rule);
    const DetectorOptions& d = options_.detector;
    auto ms = [&out](std::chrono::milliseconds v) {
        out += ' ';
        detail::write_i64(out, static_cast<std::int64_t>(v.count()));
    };
    out += "\noptions ";
    out += to_string(d.model);
    out += ' ';
    out += detail::format_double(d.threshold);
    out += ' ';
    out += detail::format_double(d.suspect_fraction);
    out += ' ';
    detail::write_u64(out, d.window);
    ms(d.min_std_deviation);
    ms(d.acceptable_pause);
    ms(d.first_interval);
    ms(d.max_interval);
    ms(d.check_interval);
    out += ' ';
    detail::write_u64(out, d.missed_checks);
    ms(options_.remove_after);
    out += ' ';
    detail::write_u64(out, options_.rf.value());
    out += ' ';
    detail::write_u64(out, options_.vnodes);
    out += ' ';
    detail::write_u64(out, options_.partitions);
    if (with_rule) {
        out += '\n';
        detail::write_rule(out, options_.policy);
        out += '\n';
        detail::write_locations(out, topology_);
    }
    out += "\nepoch ";
    detail::write_u64(out, epoch_);
    ms(now_);
    out += "\nnodes ";
    detail::write_u64(out, nodes_.size());
    for (const auto& [id, r] : nodes_) {
        out += "\nnode ";
        detail::write_id(out, id);
        out += ' ';
        out += to_string(r.state);
        ms(r.since);
        ms(r.seen);
    }
    out += "\nflight";
    if (flight_) {
        out += flight_->kind == PlanKind::join ? " join " : " leave ";
        detail::write_id(out, flight_->node);
        out += ' ';
        detail::write_u64(out, flight_->epoch);
    } else {
        out += " none";
    }
    out += "\nmap ";
    detail::write_u64(out, map_.node_count() == 0 ? 0 : map_.partition_count());
    if (map_.node_count() != 0) {
        for (std::size_t p = 0; p < map_.partition_count(); ++p) {
            out += "\npartition";
            for (const NodeId& id : map_.replicas_at(static_cast<PartitionId>(p))) {
                out += ' ';
                detail::write_id(out, id);
            }
        }
    }
    out += "\ndetector\n";
    detector_.write_text(out);
    out += "end\n";
    return out;
}

template <class Hash, class NodeId>
Membership<Hash, NodeId> Membership<Hash, NodeId>::from_text(std::string_view text) {
    detail::TextReader in(text);
    const std::string_view header = in.expect_line("the header");
    const bool with_rule = header == detail::membership_header(true);
    if (!with_rule && header != detail::membership_header(false)) {
        in.fail(std::string("expected the header '") + detail::membership_header(true) +
                "' (or version 1)");
    }
    MembershipOptions o;
    {
        const auto t = detail::line_tokens(in, "options", 15);
        const auto model = detail::read_model(t[1]);
        if (!model) {
            in.fail("unknown detector model '" + std::string(t[1]) + "'");
        }
        const auto threshold = detail::read_double(t[2]);
        const auto fraction = detail::read_double(t[3]);
        if (!threshold || !fraction) {
            in.fail("the threshold and the suspect fraction must be finite numbers");
        }
        o.detector.model = *model;
        o.detector.threshold = *threshold;
        o.detector.suspect_fraction = *fraction;
        o.detector.window = static_cast<std::size_t>(detail::field_u64(in, t[4], "window"));
        o.detector.min_std_deviation = detail::field_ms(in, t[5], "min_std_deviation");
        o.detector.acceptable_pause = detail::field_ms(in, t[6], "acceptable_pause");
        o.detector.first_interval = detail::field_ms(in, t[7], "first_interval");
        o.detector.max_interval = detail::field_ms(in, t[8], "max_interval");
        o.detector.check_interval = detail::field_ms(in, t[9], "check_interval");
        const std::uint64_t missed = detail::field_u64(in, t[10], "missed_checks");
        if (missed > 0xFFFFFFFFu) {
            in.fail("missed_checks is out of range");
        }
        o.detector.missed_checks = static_cast<std::uint32_t>(missed);
        o.remove_after = detail::field_ms(in, t[11], "remove_after");
        const std::uint64_t rf = detail::field_u64(in, t[12], "rf");
        const std::uint64_t vnodes = detail::field_u64(in, t[13], "vnodes");
        if (rf == 0 || rf > 0xFFFFFFFFu || vnodes > 0xFFFFFFFFu) {
            in.fail("rf or vnodes is out of range");
        }
        o.rf = Rf{static_cast<std::size_t>(rf)};
        o.vnodes = static_cast<std::uint32_t>(vnodes);
        o.partitions = static_cast<std::size_t>(detail::field_u64(in, t[14], "partitions"));
    }
    Topology<NodeId> topology;
    if (with_rule) {
        o.policy = detail::read_rule(in);
        topology = detail::read_locations<NodeId>(in);
    }
    Membership m(o);  // invalid_option for options no machine could have
    m.topology_ = std::move(topology);
    {
        const auto t = detail::line_tokens(in, "epoch", 3);
        m.epoch_ = detail::field_u64(in, t[1], "the epoch");
        m.now_ = detail::field_ms(in, t[2], "the time");
    }
    const std::uint64_t count =
        detail::field_u64(in, detail::line_tokens(in, "nodes", 2)[1], "the node count");
    std::vector<NodeId> owners;
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto t = detail::line_tokens(in, "node", 5);
        const auto id = detail::read_id<NodeId>(t[1]);
        const auto state = detail::read_state(t[2]);
        if (!id) {
            in.fail("'" + std::string(t[1]) + "' is not a node id");
        }
        if (!state) {
            in.fail("unknown state '" + std::string(t[2]) + "'");
        }
        const Record r{*state, detail::field_ms(in, t[3], "since"),
                       detail::field_ms(in, t[4], "seen")};
        if (r.since > m.now_ || r.seen > m.now_) {
            in.fail("node " + detail::describe(*id) + " has a time after the machine's");
        }
        if (!m.nodes_.empty() && !(std::prev(m.nodes_.end())->first < *id)) {
            in.fail("node " + detail::describe(*id) + " is out of order or repeated");
        }
        if (member(*state) && o.policy && o.policy->needs_topology() &&
            m.topology_.find(*id) == nullptr) {
            in.fail("member " + detail::describe(*id) + " has no location, and the " +
                    detail::rule_kind_name(o.policy->kind()) + " rule needs one");
        }
        m.nodes_.emplace_hint(m.nodes_.end(), *id, r);
        if (serving(*state) || *state == NodeState::down) {
            owners.push_back(*id);
        }
    }
    {
        const auto t = detail::line_tokens(in, "flight", 0);
        if (t.size() == 4 && (t[1] == "join" || t[1] == "leave")) {
            const auto id = detail::read_id<NodeId>(t[2]);
            const PlanKind kind = t[1] == "join" ? PlanKind::join : PlanKind::leave;
            const NodeState expected =
                kind == PlanKind::join ? NodeState::joining : NodeState::leaving;
            auto it = id ? m.nodes_.find(*id) : m.nodes_.end();
            if (it == m.nodes_.end() || it->second.state != expected) {
                in.fail("the streaming node is not a known node in state " +
                        std::string(to_string(expected)));
            }
            m.flight_ = Flight{*id, kind, detail::field_u64(in, t[3], "the flight's epoch")};
            if (m.flight_->epoch > m.epoch_) {
                in.fail("the streaming plan's epoch is after the machine's");
            }
        } else if (!(t.size() == 2 && t[1] == "none")) {
            in.fail("expected 'flight none' or 'flight join|leave <id> <epoch>'");
        }
    }
    std::size_t moving = 0;
    for (const auto& [id, r] : m.nodes_) {
        moving += r.state == NodeState::joining || r.state == NodeState::leaving;
    }
    if (moving != (m.flight_ ? 1u : 0u)) {
        in.fail("every joining or leaving node must be the one streaming node");
    }
    const std::uint64_t lists =
        detail::field_u64(in, detail::line_tokens(in, "map", 2)[1], "the partition count");
    if (!m.partition_mode() && lists != 0) {
        in.fail("a ring-mode machine has no partition map");
    }
    if (m.partition_mode() && lists != (owners.empty() ? 0 : o.partitions)) {
        in.fail("the map must list " + std::to_string(owners.empty() ? 0 : o.partitions) +
                " partitions");
    }
    std::vector<std::vector<NodeId>> map_lists;
    for (std::uint64_t p = 0; p < lists; ++p) {
        const auto t = detail::line_tokens(in, "partition", 0);
        std::vector<NodeId> list;
        for (std::size_t k = 1; k < t.size(); ++k) {
            const auto id = detail::read_id<NodeId>(t[k]);
            if (!id) {
                in.fail("'" + std::string(t[k]) + "' is not a node id");
            }
            list.push_back(*id);
        }
        map_lists.push_back(std::move(list));
    }
    if (!map_lists.empty()) {
        // The map's nodes are the owners, including any that hold no partition (more owners
        // than replicas); the lists name them by id.
        const Rf rf = detail::membership_rf(o);
        const std::size_t r = std::min(rf.value(), owners.size());
        detail::MapParts<NodeId> parts{
            o.partitions, rf, owners, std::vector<std::uint32_t>(owners.size(), 1), {}};
        parts.slots.reserve(o.partitions * r);
        const std::size_t first_line = in.line_number() + 1 - map_lists.size();
        for (std::size_t p = 0; p < map_lists.size(); ++p) {
            const std::vector<NodeId>& list = map_lists[p];
            bool valid = list.size() == r;
            for (std::size_t k = 0; valid && k < list.size(); ++k) {
                auto it = std::lower_bound(owners.begin(), owners.end(), list[k]);
                valid = it != owners.end() && !(list[k] < *it) &&
                        std::find(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(k),
                                  list[k]) == list.begin() + static_cast<std::ptrdiff_t>(k);
                parts.slots.push_back(static_cast<std::uint32_t>(it - owners.begin()));
            }
            if (!valid) {
                detail::raise(Errc::parse_error, "line " + std::to_string(first_line + p) +
                                                     ": partition " + std::to_string(p) +
                                                     " must list " + std::to_string(r) +
                                                     " distinct owning members");
            }
        }
        m.map_ = PartitionMap<NodeId>(std::move(parts));
    }
    if (!m.partition_mode()) {
        m.ring_.add_nodes(owners, o.vnodes);
    }
    detail::line_tokens(in, "detector", 1);
    m.detector_ = FailureDetector<NodeId>::read_text(in, o.detector);
    for (const auto& [id, r] : m.nodes_) {
        if (m.detector_.monitors(id) != member(r.state)) {
            in.fail("the detector must monitor exactly the members; node " + detail::describe(id) +
                    " is " + to_string(r.state));
        }
    }
    const auto members = static_cast<std::size_t>(std::count_if(
        m.nodes_.begin(), m.nodes_.end(), [](const auto& e) { return member(e.second.state); }));
    if (m.detector_.size() != members) {
        in.fail("the detector monitors a node that is not a member");
    }
    detail::line_tokens(in, "end", 1);
    if (!in.at_end()) {
        in.next_line();
        in.fail("text after 'end'");
    }
    return m;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_MEMBERSHIP_HPP
