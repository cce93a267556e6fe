// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Token allocation: tokens for a joining node chosen to even out replicated ownership, so that
// a few vnodes per node balance as well as hundreds of random ones (docs/balance.md).
#ifndef RINGPLAN_ALLOCATE_HPP
#define RINGPLAN_ALLOCATE_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/error.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The allocator's scores are floating point, and a token is placed where they compare; a
// compiler that fused a multiply and an add (FMA, with -march=native or on ARM) would round
// differently and choose other tokens. Contraction is off here so the same ring and node give
// the same tokens on every platform and with any flags (tests/allocate_test.cpp pins them).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

RINGPLAN_NAMESPACE_BEGIN

/// What allocate_tokens balances for.
template <class NodeId>
struct AllocateOptions {
    /// The replication factors to balance replicated ownership for; with several (rf 1 and 3 for
    /// two keyspaces) the objective is the sum of their relative variances, each weighted by its
    /// rf. Not empty.
    std::vector<Rf> rfs{Rf{3}};
    /// The weight of the node that gets the tokens (>= 1): replicated ownership targets are
    /// proportional to weight.
    std::uint32_t weight = 1;
    /// The weights of members (>= 1); a member not listed has weight 1. Ids that are not members
    /// are ignored, so one list can name the whole cluster; the allocated node's own weight is
    /// `weight`.
    std::vector<std::pair<NodeId, std::uint32_t>> weights;
    /// A replica rule with failure domains (topology.hpp), or unset. Under a rack-aware or
    /// network-topology rule the node's tokens balance the replicas that rule gives its group,
    /// and `rfs` is not used (it is still checked: not empty): the group is the node's datacenter at that datacenter's rf (the
    /// whole ring for rack_aware); when the datacenter has exactly rf racks (rf > 1), each rack
    /// holds every range once, so the group is the node's rack at rf 1. Both are exact for
    /// datacenters of one rack and of rf racks; with other rack counts the datacenter's
    /// distinct-node ownership stands in for the rule's (docs/topology.md, "Token
    /// allocation"). A distinct_nodes rule changes nothing.
    std::optional<ReplicaPolicy> policy;
    /// Where the nodes sit, the allocated node included (needed with `policy`).
    Topology<NodeId> topology;
};

/// `count` tokens spread evenly over the ring: seed node `index` of `of` seed nodes gets slots
/// index, index + of, index + 2 of, ... of count * of equal slots, slot s at floor(s 2^64 /
/// (count of)). Seed nodes placed this way are exactly balanced; allocate_tokens gives the
/// first node of an empty ring these tokens (index 0 of 1). Ascending.
/// Errors: zero_vnodes (count 0), invalid_option (of 0 or index >= of), too_many_vnodes
/// (count * of above Ring::max_vnodes()).
[[nodiscard]] inline std::vector<Token> evenly_spaced_tokens(std::uint32_t count,
                                                             std::uint32_t index = 0,
                                                             std::uint32_t of = 1);

/// The tokens, ascending, for `node` joining `ring` with `tokens` vnodes, chosen greedily one at
/// a time to minimize the sum, over the rfs in options.rfs, of rf times the variance of
/// replicated ownership / weight over the nodes divided by its mean squared (docs/balance.md).
/// Existing tokens never move, and no token of the result is held by the ring. Deterministic: the
/// same ring, node and options give the same tokens, whatever order the ring was built in. An empty
/// ring gives evenly_spaced_tokens. Under a rack-aware or network-topology rule
/// (options.policy) the tokens balance the node's datacenter or rack (AllocateOptions::policy).
/// Cost: every range of the ring is
/// scored once, O(vnodes x rf^2), then each token re-scores a few candidates lazily and copies the
/// token array: O(vnodes x rf^2 + tokens x vnodes) in all for the usual case; O(vnodes x rfs)
/// memory.
/// Errors: duplicate_node, zero_vnodes, too_many_vnodes, invalid_rf (rfs empty),
/// invalid_weight (a weight of 0), duplicate_node (a member weighted twice), invalid_topology
/// (under a rule: the node or a member without a location).
template <class Hash, class NodeId>
[[nodiscard]] std::vector<Token> allocate_tokens(
    const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node, std::uint32_t tokens,
    const AllocateOptions<detail::Id<NodeId>>& options = {});

