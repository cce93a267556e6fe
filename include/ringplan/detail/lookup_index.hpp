// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The lookup index over a sorted token array, and the sort that builds rings in linear time.
// Users never name anything here.
#ifndef RINGPLAN_DETAIL_LOOKUP_INDEX_HPP
#define RINGPLAN_DETAIL_LOOKUP_INDEX_HPP

#include <ringplan/detail/huge_pages.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#define RINGPLAN_PREFETCH(address) __builtin_prefetch(address)
#define RINGPLAN_LIKELY(condition) __builtin_expect(static_cast<bool>(condition), 1)
#else
#define RINGPLAN_PREFETCH(address) ((void)(address))
#define RINGPLAN_LIKELY(condition) (condition)
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

/// mul_wide from 32-bit halves, for compilers without a 128-bit integer (and to test it).
inline std::uint64_t mul_wide_portable(std::uint64_t a, std::uint64_t b,
                                       std::uint64_t& low) noexcept {
    const std::uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
    const std::uint64_t b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const std::uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    low = (mid << 32) | (p00 & 0xFFFFFFFFu);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/// The high 64 bits of a * b, and the low 64 in `low`.
inline std::uint64_t mul_wide(std::uint64_t a, std::uint64_t b, std::uint64_t& low) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 U128;  // __extension__: -Wpedantic knows no __int128
    const U128 p = static_cast<U128>(a) * b;
    low = static_cast<std::uint64_t>(p);
    return static_cast<std::uint64_t>(p >> 64);
#else
    return mul_wide_portable(a, b, low);
#endif
}

/// The lookup index: the token space is cut into about one bucket per vnode, and the buckets
/// are packed eleven to a 64-byte cache line. A line holds where each of its buckets starts in
/// the sorted token array and, for each bucket, the owner of its first vnode and one byte of
/// that vnode's token. That byte settles most lookups in the line itself: a token before the
/// bucket's first vnode (or in an empty bucket) belongs to that vnode, one after a bucket's only
/// vnode belongs to the next bucket's first. About 4 lookups in 5 then touch one cache line and
/// nothing else; the rest search the bucket's few tokens (a branchless binary search, which
/// also covers skewed buckets) and read the owner array. 64 bytes per 11 vnodes is 5.8 bytes a
/// vnode, on top of the 12 of tokens and owners.
///
/// A bucket is floor(t * buckets / 2^64), so bucket counts need not be powers of two and the
/// byte below the bucket number is the next 8 bits of that product: equal bytes decide nothing
/// and fall through to the search. Lines whose buckets span more than 254 vnodes (bunched
/// explicit tokens) or whose owners do not fit in 24 bits (rings of over 16 million nodes) are
/// marked, and their lookups always search.
class LookupIndex {
public:
    /// Rebuilds the index for `tokens` (sorted) and their `owners` in one linear pass.
    void build(const std::vector<Token>& tokens, const std::vector<std::uint32_t>& owners) {
        const std::size_t n = tokens.size();
        std::vector<Line> lines;
        if (n > 0) {
            const std::size_t count = (n + per_line - 1) / per_line;
            const std::uint64_t buckets = std::uint64_t{count} * per_line;
            resize_for_lookups(lines, count + 1);
            // One pass over the tokens, counting each line's buckets: the loop's exit depends
            // on the data once per line, not once per bucket (10.4 ms against 14.5 ms for
            // finding each bucket's start on its own, at 10^6 vnodes).
            std::size_t i = 0;
            unsigned byte = 0;  // not needed here
            std::uint64_t bucket_of_i = bucket(tokens[0], buckets, byte);
            std::uint32_t first[per_line + 1];
            for (std::size_t l = 0; l < count; ++l) {
                const std::uint64_t line_first = std::uint64_t{l} * per_line;
                std::uint32_t in_bucket[per_line] = {};
                first[0] = static_cast<std::uint32_t>(i);
                while (i < n && bucket_of_i < line_first + per_line) {
                    ++in_bucket[bucket_of_i - line_first];
                    ++i;
                    bucket_of_i = bucket(tokens[i < n ? i : 0], buckets, byte);
                }
                for (std::size_t j = 0; j < per_line; ++j) {
                    first[j + 1] = first[j] + in_bucket[j];
                }
                fill_line(lines[l], first, tokens, owners, buckets);
            }
            lines[count].base = static_cast<std::uint32_t>(n);
            lines[count].offset[0] = searched;
            buckets_ = buckets;
        } else {
            buckets_ = 0;
        }
        lines_.swap(lines);
        size_ = n;
    }

    void swap(LookupIndex& other) noexcept {
        lines_.swap(other.lines_);
        std::swap(buckets_, other.buckets_);
        std::swap(size_, other.size_);
    }

