// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The XXH3 hash policy, Ring's default. Its own header so that only the code that hashes with
// XXH3 needs xxHash's header: ring.hpp and the rest name Xxh3 through a forward declaration.
#ifndef RINGPLAN_XXH3_HPP
#define RINGPLAN_XXH3_HPP

#include <ringplan/hash.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <cstddef>

// xxHash is used header-only: XXH_INLINE_ALL makes every function static inline in this
// translation unit, so consumers link nothing.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

RINGPLAN_NAMESPACE_BEGIN

/// XXH3-64 (seed 0) from the xxHash library: the default. Fast on short keys, well mixed, and
/// specified bit for bit on every platform.
struct Xxh3 {
    static constexpr const char* name = "xxh3";
    static Token hash(const void* data, std::size_t size) noexcept {
        return static_cast<Token>(XXH3_64bits(data, size));
    }
};

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_XXH3_HPP
