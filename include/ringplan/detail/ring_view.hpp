// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The read-only view of a ring that plans and handoff share: its vnodes as a cyclic sequence,
// optionally with one node hidden (the ring after a departure) or one node's tokens added (the
// ring after a join), walked run by run; and the ring rules every planner needs once: replica
// lists (the first rf distinct nodes clockwise), segments and their token ranges.
// Users never name anything here.
#ifndef RINGPLAN_DETAIL_RING_VIEW_HPP
#define RINGPLAN_DETAIL_RING_VIEW_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/error.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

constexpr std::uint32_t no_node = 0xFFFFFFFFu;

/// The ranges of the segment (lo, hi] of a ring: `first` says it is the segment of the ring's
/// first vnode, which wraps around the top of the token space (split in two: ranges never
/// wrap); `whole` that it is the whole ring (every vnode on one token).
template <class F>
void for_each_range(Token lo, Token hi, bool first, bool whole, F&& f) {
    if (whole) {
        f(TokenRange{0, max_token});
    } else if (first) {
        f(TokenRange{0, hi});
        if (lo != max_token) {
            f(TokenRange{lo + 1, max_token});
        }
    } else if (lo < hi) {
        f(TokenRange{lo + 1, hi});
    }
}

/// Sorts ranges and merges those that overlap or touch.
inline void sort_merge_ranges(std::vector<TokenRange>& ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::size_t out = 0;
    for (std::size_t k = 0; k < ranges.size(); ++k) {
        const TokenRange& r = ranges[k];
        if (out > 0 && ranges[out - 1].last != max_token && ranges[out - 1].last + 1 >= r.first) {
            ranges[out - 1].last = std::max(ranges[out - 1].last, r.last);
        } else {
            ranges[out++] = r;
        }
    }
    ranges.resize(out);
}

/// The first `capacity` distinct nodes of a walk, in walk order, kept while the walk's start
/// moves counterclockwise: the list from vnode p is the list from p's successor with p's node
/// put in front (and the last one dropped if that makes one too many). So a backward sweep gets
/// every vnode's replica list for O(rf) each, whatever the ring's shape.
class DistinctList {
public:
    explicit DistinctList(std::size_t capacity = 0) : capacity_(capacity) {}

    void reset(std::size_t capacity) {
        capacity_ = capacity;
        nodes_.clear();
    }
    /// Appends a node met further clockwise (building the list by a forward walk).
    bool push_back(std::uint32_t n) {
        if (nodes_.size() == capacity_ || contains(n)) {
            return false;
        }
        nodes_.push_back(n);
        return true;
    }
    /// Puts the node of the vnode counterclockwise of the current start in front.
    void push_front(std::uint32_t n) {
        if (capacity_ == 0) {
            return;
        }
        auto it = std::find(nodes_.begin(), nodes_.end(), n);
        if (it == nodes_.end()) {
            if (nodes_.size() < capacity_) {
                nodes_.push_back(n);
            }
            it = nodes_.end() - 1;
        }
        std::rotate(nodes_.begin(), it, it + 1);
        nodes_.front() = n;
    }
    bool contains(std::uint32_t n) const {
        return std::find(nodes_.begin(), nodes_.end(), n) != nodes_.end();
    }
    bool full() const noexcept { return nodes_.size() == capacity_; }
    const std::vector<std::uint32_t>& nodes() const noexcept { return nodes_; }

private:
    std::size_t capacity_;
    std::vector<std::uint32_t> nodes_;
};

/// A ring's vnodes as the cyclic sequence of (token, node) in (token, node) order, where node is
/// an index into a node table that may be shared by two rings (sorted by id, so index order is
/// id order). The view can hide one node's vnodes (the ring after a departure) and add one
/// node's tokens (the ring after a join) without copying the ring. Every step that crosses
/// vnodes of one node crosses their whole run at once (RunIndex), so walks cost the runs they
/// cross.
struct RingView {
    const Token* tokens = nullptr;
    const std::uint32_t* owners = nullptr;  // ring-local node indices
    const std::uint32_t* remap = nullptr;   // ring-local index -> shared index; null: identity
    std::size_t base_size = 0;
    std::size_t node_count = 0;  // distinct nodes in the view
    std::uint32_t hidden = no_node;
    std::size_t hidden_count = 0;
    const Token* extra = nullptr;  // sorted tokens of one added node
    std::size_t extra_size = 0;
    std::uint32_t extra_node = no_node;
    // run_begin(i) and run_end(i) of the base ring.
    std::size_t (*run_begin_fn)(const void*, std::size_t) = nullptr;
    std::size_t (*run_end_fn)(const void*, std::size_t) = nullptr;
    const void* ring = nullptr;