    /// The first position whose token is >= t, or tokens' size if there is none. Requires a
    /// non-empty index.
    std::size_t lower_bound(const Token* tokens, Token t) const noexcept {
        const Probe p = probe(t);
        const Settled s = settle(p);
        if (RINGPLAN_LIKELY(s.in_line)) {
            return std::size_t{p.line->base} + p.line->offset[p.j + s.after];
        }
        return search(tokens, p, t);
    }

    /// The owner (index into the node table) of token t: the owner of lower_bound's position,
    /// wrapping past the last vnode to the first. Requires a non-empty index.
    std::uint32_t owner(const Token* tokens, const std::uint32_t* owners, Token t) const noexcept {
        return resolve(tokens, owners, probe(t), t);
    }

    /// owner() of ts[0..count), passed to emit(i, owner): for i = 0, 1, ... in order, and once
    /// more, with the exact owner, for each lookup that its line does not settle (so the last
    /// call for an i is its answer; no owner passed exceeds the largest in `owners`). On indexes
    /// that do not fit in a core's cache the work is pipelined so that the misses of many lookups
    /// are in flight at once: the line of lookup i + batch_ahead is fetched while lookup i is
    /// settled from its line (which has arrived by then), and the lookups the line does not
    /// settle fetch their bucket and are searched together at the end of each chunk. Emitting
    /// the line's answer at once, instead of collecting the answers and emitting them in a
    /// third pass, measured 8% faster at 10^6 vnodes and 20% at 10^5.
    template <class Emit>
    void owners(const Token* tokens, const std::uint32_t* owners, const Token* ts,
                std::size_t count, Emit emit) const {
        if (lines_.size() * sizeof(Line) < batch_min_bytes) {
            for (std::size_t i = 0; i < count; ++i) {
                emit(i, resolve(tokens, owners, probe(ts[i]), ts[i]));
            }
            return;
        }
        Probe window[batch_ahead];  // the probes of the next tokens, their lines on the way
        for (std::size_t i = 0; i < std::min(batch_ahead, count); ++i) {
            window[i] = probe(ts[i]);
            RINGPLAN_PREFETCH(window[i].line);
        }
        std::uint32_t unsettled[batch_chunk];
        for (std::size_t done = 0; done < count; done += batch_chunk) {
            const std::size_t m = std::min(batch_chunk, count - done);
            const Token* t = ts + done;
            std::size_t waiting = 0;
            for (std::size_t i = 0; i < m; ++i) {
                Probe& slot = window[(done + i) % batch_ahead];
                const Probe p = slot;
                if (done + i + batch_ahead < count) {
                    slot = probe(t[i + batch_ahead]);
                    RINGPLAN_PREFETCH(slot.line);
                }
                const Settled s = settle(p);
                emit(done + i, p.line->slot[p.j + s.after] & owner_mask);
                unsettled[waiting] = static_cast<std::uint32_t>(i);
                waiting += !s.in_line;
                // A branch, not a masked address: the predicted side (settled) then issues no
                // prefetch that waits for the line (measured 10% faster at 10^6 vnodes).
                if (!s.in_line) {
                    const std::size_t first = search_start(p);
                    RINGPLAN_PREFETCH(tokens + first);
                    RINGPLAN_PREFETCH(owners + first);
                }
            }
            for (std::size_t w = 0; w < waiting; ++w) {
                const std::size_t i = unsettled[w];
                const std::size_t k = search(tokens, probe(t[i]), t[i]);
                emit(done + i, owners[k == size_ ? 0 : k]);
            }
        }
    }

    /// Whether the line alone answers t (for tests: about 4 in 5 random tokens should).
    bool settled_in_line(Token t) const noexcept { return settle(probe(t)).in_line; }

    std::size_t bytes() const noexcept { return lines_.capacity() * sizeof(Line); }

private:
    static constexpr std::size_t per_line = 11;
    static constexpr std::uint32_t owner_mask = 0xFFFFFFu;
    static constexpr std::uint8_t searched = 0xFF;  // offset[0] of a line that always searches
    // Batch lookups: how far ahead lines are fetched, how many lookups share one pass of
    // searches, and the index size below which the index stays cached and a plain loop is
    // faster. Measured at 10^3 to 10^6 vnodes (docs/performance.md): 16 ahead was the best of
    // 8 to 64 (by up to 10%), chunks of 64 to 256 were within noise, and a plain loop wins at
    // 10^4 vnodes (a 58 KiB index) and loses at 10^5 (580 KiB).
    static constexpr std::size_t batch_ahead = 16;
    static constexpr std::size_t batch_chunk = 64;
    static constexpr std::size_t batch_min_bytes = std::size_t{256} << 10;

