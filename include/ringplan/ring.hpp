// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_RING_HPP
#define RINGPLAN_RING_HPP

#include <ringplan/bytes.hpp>
#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/huge_pages.hpp>
#include <ringplan/detail/lookup_index.hpp>
#include <ringplan/detail/runs.hpp>
#include <ringplan/error.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// A consistent-hash ring with virtual nodes.
///
/// After Karger et al., STOC 1997, and Dynamo (DeCandia et al., SOSP 2007).
///
/// Ownership: a key hashes to a token t; its owner is the node of the first vnode whose token is
/// >= t, wrapping to the smallest token. A vnode at token T owns (pred(T), T].
///
/// Determinism: the ring depends only on its membership, never on the order of calls. Vnode
/// tokens come from the node id's bytes (ByteRepr) through the Hash policy; equal tokens are
/// ordered by node id (docs/placement.md).
///
/// NodeId: copyable, ordered by operator<, equality-comparable, with a byte representation.
///
/// Thread safety: const members may run concurrently; a mutation needs exclusive access. To
/// change membership under live readers, build a new ring and publish it as
/// std::shared_ptr<const Ring> (docs/threading.md).
///
/// Errors: every failing call throws ringplan::Error (or calls the error handler under
/// -fno-exceptions) and leaves the ring exactly as it was.
///
/// Names: a function that takes a key is plain (owner, replicas, successor); one that takes a
/// position on the ring, a token or an index, ends in _at (owner_at, replicas_at, successor_at,
/// vnode_at, node_at); one that takes a member ends in _of (tokens_of, ranges_of).
struct Xxh3;  // the default policy, defined in <ringplan/xxh3.hpp> (which users include)

template <class Hash = Xxh3, class NodeId = std::string>
class Ring {
    static_assert(detail::CheckedHashPolicy<Hash>::value || true);  // its messages, if any

public:
    using hash_policy = Hash;
    using node_id = NodeId;

    /// The most vnodes one ring holds (owners and positions are 32-bit indices).
    static constexpr std::size_t max_vnodes() noexcept { return 0xFFFFFFFFu; }

    Ring() = default;

    // ---- membership ------------------------------------------------------------------------

    /// Adds `id` with `vnodes` virtual nodes at derived tokens.
    /// Errors: duplicate_node, zero_vnodes, too_many_vnodes.
    void add_node(const NodeId& id, std::uint32_t vnodes) { add_nodes(&id, &id + 1, vnodes); }

    /// Adds every id in [first, last) with `vnodes` virtual nodes each, in one pass: building a
    /// ring this way costs one sort, not one merge per node. All or nothing.
    /// Errors: duplicate_node (a member, or repeated in the input), zero_vnodes, too_many_vnodes.
    template <class InputIt>
    void add_nodes(InputIt first, InputIt last, std::uint32_t vnodes);

    /// add_nodes over a container or an initializer list.
    template <class Range>
    void add_nodes(const Range& ids, std::uint32_t vnodes) {
        using std::begin;
        using std::end;
        add_nodes(begin(ids), end(ids), vnodes);
    }
    void add_nodes(std::initializer_list<NodeId> ids, std::uint32_t vnodes) {
        add_nodes(ids.begin(), ids.end(), vnodes);
    }

    /// Adds `id` with one vnode at each of `tokens` (Cassandra's initial_token; any order).
    /// Errors: duplicate_node, zero_vnodes (empty list), token_collision (a token repeated in
    /// the list or already held by a vnode of the ring), too_many_vnodes.
    void add_node_with_tokens(const NodeId& id, std::vector<Token> tokens) {
        std::pair<NodeId, std::vector<Token>> one(id, std::move(tokens));
        add_nodes_with_tokens(&one, &one + 1);
    }

    /// Adds many nodes with explicit tokens in one pass; each element of [first, last) is a
    /// pair (id, tokens). All or nothing. Errors: as add_node_with_tokens, and duplicate_node
    /// for an id listed twice.
    template <class InputIt>
    void add_nodes_with_tokens(InputIt first, InputIt last);

    // Functions that name a member take any id comparable with NodeId by operator< both ways
    // (heterogeneous lookup, as robin-map and unordered_dense do): std::string_view or a string
    // literal finds a std::string id without building one.

    /// Removes `id` and all its vnodes. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    void remove_node(const K& id);