    /// A position: base[i] and extra[j] are the next candidates; the current vnode is the
    /// smaller of the two. Normalized positions never point at a hidden vnode. end() (both
    /// exhausted) stands for the position after the last vnode, which wraps to first().
    struct Pos {
        std::size_t i = 0;
        std::size_t j = 0;
        bool operator==(const Pos& o) const noexcept { return i == o.i && j == o.j; }
        bool operator!=(const Pos& o) const noexcept { return !(*this == o); }
    };

    std::size_t size() const noexcept { return base_size - hidden_count + extra_size; }
    std::uint32_t base_node(std::size_t i) const noexcept {
        return remap != nullptr ? remap[owners[i]] : owners[i];
    }
    std::size_t base_run_begin(std::size_t i) const noexcept { return run_begin_fn(ring, i); }
    std::size_t base_run_end(std::size_t i) const noexcept { return run_end_fn(ring, i); }

    // Whether base vnode i comes before extra vnode j in (token, node) order.
    bool base_first(std::size_t i, std::size_t j) const noexcept {
        return tokens[i] != extra[j] ? tokens[i] < extra[j] : base_node(i) < extra_node;
    }
    // Whether the current vnode of a normalized position comes from the extra tokens.
    bool from_extra(const Pos& p) const noexcept {
        if (p.j == extra_size) {
            return false;
        }
        return p.i == base_size || !base_first(p.i, p.j);
    }
    Token token(const Pos& p) const noexcept { return from_extra(p) ? extra[p.j] : tokens[p.i]; }
    std::uint32_t node(const Pos& p) const noexcept {
        return from_extra(p) ? extra_node : base_node(p.i);
    }
    Pos end() const noexcept { return Pos{base_size, extra_size}; }

    // Skips hidden vnodes forward (a hidden node's run at once).
    std::size_t skip_hidden(std::size_t i) const noexcept {
        while (i < base_size && base_node(i) == hidden) {
            i = base_run_end(i);
        }
        return i;
    }
    Pos normalize(Pos p) const noexcept { return Pos{skip_hidden(p.i), p.j}; }
    Pos first() const noexcept { return normalize(Pos{0, 0}); }
    // The position after p, or end().
    Pos next(Pos p) const noexcept {
        if (from_extra(p)) {
            ++p.j;
        } else {
            ++p.i;
        }
        return normalize(p);
    }

    /// The vnode that owns token t: the first vnode >= t (end() if none: it wraps to first()).
    Pos locate(Token t) const noexcept {
        const auto i =
            static_cast<std::size_t>(std::lower_bound(tokens, tokens + base_size, t) - tokens);
        const auto j =
            static_cast<std::size_t>(std::lower_bound(extra, extra + extra_size, t) - extra);
        return normalize(Pos{i, j});
    }
    /// locate, wrapping end() to first().
    Pos owner_pos(Token t) const noexcept {
        const Pos p = locate(t);
        return p == end() ? first() : p;
    }

    /// The position just past the run of p's node that starts at p, not wrapping: the next
    /// vnode (skipping hidden ones) of another node, or end().
    Pos run_after(Pos p) const noexcept {
        if (from_extra(p)) {
            do {
                ++p.j;
            } while (p.j < extra_size && (p.i == base_size || !base_first(p.i, p.j)));
            return normalize(p);
        }
        const std::uint32_t n = base_node(p.i);
        for (;;) {
            std::size_t e = base_run_end(p.i);
            if (p.j < extra_size) {
                // The extra vnode j cuts the run where it comes in.
                const Token x = extra[p.j];
                std::size_t k = static_cast<std::size_t>(
                    std::upper_bound(tokens + p.i, tokens + e, x) - tokens);
                while (k > p.i && tokens[k - 1] == x && !(n < extra_node)) {
                    --k;  // equal tokens: the smaller node first
                }
                e = std::min(e, k);
            }
            p = normalize(Pos{e, p.j});
            // After a hidden run the same node may go on.
            if (p.i == e || p.i == base_size || base_node(p.i) != n ||
                (p.j < extra_size && !base_first(p.i, p.j))) {
                return p;
            }
        }
    }

