// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The engine of project.hpp: an index over a plan's moves that finds the moves covering a token
// in O(1), and a radix sort of the keys that move. Users never name anything here.
#ifndef RINGPLAN_DETAIL_PROJECTION_HPP
#define RINGPLAN_DETAIL_PROJECTION_HPP

#include <ringplan/detail/ring_view.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// One key that moves: its index in the input, its token, and the move that carries it.
struct KeyMove {
    std::size_t index;  ///< position of the key in the input
    Token token;        ///< the key's token
    std::size_t move;   ///< index into the plan's moves: plan.moves[move].from and .to

    friend bool operator==(const KeyMove& a, const KeyMove& b) noexcept {
        return a.index == b.index && a.token == b.token && a.move == b.move;
    }
    friend bool operator!=(const KeyMove& a, const KeyMove& b) noexcept { return !(a == b); }
};

namespace detail {

// The points where a set of token ranges start, and the points just past their ends, sorted
// and distinct. They cut the token space into elementary intervals, each inside or outside
// every range: interval j (1 <= j <= size) is [cut j-1, cut j - 1], or up to max_token for
// the last; interval 0 lies before the first cut.
template <class RangeAt>
std::vector<Token> cut_points(std::size_t count, RangeAt range_at) {
    std::vector<Token> cuts;
    cuts.reserve(2 * count);
    for (std::size_t i = 0; i < count; ++i) {
        const TokenRange& r = range_at(i);
        cuts.push_back(r.first);
        if (r.last != max_token) {
            cuts.push_back(r.last + 1);
        }
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    return cuts;
}

// The elementary intervals [first, last] a range covers; first <= last.
inline std::pair<std::size_t, std::size_t> interval_span(const std::vector<Token>& cuts,
                                                         const TokenRange& r) {
    const auto after = [&](Token t) {
        return static_cast<std::size_t>(std::upper_bound(cuts.begin(), cuts.end(), t) -
                                        cuts.begin());
    };
    return {after(r.first), r.last == max_token ? cuts.size() : after(r.last + 1) - 1};
}

// Finds the interval of a token (the number of cuts <= it) in O(1): a table over the token's
// top bits gives the first cut of its bucket, with buckets fine enough that none holds more
// than `width` cuts. The cuts of a bucket are then counted without branches: which of them a
// random token passes is unpredictable, and mispredicted branches would cost more than the
// whole lookup. Index is the integer type of the table (32 bits keeps a realistic plan's table
// in L1). Buckets still crowded at 16 buckets per cut (cuts bunched, not hash-placed) are
// binary-searched instead.
template <class Index>
class CutIndex {
public:
    static constexpr std::size_t width = 4;  // locate reads exactly 4 cuts

    explicit CutIndex(std::vector<Token> cuts) : cuts_(std::move(cuts)), size_(cuts_.size()) {
        unsigned bits = 1;
        while (bits < 24 && (std::size_t{1} << bits) < 2 * size_) {
            ++bits;
        }
        const unsigned most_bits = std::min(24u, bits + 3);
        for (;; ++bits) {
            build(bits);
            std::size_t most = 0;
            for (std::size_t b = 0; b + 1 < first_.size(); ++b) {
                most = std::max(most, static_cast<std::size_t>(first_[b + 1] - first_[b]));
            }
            if (most <= width || bits >= most_bits) {
                break;
            }
        }
        // Room for the fixed-width reads past the last cut.
        cuts_.resize(size_ + width, max_token);
    }

    std::size_t size() const noexcept { return size_; }
    const Token* cuts() const noexcept { return cuts_.data(); }

    std::size_t locate(Token t) const noexcept {
        const auto b = static_cast<std::size_t>(t >> shift_);
        const std::size_t first = first_[b];
        const std::size_t end = first_[b + 1];
        const Token* c = cuts_.data() + first;
        if (end - first > width) {
            return static_cast<std::size_t>(std::upper_bound(c, cuts_.data() + end, t) -
                                            cuts_.data());
        }
        // Cuts past the bucket exceed t, except the padding when t is max_token: hence min.
        // Written out: GCC keeps the loop form as a loop, which is slower.
        const auto le = [&](std::size_t k) { return static_cast<std::size_t>(c[k] <= t); };
        return std::min(first + (le(0) + le(1)) + (le(2) + le(3)), end);
    }

private:
    void build(unsigned bits) {
        shift_ = 64 - bits;
        const std::size_t buckets = std::size_t{1} << bits;
        first_.assign(buckets + 1, 0);
        std::size_t j = 0;
        for (std::size_t b = 0; b < buckets; ++b) {
            while (j < size_ && (cuts_[j] >> shift_) < b) {
                ++j;
            }
            first_[b] = static_cast<Index>(j);
        }
        first_[buckets] = static_cast<Index>(size_);
    }

    std::vector<Token> cuts_;  // sorted, then `width` copies of max_token
    std::size_t size_;
    std::vector<Index> first_;  // first_[b]: the first cut in bucket b
    unsigned shift_ = 63;
};

// For each elementary interval of a plan's moves, the moves covering it, in (from, to) order:
// moves of a general plan may overlap (with rf > 1, or a user-built plan).
template <class Index>
struct MoveCover {
    CutIndex<Index> index;
    std::vector<Index> begin;     // interval j's moves are list[begin[j], begin[j + 1])
    std::vector<Index> list;      // indices into the plan's moves
    double covered_fraction = 0;  // of the token space, by at least one move

    std::size_t count(std::size_t j) const noexcept {
        return static_cast<std::size_t>(begin[j + 1] - begin[j]);
    }
};

// The cuts of a plan's moves, and for each move the intervals it covers.
struct CoverInput {
    std::vector<Token> cuts;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::size_t covered = 0;  // entries of all cover lists

    // Whether 32-bit tables hold it (always, short of a plan of billions of moves).
    bool fits_32_bits() const noexcept {
        return std::max(std::max(cuts.size() + 2, covered), spans.size()) < 0xFFFFFFFFu;
    }
};

template <class NodeId>
CoverInput cover_input(const std::vector<Move<NodeId>>& moves) {
    CoverInput in;
    in.cuts = cut_points(moves.size(),
                         [&](std::size_t i) -> const TokenRange& { return moves[i].range; });
    in.spans.resize(moves.size());
    for (std::size_t i = 0; i < moves.size(); ++i) {
        in.spans[i] = interval_span(in.cuts, moves[i].range);
        in.covered += in.spans[i].second - in.spans[i].first + 1;
    }
    return in;
}

template <class Index, class NodeId>
MoveCover<Index> move_cover(const std::vector<Move<NodeId>>& moves, CoverInput in) {
    const auto& spans = in.spans;
    MoveCover<Index> c{CutIndex<Index>(std::move(in.cuts)), {}, {}, 0.0};
    const std::size_t intervals = c.index.size() + 1;
    c.begin.assign(intervals + 1, 0);
    for (const auto& s : spans) {
        for (std::size_t j = s.first; j <= s.second; ++j) {
            ++c.begin[j + 1];
        }
    }
    for (std::size_t j = 0; j < intervals; ++j) {
        c.begin[j + 1] = static_cast<Index>(c.begin[j + 1] + c.begin[j]);
    }
    // Filling the lists in (from, to, index) order leaves every list in that order.
    std::vector<std::size_t> order(moves.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const Move<NodeId>& x = moves[a];
        const Move<NodeId>& y = moves[b];
        if (x.from < y.from || y.from < x.from) {
            return x.from < y.from;
        }
        if (x.to < y.to || y.to < x.to) {
            return x.to < y.to;
        }
        return a < b;
    });
    const Token* at = c.index.cuts();
    for (std::size_t j = 1; j < intervals; ++j) {
        if (c.count(j) != 0) {
            const Token span = (j < c.index.size() ? at[j] : 0) - at[j - 1];  // 0: all 2^64
            c.covered_fraction += span == 0 ? 1.0 : static_cast<double>(span) / token_space;
        }
    }
    std::vector<Index> next(c.begin.begin(), c.begin.end() - 1);
    c.list.resize(in.covered);
    for (std::size_t m : order) {
        for (std::size_t j = spans[m].first; j <= spans[m].second; ++j) {
            c.list[next[j]++] = static_cast<Index>(m);
        }
    }
    return c;
}

// A key that moves, before its KeyMoves are written: its token and input index.
struct MovedKey {
    Token token;
    std::size_t index;
};

inline void insertion_sort_by_token(MovedKey* a, std::size_t n) {
    for (std::size_t i = 1; i < n; ++i) {
        const MovedKey x = a[i];
        std::size_t j = i;
        for (; j > 0 && a[j - 1].token > x.token; --j) {
            a[j] = a[j - 1];
        }
        a[j] = x;
    }
}

// Sorts a[0, n) by token, stably, using b[0, n) as scratch; returns where the result is (a or
// b). All tokens agree on their bits above `top`. Most-significant digit first, as hash tokens
// spread evenly: records beyond L2 go to 256 buckets (few enough write streams for the TLB and
// caches), records within L2 to about one per bucket, after which one insertion pass finishes.
// A digit every token shares costs one counting pass and is skipped.
inline MovedKey* sort_by_token(MovedKey* a, MovedKey* b, std::size_t n, unsigned top) {
    for (;;) {
        if (n <= 32 || top == 0) {
            insertion_sort_by_token(a, n);  // top == 0: all equal, already in order
            return a;
        }
        unsigned log2n = 0;
        while ((std::size_t{1} << log2n) < n) {
            ++log2n;
        }
        const unsigned bits = std::min(top, n > (std::size_t{1} << 15) ? 8u : log2n);
        const unsigned shift = top - bits;
        const Token mask = (Token{1} << bits) - 1;
        const auto digit = [&](const MovedKey& k) {
            return static_cast<std::size_t>((k.token >> shift) & mask);
        };
        std::vector<std::size_t> end((std::size_t{1} << bits) + 1, 0);
        for (std::size_t i = 0; i < n; ++i) {
            ++end[digit(a[i]) + 1];
        }
        if (std::find(end.begin(), end.end(), n) != end.end()) {
            top = shift;
            continue;
        }
        for (std::size_t d = 1; d < end.size(); ++d) {
            end[d] += end[d - 1];
        }
        for (std::size_t i = 0; i < n; ++i) {
            b[end[digit(a[i])]++] = a[i];  // end[d] ends as bucket d's end
        }
        for (std::size_t d = 0, at = 0; d + 1 < end.size(); at = end[d++]) {
            const std::size_t count = end[d] - at;
            if (count > 16) {
                const MovedKey* r = sort_by_token(b + at, a + at, count, shift);
                if (r != b + at) {
                    std::copy(r, r + count, b + at);
                }
            }
        }
        insertion_sort_by_token(b, n);
        return b;
    }
}

// Appends the KeyMoves of moved keys sorted by (token, index): walks the intervals alongside,
// as both go up.
template <class Index>
void expand_sorted(const MoveCover<Index>& c, const MovedKey* keys, std::size_t n,
                   std::vector<KeyMove>& out) {
    const Token* cuts = c.index.cuts();
    std::size_t j = 0;
    for (const MovedKey* key = keys; key != keys + n; ++key) {
        while (j < c.index.size() && cuts[j] <= key->token) {
            ++j;
        }
        for (std::size_t p = c.begin[j]; p < c.begin[j + 1]; ++p) {
            out.push_back(KeyMove{key->index, key->token, static_cast<std::size_t>(c.list[p])});
        }
    }
}

// project and project_tokens: `token_of(i)` is the token of key i, `sorted` says the tokens
// ascend. Costs O(moves log moves) to index the moves, then O(1) expected per key and a radix
// sort of the moved keys only, or with sorted tokens a binary search per interval and nothing
// for keys that stay; memory O(moves + moved keys).
template <class Index, class NodeId, class TokenOf>
std::vector<KeyMove> project_with(const std::vector<Move<NodeId>>& moves, CoverInput in,
                                  std::size_t n, TokenOf&& token_of, bool sorted) {
    const MoveCover<Index> c = move_cover<Index>(moves, std::move(in));
    std::vector<KeyMove> out;
    if (sorted) {
        // Keys in token order give KeyMoves in order, interval by interval: no buffer, no
        // sort, and keys outside every move are skipped by binary search, never visited.
        const Token* cuts = c.index.cuts();
        const std::size_t intervals = c.index.size() + 1;
        std::vector<std::pair<std::size_t, std::size_t>> keys(intervals);  // [first, last)
        std::size_t from = 0;
        const auto first_at_least = [&](Token t) {
            std::size_t lo = from;
            std::size_t hi = n;
            while (lo < hi) {
                const std::size_t mid = lo + (hi - lo) / 2;
                if (token_of(mid) < t) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        };
        std::size_t total = 0;
        for (std::size_t j = 1; j < intervals; ++j) {  // interval 0 is in no move
            if (c.count(j) != 0) {
                from = first_at_least(cuts[j - 1]);
                keys[j] = {from, j < c.index.size() ? first_at_least(cuts[j]) : n};
                total += (keys[j].second - keys[j].first) * c.count(j);
            }
        }
        out.reserve(total);
        for (std::size_t j = 1; j < intervals; ++j) {
            for (std::size_t i = keys[j].first; i < keys[j].second; ++i) {
                const Token t = token_of(i);
                for (std::size_t p = c.begin[j]; p < c.begin[j + 1]; ++p) {
                    out.push_back(KeyMove{i, t, static_cast<std::size_t>(c.list[p])});
                }
            }
        }
        return out;
    }
    // Collect the moved keys in input order, so equal tokens stay in index order through a
    // stable sort. Branch-free: each key is written, and kept only when it moves, which is
    // cheaper than mispredicting which ~30% of random keys move. The buffer starts at the
    // expected count for hashed keys, so it rarely grows; uninitialized, so the pages of an
    // overestimate are never touched.
    constexpr std::size_t block = 1024;
    const double expected = c.covered_fraction * static_cast<double>(n) * 1.01;
    std::size_t capacity = std::min(n, static_cast<std::size_t>(expected) + 2 * block);
    std::unique_ptr<MovedKey[]> moved(new MovedKey[capacity]);
    std::size_t kept = 0;
    std::size_t total = 0;  // KeyMoves to write
    for (std::size_t base = 0; base < n; base += block) {
        const std::size_t stop = std::min(n, base + block);
        if (capacity - kept < stop - base) {
            capacity = std::max(kept + (stop - base), 2 * capacity);
            std::unique_ptr<MovedKey[]> bigger(new MovedKey[capacity]);
            std::copy(moved.get(), moved.get() + kept, bigger.get());
            moved.swap(bigger);
        }
        MovedKey* buffer = moved.get();
        for (std::size_t i = base; i < stop; ++i) {
            const Token t = token_of(i);
            const std::size_t moves_here = c.count(c.index.locate(t));
            buffer[kept] = MovedKey{t, i};
            kept += moves_here != 0 ? 1 : 0;
            total += moves_here;
        }
    }
    const MovedKey* in_order = moved.get();
    std::unique_ptr<MovedKey[]> scratch;
    if (!std::is_sorted(moved.get(), moved.get() + kept,
                        [](const MovedKey& a, const MovedKey& b) { return a.token < b.token; })) {
        scratch.reset(new MovedKey[kept]);
        in_order = sort_by_token(moved.get(), scratch.get(), kept, 64);
    }
    out.reserve(total);
    expand_sorted(c, in_order, kept, out);
    return out;
}

template <class NodeId, class TokenOf>
std::vector<KeyMove> project_impl(const std::vector<Move<NodeId>>& moves, std::size_t n,
                                  TokenOf&& token_of, bool sorted) {
    if (moves.empty() || n == 0) {
        return {};
    }
    CoverInput in = cover_input(moves);
    if (in.fits_32_bits()) {
        return project_with<std::uint32_t>(moves, std::move(in), n, token_of, sorted);
    }
    return project_with<std::size_t>(moves, std::move(in), n, token_of, sorted);
}

template <class Index>
std::vector<std::size_t> lost_with(const std::vector<TokenRange>& lost, const Token* tokens,
                                   std::size_t n) {
    std::vector<Token> cuts =
        cut_points(lost.size(), [&](std::size_t i) -> const TokenRange& { return lost[i]; });
    // Which intervals are lost: a running count over range starts and ends.
    std::vector<std::ptrdiff_t> depth(cuts.size() + 2, 0);
    for (const TokenRange& r : lost) {
        const auto s = interval_span(cuts, r);
        ++depth[s.first];
        --depth[s.second + 1];
    }
    std::vector<unsigned char> is_lost(cuts.size() + 1);
    std::ptrdiff_t open = 0;
    for (std::size_t j = 0; j < is_lost.size(); ++j) {
        open += depth[j];
        is_lost[j] = open != 0 ? 1 : 0;
    }
    const CutIndex<Index> index(std::move(cuts));
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; ++i) {
        if (is_lost[index.locate(tokens[i])] != 0) {
            out.push_back(i);
        }
    }
    return out;
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_PROJECTION_HPP