    template <class K, class = detail::IdArg<NodeId, K>>
    bool contains(const K& id) const {
        return find(id) != npos;
    }
    bool empty() const noexcept { return tokens_.empty(); }
    std::size_t node_count() const noexcept { return nodes_.size(); }
    std::size_t vnode_count() const noexcept { return tokens_.size(); }

    /// The vnodes of one node. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::size_t vnode_count(const K& id) const {
        return nodes_[index_of(id)].vnodes;
    }

    /// The member ids in ascending order.
    [[nodiscard]] std::vector<NodeId> nodes() const;

    /// The node-table index of `id` (see node_at). Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    [[nodiscard]] std::size_t node_index(const K& id) const {
        return index_of(id);
    }

    /// Raises what add_node(id, vnodes) would raise, changing nothing: duplicate_node,
    /// zero_vnodes, too_many_vnodes. Plans of a join call it for the ring they never build.
    void check_addable(const NodeId& id, std::size_t vnodes) const {
        if (vnodes == 0) {
            detail::raise(Errc::zero_vnodes,
                          "node " + detail::describe(id) + " needs at least one vnode");
        }
        if (contains(id)) {
            detail::raise(Errc::duplicate_node,
                          "node " + detail::describe(id) + " is already in the ring");
        }
        check_capacity(vnodes);
    }

    /// Sorts `tokens` and raises what add_node_with_tokens(id, tokens) would raise, changing
    /// nothing else: duplicate_node, zero_vnodes, too_many_vnodes, token_collision.
    void check_tokens_addable(const NodeId& id, std::vector<Token>& tokens) const;

    /// The tokens node `id` gets with `vnodes` derived vnodes, ascending (docs/placement.md).
    [[nodiscard]] static std::vector<Token> derived_tokens(const NodeId& id, std::uint32_t vnodes);

    /// Bytes of heap the ring holds: the token and owner arrays, the lookup index and the node
    /// table (not memory a NodeId itself allocates, such as a long std::string's buffer).
    std::size_t memory_usage() const noexcept {
        std::size_t bytes = tokens_.capacity() * sizeof(Token) +
                            owners_.capacity() * sizeof(std::uint32_t) + index_.bytes() +
                            runs_.bytes() + nodes_.capacity() * sizeof(NodeEntry);
        for (const NodeEntry& e : nodes_) {
            bytes += e.explicit_tokens.capacity() * sizeof(Token);
        }
        return bytes;
    }

    /// The tokens of `id`'s vnodes, ascending. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::vector<Token> tokens_of(const K& id) const {
        return node_tokens(index_of(id));
    }

    /// The token ranges `id` owns: sorted, disjoint, adjacent ranges merged, none wrapping.
    /// Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::vector<TokenRange> ranges_of(const K& id) const;

    /// The share of the ring `id` owns, in [0, 1]. Errors: unknown_node.
    template <class K, class = detail::IdArg<NodeId, K>>
    double ownership(const K& id) const;

    /// The share of every member, by ascending id; the shares sum to 1.
    std::vector<std::pair<NodeId, double>> ownership() const;

    // ---- lookup ----------------------------------------------------------------------------

    /// The token a key hashes to under this ring's policy: key_token<Hash>(key).
    template <class Key>
    static Token key_token(const Key& key) {
        return ringplan::key_token<Hash>(key);
    }

    /// The node that owns `key`. Errors: empty_ring.
    /// The reference points into the ring: it dies with the next add or remove (copy the id to
    /// keep it). The same holds for owner_at, successor and successor_at.
    template <class Key>
    const NodeId& owner(const Key& key) const {
        return owner_at(key_token(key));
    }

    /// The node that owns token `t`: the node of the first vnode >= t, wrapping.
    /// Errors: empty_ring.
    const NodeId& owner_at(Token t) const {
        if (tokens_.empty()) {
            raise_empty();
        }
        return nodes_[index_.owner(tokens_.data(), owners_.data(), t)].id;
    }

    /// Batch lookup: out[i] = &owner_at(tokens[i]) for i < count. On rings that do not fit in
    /// cache it overlaps the memory accesses of many lookups (prefetching ahead, no branch that
    /// waits on memory), so it beats a loop of owner_at; on small rings it is that loop.
    /// Errors: empty_ring (if count > 0).
    void owners_at(const Token* tokens, std::size_t count, const NodeId** out) const;

    /// Batch lookup of keys: out[i] = &owner(keys[i]). Errors: empty_ring (if count > 0).
    template <class Key>
    void owners(const Key* keys, std::size_t count, const NodeId** out) const {
        constexpr std::size_t block = 256;
        Token tokens[block];
        for (std::size_t done = 0; done < count; done += block) {
            const std::size_t m = std::min(block, count - done);
            for (std::size_t i = 0; i < m; ++i) {
                tokens[i] = key_token(keys[done + i]);
            }
            owners_at(tokens, m, out + done);
        }
    }

    /// The first `rf` distinct nodes clockwise from the owner of `key`, owner first (Dynamo's
    /// preference list). Fewer when the ring has fewer than `rf` nodes.
    /// Errors: empty_ring.
    template <class Key>
    [[nodiscard]] std::vector<NodeId> replicas(const Key& key, Rf rf) const {
        return replicas_at(key_token(key), rf);
    }
    [[nodiscard]] std::vector<NodeId> replicas_at(Token t, Rf rf) const;

    /// replicas into caller storage, allocating nothing (for per-request paths): writes
    /// pointers to the replicas, owner first, to out[0..k) and returns k = min(rf, node_count()).
    /// `out` has room for rf.value() entries. The pointers die with the next add or remove.
    /// Errors: empty_ring.
    template <class Key>
    std::size_t replicas(const Key& key, Rf rf, const NodeId** out) const {
        return replicas_at(key_token(key), rf, out);
    }
    std::size_t replicas_at(Token t, Rf rf, const NodeId** out) const;

    /// The node of the next vnode clockwise, after the vnode that owns `key`, that belongs to a
    /// different physical node: where that vnode's range goes when its node leaves (rf = 1).
    /// Errors: empty_ring, no_successor (one node only).
    template <class Key>
    const NodeId& successor(const Key& key) const {
        return successor_at(key_token(key));
    }
    const NodeId& successor_at(Token t) const;

    // ---- vnodes: the sorted token array, for tools built on the ring -------------------------

    /// The index, in token order, of the vnode that owns `t`. Errors: empty_ring.
    std::size_t vnode_at(Token t) const {
        if (tokens_.empty()) {
            raise_empty();
        }
        const std::size_t i = index_.lower_bound(tokens_.data(), t);
        return i == tokens_.size() ? 0 : i;
    }
    /// Token and node of vnode `i`, 0 <= i < vnode_count(), in ascending token order.
    Token vnode_token(std::size_t i) const { return tokens_[i]; }
    const NodeId& vnode_node(std::size_t i) const { return nodes_[owners_[i]].id; }

    /// Node `index` of the node table (0 <= index < node_count(), ascending id order): the ids
    /// that vnode_owner() refers to.
    const NodeId& node_at(std::size_t index) const noexcept { return nodes_[index].id; }
    /// The node-table index of vnode `i`'s node.
    std::uint32_t vnode_owner(std::size_t i) const noexcept { return owners_[i]; }
    /// The sorted token array and the parallel owner array (node-table indices), each
    /// vnode_count() long: read-only views for tools built on the ring, valid until the next
    /// membership change.
    const Token* vnode_tokens() const noexcept { return tokens_.data(); }
    const std::uint32_t* vnode_owners() const noexcept { return owners_.data(); }
    /// The run of vnode i: the block of consecutive vnodes (in token order, not wrapping) that
    /// belong to its node. run_begin(i) is its first position, run_end(i) the one past its last.
    /// O(1) on rings whose nodes interleave, O(log vnodes) inside a long run.
    std::size_t run_begin(std::size_t i) const noexcept { return runs_.begin(owners_.data(), i); }
    std::size_t run_end(std::size_t i) const noexcept {
        return runs_.end(owners_.data(), owners_.size(), i);
    }

    /// Two rings are equal when they have the same members at the same tokens.
    friend bool operator==(const Ring& a, const Ring& b) {
        if (a.tokens_ != b.tokens_ || a.owners_ != b.owners_ ||
            a.nodes_.size() != b.nodes_.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.nodes_.size(); ++i) {
            if (!(a.nodes_[i].id == b.nodes_[i].id)) {
                return false;
            }
        }
        return true;
    }
    friend bool operator!=(const Ring& a, const Ring& b) { return !(a == b); }

