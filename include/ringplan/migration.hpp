// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// A make-before-break migration runner (docs/migration.md): a pure state machine, no threads
// and no I/O, that carries a plan out. The caller moves the data; the runner says what to copy
// when, and what may be read, written and deleted in each phase.
#ifndef RINGPLAN_MIGRATION_HPP
#define RINGPLAN_MIGRATION_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/rule_text.hpp>
#include <ringplan/detail/text.hpp>
#include <ringplan/error.hpp>
#include <ringplan/partitions.hpp>
#include <ringplan/placement.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/schedule.hpp>  // ScheduleLimits' checks
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <locale>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// Where one move is.
enum class MoveState {
    pending,    ///< not started, or to be retried (from its current candidate source)
    streaming,  ///< handed out by next(): the caller copies it
    copied,     ///< done(): the receiver holds the range
    failed,     ///< every candidate source failed: the migration can not cut over
};

/// Where the whole migration is. Writes go to the old and the new replicas until cleaned, so
/// either layout stays complete until cleanup() (ScyllaDB's tablet stages write_both_read_old,
/// then write_both_read_new / use_new, then cleanup; Cassandra writes to pending ranges).
enum class MigrationPhase {
    streaming,  ///< write old and new, read old; next() hands out moves
    read_new,   ///< after cutover(): write old and new, read new
    cleaned,    ///< after cleanup(): new layout only; old owners delete what cleanup() listed
    aborted,    ///< after abort(): old layout only; new owners delete what abort() listed
};

/// What a plan given to MigrationRunner was computed for: it says who deletes what afterwards.
enum class PlanOrigin {
    join,         ///< plan_join: the node each full replica set pushes out deletes the range
    leave,        ///< plan_leave: the leaving node deletes everything it held
    crash,        ///< plan_crash: nothing to delete (the crashed node is gone)
    hint_return,  ///< plan_hint_return: each fallback deletes the hints it returned
};

constexpr const char* to_string(MoveState s) noexcept {
    switch (s) {
        case MoveState::pending:
            return "pending";
        case MoveState::streaming:
            return "streaming";
        case MoveState::copied:
            return "copied";
        case MoveState::failed:
            return "failed";
    }
    return "unknown";
}

constexpr const char* to_string(MigrationPhase p) noexcept {
    switch (p) {
        case MigrationPhase::streaming:
            return "streaming";
        case MigrationPhase::read_new:
            return "read_new";
        case MigrationPhase::cleaned:
            return "cleaned";
        case MigrationPhase::aborted:
            return "aborted";
    }
    return "unknown";
}

constexpr const char* to_string(PlanOrigin o) noexcept {
    switch (o) {
        case PlanOrigin::join:
            return "join";
        case PlanOrigin::leave:
            return "leave";
        case PlanOrigin::crash:
            return "crash";
        case PlanOrigin::hint_return:
            return "hint_return";
    }
    return "unknown";
}

/// How a migration runs.
template <class NodeId = std::string>
struct MigrationOptions {
    /// The most moves one node sends at once (streaming moves count). At least 1.
    std::size_t max_send = 1;
    /// The most moves one node receives at once. At least 1.
    std::size_t max_recv = 1;
    /// The in-flight budget, in fractions of the ring: the streaming moves' ranges sum to at
    /// most this much, except that a move larger than the budget may stream alone. Positive.
    std::optional<double> max_fraction;
    /// The epoch the migration belongs to: every Transfer carries it, and done / failed refuse
    /// another (fencing a coordinator of an older change).
    std::uint64_t epoch = 0;
    /// Nodes that can not send (they are down): never a source, never asked to delete.
    std::vector<NodeId> down;
    /// The replica rule (topology.hpp). Unset (the default): a range's replicas are the first
    /// `rf` distinct nodes. Set: the rule picks every replica set the runner uses (the plan of
    /// the two-ring form, the layouts behind read_from / write_to / cleanup, the fallback
    /// sources) and the constructor's rf is not read. The partition form does not read it
    /// (the partition change already placed the replicas).
    std::optional<ReplicaPolicy> policy;
    /// Where the nodes sit. Rack-aware and network-topology rules need a location for every
    /// member of both rings; the distinct-node rule ignores it.
    Topology<NodeId> topology;

    friend bool operator==(const MigrationOptions& a, const MigrationOptions& b) {
        return a.max_send == b.max_send && a.max_recv == b.max_recv &&
               a.max_fraction == b.max_fraction && a.epoch == b.epoch && a.down == b.down &&
               a.policy == b.policy && a.topology == b.topology;
    }
};

/// One copy to run now: the tokens of `range` from `from` to `to`. Hand it back to done() or
/// failed() as it was received.
template <class NodeId = std::string>
struct Transfer {
    /// The move's index in MigrationRunner::moves().
    std::size_t id = 0;
    TokenRange range;
    NodeId from{};
    NodeId to{};
    /// The runner's epoch (MigrationOptions::epoch).
    std::uint64_t epoch = 0;
    /// Which hand-out of the move this is, from 1: a stream cut off by a retry or a restart
    /// reports an older attempt and is refused (stale_epoch).
    std::uint64_t attempt = 0;

    friend bool operator==(const Transfer& a, const Transfer& b) {
        return a.id == b.id && a.range == b.range && a.from == b.from && a.to == b.to &&
               a.epoch == b.epoch && a.attempt == b.attempt;
    }
};

/// One move of a migration and where it is.
template <class NodeId = std::string>
struct MigrationMove {
    TokenRange range;
    NodeId to{};
    /// The live nodes that hold the whole range, the planned source first.
    std::vector<NodeId> sources;
    /// The current candidate, an index into `sources`; sources.size() once failed for good.
    std::size_t source = 0;
    MoveState state = MoveState::pending;
    /// How many times next() handed the move out.
    std::uint64_t attempts = 0;
    /// False for a partition catch_up: the receiver held the data before, so an abort leaves
    /// it in place.
    bool full_copy = true;

