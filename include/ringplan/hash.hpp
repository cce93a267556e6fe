// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_HASH_HPP
#define RINGPLAN_HASH_HPP

#include <ringplan/bytes.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

RINGPLAN_NAMESPACE_BEGIN

// Hash policies (not a Doxygen block: it documents the concept, not Xxh3). A policy is a type
// with
//
//     static Token hash(const void* data, std::size_t size) noexcept;
//
// which maps bytes to a token. It must be a pure function of the bytes: the same on every
// platform, compiler and run (read multi-byte words explicitly little-endian; never use
// std::hash). It may also provide
//
//     static Token vnode_token(const void* id, std::size_t size, std::uint32_t index) noexcept;
//
// to place vnode `index` of the node whose id has these bytes; without it ringplan uses the
// documented rule hash(id bytes || index as 4 little-endian bytes) (docs/placement.md).
// `static constexpr const char* name` names the policy in diagnostics and benchmarks.

// XXH3-64, the default policy, is defined in <ringplan/xxh3.hpp>: only code that hashes with it
// needs xxHash's header. Declared here so that defaults can name it.
struct Xxh3;

/// FNV-1a, 64-bit (Fowler, Noll, Vo): no dependency, byte at a time. Slower and less well mixed
/// than XXH3; here for compatibility with systems that place by FNV-1a.
struct Fnv1a64 {
    static constexpr const char* name = "fnv1a64";
    static constexpr Token offset_basis = 0xcbf29ce484222325ULL;
    static constexpr Token prime = 0x100000001b3ULL;

    static Token hash(const void* data, std::size_t size) noexcept {
        return extend(offset_basis, data, size);
    }

    /// Continues a hash over more bytes: extend(hash(a), b) == hash(a || b).
    static Token extend(Token state, const void* data, std::size_t size) noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < size; ++i) {
            state = (state ^ p[i]) * prime;
        }
        return state;
    }
};

namespace detail {

// Whether Hash has the one member the library needs: static hash(const void*, size_t) returning
// something convertible to Token. Ring and key_token static_assert it, so a wrong policy fails
// with one message that names the member, not deep inside the ring's implementation.
template <class Hash, class = void>
struct IsHashPolicy : std::false_type {};
template <class Hash>
struct IsHashPolicy<
    Hash, std::void_t<decltype(Hash::hash(static_cast<const void*>(nullptr), std::size_t{}))>>
    : std::is_convertible<decltype(Hash::hash(static_cast<const void*>(nullptr), std::size_t{})),
                          Token> {};

// Whether T is a complete type here: Xxh3 is only declared unless <ringplan/xxh3.hpp> is
// included, and that mistake deserves its own message.
template <class T, class = void>
struct IsComplete : std::false_type {};
template <class T>
struct IsComplete<T, std::void_t<decltype(sizeof(T))>> : std::true_type {};

// The one place the library checks a hash policy, with a message naming what is missing.
// Naming CheckedHashPolicy<Hash>::value instantiates it (Ring and key_token do).
template <class Hash>
struct CheckedHashPolicy {
    static_assert(IsComplete<Hash>::value,
                  "ringplan: the hash policy is only declared (for Xxh3, the default, include "
                  "<ringplan/xxh3.hpp> or <ringplan/ringplan.hpp>)");
    static_assert(!IsComplete<Hash>::value || IsHashPolicy<Hash>::value,
                  "ringplan: a hash policy needs static Token hash(const void* data, "
                  "std::size_t size) noexcept (docs/placement.md)");
    static constexpr bool value = IsComplete<Hash>::value && IsHashPolicy<Hash>::value;
};

}  // namespace detail

/// The token a key hashes to under policy Hash, which has no default: a key's token depends on
/// the ring's policy (ketama and Cassandra rings hash keys their own way). Ring<Hash>::key_token
/// is this function with the ring's policy.
template <class Hash, class Key>
Token key_token(const Key& key) noexcept(noexcept(detail::bytes_of(key))) {
    static_assert(detail::CheckedHashPolicy<Hash>::value || true);  // its messages, if any
    if constexpr (detail::IsHashPolicy<Hash>::value) {
        const auto b = detail::bytes_of(key);
        return Hash::hash(b.data(), b.size());
    } else {
        (void)key;  // only the static_assert above is reported
        return 0;
    }
}

namespace detail {

template <class Hash, class = void>
struct HasVnodeToken : std::false_type {};
template <class Hash>
struct HasVnodeToken<Hash, std::void_t<decltype(Hash::vnode_token(static_cast<const void*>(nullptr),
                                                                  std::size_t{}, std::uint32_t{}))>>
    : std::true_type {};

/// Derives the vnode tokens of one node. Holds one buffer for `id || le32(index)`, so deriving
/// many tokens allocates at most once per node, never once per vnode.
template <class Hash>
class VnodeTokens {
public:
    VnodeTokens(const void* id, std::size_t size)
        : id_(id), size_(size), buffer_(static_cast<const char*>(id), size) {
        buffer_.append(4, '\0');
    }

    Token operator()(std::uint32_t index) {
        if constexpr (HasVnodeToken<Hash>::value) {
            return Hash::vnode_token(id_, size_, index);
        } else {
            store_le32(reinterpret_cast<unsigned char*>(&buffer_[size_]), index);
            return Hash::hash(buffer_.data(), buffer_.size());
        }
    }

private:
    const void* id_;
    std::size_t size_;
    std::string buffer_;
};

}  // namespace detail

/// The token of vnode `index` of node `id` under policy Hash (docs/placement.md).
template <class Hash = Xxh3, class NodeId>
Token vnode_token(const NodeId& id, std::uint32_t index) {
    const auto b = detail::bytes_of(id);
    return detail::VnodeTokens<Hash>(b.data(), b.size())(index);
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_HASH_HPP