private:
    struct NodeEntry {
        NodeId id;
        std::uint32_t vnodes = 0;
        // Empty for derived tokens (recomputed on demand); the sorted list for explicit ones.
        std::vector<Token> explicit_tokens;
    };
    // A vnode being inserted: its token and the index of its node in the new node table.
    struct NewVnode {
        Token token;
        std::uint32_t node;
        bool operator<(const NewVnode& o) const noexcept {
            return token != o.token ? token < o.token : node < o.node;
        }
    };

    static constexpr std::size_t npos = ~std::size_t{0};

    // The first position whose token is >= t (vnode_count() if none).
    std::size_t lower_bound(Token t) const noexcept {
        return tokens_.empty() ? 0 : index_.lower_bound(tokens_.data(), t);
    }
    template <class K>
    std::size_t find(const K& id) const;
    template <class K>
    std::size_t index_of(const K& id) const;
    std::vector<Token> node_tokens(std::size_t node) const;
    std::vector<std::size_t> node_positions(std::size_t node) const;
    void check_capacity(std::uint64_t extra) const;
    void commit_add(std::vector<NodeEntry> added, std::vector<NewVnode> vnodes);
    template <class Member, class Added>
    void for_each_merged(const std::vector<NodeEntry>& added, Member&& member, Added&& fresh) const;
    void merge_vnodes(const std::vector<std::uint32_t>& old_to_new,
                      const std::vector<NewVnode>& vnodes, std::vector<Token>& tokens,
                      std::vector<std::uint32_t>& owners) const;
    void sort_new_nodes(std::vector<NodeEntry>& added) const;
    void check_token_free(const NodeId& id, Token t) const;

    [[noreturn]] static void raise_empty() {
        detail::raise(Errc::empty_ring, "the ring has no nodes");
    }

    // Sorted by token, ties by owner index. Owner indices point into nodes_, which is sorted by
    // id, so ties are ordered by node id and the whole state is canonical for a membership.
    std::vector<Token> tokens_;
    std::vector<std::uint32_t> owners_;
    std::vector<NodeEntry> nodes_;
    // Derived from tokens_ and owners_ (rebuilt by every change); not part of the ring's value.
    detail::LookupIndex index_;
    detail::RunIndex runs_;
};