    friend bool operator==(const MigrationMove& a, const MigrationMove& b) {
        return a.range == b.range && a.to == b.to && a.sources == b.sources &&
               a.source == b.source && a.state == b.state && a.attempts == b.attempts &&
               a.full_copy == b.full_copy;
    }
};

/// A range's replicas in the old and the new layout (runners built from two rings, or from a
/// leave or crash plan).
template <class NodeId = std::string>
struct RangeLayout {
    TokenRange range;
    std::vector<NodeId> before;
    std::vector<NodeId> after;

    friend bool operator==(const RangeLayout& a, const RangeLayout& b) {
        return a.range == b.range && a.before == b.before && a.after == b.after;
    }
};

/// One node's share of a migration, in moves.
template <class NodeId = std::string>
struct NodeProgress {
    NodeId node{};
    std::size_t sent = 0;            ///< copied moves it sent
    std::size_t sent_total = 0;      ///< moves it sends (by their current candidate source)
    std::size_t received = 0;        ///< copied moves it received
    std::size_t received_total = 0;  ///< moves it receives
};

/// How far a migration is.
template <class NodeId = std::string>
struct MigrationProgress {
    std::size_t total = 0;
    std::size_t pending = 0;
    std::size_t streaming = 0;
    std::size_t copied = 0;
    std::size_t failed = 0;
    /// The copied share of the moves' ring fractions, in [0, 1]; 1 with no move.
    double fraction_copied = 1;
    /// Every node that sends or receives, by ascending id.
    std::vector<NodeProgress<NodeId>> nodes;
};

/// Runs a plan make-before-break. The phases, each entered by one call:
///
///   streaming --cutover()--> read_new --cleanup()--> cleaned
///        \________________________\--abort()--> aborted
///
/// While streaming, next() hands out moves within the limits, and done() / failed() report
/// them; a failed move is retried from its next candidate source. The caller writes to
/// write_to() (old and new replicas) until cleaned and reads from read_from() (old replicas
/// until cutover, new ones after), so no write is lost and either layout stays complete until
/// cleanup(). A value: copyable, comparable, and serialized by to_text / from_text so a
/// coordinator that restarts resumes where it was. NodeId: std::string or an integer.
template <class NodeId = std::string>
class MigrationRunner {
public:
    /// (range, node) pairs: what a node may delete.
    using Deletions = std::vector<std::pair<TokenRange, NodeId>>;

    /// The migration from `before` to `after`: the plan is diff(before, after, {rf, down}),
    /// each move's candidate sources are the live old replicas of its whole range (the planned
    /// source first), and cleanup() lists (range, node) for every live old replica that is not
    /// a new replica. Keeps both layouts (read_from, write_to). With options.policy, the rule
    /// replaces rf everywhere: the plan is diff with PlanOptions::policy and PlanOptions::topology,
    /// and the layouts are Placement's replica sets. Cost: the diff, plus O((vnodes of both) x rf)
    /// replica lists and O(moves x segments they span) for sources.
    /// Errors: invalid_limit (options), unknown_node (a down node in neither ring),
    /// invalid_topology (a member of either ring without a location when the rule needs one).
    template <class Hash>
    MigrationRunner(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after, Rf rf,
                    MigrationOptions<NodeId> options = {});

    /// The migration of `plan`, computed on `before` for `origin` of `node` (the joining,
    /// leaving, crashed or returning node). Candidate sources: the planned one, then the other
    /// live replicas in `before` of the whole range. cleanup() lists: for a leave, every range
    /// the leaving node held; for a join, the range of each move whose old replica set was
    /// full, on the node the new one pushes out (the last of the set); for a hint return, each
    /// move's range on its fallback; for a crash, nothing. Leaves and crashes keep both layouts
    /// (read_from, write_to); joins and hint returns have none. With options.policy (the rule
    /// the plan was computed with), replica sets are the rule's. Cost: as the two-ring form.
    /// Errors: invalid_limit, unknown_node (`node` of a leave, crash or hint return, or a down
    /// node, not in `before`), invalid_topology (as the two-ring form), invalid_option (a plan
    /// whose rf is not the rule's total_rf(); a join under a rack-aware or network-topology
    /// rule, whose pushed-out nodes the plan does not name: use the two-ring form).
    template <class Hash>
    MigrationRunner(const Plan<NodeId>& plan, const Ring<Hash, NodeId>& before, PlanOrigin origin,
                    const NodeId& node, MigrationOptions<NodeId> options = {});

    /// The migration of a partition change: each copy and catch_up event is a move of the
    /// partition's token range (partition p of Q is [ceil(p 2^64/Q), ceil((p+1) 2^64/Q) - 1],
    /// the tokens partition_at maps to p), with the event's live sources in its order; drop
    /// events are the cleanup list; lost events are in lost(). Promotions are the caller's, at
    /// cutover. No layout. Cost: O(events). Errors: invalid_limit.
    explicit MigrationRunner(const PartitionChange<NodeId>& change,
                             MigrationOptions<NodeId> options = {});

    /// The moves to start now, pending -> streaming, in move order: a move starts when its
    /// source sends fewer than max_send, its receiver receives fewer than max_recv (counting
    /// the streaming moves), the budget has room, and no stream to the same (range, to) is
    /// running. Empty outside the streaming phase. Cost: O(moves x log nodes).
    std::vector<Transfer<NodeId>> next();

    /// The transfer has copied: streaming -> copied. Errors: stale_epoch (another epoch, or an
    /// attempt that is not the move's latest), invalid_transition (not a move of this runner,
    /// not streaming, or not the transfer handed out). Cost: O(1).
    void done(const Transfer<NodeId>& t);

    /// The transfer failed: the move goes back to pending with its next candidate source; with
    /// none left it is failed for good, and cutover() is refused. Errors: as done.
    void failed(const Transfer<NodeId>& t);

    /// Every move copied: streaming -> read_new; reads go to the new replicas. Errors:
    /// invalid_transition (another phase, or moves not copied: the message counts them by
    /// state and names the first). Cost: O(moves).
    void cutover();

    /// read_new -> cleaned: writes go to the new replicas only. Returns what old owners may now
    /// delete, sorted by range then node. Errors: invalid_transition (another phase).
    Deletions cleanup();