    // 4 + 12 + 48 = 64 bytes. offset[j] is where bucket j starts, counted from `base`; offset[11]
    // is where the next line starts. slot[j] is the owner of the first vnode at or after bucket
    // j's start (24 bits) and the byte of that vnode's bucket product if it lies in bucket j.
    // slot[11] is the owner at the next line's start. offset[0] is always 0, except that
    // `searched` marks a line whose lookups must search.
    struct alignas(64) Line {
        std::uint32_t base = 0;
        std::uint8_t offset[per_line + 1] = {};
        std::uint32_t slot[per_line + 1] = {};
    };
    static_assert(sizeof(Line) == 64, "a line of the lookup index is one cache line");

    struct Probe {
        const Line* line;
        std::size_t j;  // the bucket within the line
        unsigned byte;  // the next 8 bits of t * buckets
    };

    struct Settled {
        bool in_line;       // the line alone gives the answer:
        std::size_t after;  // bucket j + after's first vnode (an index, so no branch picks it)
    };

    // The bucket of t among `buckets`, and in `byte` the next 8 bits of t * buckets, which order
    // the tokens inside the bucket.
    static std::uint64_t bucket(Token t, std::uint64_t buckets, unsigned& byte) noexcept {
        std::uint64_t low = 0;
        const std::uint64_t k = mul_wide(t, buckets, low);
        byte = static_cast<unsigned>(low >> 56);
        return k;
    }

    Probe probe(Token t) const noexcept {
        unsigned byte = 0;
        const std::uint64_t k = bucket(t, buckets_, byte);
        const std::uint64_t l = k / per_line;
        return {&lines_[static_cast<std::size_t>(l)], static_cast<std::size_t>(k - l * per_line),
                byte};
    }

    Settled settle(const Probe& p) const noexcept {
        const Line& x = *p.line;
        const unsigned lo = x.offset[p.j], hi = x.offset[p.j + 1];
        const unsigned byte0 = x.slot[p.j] >> 24;
        // Before the bucket's first vnode (or in an empty bucket), or after its only vnode.
        // Equal bytes decide nothing. `&` and `|`, not `&&` and `||`: no branches here.
        const bool before = (lo == hi) | (p.byte < byte0);
        const bool after = (hi - lo == 1) & (p.byte > byte0);
        return {static_cast<bool>((x.offset[0] == 0) & (before | after)), !before};
    }

    std::uint32_t resolve(const Token* tokens, const std::uint32_t* owners, const Probe& p,
                          Token t) const noexcept {
        const Settled s = settle(p);
        // One well-predicted branch: while it holds, a chain of dependent lookups runs on
        // without waiting for anything but the line.
        if (RINGPLAN_LIKELY(s.in_line)) {
            return p.line->slot[p.j + s.after] & owner_mask;
        }
        // The owner is most likely the bucket's first or second: fetch it while the tokens are
        // searched, so that the two misses overlap.
        RINGPLAN_PREFETCH(owners + search_start(p));
        const std::size_t i = search(tokens, p, t);
        return owners[i == size_ ? 0 : i];
    }

    // Where search() starts reading: the bucket's first vnode, or the line's first for a line
    // that always searches.
    static std::size_t search_start(const Probe& p) noexcept {
        const Line& x = *p.line;
        return std::size_t{x.base} + x.offset[p.j] * std::size_t{x.offset[0] == 0};
    }

    // The exact answer, by binary search over the bucket's tokens, or over the whole line's for
    // a line marked `searched`.
    std::size_t search(const Token* tokens, const Probe& p, Token t) const noexcept {
        const Line& x = *p.line;
        const std::size_t first = search_start(p);
        const std::size_t last =
            x.offset[0] == 0 ? std::size_t{x.base} + x.offset[p.j + 1] : (&x + 1)->base;
        return first + branchless_lower_bound(tokens + first, last - first, t);
    }

    static void fill_line(Line& x, const std::uint32_t (&first)[per_line + 1],
                          const std::vector<Token>& tokens,
                          const std::vector<std::uint32_t>& owners, std::uint64_t buckets) {
        const std::size_t n = tokens.size();
        x.base = first[0];
        bool search_all = first[per_line] - first[0] >= searched;
        for (std::size_t j = 0; j <= per_line; ++j) {
            const std::size_t at = first[j] == n ? 0 : first[j];  // wrapping past the last
            const std::uint32_t o = owners[at];
            search_all = search_all || o > owner_mask;
            // The byte of bucket j's first vnode, or 0 for an empty bucket and for slot[11],
            // whose byte is never read.
            const bool in_bucket = j < per_line && first[j] < first[j + 1];
            unsigned byte = 0;
            bucket(tokens[at], buckets, byte);
            byte *= unsigned{in_bucket};
            x.slot[j] = (o & owner_mask) | (std::uint32_t{byte} << 24);
            x.offset[j] = static_cast<std::uint8_t>(first[j] - first[0]);
        }
        if (search_all) {
            x.offset[0] = searched;
        }
    }

    std::vector<Line> lines_;  // one past the last line: a sentinel whose base is the size
    std::uint64_t buckets_ = 0;
    std::size_t size_ = 0;
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