// ---- implementation ------------------------------------------------------------------------

template <class Hash, class NodeId>
template <class K>
std::size_t Ring<Hash, NodeId>::find(const K& key) const {
    const auto& id = detail::as_id<NodeId>(key);
    using Id = std::decay_t<decltype(id)>;
    auto it = std::lower_bound(nodes_.begin(), nodes_.end(), id,
                               [](const NodeEntry& e, const Id& v) { return e.id < v; });
    if (it == nodes_.end() || id < it->id) {
        return npos;
    }
    return static_cast<std::size_t>(it - nodes_.begin());
}

template <class Hash, class NodeId>
template <class K>
std::size_t Ring<Hash, NodeId>::index_of(const K& key) const {
    const std::size_t i = find(key);
    if (i == npos) {
        detail::raise(Errc::unknown_node, "node " + detail::describe(detail::as_id<NodeId>(key)) +
                                              " is not in the ring");
    }
    return i;
}

template <class Hash, class NodeId>
void Ring<Hash, NodeId>::check_capacity(std::uint64_t extra) const {
    if (extra > max_vnodes() - tokens_.size()) {
        detail::raise(Errc::too_many_vnodes,
                      "adding " + std::to_string(extra) + " vnodes to a ring of " +
                          std::to_string(tokens_.size()) + " exceeds the limit of " +
                          std::to_string(max_vnodes()));
    }
}

template <class Hash, class NodeId>
template <class InputIt>
void Ring<Hash, NodeId>::add_nodes(InputIt first, InputIt last, std::uint32_t vnodes) {
    std::vector<NodeEntry> added;
    for (; first != last; ++first) {
        added.push_back(NodeEntry{NodeId(*first), vnodes, {}});
    }
    if (added.empty()) {
        return;
    }
    if (vnodes == 0) {
        detail::raise(Errc::zero_vnodes,
                      "node " + detail::describe(added.front().id) + " needs at least one vnode");
    }
    sort_new_nodes(added);
    check_capacity(static_cast<std::uint64_t>(added.size()) * vnodes);

    std::vector<NewVnode> fresh;
    fresh.reserve(added.size() * vnodes);
    for (std::size_t n = 0; n < added.size(); ++n) {
        const auto b = detail::bytes_of(added[n].id);
        detail::VnodeTokens<Hash> derive(b.data(), b.size());
        for (std::uint32_t v = 0; v < vnodes; ++v) {
            fresh.push_back(NewVnode{derive(v), static_cast<std::uint32_t>(n)});
        }
    }
    commit_add(std::move(added), std::move(fresh));
}