    /// streaming or read_new -> aborted: the old layout stays, complete (old replicas took
    /// every write). Returns the partial copies new owners delete: (range, to) of every full
    /// copy (writes reached them even before their move started). Streams in flight are to be
    /// stopped; their done() is refused. Errors: invalid_transition (cleaned or aborted).
    Deletions abort();

    MigrationPhase phase() const noexcept { return phase_; }
    /// Cost: O(moves x log nodes).
    MigrationProgress<NodeId> progress() const;
    /// Every move, in the order of the plan or the events; Transfer::id indexes it.
    const std::vector<MigrationMove<NodeId>>& moves() const noexcept { return moves_; }
    /// The indices of the moves failed for good.
    std::vector<std::size_t> failed_moves() const;
    /// Ranges the plan could not keep (no live old replica), sorted: never copied, reported.
    const std::vector<TokenRange>& lost() const noexcept { return lost_; }
    /// Both layouts by range, sorted, covering the ring; empty when the runner has none.
    const std::vector<RangeLayout<NodeId>>& layout() const noexcept { return layout_; }
    bool has_layout() const noexcept { return !layout_.empty(); }
    const MigrationOptions<NodeId>& options() const noexcept { return options_; }
    /// Cleaned or aborted.
    bool finished() const noexcept {
        return phase_ == MigrationPhase::cleaned || phase_ == MigrationPhase::aborted;
    }

    /// Where a read of token `t` goes: the old replicas before cutover and after abort, the
    /// new ones from cutover on. Errors: invalid_transition (no layout). Cost: O(log ranges).
    std::vector<NodeId> read_from(Token t) const;
    /// Where a write of token `t` goes: old and new replicas (old first, no repeats) until
    /// cleaned, then the new ones; the old ones after abort. Errors: as read_from.
    std::vector<NodeId> write_to(Token t) const;

    /// The runner as text (docs/migration.md). Streaming moves are written as such; from_text
    /// reads them back as pending, since their streams may have been cut off: a restored
    /// runner never hands out a copied move again and skips no pending one (a retried
    /// Cassandra decommission that counted unstreamed ranges as done is the counter-example).
    [[nodiscard]] std::string to_text() const;
    /// Reads to_text's form (and version 1, written before replica rules): from_text(
    /// r.to_text()) == r when no move is streaming. Errors: parse_error (naming the line),
    /// invalid_limit (options no runner could have).
    [[nodiscard]] static MigrationRunner from_text(std::string_view text);

    friend bool operator==(const MigrationRunner& a, const MigrationRunner& b) {
        return a.options_ == b.options_ && a.phase_ == b.phase_ && a.moves_ == b.moves_ &&
               a.layout_ == b.layout_ && a.cleanup_ == b.cleanup_ && a.lost_ == b.lost_;
    }
    friend bool operator!=(const MigrationRunner& a, const MigrationRunner& b) { return !(a == b); }

private:
    MigrationRunner() = default;
    void set_options(MigrationOptions<NodeId> options);
    bool is_down(const NodeId& id) const {
        return std::binary_search(options_.down.begin(), options_.down.end(), id);
    }
    MigrationMove<NodeId>& checked(const Transfer<NodeId>& t, const char* call);
    const RangeLayout<NodeId>& layout_at(Token t) const;
    template <class Hash>
    void add_moves(const Plan<NodeId>& plan, const Ring<Hash, NodeId>& before);
    void cleanup_from_layout();

    MigrationOptions<NodeId> options_;
    MigrationPhase phase_ = MigrationPhase::streaming;
    std::vector<MigrationMove<NodeId>> moves_;
    std::vector<RangeLayout<NodeId>> layout_;
    Deletions cleanup_;
    std::vector<TokenRange> lost_;
};

// ---- implementation ------------------------------------------------------------------------

