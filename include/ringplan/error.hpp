// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_ERROR_HPP
#define RINGPLAN_ERROR_HPP

#include <ringplan/version.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

RINGPLAN_NAMESPACE_BEGIN

/// Every way a ringplan call can refuse its input. docs/errors.md lists each code with the
/// calls that raise it.
enum class Errc : int {
    duplicate_node = 1,   ///< add_node: the node is already a member.
    unknown_node = 2,     ///< the named node is not a member.
    empty_ring = 3,       ///< a lookup on a ring with no vnodes.
    zero_vnodes = 4,      ///< add_node with 0 vnodes or an empty token list.
    invalid_rf = 5,       ///< a replication factor below 1.
    token_collision = 6,  ///< an explicit token already taken, or repeated in one call.
    no_successor = 7,     ///< successor() on a ring with one physical node.
    too_many_vnodes = 8,  ///< more vnodes in the ring than Ring::max_vnodes().
    invalid_limit = 9,    ///< schedule() with a stream limit of 0 or a budget that is not positive.
    invalid_partition_count = 10,  ///< a partition count of 0 or above max_partitions.
    invalid_partition = 11,        ///< a partition id not below the map's partition count.
    invalid_weight = 12,           ///< a node weight of 0.
    invalid_map = 13,              ///< a partition map whose lists do not fit its rf or its nodes.
    invalid_option = 14,           ///< a detector or membership option out of its range.
    clock_backwards = 15,          ///< an observation stamped earlier than one already seen.
    stale_epoch = 16,              ///< a plan or event stamped with an epoch that is not current.
    invalid_transition = 17,       ///< an observation the node's membership state does not allow.
    parse_error = 18,              ///< serialized state that does not parse.
    invalid_topology = 19,         ///< a location or replica rule that does not fit (topology.hpp).
};

/// A stable, human-readable name for an error code ("duplicate_node", ...).
constexpr const char* to_string(Errc code) noexcept {
    switch (code) {
        case Errc::duplicate_node:
            return "duplicate_node";
        case Errc::unknown_node:
            return "unknown_node";
        case Errc::empty_ring:
            return "empty_ring";
        case Errc::zero_vnodes:
            return "zero_vnodes";
        case Errc::invalid_rf:
            return "invalid_rf";
        case Errc::token_collision:
            return "token_collision";
        case Errc::no_successor:
            return "no_successor";
        case Errc::too_many_vnodes:
            return "too_many_vnodes";
        case Errc::invalid_limit:
            return "invalid_limit";
        case Errc::invalid_partition_count:
            return "invalid_partition_count";
        case Errc::invalid_partition:
            return "invalid_partition";
        case Errc::invalid_weight:
            return "invalid_weight";
        case Errc::invalid_map:
            return "invalid_map";
        case Errc::invalid_option:
            return "invalid_option";
        case Errc::clock_backwards:
            return "clock_backwards";
        case Errc::stale_epoch:
            return "stale_epoch";
        case Errc::invalid_transition:
            return "invalid_transition";
        case Errc::parse_error:
            return "parse_error";
        case Errc::invalid_topology:
            return "invalid_topology";
    }
    return "unknown_error";
}

/// The one exception type ringplan throws. `what()` reads "ringplan: <code>: <detail>".
class Error : public std::runtime_error {
public:
    Error(Errc code, const std::string& detail)
        : std::runtime_error(std::string("ringplan: ") + to_string(code) + ": " + detail),
          code_(code) {}

    Errc code() const noexcept { return code_; }

private:
    Errc code_;
};

/// Called instead of throwing when exceptions are disabled (-fno-exceptions). It must not
/// return; if it does, ringplan calls std::abort().
using ErrorHandler = void (*)(Errc code, const char* message);

namespace detail {
inline void default_error_handler(Errc, const char* message) {
    std::fputs(message, stderr);
    std::fputc('\n', stderr);
    std::abort();
}
// One definition across translation units (C++17 inline variable).
inline ErrorHandler error_handler = &default_error_handler;
}  // namespace detail

/// Installs the handler used under -fno-exceptions; returns the previous one. Not thread-safe:
/// set it once at start-up.
inline ErrorHandler set_error_handler(ErrorHandler handler) noexcept {
    ErrorHandler previous = detail::error_handler;
    detail::error_handler = handler != nullptr ? handler : &detail::default_error_handler;
    return previous;
}

namespace detail {

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define RINGPLAN_HAS_EXCEPTIONS 1
#else
#define RINGPLAN_HAS_EXCEPTIONS 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RINGPLAN_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define RINGPLAN_NOINLINE __declspec(noinline)
#else
#define RINGPLAN_NOINLINE
#endif

// Error paths live out of line so the callers' hot paths stay small (as unordered_dense's
// on_error_* functions do).
[[noreturn]] RINGPLAN_NOINLINE inline void raise(Errc code, const std::string& detail) {
#if RINGPLAN_HAS_EXCEPTIONS
    throw Error(code, detail);
#else
    const std::string message = std::string("ringplan: ") + to_string(code) + ": " + detail;
    error_handler(code, message.c_str());
    std::abort();
#endif
}

}  // namespace detail

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_ERROR_HPP