/// `extra` more tokens for the member `node`, ascending, chosen as allocate_tokens chooses
/// them, with `options.weight` as the node's new weight: raising a node's weight this way moves
/// data only to that node. Apply with remove_node and add_node_with_tokens (old and new
/// tokens); diff(before, after) plans it.
/// Errors: unknown_node, zero_vnodes, too_many_vnodes, invalid_rf, invalid_weight,
/// duplicate_node (a member weighted twice).
template <class Hash, class NodeId>
[[nodiscard]] std::vector<Token> allocate_extra_tokens(
    const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node, std::uint32_t extra,
    const AllocateOptions<detail::Id<NodeId>>& options = {});

/// A join at allocated tokens: the tokens and the plan that streams their data.
template <class NodeId>
struct AllocatedJoin {
    std::vector<Token> tokens;
    Plan<NodeId> plan;
};

/// allocate_tokens, then plan_join_with_tokens at those tokens.
/// Errors: as both.
template <class Hash, class NodeId>
[[nodiscard]] AllocatedJoin<NodeId> plan_join_allocated(
    const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node, std::uint32_t tokens,
    const AllocateOptions<detail::Id<NodeId>>& allocate = {},
    const PlanOptions<detail::Id<NodeId>>& plan = {});

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// The greedy allocator over a working copy of the token and owner arrays.
//
// After Cassandra's ReplicationAwareTokenAllocator (CASSANDRA-7032, Cassandra 3.0 and
// allocate_tokens_for_local_replication_factor in 4.0): candidates sit in existing ranges, each
// is scored by the exact change of the objective, the best is taken and the others re-scored
// lazily, and vnodes are balanced as well as nodes. Ours differs in the objective, per rf,
// relative to mean^2 and weighted by rf: the sum over nodes of (ownership / weight - mean)^2, with
// the new node measured against its share after this token rather than after all of them, plus a
// small weight on the same sum over vnodes (target: the node's share / its vnode count). And in the
// split point: the change is a quadratic in where the range is cut, so each candidate is cut at
// the best point within the middle half of its range rather than at its midpoint.
//
// Replicated ownership of a range: its first rf distinct nodes clockwise (docs/design.md).
// Inserting node N's token inside range k changes only the ranges whose replica walk reaches the
// new vnode before reaching N and before rf distinct nodes: those just before k. In each of them
// N enters the list and the last member drops out. So a candidate costs O(rf^2) to score.
class TokenAllocator {
public:
    // tokens/owners: the ring's arrays; weights: per node, with `node` (index `node`, which may
    // be node_count for a new node) already in place.
    TokenAllocator(const Token* tokens, const std::uint32_t* owners, std::size_t size,
                   std::vector<double> weights, std::uint32_t node, const std::vector<Rf>& rfs,
                   std::uint32_t count)
        : count_(count),
          tokens_(tokens, tokens + size),
          owners_(owners, owners + size),
          weights_(std::move(weights)),
          node_(node) {
        const std::size_t nodes = weights_.size();
        vnodes_.assign(nodes, 0.0);
        for (std::size_t i = 0; i < size; ++i) {
            vnodes_[owners[i]] += 1;
        }
        vnodes_[node_] += count;
        for (Rf rf : rfs) {
            // Lists never hold more than the ring's nodes (and an rf that large is inactive).
            max_rf_ = std::max(max_rf_, std::min(rf.value(), nodes));
        }
        list_.resize(max_rf_);
        list_pos_.resize(max_rf_);
        prefix_.resize(max_rf_);
        changes_.resize(max_rf_ + 1);
        vchanges_.resize(max_rf_ + 1);
        double total_weight = 0;
        for (double w : weights_) {
            total_weight += w;
        }
        for (Rf rf : rfs) {
            const std::size_t r = rf.value();
            bool seen = false;
            for (const Balance& b : balances_) {
                seen = seen || b.rf == r;
            }
            if (seen) {
                continue;
            }
            Balance b;
            b.rf = r;
            b.active = nodes > r;  // with at most rf nodes, every node replicates everything
            const double mean = static_cast<double>(std::min(r, nodes)) / total_weight;
            b.mean = mean;
            // Relative variance, weighted by rf: at rf 3 the same data is three times the
            // bytes it is at rf 1, so its imbalance costs three times as much room.
            b.scale = static_cast<double>(r) / (mean * mean);
            b.own.assign(nodes, 1.0);
            if (b.active) {
                replicated_ownership(b);
            }
            b.start = b.own[node_] / weights_[node_];
            any_active_ = any_active_ || b.active;
            balances_.push_back(std::move(b));
        }
    }