namespace detail {

inline std::string describe_range(const TokenRange& r) {
    return "[" + std::to_string(r.first) + ", " + std::to_string(r.last) + "]";
}

template <class NodeId>
std::string describe_move(std::size_t id, const MigrationMove<NodeId>& m) {
    return "move #" + std::to_string(id) + " " + describe_range(m.range) + " -> " + describe(m.to) +
           " (" + to_string(m.state) + ")";
}

// One ring's replica sets: the first rf distinct nodes, or the runner's rule. None on an
// empty ring.
template <class Hash, class NodeId>
class MigrationReplicas {
public:
    MigrationReplicas(const Ring<Hash, NodeId>& ring, Rf rf, const MigrationOptions<NodeId>& o)
        : ring_(&ring), rf_(rf) {
        if (o.policy && ring.vnode_count() != 0) {
            placement_.emplace(ring, o.topology, *o.policy);  // invalid_topology
        }
    }
    std::vector<NodeId> at(Token t) const {
        if (ring_->vnode_count() == 0) {
            return {};
        }
        return placement_ ? placement_->replicas_at(t) : ring_->replicas_at(t, rf_);
    }

private:
    const Ring<Hash, NodeId>* ring_;
    Rf rf_;
    std::optional<Placement<Hash, NodeId>> placement_;
};

// Both rings' replica sets over the segments between the tokens of both, adjacent segments
// with the same sets merged. `after` may be null: then `after` lists repeat `before`.
template <class Hash, class NodeId>
std::vector<RangeLayout<NodeId>> layout_of(const Ring<Hash, NodeId>& before,
                                           const Ring<Hash, NodeId>* after, Rf rf,
                                           const MigrationOptions<NodeId>& options) {
    const MigrationReplicas<Hash, NodeId> old_sets(before, rf, options);
    std::optional<MigrationReplicas<Hash, NodeId>> new_sets;
    if (after != nullptr) {
        new_sets.emplace(*after, rf, options);
    }
    std::vector<Token> cuts(before.vnode_tokens(), before.vnode_tokens() + before.vnode_count());
    if (after != nullptr) {
        cuts.insert(cuts.end(), after->vnode_tokens(),
                    after->vnode_tokens() + after->vnode_count());
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<RangeLayout<NodeId>> out;
    auto add = [&](Token first, Token last, Token at) {
        RangeLayout<NodeId> seg{TokenRange{first, last}, old_sets.at(at), {}};
        seg.after = new_sets ? new_sets->at(at) : seg.before;
        if (!out.empty() && out.back().before == seg.before && out.back().after == seg.after) {
            out.back().range.last = last;
        } else {
            out.push_back(std::move(seg));
        }
    };
    if (cuts.empty()) {
        add(0, max_token, 0);
        return out;
    }
    add(0, cuts[0], cuts[0]);
    for (std::size_t k = 1; k < cuts.size(); ++k) {
        add(cuts[k - 1] + 1, cuts[k], cuts[k]);
    }
    if (cuts.back() != max_token) {
        add(cuts.back() + 1, max_token, max_token);  // wraps to the first vnode
    }
    return out;
}

// The first segment that holds tokens at or after `t`.
template <class NodeId>
typename std::vector<RangeLayout<NodeId>>::const_iterator segment_at(
    const std::vector<RangeLayout<NodeId>>& layout, Token t) {
    return std::lower_bound(layout.begin(), layout.end(), t,
                            [](const RangeLayout<NodeId>& s, Token v) { return s.range.last < v; });
}

// Sorted by range then node, adjacent ranges of one node merged.
template <class NodeId>
void normalize_deletions(std::vector<std::pair<TokenRange, NodeId>>& d) {
    std::sort(d.begin(), d.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second < b.second : a.first < b.first;
    });
    std::vector<std::pair<TokenRange, NodeId>> out;
    for (auto& e : d) {
        if (!out.empty() && out.back().second == e.second && out.back().first.last != max_token &&
            out.back().first.last + 1 == e.first.first) {
            out.back().first.last = e.first.last;
        } else {
            out.push_back(std::move(e));
        }
    }
    std::sort(out.begin(), out.end());
    d = std::move(out);
}

// Partition p of q as tokens: [ceil(p 2^64 / q), ceil((p + 1) 2^64 / q) - 1].
inline TokenRange partition_range(std::size_t p, std::size_t q) {
    __extension__ typedef unsigned __int128 U128;  // -Wpedantic knows no __int128
    const auto start = [q](std::size_t i) {
        const U128 scaled = static_cast<U128>(i) << 64;
        return scaled / q + (scaled % q != 0 ? 1 : 0);
    };
    const U128 hi = start(p + 1);
    return TokenRange{static_cast<Token>(start(p)), static_cast<Token>(hi - 1)};
}

// The enumerator of `Enum` (values 0 .. N-1) whose to_string is `token`.
template <class Enum, std::size_t N>
std::optional<Enum> migration_enum(std::string_view token) {
    for (std::size_t i = 0; i < N; ++i) {
        if (token == to_string(static_cast<Enum>(i))) {
            return static_cast<Enum>(i);
        }
    }
    return std::nullopt;
}

// The next line's tokens; it must start with `name` and have `count` tokens (0: at least 1).
inline std::vector<std::string_view> migration_line(TextReader& in, const char* name,
                                                    std::size_t count) {
    in.expect_line(std::string("'") + name + "'");
    std::vector<std::string_view> t = in.tokens();
    if (t[0] != name) {
        in.fail(std::string("expected '") + name + "', got '" + std::string(t[0]) + "'");
    }
    if (count != 0 && t.size() != count) {
        in.fail(std::string("'") + name + "' takes " + std::to_string(count - 1) + " fields");
    }
    return t;
}

inline std::uint64_t migration_u64(const TextReader& in, std::string_view token, const char* what) {
    const auto v = read_u64(token);
    if (!v) {
        in.fail(std::string(what) + " is not an unsigned number: '" + std::string(token) + "'");
    }
    return *v;
}

template <class NodeId>
NodeId migration_id(const TextReader& in, std::string_view token) {
    auto id = read_id<NodeId>(token);
    if (!id) {
        in.fail("'" + std::string(token) + "' is not a node id");
    }
    return std::move(*id);
}

inline TokenRange migration_range(const TextReader& in, std::string_view a, std::string_view b) {
    const TokenRange r{migration_u64(in, a, "a range's first token"),
                       migration_u64(in, b, "a range's last token")};
    if (r.last < r.first) {
        in.fail("a range must not end before it starts");
    }
    return r;
}

template <class NodeId>
void write_ids(std::string& out, const std::vector<NodeId>& ids) {
    out += ' ';
    write_u64(out, ids.size());
    for (const NodeId& id : ids) {
        out += ' ';
        write_id(out, id);
    }
}

// A count followed by that many ids, from t[at]; advances `at`.
template <class NodeId>
std::vector<NodeId> read_ids(const TextReader& in, const std::vector<std::string_view>& t,
                             std::size_t& at) {
    if (at >= t.size()) {
        in.fail("expected a count of ids");
    }
    const std::uint64_t n = migration_u64(in, t[at++], "a count of ids");
    if (n > t.size() - at) {
        in.fail("fewer ids than counted");
    }
    std::vector<NodeId> ids;
    for (std::uint64_t i = 0; i < n; ++i) {
        ids.push_back(migration_id<NodeId>(in, t[at++]));
    }
    return ids;
}

// Version 1 has no rule lines; to_text writes it for a runner without a rule or topology, so
// such a runner's text is what it was before rules.
inline const char* migration_header(bool with_rule) noexcept {
    return with_rule ? "ringplan migration 2" : "ringplan migration 1";
}

// The plan's options for a runner's: the rule and the topology when there is one.
template <class NodeId>
PlanOptions<NodeId> migration_plan_options(Rf rf, const MigrationOptions<NodeId>& o) {
    PlanOptions<NodeId> po(rf, o.down);
    po.policy = o.policy;
    po.topology = o.topology;
    return po;
}

}  // namespace detail

template <class NodeId>
void MigrationRunner<NodeId>::set_options(MigrationOptions<NodeId> options) {
    detail::check_limits(ScheduleLimits{options.max_send, options.max_recv, options.max_fraction});
    std::sort(options.down.begin(), options.down.end());
    options.down.erase(std::unique(options.down.begin(), options.down.end()), options.down.end());
    options_ = std::move(options);
}