template <class Hash, class NodeId>
template <class InputIt>
void Ring<Hash, NodeId>::add_nodes_with_tokens(InputIt first, InputIt last) {
    std::vector<NodeEntry> added;
    for (; first != last; ++first) {
        const auto& [id, tokens] = *first;
        if (tokens.empty()) {
            detail::raise(Errc::zero_vnodes,
                          "node " + detail::describe(id) + " needs at least one token");
        }
        std::vector<Token> sorted(tokens.begin(), tokens.end());
        std::sort(sorted.begin(), sorted.end());
        added.push_back(NodeEntry{id, 0, std::move(sorted)});
    }
    if (added.empty()) {
        return;
    }
    sort_new_nodes(added);
    std::uint64_t total = 0;
    for (const NodeEntry& e : added) {
        total += e.explicit_tokens.size();
    }
    check_capacity(total);
    std::vector<NewVnode> fresh;
    fresh.reserve(static_cast<std::size_t>(total));
    for (std::size_t n = 0; n < added.size(); ++n) {
        added[n].vnodes = static_cast<std::uint32_t>(added[n].explicit_tokens.size());
        for (Token t : added[n].explicit_tokens) {
            fresh.push_back(NewVnode{t, static_cast<std::uint32_t>(n)});
        }
    }
    std::sort(fresh.begin(), fresh.end());
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        const NodeId& id = added[fresh[i].node].id;
        if (i > 0 && fresh[i - 1].token == fresh[i].token) {
            const NodeId& other = added[fresh[i - 1].node].id;
            std::string what = "token " + detail::describe_token<Hash>(fresh[i].token);
            if (other == id) {
                what += " is listed twice for node " + detail::describe(id);
            } else {
                what += " is listed for both node " + detail::describe(other);
                what += " and node " + detail::describe(id);
            }
            detail::raise(Errc::token_collision, what);
        }
        check_token_free(id, fresh[i].token);
    }
    commit_add(std::move(added), std::move(fresh));
}

// Merges validated new nodes (sorted by id, disjoint from the members) and their vnodes (owner =
// index into `added`) into the ring. Everything that can throw happens before the first change
// to *this, so a failure leaves the ring as it was (strong guarantee).
template <class Hash, class NodeId>
void Ring<Hash, NodeId>::commit_add(std::vector<NodeEntry> added, std::vector<NewVnode> vnodes) {
    // Where each old and each new node lands in the merged node table.
    std::vector<std::uint32_t> old_to_new(nodes_.size());
    std::vector<std::uint32_t> added_to_new(added.size());
    std::uint32_t k = 0;
    for_each_merged(
        added, [&](std::size_t i) { old_to_new[i] = k++; },
        [&](std::size_t j) { added_to_new[j] = k++; });
    for (NewVnode& v : vnodes) {
        v.node = added_to_new[v.node];
    }
    detail::sort_vnodes(vnodes);

    std::vector<Token> tokens;
    std::vector<std::uint32_t> owners;
    merge_vnodes(old_to_new, vnodes, tokens, owners);
    detail::LookupIndex index;
    index.build(tokens, owners);
    detail::RunIndex runs;
    runs.build(owners.data(), owners.size());

    std::vector<NodeEntry> table;
    table.reserve(nodes_.size() + added.size());
    constexpr bool can_move = std::is_nothrow_move_constructible<NodeEntry>::value;
    if constexpr (!can_move) {
        // Copies can throw: build the whole table now, before anything changes.
        for_each_merged(
            added, [&](std::size_t i) { table.push_back(nodes_[i]); },
            [&](std::size_t j) { table.push_back(added[j]); });
    }
    // From here on nothing throws (the table has its capacity; moves are noexcept).
    if constexpr (can_move) {
        for_each_merged(
            added, [&](std::size_t i) { table.push_back(std::move(nodes_[i])); },
            [&](std::size_t j) { table.push_back(std::move(added[j])); });
    }
    nodes_.swap(table);
    tokens_.swap(tokens);
    owners_.swap(owners);
    index_.swap(index);
    runs_.swap(runs);
}