    // Adds one token of the node and returns it.
    Token add_one() {
        if (placed_ == 0) {
            // Every range is a candidate, scored once; later tokens re-score lazily.
            for (std::size_t k = 0; k < tokens_.size(); ++k) {
                push(k);
            }
        }
        // Lazy re-scoring, as Cassandra's allocators do: a candidate's score goes stale when a
        // token lands near it or its nodes' shares change. The best entry is scored again; if it
        // is still no worse than the next one's (stale) score it is taken, else it goes back.
        while (!heap_.empty()) {
            std::pop_heap(heap_.begin(), heap_.end(), Worse{});
            const Candidate top = heap_.back();
            heap_.pop_back();
            const std::size_t k = position_of(top.upper);
            Candidate now = score(k);
            if (now.width < 2) {
                continue;
            }
            if (!heap_.empty() && Worse{}(now, heap_.front())) {
                heap_.push_back(now);
                std::push_heap(heap_.begin(), heap_.end(), Worse{});
                continue;
            }
            const Token token = tokens_[prev(k)] + now.offset;
            apply(k, now.offset, token);
            ++placed_;
            if (placed_ < count_) {
                // The two halves of the split range.
                push(position_of(token));
                push(position_of(now.upper));
            }
            return token;
        }
        raise(Errc::too_many_vnodes, "no free token is left between the ring's tokens");
    }

private:
    struct Balance {
        std::size_t rf = 1;
        bool active = false;
        double mean = 0;          // replicated ownership / weight every node would have if balanced
        double start = 0;         // the node's replicated ownership / weight before its new tokens
        double scale = 1;         // rf / mean^2: rfs are compared by relative variance
        std::vector<double> own;  // per node
        std::vector<double> span;  // per vnode, parallel to tokens_
    };
    // A place for the next vnode: inside the range that ends at `upper`, `offset` tokens above
    // the range's start.
    struct Candidate {
        double score;  // the change of the objective (lower is better)
        Token width;
        Token upper;
        Token offset;
    };
    // Heap order: the best candidate is the lowest score, then (ties, as while the ring has at
    // most rf nodes and every score is 0) the widest range, so the first nodes interleave
    // evenly, then the lowest token.
    struct Worse {
        bool operator()(const Candidate& a, const Candidate& b) const {
            if (a.score != b.score) {
                return a.score > b.score;
            }
            if (a.width != b.width) {
                return a.width < b.width;
            }
            return a.upper > b.upper;
        }
    };
    // The first vnode whose token is >= t: where the range ending at t sits (equal tokens
    // leave the later copies a range of width 0).
    std::size_t position_of(Token t) const {
        return static_cast<std::size_t>(std::lower_bound(tokens_.begin(), tokens_.end(), t) -
                                        tokens_.begin());
    }
    Candidate score(std::size_t k) {
        Candidate c{0, width_of(k), tokens_[k], 0};
        if (c.width >= 2) {
            c.offset = c.width / 2;
            if (any_active_) {
                c.score = evaluate(k, c.width, c.offset);
            }
        }
        return c;
    }
    void push(std::size_t k) {
        const Candidate c = score(k);
        if (c.width >= 2) {
            heap_.push_back(c);
            std::push_heap(heap_.begin(), heap_.end(), Worse{});
        }
    }