template <class NodeId>
template <class Hash>
void MigrationRunner<NodeId>::add_moves(const Plan<NodeId>& plan,
                                        const Ring<Hash, NodeId>& before) {
    // The old replica sets by range; for a two-ring runner the layout already has them.
    const std::vector<RangeLayout<NodeId>> own =
        layout_.empty() ? detail::layout_of<Hash, NodeId>(before, nullptr, plan.rf, options_)
                        : std::vector<RangeLayout<NodeId>>{};
    const std::vector<RangeLayout<NodeId>>& segs = layout_.empty() ? own : layout_;
    lost_ = plan.lost;
    for (const Move<NodeId>& m : plan.moves) {
        MigrationMove<NodeId> mm;
        mm.range = m.range;
        mm.to = m.to;
        if (!is_down(m.from)) {
            mm.sources.push_back(m.from);
        }
        // A fallback source must hold the whole range: an old replica of every segment in it.
        const auto first = detail::segment_at(segs, m.range.first);
        for (const NodeId& c : first->before) {
            if (c == m.from || c == m.to || is_down(c)) {
                continue;
            }
            bool everywhere = true;
            for (auto s = first; everywhere && s != segs.end() && s->range.first <= m.range.last;
                 ++s) {
                everywhere = std::find(s->before.begin(), s->before.end(), c) != s->before.end();
            }
            if (everywhere) {
                mm.sources.push_back(c);
            }
        }
        if (mm.sources.empty()) {
            mm.state = MoveState::failed;  // reported by failed_moves(), refused by cutover()
        }
        moves_.push_back(std::move(mm));
    }
}

template <class NodeId>
void MigrationRunner<NodeId>::cleanup_from_layout() {
    for (const RangeLayout<NodeId>& s : layout_) {
        for (const NodeId& n : s.before) {
            if (!is_down(n) && std::find(s.after.begin(), s.after.end(), n) == s.after.end()) {
                cleanup_.emplace_back(s.range, n);
            }
        }
    }
    detail::normalize_deletions(cleanup_);
}

template <class NodeId>
template <class Hash>
MigrationRunner<NodeId>::MigrationRunner(const Ring<Hash, NodeId>& before,
                                         const Ring<Hash, NodeId>& after, Rf rf,
                                         MigrationOptions<NodeId> options) {
    set_options(std::move(options));
    const Plan<NodeId> plan = diff(before, after, detail::migration_plan_options(rf, options_));
    layout_ = detail::layout_of(before, &after, rf, options_);
    add_moves(plan, before);
    cleanup_from_layout();
}

template <class NodeId>
template <class Hash>
MigrationRunner<NodeId>::MigrationRunner(const Plan<NodeId>& plan, const Ring<Hash, NodeId>& before,
                                         PlanOrigin origin, const NodeId& node,
                                         MigrationOptions<NodeId> options) {
    for (const NodeId& d : options.down) {
        if (!before.contains(d)) {
            detail::raise(Errc::unknown_node,
                          "down node " + detail::describe(d) + " is not in the ring");
        }
    }
    if (origin != PlanOrigin::join && !before.contains(node)) {
        detail::raise(Errc::unknown_node, std::string(to_string(origin)) + " node " +
                                              detail::describe(node) + " is not in the ring");
    }
    if (options.policy) {
        if (options.policy->total_rf() != plan.rf) {
            detail::raise(Errc::invalid_option,
                          "the plan is for rf " + std::to_string(plan.rf.value()) +
                              ", the replica rule's total is " +
                              std::to_string(options.policy->total_rf().value()));
        }
        if (origin == PlanOrigin::join &&
            options.policy->kind() != ReplicaPolicy::Kind::distinct_nodes) {
            detail::raise(Errc::invalid_option,
                          "a join under a rack-aware or network-topology rule needs the "
                          "two-ring constructor: the plan does not name the nodes it pushes out");
        }
    }
    if (origin == PlanOrigin::crash) {
        options.down.push_back(node);  // plan_crash counts it down itself
    }
    set_options(std::move(options));
    if (origin == PlanOrigin::leave || origin == PlanOrigin::crash) {
        Ring<Hash, NodeId> after = before;
        after.remove_node(node);
        layout_ = detail::layout_of(before, &after, plan.rf, options_);
    }
    add_moves(plan, before);
    if (!layout_.empty()) {
        cleanup_from_layout();
        return;
    }
    if (origin == PlanOrigin::hint_return) {
        for (const Move<NodeId>& m : plan.moves) {
            if (!is_down(m.from)) {
                cleanup_.emplace_back(m.range, m.from);
            }
        }
    } else {
        // A join: the new node enters each full replica set it gains, pushing out the last.
        const auto segs = detail::layout_of<Hash, NodeId>(before, nullptr, plan.rf, options_);
        for (const Move<NodeId>& m : plan.moves) {
            for (auto s = detail::segment_at(segs, m.range.first);
                 s != segs.end() && s->range.first <= m.range.last; ++s) {
                if (s->before.size() == plan.rf.value() && !is_down(s->before.back())) {
                    cleanup_.emplace_back(TokenRange{std::max(s->range.first, m.range.first),
                                                     std::min(s->range.last, m.range.last)},
                                          s->before.back());
                }
            }
        }
    }
    detail::normalize_deletions(cleanup_);
}