    /// The token of the vnode before p, wrapping (p normalized, the view not empty).
    Token token_before(Pos p) const noexcept {
        std::size_t i = p.i;
        while (i > 0 && base_node(i - 1) == hidden) {
            i = base_run_begin(i - 1);
        }
        if (i == 0 && p.j == 0) {
            p = end();  // before the first vnode: the last one
            i = p.i;
            while (i > 0 && base_node(i - 1) == hidden) {
                i = base_run_begin(i - 1);
            }
        }
        if (i == 0) {
            return extra[p.j - 1];
        }
        if (p.j == 0) {
            return tokens[i - 1];
        }
        return std::max(tokens[i - 1], extra[p.j - 1]);
    }

    /// The start of the run that ends just before p, not reaching before `floor` (a position
    /// before p): the first of the consecutive vnodes of one node before p. Its node goes to
    /// `node_out`; no_node (and floor) when nothing lies between.
    Pos run_before(Pos p, Pos floor, std::uint32_t& node_out) const noexcept {
        // The vnode before p: the later of base p.i - 1 (skipping hidden) and extra p.j - 1.
        std::size_t i = p.i;
        while (i > floor.i && base_node(i - 1) == hidden) {
            i = std::max(floor.i, base_run_begin(i - 1));
        }
        const bool have_base = i > floor.i;
        const bool have_extra = p.j > floor.j;
        if (!have_base && !have_extra) {
            node_out = no_node;
            return floor;
        }
        const bool take_base = have_base && (!have_extra || !base_first(i - 1, p.j - 1));
        if (!take_base) {
            // A run of extra vnodes: back while each comes after base i - 1.
            std::size_t j = p.j - 1;
            while (j > floor.j && (i == floor.i || base_first(i - 1, j - 1))) {
                --j;
            }
            node_out = extra_node;
            return Pos{i, j};
        }
        const std::uint32_t n = base_node(i - 1);
        std::size_t b = std::max(floor.i, base_run_begin(i - 1));
        if (p.j > floor.j) {
            // Base vnodes before the extra vnode p.j - 1 belong to another run.
            const Token x = extra[p.j - 1];
            auto k =
                static_cast<std::size_t>(std::lower_bound(tokens + b, tokens + i - 1, x) - tokens);
            while (k < i - 1 && tokens[k] == x && n < extra_node) {
                ++k;  // equal tokens: the smaller node first
            }
            b = std::max(b, k);
        }
        node_out = n;
        return Pos{b, p.j};
    }

    /// The first `want` distinct nodes clockwise from p (Dynamo's preference list), into out.
    /// Stops when it has them, or has seen every vnode.
    void replicas(Pos p, std::size_t want, DistinctList& out) const {
        out.reset(std::min(want, node_count));
        if (size() == 0) {
            return;
        }
        if (p == end()) {
            p = first();
        }
        const Pos start = p;
        bool wrapped = false;
        while (!out.full()) {
            out.push_back(node(p));
            p = run_after(p);
            if (p == end()) {
                if (wrapped) {
                    break;
                }
                wrapped = true;
                p = first();
            }
            if (wrapped && !(p.i < start.i || p.j < start.j)) {
                break;  // back at (or past) the start: every vnode seen
            }
        }
    }

    /// Moves the start of a backward sweep from `from` back to `to`, putting the nodes of the
    /// vnodes crossed in front of `list`, run by run. `to` precedes `from` going back, possibly
    /// across the wrap (then the sweep crosses the top of the ring).
    void sweep_back(Pos from, Pos to, DistinctList& list) const {
        if (from == to) {
            return;
        }
        const bool wraps = !(to.i <= from.i && to.j <= from.j);
        if (wraps) {
            sweep_back(from, Pos{0, 0}, list);
            from = end();
        }
        std::uint32_t n = no_node;
        while (!(from.i <= to.i && from.j <= to.j)) {
            from = run_before(from, to, n);
            if (n == no_node) {
                break;
            }
            list.push_front(n);
        }
    }
};

/// A view of a ring's own vnodes, with the ring's node indices.
template <class R>
RingView view_of(const R& ring, const std::uint32_t* remap = nullptr) {
    RingView v;
    v.tokens = ring.vnode_tokens();
    v.owners = ring.vnode_owners();
    v.remap = remap;
    v.base_size = ring.vnode_count();
    v.node_count = ring.node_count();
    v.ring = &ring;
    v.run_begin_fn = [](const void* r, std::size_t i) {
        return static_cast<const R*>(r)->run_begin(i);
    };
    v.run_end_fn = [](const void* r, std::size_t i) {
        return static_cast<const R*>(r)->run_end(i);
    };
    return v;
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_RING_VIEW_HPP