// Visits the members and `added` (both sorted by id, disjoint) in merged id order: member(i) for
// nodes_[i], fresh(j) for added[j]. It compares only entries not yet visited, so the visitors
// may move from what they visit.
template <class Hash, class NodeId>
template <class Member, class Added>
void Ring<Hash, NodeId>::for_each_merged(const std::vector<NodeEntry>& added, Member&& member,
                                         Added&& fresh) const {
    std::size_t i = 0, j = 0;
    while (i < nodes_.size() || j < added.size()) {
        if (j == added.size() || (i < nodes_.size() && nodes_[i].id < added[j].id)) {
            member(i++);
        } else {
            fresh(j++);
        }
    }
}

// The token and owner arrays of the grown ring: one merge of the old vnodes (owners renumbered
// by old_to_new) with the new ones (sorted, owners already in the new numbering), ties by owner.
template <class Hash, class NodeId>
void Ring<Hash, NodeId>::merge_vnodes(const std::vector<std::uint32_t>& old_to_new,
                                      const std::vector<NewVnode>& vnodes,
                                      std::vector<Token>& tokens,
                                      std::vector<std::uint32_t>& owners) const {
    detail::resize_for_lookups(tokens, tokens_.size() + vnodes.size());
    detail::resize_for_lookups(owners, tokens.size());
    std::size_t i = 0, j = 0, k = 0;
    while (i < tokens_.size() || j < vnodes.size()) {
        const bool take_old =
            j == vnodes.size() ||
            (i < tokens_.size() &&
             (tokens_[i] != vnodes[j].token ? tokens_[i] < vnodes[j].token
                                            : old_to_new[owners_[i]] < vnodes[j].node));
        if (take_old) {
            tokens[k] = tokens_[i];
            owners[k] = old_to_new[owners_[i]];
            ++i;
        } else {
            tokens[k] = vnodes[j].token;
            owners[k] = vnodes[j].node;
            ++j;
        }
        ++k;
    }
}

// Sorts nodes about to be added by id; raises duplicate_node for one listed twice or already a
// member (one message for both add paths).
template <class Hash, class NodeId>
void Ring<Hash, NodeId>::sort_new_nodes(std::vector<NodeEntry>& added) const {
    std::sort(added.begin(), added.end(),
              [](const NodeEntry& a, const NodeEntry& b) { return a.id < b.id; });
    for (std::size_t i = 0; i < added.size(); ++i) {
        if (i > 0 && !(added[i - 1].id < added[i].id)) {
            detail::raise(Errc::duplicate_node,
                          "node " + detail::describe(added[i].id) + " is listed twice");
        }
        if (contains(added[i].id)) {
            detail::raise(Errc::duplicate_node,
                          "node " + detail::describe(added[i].id) + " is already in the ring");
        }
    }
}

template <class Hash, class NodeId>
void Ring<Hash, NodeId>::check_token_free(const NodeId& id, Token t) const {
    const std::size_t at = lower_bound(t);
    if (at < tokens_.size() && tokens_[at] == t) {
        std::string what = "token " + detail::describe_token<Hash>(t);
        what += " of node " + detail::describe(id);
        what += " is already held by node " + detail::describe(nodes_[owners_[at]].id);
        detail::raise(Errc::token_collision, what);
    }
}

template <class Hash, class NodeId>
void Ring<Hash, NodeId>::check_tokens_addable(const NodeId& id, std::vector<Token>& tokens) const {
    if (tokens.empty()) {
        detail::raise(Errc::zero_vnodes,
                      "node " + detail::describe(id) + " needs at least one token");
    }
    if (contains(id)) {
        detail::raise(Errc::duplicate_node,
                      "node " + detail::describe(id) + " is already in the ring");
    }
    check_capacity(tokens.size());
    std::sort(tokens.begin(), tokens.end());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0 && tokens[i] == tokens[i - 1]) {
            std::string what = "token " + detail::describe_token<Hash>(tokens[i]);
            what += " is listed twice for node " + detail::describe(id);
            detail::raise(Errc::token_collision, what);
        }
        check_token_free(id, tokens[i]);
    }
}