template <class NodeId>
MigrationRunner<NodeId>::MigrationRunner(const PartitionChange<NodeId>& change,
                                         MigrationOptions<NodeId> options) {
    set_options(std::move(options));
    const std::size_t q = change.map.partition_count();
    for (const PartitionEvent<NodeId>& e : change.events) {
        const TokenRange range = detail::partition_range(e.partition, q);
        if (e.action == PartitionAction::copy || e.action == PartitionAction::catch_up) {
            MigrationMove<NodeId> mm;
            mm.range = range;
            mm.to = e.node;
            mm.full_copy = e.action == PartitionAction::copy;
            for (const NodeId& s : e.sources) {
                if (!is_down(s)) {
                    mm.sources.push_back(s);
                }
            }
            if (mm.sources.empty()) {
                mm.state = MoveState::failed;
            }
            moves_.push_back(std::move(mm));
        } else if (e.action == PartitionAction::drop) {
            cleanup_.emplace_back(range, e.node);
        } else if (e.action == PartitionAction::lost) {
            lost_.push_back(range);
        }
    }
    std::sort(cleanup_.begin(), cleanup_.end());
    std::sort(lost_.begin(), lost_.end());
}

template <class NodeId>
std::vector<Transfer<NodeId>> MigrationRunner<NodeId>::next() {
    std::vector<Transfer<NodeId>> out;
    if (phase_ != MigrationPhase::streaming) {
        return out;
    }
    std::map<NodeId, std::size_t> sending, receiving;
    std::set<std::pair<TokenRange, NodeId>> busy;
    double in_flight = 0;
    for (const MigrationMove<NodeId>& m : moves_) {
        if (m.state == MoveState::streaming) {
            ++sending[m.sources[m.source]];
            ++receiving[m.to];
            busy.emplace(m.range, m.to);
            in_flight += m.range.fraction();
        }
    }
    for (std::size_t i = 0; i < moves_.size(); ++i) {
        MigrationMove<NodeId>& m = moves_[i];
        if (m.state != MoveState::pending) {
            continue;
        }
        const NodeId& from = m.sources[m.source];
        std::size_t& sends = sending[from];
        std::size_t& receives = receiving[m.to];
        const double f = m.range.fraction();
        // As schedule(): a move larger than the budget streams alone.
        if (sends >= options_.max_send || receives >= options_.max_recv ||
            (options_.max_fraction && in_flight > 0 && in_flight + f > *options_.max_fraction) ||
            busy.count({m.range, m.to}) != 0) {
            continue;
        }
        ++sends;
        ++receives;
        in_flight += f;
        busy.emplace(m.range, m.to);
        m.state = MoveState::streaming;
        ++m.attempts;
        out.push_back(Transfer<NodeId>{i, m.range, from, m.to, options_.epoch, m.attempts});
    }
    return out;
}

template <class NodeId>
MigrationMove<NodeId>& MigrationRunner<NodeId>::checked(const Transfer<NodeId>& t,
                                                        const char* call) {
    if (t.epoch != options_.epoch) {
        detail::raise(Errc::stale_epoch, std::string(call) + ": transfer #" + std::to_string(t.id) +
                                             " is of epoch " + std::to_string(t.epoch) + ", not " +
                                             std::to_string(options_.epoch));
    }
    if (t.id >= moves_.size()) {
        detail::raise(Errc::invalid_transition, std::string(call) + ": transfer #" +
                                                    std::to_string(t.id) + " is not a move (" +
                                                    std::to_string(moves_.size()) + " moves)");
    }
    MigrationMove<NodeId>& m = moves_[t.id];
    if (phase_ != MigrationPhase::streaming) {
        detail::raise(Errc::invalid_transition, std::string(call) + ": " +
                                                    detail::describe_move(t.id, m) +
                                                    ": the migration is " + to_string(phase_));
    }
    if (t.attempt != m.attempts) {
        detail::raise(Errc::stale_epoch, std::string(call) + ": " + detail::describe_move(t.id, m) +
                                             ": attempt " + std::to_string(t.attempt) +
                                             " is not the latest, " + std::to_string(m.attempts));
    }
    if (m.state != MoveState::streaming) {
        detail::raise(
            Errc::invalid_transition,
            std::string(call) + ": " + detail::describe_move(t.id, m) + " is not streaming");
    }
    if (!(t.range == m.range) || !(t.to == m.to) || !(t.from == m.sources[m.source])) {
        detail::raise(Errc::invalid_transition, std::string(call) + ": " +
                                                    detail::describe_move(t.id, m) +
                                                    " is not the transfer handed out");
    }
    return m;
}

template <class NodeId>
void MigrationRunner<NodeId>::done(const Transfer<NodeId>& t) {
    checked(t, "done").state = MoveState::copied;
}

template <class NodeId>
void MigrationRunner<NodeId>::failed(const Transfer<NodeId>& t) {
    MigrationMove<NodeId>& m = checked(t, "failed");
    ++m.source;
    m.state = m.source < m.sources.size() ? MoveState::pending : MoveState::failed;
}

template <class NodeId>
std::vector<std::size_t> MigrationRunner<NodeId>::failed_moves() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < moves_.size(); ++i) {
        if (moves_[i].state == MoveState::failed) {
            out.push_back(i);
        }
    }
    return out;
}

template <class NodeId>
void MigrationRunner<NodeId>::cutover() {
    if (phase_ != MigrationPhase::streaming) {
        detail::raise(Errc::invalid_transition,
                      std::string("cutover: the migration is ") + to_string(phase_));
    }
    std::size_t counts[4] = {0, 0, 0, 0};
    std::size_t first = moves_.size();
    for (std::size_t i = 0; i < moves_.size(); ++i) {
        ++counts[static_cast<std::size_t>(moves_[i].state)];
        if (moves_[i].state != MoveState::copied && first == moves_.size()) {
            first = i;
        }
    }
    if (first != moves_.size()) {
        detail::raise(Errc::invalid_transition,
                      "cutover: " + std::to_string(moves_.size() - counts[2]) + " of " +
                          std::to_string(moves_.size()) + " moves are not copied (" +
                          std::to_string(counts[0]) + " pending, " + std::to_string(counts[1]) +
                          " streaming, " + std::to_string(counts[3]) +
                          " failed); first: " + detail::describe_move(first, moves_[first]));
    }
    phase_ = MigrationPhase::read_new;
}

template <class NodeId>
typename MigrationRunner<NodeId>::Deletions MigrationRunner<NodeId>::cleanup() {
    if (phase_ != MigrationPhase::read_new) {
        detail::raise(Errc::invalid_transition, std::string("cleanup: the migration is ") +
                                                    to_string(phase_) + ", not read_new");
    }
    phase_ = MigrationPhase::cleaned;
    return cleanup_;
}

