// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The lookup index over a sorted token array, and the sort that builds rings in linear time.
// Users never name anything here.
#ifndef RINGPLAN_DETAIL_LOOKUP_INDEX_HPP
#define RINGPLAN_DETAIL_LOOKUP_INDEX_HPP

#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#define RINGPLAN_PREFETCH(address) __builtin_prefetch(address)
#else
#define RINGPLAN_PREFETCH(address) ((void)(address))
#endif

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

/// The first position in [first, first + count) whose token is >= t (count if none), without
/// data-dependent branches: the loop runs log2(count) times whatever the data. The step is a
/// multiply by the comparison, not `cond ? a : b`, because GCC 12 -O2 turns the ternary back
/// into a branch (jae) and keeps the multiply as setb + imul (checked with objdump).
inline std::size_t branchless_lower_bound(const Token* first, std::size_t count, Token t) noexcept {
    if (count == 0) {
        return 0;
    }
    const Token* base = first;
    while (count > 1) {
        const std::size_t half = count / 2;
        base += static_cast<std::size_t>(base[half - 1] < t) * half;
        count -= half;
    }
    return static_cast<std::size_t>(base - first) + (*base < t ? 1u : 0u);
}

/// A table over the top `bits` bits of a token: starts[k] is the first position whose token is
/// >= k << (64 - bits), so a lookup reads one table entry and then searches the few tokens of
/// one bucket: about 2-3 cache lines whatever the ring's size. With about one bucket per vnode
/// the table costs ~4 bytes per vnode, on top of the 12 of tokens and owners.
class LookupIndex {
public:
    /// Rebuilds the table for `tokens` (sorted) in one linear pass.
    void build(const std::vector<Token>& tokens) {
        unsigned bits = 1;
        // One bucket per vnode, rounded up to a power of two: measured against 4, 8 and 16
        // vnodes per bucket at 10^6 vnodes, it is the fastest for single, dependent and batch
        // lookups. Capped so the table stays within 256 MiB (2^26 entries) on giant rings,
        // where the bucket search takes over.
        while (bits < 26 && (std::size_t{1} << bits) < tokens.size()) {
            ++bits;
        }
        const std::size_t buckets = std::size_t{1} << bits;
        std::vector<std::uint32_t> starts(buckets + 1);
        const unsigned shift = 64 - bits;
        std::size_t i = 0;
        for (std::size_t k = 0; k < buckets; ++k) {
            const Token floor = static_cast<Token>(k) << shift;
            while (i < tokens.size() && tokens[i] < floor) {
                ++i;
            }
            starts[k] = static_cast<std::uint32_t>(i);
        }
        starts[buckets] = static_cast<std::uint32_t>(tokens.size());
        starts_.swap(starts);
        shift_ = shift;
    }

    void swap(LookupIndex& other) noexcept {
        starts_.swap(other.starts_);
        std::swap(shift_, other.shift_);
    }

    /// The first position whose token is >= t, or tokens.size() if there is none.
    std::size_t lower_bound(const Token* tokens, Token t) const noexcept {
        const std::size_t k = static_cast<std::size_t>(t >> shift_);
        const std::size_t lo = starts_[k];
        return lo + branchless_lower_bound(tokens + lo, starts_[k + 1] - lo, t);
    }

    /// As lower_bound, and starts fetching the bucket's owners while the tokens are searched,
    /// so the two cache misses overlap instead of queueing (the answer's owner is read next).
    std::size_t lower_bound(const Token* tokens, const std::uint32_t* owners,
                            Token t) const noexcept {
        const std::size_t k = static_cast<std::size_t>(t >> shift_);
        const std::size_t lo = starts_[k];
        RINGPLAN_PREFETCH(owners + lo);
        return lo + branchless_lower_bound(tokens + lo, starts_[k + 1] - lo, t);
    }

    /// Prefetches the table entry of token t (the first step of a batched lookup).
    void prefetch_bucket(Token t) const noexcept {
        RINGPLAN_PREFETCH(&starts_[static_cast<std::size_t>(t >> shift_)]);
    }
    /// Prefetches the first token and owner of t's bucket (the second step).
    void prefetch_bucket_data(const Token* tokens, const std::uint32_t* owners,
                              Token t) const noexcept {
        const std::size_t lo = starts_[static_cast<std::size_t>(t >> shift_)];
        RINGPLAN_PREFETCH(tokens + lo);
        RINGPLAN_PREFETCH(owners + lo);
    }

    std::size_t bytes() const noexcept { return starts_.size() * sizeof(std::uint32_t); }

private:
    std::vector<std::uint32_t> starts_;
    unsigned shift_ = 63;
};

/// Sorts vnodes (anything with `token` and operator<) in expected linear time: tokens are
/// hash outputs, so a counting pass over their top bits spreads them evenly and each bucket is
/// finished by insertion sort. Skewed input (explicit tokens bunched together) falls back to
/// std::sort inside the crowded buckets, so the worst case stays O(n log n).
template <class Vnode>
void sort_vnodes(std::vector<Vnode>& v) {
    const std::size_t n = v.size();
    if (n < 4096) {
        std::sort(v.begin(), v.end());
        return;
    }
    unsigned bits = 1;
    while (bits < 20 && (std::size_t{1} << bits) < n) {
        ++bits;
    }
    const unsigned shift = 64 - bits;
    std::vector<std::size_t> start((std::size_t{1} << bits) + 1, 0);
    for (const Vnode& x : v) {
        ++start[static_cast<std::size_t>(x.token >> shift) + 1];
    }
    for (std::size_t k = 1; k < start.size(); ++k) {
        start[k] += start[k - 1];
    }
    std::vector<Vnode> out(n);
    {
        std::vector<std::size_t> next(start.begin(), start.end() - 1);
        for (const Vnode& x : v) {
            out[next[static_cast<std::size_t>(x.token >> shift)]++] = x;
        }
    }
    for (std::size_t k = 0; k + 1 < start.size(); ++k) {
        const auto first = out.begin() + static_cast<std::ptrdiff_t>(start[k]);
        const auto last = out.begin() + static_cast<std::ptrdiff_t>(start[k + 1]);
        if (last - first > 32) {
            std::sort(first, last);
        } else {
            for (auto it = first; it != last; ++it) {
                for (auto j = it; j != first && *j < *(j - 1); --j) {
                    std::iter_swap(j, j - 1);
                }
            }
        }
    }
    v.swap(out);
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_LOOKUP_INDEX_HPP