    struct VnodeChange {
        std::size_t pos;  // in tokens_, npos for the new vnode
        double fixed;
        double slope;
    };
    static constexpr std::size_t npos = ~std::size_t{0};
    // Tuned on rings grown to 250 nodes (docs/balance.md): a small weight on the vnode terms
    // keeps vnodes even without trading away the nodes' balance, and cutting ranges only in
    // their middle half leaves no sliver a later join can do nothing with.
    static constexpr double token_weight = 0.05;
    static constexpr double split_lo = 0.25;
    static constexpr double split_hi = 0.75;
    // One node's change for a candidate: `fixed` from whole ranges, `slope` per unit of the
    // split range's lower part (the new vnode's own range).
    struct Change {
        std::uint32_t node;
        double fixed;
        double slope;
    };

    std::size_t prev(std::size_t i) const { return i == 0 ? tokens_.size() - 1 : i - 1; }
    std::size_t next(std::size_t i) const { return i + 1 == tokens_.size() ? 0 : i + 1; }

    // The width of range i, (t[i-1], t[i]], in tokens; 2^64 does not fit, so a ring whose vnodes
    // all sit on one token reports max_token for vnode 0 (one token short: harmless here).
    Token width_of(std::size_t i) const {
        if (tokens_.front() == tokens_.back()) {
            return i == 0 ? max_token : 0;
        }
        return tokens_[i] - tokens_[prev(i)];  // unsigned wrap is the wrap of range 0
    }
    static double fraction(Token width) { return static_cast<double>(width) / token_space; }

    // Replicated ownership of every node for rf r, and of every vnode (the ranges whose replica
    // walk reaches its node at that vnode), by walking each range's list: O(V r^2).
    void replicated_ownership(Balance& b) {
        b.own.assign(weights_.size(), 0.0);
        b.span.assign(tokens_.size(), 0.0);
        for (std::size_t k = 0; k < tokens_.size(); ++k) {
            forward_list(k, b.rf);
            const double w = fraction(width_of(k));
            for (std::size_t i = 0; i < list_size_; ++i) {
                b.own[list_[i]] += w;
                b.span[list_pos_[i]] += w;
            }
        }
    }

    // list_ = the first r distinct nodes from vnode k clockwise (fewer if the ring has fewer),
    // list_pos_ = the vnode where each is met.
    void forward_list(std::size_t k, std::size_t r) {
        // Raw arrays with counts: this is the allocator's inner loop, and it must stay quick in
        // unoptimized (Debug, sanitizer) builds too.
        std::uint32_t* list = list_.data();
        std::size_t* pos = list_pos_.data();
        const std::uint32_t* owners = owners_.data();
        const std::size_t n = owners_.size();
        std::size_t count = 0;
        std::size_t i = k;
        for (std::size_t step = 0; step < n && count < r; ++step) {
            const std::uint32_t o = owners[i];
            std::size_t m = 0;
            while (m < count && list[m] != o) {
                ++m;
            }
            if (m == count) {
                list[count] = o;
                pos[count] = i;
                ++count;
            }
            i = i + 1 == n ? 0 : i + 1;
        }
        list_size_ = count;
    }

    void add_change(std::uint32_t who, double fixed, double slope) {
        Change* c = changes_.data();
        std::size_t m = 0;
        while (m < changes_size_ && c[m].node != who) {
            ++m;
        }
        if (m == changes_size_) {
            c[m] = Change{who, 0, 0};
            ++changes_size_;
        }
        c[m].fixed += fixed;
        c[m].slope += slope;
    }
    void add_vchange(std::size_t pos, double fixed, double slope) {
        VnodeChange* c = vchanges_.data();
        std::size_t m = 0;
        while (m < vchanges_size_ && c[m].pos != pos) {
            ++m;
        }
        if (m == vchanges_size_) {
            c[m] = VnodeChange{pos, 0, 0};
            ++vchanges_size_;
        }
        c[m].fixed += fixed;
        c[m].slope += slope;
    }
    bool in_prefix(std::uint32_t o) const {
        const std::uint32_t* p = prefix_.data();
        for (std::size_t m = 0; m < prefix_size_; ++m) {
            if (p[m] == o) {
                return true;
            }
        }
        return false;
    }