template <class NodeId>
typename MigrationRunner<NodeId>::Deletions MigrationRunner<NodeId>::abort() {
    if (finished()) {
        detail::raise(Errc::invalid_transition,
                      std::string("abort: the migration is already ") + to_string(phase_));
    }
    phase_ = MigrationPhase::aborted;
    Deletions out;
    for (const MigrationMove<NodeId>& m : moves_) {
        if (m.full_copy) {
            out.emplace_back(m.range, m.to);
        }
    }
    detail::normalize_deletions(out);
    return out;
}

template <class NodeId>
MigrationProgress<NodeId> MigrationRunner<NodeId>::progress() const {
    MigrationProgress<NodeId> p;
    std::map<NodeId, NodeProgress<NodeId>> nodes;
    double total = 0;
    double copied = 0;
    for (const MigrationMove<NodeId>& m : moves_) {
        const bool is_copied = m.state == MoveState::copied;
        ++p.total;
        p.pending += m.state == MoveState::pending;
        p.streaming += m.state == MoveState::streaming;
        p.copied += is_copied;
        p.failed += m.state == MoveState::failed;
        total += m.range.fraction();
        copied += is_copied ? m.range.fraction() : 0;
        if (m.source < m.sources.size()) {
            NodeProgress<NodeId>& s = nodes[m.sources[m.source]];
            ++s.sent_total;
            s.sent += is_copied;
        }
        NodeProgress<NodeId>& r = nodes[m.to];
        ++r.received_total;
        r.received += is_copied;
    }
    p.fraction_copied = total > 0 ? copied / total : 1;
    for (auto& [id, n] : nodes) {
        n.node = id;
        p.nodes.push_back(std::move(n));
    }
    return p;
}

template <class NodeId>
const RangeLayout<NodeId>& MigrationRunner<NodeId>::layout_at(Token t) const {
    if (layout_.empty()) {
        detail::raise(Errc::invalid_transition,
                      "the runner has no layout: build it from two rings or a leave or crash plan");
    }
    return *detail::segment_at(layout_, t);  // the layout covers the ring
}

template <class NodeId>
std::vector<NodeId> MigrationRunner<NodeId>::read_from(Token t) const {
    const RangeLayout<NodeId>& s = layout_at(t);
    const bool read_new = phase_ == MigrationPhase::read_new || phase_ == MigrationPhase::cleaned;
    return read_new ? s.after : s.before;
}

template <class NodeId>
std::vector<NodeId> MigrationRunner<NodeId>::write_to(Token t) const {
    const RangeLayout<NodeId>& s = layout_at(t);
    if (phase_ == MigrationPhase::cleaned) {
        return s.after;
    }
    std::vector<NodeId> out = s.before;
    if (phase_ != MigrationPhase::aborted) {
        for (const NodeId& n : s.after) {
            if (std::find(out.begin(), out.end(), n) == out.end()) {
                out.push_back(n);
            }
        }
    }
    return out;
}

// The text form: a header line ("ringplan migration 2"; 1 without the rule lines), then
//   options <max_send> <max_recv> <max_fraction or -> <epoch>
//   down <n> <ids>
//   rule ..., locations <n>, location ... (detail/rule_text.hpp; version 2 only)
//   phase <phase>
//   moves <n>, then per move:
//     move <first> <last> <to> <state> <source> <attempts> <copy|catch_up> <n> <sources>
//   layout <n>, then per range: range <first> <last> <n> <old ids> <n> <new ids>
//   cleanup <n>, then per entry: delete <first> <last> <node>
//   lost <n>, then per range: lost_range <first> <last>
//   end
template <class NodeId>
std::string MigrationRunner<NodeId>::to_text() const {
    using detail::write_u64;
    const bool with_rule = options_.policy || !options_.topology.empty();
    std::string out = detail::migration_header(with_rule);
    out += "\noptions ";
    write_u64(out, options_.max_send);
    out += ' ';
    write_u64(out, options_.max_recv);
    out += ' ';
    out += options_.max_fraction ? detail::format_double(*options_.max_fraction) : "-";
    out += ' ';
    write_u64(out, options_.epoch);
    out += "\ndown";
    detail::write_ids(out, options_.down);
    if (with_rule) {
        out += '\n';
        detail::write_rule(out, options_.policy);
        out += '\n';
        detail::write_locations(out, options_.topology);
    }
    out += "\nphase ";
    out += to_string(phase_);
    out += "\nmoves ";
    write_u64(out, moves_.size());
    for (const MigrationMove<NodeId>& m : moves_) {
        out += "\nmove ";
        write_u64(out, m.range.first);
        out += ' ';
        write_u64(out, m.range.last);
        out += ' ';
        detail::write_id(out, m.to);
        out += ' ';
        out += to_string(m.state);
        out += ' ';
        write_u64(out, m.source);
        out += ' ';
        write_u64(out, m.attempts);
        out += m.full_copy ? " copy" : " catch_up";
        detail::write_ids(out, m.sources);
    }
    out += "\nlayout ";
    write_u64(out, layout_.size());
    for (const RangeLayout<NodeId>& s : layout_) {
        out += "\nrange ";
        write_u64(out, s.range.first);
        out += ' ';
        write_u64(out, s.range.last);
        detail::write_ids(out, s.before);
        detail::write_ids(out, s.after);
    }
    out += "\ncleanup ";
    write_u64(out, cleanup_.size());
    for (const auto& [range, node] : cleanup_) {
        out += "\ndelete ";
        write_u64(out, range.first);
        out += ' ';
        write_u64(out, range.last);
        out += ' ';
        detail::write_id(out, node);
    }
    out += "\nlost ";
    write_u64(out, lost_.size());
    for (const TokenRange& r : lost_) {
        out += "\nlost_range ";
        write_u64(out, r.first);
        out += ' ';
        write_u64(out, r.last);
    }
    out += "\nend\n";
    return out;
}

