// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_TOKEN_HPP
#define RINGPLAN_TOKEN_HPP

#include <ringplan/version.hpp>

#include <cstdint>

RINGPLAN_NAMESPACE_BEGIN

/// A position on the ring, the circle [0, 2^64).
using Token = std::uint64_t;

/// The largest token, 2^64 - 1.
constexpr Token max_token = ~Token{0};

namespace detail {
/// 2^64 as a double: the size of the token space, for shares of the ring.
constexpr double token_space = 18446744073709551616.0;
}  // namespace detail

/// An inclusive range of tokens [first, last] with first <= last. Ranges never wrap: one that
/// crosses the top of the ring is reported as [x, 2^64-1] and [0, y].
struct TokenRange {
    Token first = 0;
    Token last = 0;

    constexpr bool contains(Token t) const noexcept { return first <= t && t <= last; }

    /// How many tokens the range holds, as a double: the whole ring, 2^64 tokens, fits no
    /// 64-bit integer. Exact up to 2^53 tokens, rounded above.
    constexpr double token_count() const noexcept {
        return static_cast<double>(last - first) + 1.0;
    }

    /// The share of the ring this range covers, in (0, 1].
    constexpr double fraction() const noexcept { return token_count() / detail::token_space; }

    friend constexpr bool operator==(const TokenRange& a, const TokenRange& b) noexcept {
        return a.first == b.first && a.last == b.last;
    }
    friend constexpr bool operator!=(const TokenRange& a, const TokenRange& b) noexcept {
        return !(a == b);
    }
    friend constexpr bool operator<(const TokenRange& a, const TokenRange& b) noexcept {
        return a.first != b.first ? a.first < b.first : a.last < b.last;
    }
};

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_TOKEN_HPP