    // The list of a range j before the new vnode, with prefix P = the distinct nodes of vnodes
    // j..k-1 (d of them), continues with the first r - d nodes of list_ not in P. The node
    // enters it unless it is among them (then the range moves to the new vnode from the node's
    // vnode that held it); else the (r-d)-th of them drops out, if the ring has that many.
    // Records the changes for a width `fixed` + `slope` x.
    void enter(std::size_t want, double fixed, double slope) {
        std::size_t seen = 0;
        for (std::size_t i = 0; i < list_size_; ++i) {
            const std::uint32_t o = list_[i];
            if (in_prefix(o)) {
                continue;
            }
            if (o == node_) {
                add_vchange(list_pos_[i], -fixed, -slope);
                vchanges_[0].fixed += fixed;
                vchanges_[0].slope += slope;
                return;
            }
            if (++seen == want) {
                add_change(o, -fixed, -slope);
                add_vchange(list_pos_[i], -fixed, -slope);
                break;
            }
        }
        changes_[0].fixed += fixed;
        changes_[0].slope += slope;
        vchanges_[0].fixed += fixed;
        vchanges_[0].slope += slope;
    }

    // The changes of replicated ownership for rf r when the node gets a vnode inside range k:
    // per node into changes_, the node's entry first, and per vnode into vchanges_, the new
    // vnode's entry (position npos) first. Each holds at most r + 1 entries: the ones that drop
    // out are distinct members of list_.
    void changes_for(std::size_t k, std::size_t r) {
        changes_[0] = Change{node_, 0, 0};
        changes_size_ = 1;
        vchanges_[0] = VnodeChange{npos, 0, 0};
        vchanges_size_ = 1;
        forward_list(k, r);
        // The split range's lower part, the new vnode's own range: prefix empty.
        prefix_size_ = 0;
        enter(r, 0, 1);
        // Whole ranges before k, until the prefix holds the node or r distinct nodes.
        const std::size_t n = tokens_.size();
        std::size_t j = k;
        for (std::size_t step = 1; step < n; ++step) {
            j = j == 0 ? n - 1 : j - 1;
            const std::uint32_t o = owners_[j];
            if (o == node_) {
                break;
            }
            if (!in_prefix(o)) {
                prefix_[prefix_size_++] = o;
            }
            if (prefix_size_ >= r) {
                break;
            }
            enter(r - prefix_size_, fraction(width_of(j)), 0);
        }
    }

    // The change of the objective if the node gets a vnode inside range k, at the best offset
    // in the middle half of the range (written to `offset`).
    double evaluate(std::size_t k, Token width, Token& offset) {
        // The objective's change is a x^2 + b x + c in x, the lower part's share of the ring.
        double a = 0, b = 0, c = 0;
        const auto term = [&](double scale, double e, double f, double sl) {
            // scale ((e + f + s x)^2 - e^2)
            a += scale * sl * sl;
            b += scale * 2 * sl * (e + f);
            c += scale * (f * (2 * e + f));
        };
        const double step = static_cast<double>(placed_ + 1) / static_cast<double>(count_);
        for (Balance& bal : balances_) {
            if (!bal.active) {
                continue;
            }
            changes_for(k, bal.rf);
            // The node itself is measured against where it should be after this token, not
            // after all of them: otherwise its own gain dominates every choice and its first
            // tokens take the largest spans whoever loses them.
            const double node_target = bal.start + (bal.mean - bal.start) * step;
            for (std::size_t i = 0; i < changes_size_; ++i) {
                const Change& ch = changes_[i];
                const double inv = 1.0 / weights_[ch.node];
                const double e =
                    bal.own[ch.node] * inv - (ch.node == node_ ? node_target : bal.mean);
                term(bal.scale, e, ch.fixed * inv, ch.slope * inv);
            }
            // Vnodes, after Cassandra's token-level balance: each vnode should hold its node's
            // share divided by its vnode count, so later joins can take from any of them.
            for (std::size_t i = 0; i < vchanges_size_; ++i) {
                const VnodeChange& ch = vchanges_[i];
                const std::uint32_t who = ch.pos == npos ? node_ : owners_[ch.pos];
                const double inv = 1.0 / weights_[who];
                const double target = bal.mean / vnodes_[who];
                const double span = ch.pos == npos ? 0.0 : bal.span[ch.pos];
                term(token_weight * bal.scale * vnodes_[who], span * inv - target, ch.fixed * inv,
                     ch.slope * inv);
            }
        }
        const double lo = fraction(width) * split_lo;
        const double hi = fraction(width) * split_hi;
        double x = fraction(width) * 0.5;
        if (a > 0) {
            x = std::min(hi, std::max(lo, -b / (2 * a)));
        }
        offset = static_cast<Token>(x * token_space);
        offset = std::min(std::max(offset, Token{1}), width - 1);
        const double xs = fraction(offset);
        return (a * xs + b) * xs + c;
    }