template <class NodeId>
MigrationRunner<NodeId> MigrationRunner<NodeId>::from_text(std::string_view text) {
    detail::TextReader in(text);
    const std::string_view header = in.expect_line("the header");
    const bool with_rule = header == detail::migration_header(true);
    if (!with_rule && header != detail::migration_header(false)) {
        in.fail(std::string("expected the header '") + detail::migration_header(true) +
                "' (or version 1)");
    }
    MigrationRunner r;
    MigrationOptions<NodeId> o;
    {
        const auto t = detail::migration_line(in, "options", 5);
        o.max_send = static_cast<std::size_t>(detail::migration_u64(in, t[1], "max_send"));
        o.max_recv = static_cast<std::size_t>(detail::migration_u64(in, t[2], "max_recv"));
        if (t[3] != "-") {
            std::istringstream s{std::string(t[3])};
            s.imbue(std::locale::classic());
            double v = 0;
            // One spelling: the one format_double writes.
            if (!(s >> v) || detail::format_double(v) != t[3]) {
                in.fail("max_fraction is not a number: '" + std::string(t[3]) + "'");
            }
            o.max_fraction = v;
        }
        o.epoch = detail::migration_u64(in, t[4], "the epoch");
    }
    {
        const auto t = detail::migration_line(in, "down", 0);
        std::size_t at = 1;
        o.down = detail::read_ids<NodeId>(in, t, at);
        if (at != t.size()) {
            in.fail("more ids than counted");
        }
        if (!std::is_sorted(o.down.begin(), o.down.end()) ||
            std::adjacent_find(o.down.begin(), o.down.end()) != o.down.end()) {
            in.fail("the down nodes must be sorted and distinct");
        }
    }
    if (with_rule) {
        o.policy = detail::read_rule(in);
        o.topology = detail::read_locations<NodeId>(in);
    }
    r.set_options(std::move(o));  // invalid_limit
    {
        const auto t = detail::migration_line(in, "phase", 2);
        const auto p = detail::migration_enum<MigrationPhase, 4>(t[1]);
        if (!p) {
            in.fail("unknown phase '" + std::string(t[1]) + "'");
        }
        r.phase_ = *p;
    }
    const std::uint64_t moves =
        detail::migration_u64(in, detail::migration_line(in, "moves", 2)[1], "the move count");
    for (std::uint64_t i = 0; i < moves; ++i) {
        const auto t = detail::migration_line(in, "move", 0);
        if (t.size() < 9) {
            in.fail("'move' takes at least 8 fields");
        }
        MigrationMove<NodeId> m;
        m.range = detail::migration_range(in, t[1], t[2]);
        m.to = detail::migration_id<NodeId>(in, t[3]);
        const auto state = detail::migration_enum<MoveState, 4>(t[4]);
        if (!state) {
            in.fail("unknown move state '" + std::string(t[4]) + "'");
        }
        // A stream in flight when the runner was written may have been cut off: run it again.
        m.state = *state == MoveState::streaming ? MoveState::pending : *state;
        m.source = static_cast<std::size_t>(detail::migration_u64(in, t[5], "the source index"));
        m.attempts = detail::migration_u64(in, t[6], "the attempt count");
        if (t[7] != "copy" && t[7] != "catch_up") {
            in.fail("expected 'copy' or 'catch_up', got '" + std::string(t[7]) + "'");
        }
        m.full_copy = t[7] == "copy";
        std::size_t at = 8;
        m.sources = detail::read_ids<NodeId>(in, t, at);
        if (at != t.size()) {
            in.fail("more ids than counted");
        }
        const bool gone = m.state == MoveState::failed;
        if (gone ? m.source > m.sources.size() : m.source >= m.sources.size()) {
            in.fail("the source index is out of range");
        }
        if (!gone && m.state != MoveState::copied && r.phase_ != MigrationPhase::streaming &&
            r.phase_ != MigrationPhase::aborted) {
            in.fail("a migration past cutover has only copied moves");
        }
        r.moves_.push_back(std::move(m));
    }
    const std::uint64_t ranges =
        detail::migration_u64(in, detail::migration_line(in, "layout", 2)[1], "the range count");
    for (std::uint64_t i = 0; i < ranges; ++i) {
        const auto t = detail::migration_line(in, "range", 0);
        if (t.size() < 5) {
            in.fail("'range' takes at least 4 fields");
        }
        RangeLayout<NodeId> s;
        s.range = detail::migration_range(in, t[1], t[2]);
        std::size_t at = 3;
        s.before = detail::read_ids<NodeId>(in, t, at);
        s.after = detail::read_ids<NodeId>(in, t, at);
        if (at != t.size()) {
            in.fail("more ids than counted");
        }
        const Token expected = r.layout_.empty() ? 0 : r.layout_.back().range.last + 1;
        if ((!r.layout_.empty() && r.layout_.back().range.last == max_token) ||
            s.range.first != expected) {
            in.fail("the layout's ranges must follow each other from token 0");
        }
        r.layout_.push_back(std::move(s));
    }
    if (!r.layout_.empty() && r.layout_.back().range.last != max_token) {
        in.fail("the layout must cover the ring");
    }
    const std::uint64_t deletions =
        detail::migration_u64(in, detail::migration_line(in, "cleanup", 2)[1], "the count");
    for (std::uint64_t i = 0; i < deletions; ++i) {
        const auto t = detail::migration_line(in, "delete", 4);
        r.cleanup_.emplace_back(detail::migration_range(in, t[1], t[2]),
                                detail::migration_id<NodeId>(in, t[3]));
    }
    const std::uint64_t lost =
        detail::migration_u64(in, detail::migration_line(in, "lost", 2)[1], "the count");
    for (std::uint64_t i = 0; i < lost; ++i) {
        const auto t = detail::migration_line(in, "lost_range", 3);
        r.lost_.push_back(detail::migration_range(in, t[1], t[2]));
    }
    detail::migration_line(in, "end", 1);
    if (!in.at_end()) {
        in.next_line();
        in.fail("text after 'end'");
    }
    return r;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_MIGRATION_HPP