template <class Hash, class NodeId>
std::vector<Token> Ring<Hash, NodeId>::derived_tokens(const NodeId& id, std::uint32_t vnodes) {
    std::vector<Token> out(vnodes);
    const auto b = detail::bytes_of(id);
    detail::VnodeTokens<Hash> derive(b.data(), b.size());
    for (std::uint32_t v = 0; v < vnodes; ++v) {
        out[v] = derive(v);
    }
    std::sort(out.begin(), out.end());
    return out;
}

template <class Hash, class NodeId>
template <class K, class>
void Ring<Hash, NodeId>::remove_node(const K& id) {
    const std::size_t gone = index_of(id);
    const std::size_t keep = tokens_.size() - nodes_[gone].vnodes;
    std::vector<Token> tokens;
    std::vector<std::uint32_t> owners;
    detail::reserve_for_lookups(tokens, keep);
    detail::reserve_for_lookups(owners, keep);
    std::vector<NodeEntry> table;
    table.reserve(nodes_.size() - 1);
    if constexpr (!std::is_nothrow_move_constructible<NodeEntry>::value) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (i != gone) {
                table.push_back(nodes_[i]);
            }
        }
    }
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        const std::uint32_t o = owners_[i];
        if (o != gone) {
            tokens.push_back(tokens_[i]);
            owners.push_back(o > gone ? o - 1 : o);
        }
    }
    detail::LookupIndex index;
    index.build(tokens, owners);
    detail::RunIndex runs;
    runs.build(owners.data(), owners.size());
    // From here on nothing throws (the vectors have their capacity).
    if constexpr (std::is_nothrow_move_constructible<NodeEntry>::value) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (i != gone) {
                table.push_back(std::move(nodes_[i]));
            }
        }
    }
    nodes_.swap(table);
    tokens_.swap(tokens);
    owners_.swap(owners);
    index_.swap(index);
    runs_.swap(runs);
}

template <class Hash, class NodeId>
std::vector<NodeId> Ring<Hash, NodeId>::nodes() const {
    std::vector<NodeId> out;
    out.reserve(nodes_.size());
    for (const NodeEntry& e : nodes_) {
        out.push_back(e.id);
    }
    return out;
}

template <class Hash, class NodeId>
std::vector<Token> Ring<Hash, NodeId>::node_tokens(std::size_t node) const {
    const NodeEntry& e = nodes_[node];
    if (!e.explicit_tokens.empty()) {
        return e.explicit_tokens;
    }
    return derived_tokens(e.id, e.vnodes);
}

// The positions of a node's vnodes in the token array, ascending: one binary search per vnode,
// so the cost follows the node's vnode count, not the ring's size.
template <class Hash, class NodeId>
std::vector<std::size_t> Ring<Hash, NodeId>::node_positions(std::size_t node) const {
    const std::vector<Token> mine = node_tokens(node);
    std::vector<std::size_t> out;
    out.reserve(mine.size());
    for (std::size_t k = 0; k < mine.size();) {
        // A node may hold the same token more than once (a derived collision); each copy is one
        // vnode among the equal tokens.
        std::size_t copies = 1;
        while (k + copies < mine.size() && mine[k + copies] == mine[k]) {
            ++copies;
        }
        for (std::size_t i = lower_bound(mine[k]); copies > 0; ++i) {
            if (owners_[i] == node) {
                out.push_back(i);
                --copies;
                ++k;
            }
        }
    }
    return out;
}