    // Records the ownership changes of a vnode at offset `offset` inside range k, and inserts it.
    void apply(std::size_t k, Token offset, Token token) {
        const double x = fraction(offset);
        const auto at = static_cast<std::ptrdiff_t>(
            std::upper_bound(tokens_.begin(), tokens_.end(), token) - tokens_.begin());
        for (Balance& bal : balances_) {
            if (!bal.active) {
                continue;
            }
            changes_for(k, bal.rf);
            for (std::size_t i = 0; i < changes_size_; ++i) {
                const Change& ch = changes_[i];
                bal.own[ch.node] += ch.fixed + ch.slope * x;
            }
            for (std::size_t i = 1; i < vchanges_size_; ++i) {
                bal.span[vchanges_[i].pos] += vchanges_[i].fixed + vchanges_[i].slope * x;
            }
            bal.span.insert(bal.span.begin() + at, vchanges_[0].fixed + vchanges_[0].slope * x);
        }
        tokens_.insert(tokens_.begin() + at, token);
        owners_.insert(owners_.begin() + at, node_);
    }

    std::uint32_t count_;  // tokens to place
    std::uint32_t placed_ = 0;
    std::vector<Token> tokens_;
    std::vector<std::uint32_t> owners_;
    std::vector<double> weights_;
    std::uint32_t node_;
    std::vector<double> vnodes_;  // per node, counting the node's new vnodes
    std::vector<Balance> balances_;
    std::size_t max_rf_ = 1;
    bool any_active_ = false;
    std::vector<Candidate> heap_;
    // Scratch, reused by every candidate.
    std::vector<std::uint32_t> list_;
    std::vector<std::size_t> list_pos_;
    std::size_t list_size_ = 0;
    std::vector<std::uint32_t> prefix_;
    std::size_t prefix_size_ = 0;
    std::vector<Change> changes_;
    std::size_t changes_size_ = 0;
    std::vector<VnodeChange> vchanges_;
    std::size_t vchanges_size_ = 0;
};

// Validates the options and returns the weight of every member, by node index, with the
// allocated node's weight at `node` (appended when node == node_count).
template <class Hash, class NodeId>
std::vector<double> allocation_weights(const Ring<Hash, NodeId>& ring, std::size_t node,
                                       const AllocateOptions<NodeId>& options) {
    if (options.rfs.empty()) {
        raise(Errc::invalid_rf, "AllocateOptions::rfs is empty: name at least one rf");
    }
    if (options.weight == 0) {
        raise(Errc::invalid_weight, "the allocated node's weight is 0; weights start at 1");
    }
    std::vector<double> weights(ring.node_count(), 1.0);
    std::vector<bool> given(ring.node_count(), false);
    for (const auto& entry : options.weights) {
        if (entry.second == 0) {
            raise(Errc::invalid_weight,
                  "node " + describe(entry.first) + " has weight 0; weights start at 1");
        }
        if (!ring.contains(entry.first)) {
            continue;
        }
        const std::size_t i = ring.node_index(entry.first);
        if (given[i]) {
            raise(Errc::duplicate_node,
                  "node " + describe(entry.first) + " is given a weight twice");
        }
        given[i] = true;
        weights[i] = static_cast<double>(entry.second);
    }
    if (node == weights.size()) {
        weights.push_back(static_cast<double>(options.weight));
    } else {
        weights[node] = static_cast<double>(options.weight);
    }
    return weights;
}

