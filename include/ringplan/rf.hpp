// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_RF_HPP
#define RINGPLAN_RF_HPP

#include <ringplan/error.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <string>
#include <type_traits>

RINGPLAN_NAMESPACE_BEGIN

/// A replication factor: each token lives on the first `value()` distinct nodes clockwise. A
/// type of its own, so that it can not be passed where a vnode count or a flag is meant:
/// `plan_leave(ring, "n2", Rf{3})`, `ring.replicas(key, Rf{3})`.
/// Errors: invalid_rf (a value below 1).
class Rf {
public:
    template <class Int, class = std::enable_if_t<std::is_integral<Int>::value &&
                                                  !std::is_same<Int, bool>::value>>
    constexpr explicit Rf(Int value) : value_(static_cast<std::size_t>(value)) {
        if (value < 1) {
            invalid(static_cast<long long>(value));
        }
    }
    constexpr std::size_t value() const noexcept { return value_; }
    friend constexpr bool operator==(Rf a, Rf b) noexcept { return a.value_ == b.value_; }
    friend constexpr bool operator!=(Rf a, Rf b) noexcept { return a.value_ != b.value_; }
    // Comparing with a number is harmless (only passing one where an Rf is meant is not).
    friend constexpr bool operator==(Rf a, std::size_t b) noexcept { return a.value_ == b; }
    friend constexpr bool operator!=(Rf a, std::size_t b) noexcept { return a.value_ != b; }

private:
    [[noreturn]] static void invalid(long long value) {
        detail::raise(Errc::invalid_rf,
                      "the replication factor must be at least 1, got " + std::to_string(value));
    }
    std::size_t value_;
};

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_RF_HPP