template <class Hash, class NodeId>
template <class K, class>
std::vector<TokenRange> Ring<Hash, NodeId>::ranges_of(const K& id) const {
    const std::size_t node = index_of(id);
    const std::size_t n = tokens_.size();
    std::vector<TokenRange> ranges;
    for (std::size_t i : node_positions(node)) {
        if (i > 0) {
            if (tokens_[i - 1] < tokens_[i]) {
                ranges.push_back(TokenRange{tokens_[i - 1] + 1, tokens_[i]});
            }
        } else if (tokens_[0] == tokens_[n - 1]) {
            // Every vnode sits on one token: the first of them owns the whole ring.
            ranges.push_back(TokenRange{0, max_token});
        } else {
            ranges.push_back(TokenRange{0, tokens_[0]});
            if (tokens_[n - 1] != max_token) {
                ranges.push_back(TokenRange{tokens_[n - 1] + 1, max_token});
            }
        }
    }
    std::sort(ranges.begin(), ranges.end());
    std::vector<TokenRange> merged;
    for (const TokenRange& r : ranges) {
        if (!merged.empty() && merged.back().last != max_token &&
            merged.back().last + 1 == r.first) {
            merged.back().last = r.last;
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

template <class Hash, class NodeId>
template <class K, class>
double Ring<Hash, NodeId>::ownership(const K& id) const {
    double total = 0;
    for (const TokenRange& r : ranges_of(id)) {
        total += r.fraction();
    }
    return total;
}

template <class Hash, class NodeId>
std::vector<std::pair<NodeId, double>> Ring<Hash, NodeId>::ownership() const {
    std::vector<double> share(nodes_.size(), 0.0);
    const std::size_t n = tokens_.size();
    for (std::size_t i = 0; i < n; ++i) {
        // Unsigned subtraction wraps, which is exactly the wrap-around of vnode 0's range.
        const Token width = tokens_[i] - tokens_[i == 0 ? n - 1 : i - 1];
        if (i == 0 && width == 0) {
            share[owners_[0]] += 1.0;  // all vnodes on one token: the first owns everything
        } else {
            share[owners_[i]] += static_cast<double>(width) / detail::token_space;
        }
    }
    std::vector<std::pair<NodeId, double>> out;
    out.reserve(nodes_.size());
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
        out.emplace_back(nodes_[k].id, share[k]);
    }
    return out;
}

template <class Hash, class NodeId>
void Ring<Hash, NodeId>::owners_at(const Token* tokens, std::size_t count,
                                   const NodeId** out) const {
    if (count == 0) {
        return;
    }
    if (tokens_.empty()) {
        raise_empty();
    }
    index_.owners(tokens_.data(), owners_.data(), tokens, count,
                  [&](std::size_t i, std::uint32_t o) { out[i] = &nodes_[o].id; });
}

template <class Hash, class NodeId>
std::vector<NodeId> Ring<Hash, NodeId>::replicas_at(Token t, Rf rf) const {
    // The usual rf fits on the stack: the result is then the only allocation.
    constexpr std::size_t on_stack = 16;
    const std::size_t want = std::min(rf.value(), nodes_.size());
    const NodeId* small[on_stack];
    std::vector<const NodeId*> large(want > on_stack ? want : 0);
    const NodeId** found = want > on_stack ? large.data() : small;
    const std::size_t count = replicas_at(t, rf, found);
    std::vector<NodeId> out;
    out.reserve(count);
    for (std::size_t k = 0; k < count; ++k) {
        out.push_back(*found[k]);
    }
    return out;
}

template <class Hash, class NodeId>
std::size_t Ring<Hash, NodeId>::replicas_at(Token t, Rf rf, const NodeId** out) const {
    const std::size_t start = vnode_at(t);
    const std::size_t want = std::min(rf.value(), nodes_.size());
    const std::size_t n = tokens_.size();
    std::size_t count = 0;
    // Run by run: a run is one node, so a walk costs the runs it crosses (docs/design.md, "cost").
    // What is written so far is the "seen" set: at most rf entries, no allocation.
    std::size_t i = start;
    for (std::size_t covered = 0; covered < n && count < want;) {
        const NodeId* node = &nodes_[owners_[i]].id;
        if (std::find(out, out + count, node) == out + count) {
            out[count++] = node;
        }
        const std::size_t end = run_end(i);
        covered += end - i;
        i = end == n ? 0 : end;
    }
    return count;
}

template <class Hash, class NodeId>
const NodeId& Ring<Hash, NodeId>::successor_at(Token t) const {
    const std::size_t start = vnode_at(t);
    if (nodes_.size() < 2) {
        detail::raise(Errc::no_successor, "node " + detail::describe(nodes_[0].id) +
                                              " is the only node; it has no successor");
    }
    // The run of the owner ends at the next vnode of a different node, unless it reaches the
    // top of the array: then the ring wraps, and the first run may be the owner's too.
    const std::size_t n = tokens_.size();
    std::size_t i = run_end(start);
    if (i == n) {
        i = owners_[0] != owners_[start] ? 0 : run_end(0);
    }
    return nodes_[owners_[i]].id;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_RING_HPP