template <class Hash, class NodeId>
std::vector<Token> allocate(const Ring<Hash, NodeId>& ring, std::size_t node, std::uint32_t count,
                            std::vector<double> weights, const std::vector<Rf>& rfs) {
    TokenAllocator allocator(ring.vnode_tokens(), ring.vnode_owners(), ring.vnode_count(),
                             std::move(weights), static_cast<std::uint32_t>(node), rfs, count);
    std::vector<Token> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        out.push_back(allocator.add_one());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Under a rule (AllocateOptions::policy): the tokens of `node` (index `index` in the ring,
// node_count() for a new node) balanced within its group, the group's vnodes cut out of the
// ring's arrays. A token another group holds is moved up to the next free one: groups are
// balanced apart, and a token shared across groups would be refused by the ring.
template <class Hash, class NodeId>
std::vector<Token> allocate_in_group(const Ring<Hash, NodeId>& ring, const NodeId& node,
                                     std::size_t index, std::uint32_t count,
                                     const AllocateOptions<NodeId>& options) {
    const ReplicaPolicy& policy = *options.policy;
    const bool whole_ring = policy.kind() == ReplicaPolicy::Kind::rack_aware;
    const Location* where = options.topology.find(node);
    if (where == nullptr) {
        raise(Errc::invalid_topology,
              "node " + describe(node) + " has no location in AllocateOptions::topology");
    }
    const std::size_t n = ring.node_count();
    std::vector<const Location*> located(n);
    for (std::size_t i = 0; i < n; ++i) {
        located[i] = options.topology.find(ring.node_at(i));
        if (located[i] == nullptr) {
            raise(Errc::invalid_topology, "node " + describe(ring.node_at(i)) +
                                              " is in the ring but has no location in "
                                              "AllocateOptions::topology");
        }
    }
    const auto in_dc = [&](const Location& l) {
        return whole_ring || l.datacenter == where->datacenter;
    };
    // The datacenter's racks, the node's own included.
    std::vector<std::pair<std::string_view, std::string_view>> racks;
    const auto note_rack = [&](const Location& l) {
        const auto key = std::make_pair(std::string_view(l.datacenter), std::string_view(l.rack));
        if (std::find(racks.begin(), racks.end(), key) == racks.end()) {
            racks.push_back(key);
        }
    };
    note_rack(*where);
    for (std::size_t i = 0; i < n; ++i) {
        if (in_dc(*located[i])) {
            note_rack(*located[i]);
        }
    }
    const std::size_t rf = whole_ring ? policy.total_rf().value() : policy.rf_of(where->datacenter);
    const bool by_rack = rf > 1 && racks.size() == rf;
    std::vector<std::uint32_t> group_of(n, DomainTable::none);
    std::uint32_t members = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const Location& l = *located[i];
        if (in_dc(l) &&
            (!by_rack || (l.datacenter == where->datacenter && l.rack == where->rack))) {
            group_of[i] = members++;
        }
    }
    const std::vector<double> all = allocation_weights(ring, index, options);
    std::vector<double> weights(members, 1.0);
    for (std::size_t i = 0; i < n; ++i) {
        if (group_of[i] != DomainTable::none) {
            weights[group_of[i]] = all[i];
        }
    }
    std::uint32_t own = index < n ? group_of[index] : members;
    if (own == DomainTable::none) {
        own = members;  // a member moved to another group: it joins this one afresh
    }
    if (own == members) {
        weights.push_back(all[index < n ? index : n]);
    }
    std::vector<Token> tokens;
    std::vector<std::uint32_t> owners;
    for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
        const std::uint32_t g = group_of[ring.vnode_owner(i)];
        if (g != DomainTable::none) {
            tokens.push_back(ring.vnode_token(i));
            owners.push_back(g);
        }
    }
    std::vector<Token> out;
    if (tokens.empty()) {
        out = evenly_spaced_tokens(count);
    } else {
        TokenAllocator allocator(tokens.data(), owners.data(), tokens.size(), std::move(weights),
                                 own, std::vector<Rf>{Rf(std::max<std::size_t>(rf, 1))}, count);
        out.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            out.push_back(allocator.add_one());
        }
    }
    std::sort(out.begin(), out.end());
    const Token* all_tokens = ring.vnode_tokens();
    const Token* all_end = all_tokens + ring.vnode_count();
    for (std::size_t k = 0; k < out.size(); ++k) {
        while (std::binary_search(all_tokens, all_end, out[k]) || (k > 0 && out[k] <= out[k - 1])) {
            out[k] = k > 0 && out[k] <= out[k - 1] ? out[k - 1] + 1 : out[k] + 1;
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

template <class NodeId>
bool allocates_in_group(const AllocateOptions<NodeId>& options) {
    return options.policy.has_value() && options.policy->needs_topology();
}

}  // namespace detail

inline std::vector<Token> evenly_spaced_tokens(std::uint32_t count, std::uint32_t index,
                                               std::uint32_t of) {
    if (count == 0) {
        detail::raise(Errc::zero_vnodes, "evenly_spaced_tokens needs a count of at least 1");
    }
    if (of == 0 || index >= of) {
        detail::raise(Errc::invalid_option, "evenly_spaced_tokens: seed index " +
                                                std::to_string(index) + " is not below the " +
                                                std::to_string(of) + " seed nodes");
    }
    const std::uint64_t slots = std::uint64_t{count} * of;
    if (slots > 0xFFFFFFFFu) {
        detail::raise(Errc::too_many_vnodes, "evenly_spaced_tokens: " + std::to_string(slots) +
                                                 " slots is more than a ring holds");
    }
    // floor(s 2^64 / slots) = s q + floor(s r / slots), with 2^64 = q slots + r; s r < 2^64
    // since s, r < slots <= 2^32.
    std::uint64_t q = max_token / slots;
    std::uint64_t r = max_token % slots + 1;
    if (r == slots) {
        ++q;
        r = 0;
    }
    std::vector<Token> out;
    out.reserve(count);
    for (std::uint64_t s = index; s < slots; s += of) {
        out.push_back(s * q + s * r / slots);
    }
    return out;
}

template <class Hash, class NodeId>
std::vector<Token> allocate_tokens(const Ring<Hash, NodeId>& ring, const detail::Id<NodeId>& node,
                                   std::uint32_t tokens,
                                   const AllocateOptions<detail::Id<NodeId>>& options) {
    ring.check_addable(node, tokens);
    if (detail::allocates_in_group(options)) {
        return detail::allocate_in_group(ring, node, ring.node_count(), tokens, options);
    }
    std::vector<double> weights = detail::allocation_weights(ring, ring.node_count(), options);
    if (ring.empty()) {
        return evenly_spaced_tokens(tokens);
    }
    return detail::allocate(ring, ring.node_count(), tokens, std::move(weights), options.rfs);
}

template <class Hash, class NodeId>
std::vector<Token> allocate_extra_tokens(const Ring<Hash, NodeId>& ring,
                                         const detail::Id<NodeId>& node, std::uint32_t extra,
                                         const AllocateOptions<detail::Id<NodeId>>& options) {
    const std::size_t index = ring.node_index(node);  // unknown_node
    if (extra == 0) {
        detail::raise(Errc::zero_vnodes,
                      "node " + detail::describe(node) + " needs at least one extra token");
    }
    if (ring.vnode_count() + std::uint64_t{extra} > Ring<Hash, NodeId>::max_vnodes()) {
        detail::raise(Errc::too_many_vnodes, "node " + detail::describe(node) + ": " +
                                                 std::to_string(extra) +
                                                 " more tokens is more than a ring holds");
    }
    if (detail::allocates_in_group(options)) {
        return detail::allocate_in_group(ring, node, index, extra, options);
    }
    std::vector<double> weights = detail::allocation_weights(ring, index, options);
    return detail::allocate(ring, index, extra, std::move(weights), options.rfs);
}

template <class Hash, class NodeId>
AllocatedJoin<NodeId> plan_join_allocated(const Ring<Hash, NodeId>& ring,
                                          const detail::Id<NodeId>& node, std::uint32_t tokens,
                                          const AllocateOptions<detail::Id<NodeId>>& allocate,
                                          const PlanOptions<detail::Id<NodeId>>& plan) {
    AllocatedJoin<NodeId> out;
    out.tokens = allocate_tokens(ring, node, tokens, allocate);
    out.plan = plan_join_with_tokens(ring, node, out.tokens, plan);
    return out;
}

RINGPLAN_NAMESPACE_END

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif  // RINGPLAN_ALLOCATE_HPP
