// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Node ids and tokens in error messages. Users never name anything here.
#ifndef RINGPLAN_DETAIL_DESCRIBE_HPP
#define RINGPLAN_DETAIL_DESCRIBE_HPP

#include <ringplan/bytes.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

// Appends `bytes` quoted, with control bytes, quotes and backslashes escaped, and cut after
// 64 bytes ("..." and the full length follow): a node id may hold anything, and a message must
// stay one short line (a NUL would cut it, a 1 MB id would make it 1 MB).
inline void append_quoted(std::string& out, std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    constexpr std::size_t shown = 64;
    out += '\'';
    for (std::size_t i = 0; i < bytes.size() && i < shown; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\' || c == '\'') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '\'';
    if (bytes.size() > shown) {
        out += "... (";
        out += std::to_string(bytes.size());
        out += " bytes)";
    }
}

template <class NodeId>
std::string describe(const NodeId& id) {
    std::string out;
    if constexpr (std::is_convertible<const NodeId&, std::string_view>::value) {
        append_quoted(out, std::string_view(id));
    } else if constexpr (std::is_integral<NodeId>::value) {
        out = std::to_string(id);
    } else if constexpr (!HasByteRepr<NodeId>::value) {
        out = "(an id with no byte representation)";  // a lookup key of a user type
    } else {
        // Any node id has bytes; show them in hex (at most 64).
        static constexpr char hex[] = "0123456789abcdef";
        const auto b = bytes_of(id);
        const auto* p = static_cast<const unsigned char*>(b.data());
        out = "0x";
        for (std::size_t i = 0; i < b.size() && i < 64; ++i) {
            out += hex[p[i] >> 4];
            out += hex[p[i] & 0xF];
        }
        if (b.size() > 64) {
            out += "... (";
            out += std::to_string(b.size());
            out += " bytes)";
        }
    }
    return out;
}

template <class A, class B, class = void>
struct LessComparable : std::false_type {};
template <class A, class B>
struct LessComparable<
    A, B,
    std::void_t<decltype(static_cast<bool>(std::declval<const A&>() < std::declval<const B&>())),
                decltype(static_cast<bool>(std::declval<const B&>() < std::declval<const A&>()))>>
    : std::true_type {};

// A node-id argument: NodeId itself, anything ordered against it both ways (heterogeneous
// lookup), or any number for a numeric NodeId (converted, so no signed/unsigned comparison).
template <class NodeId, class K>
using IdArg = std::enable_if_t<
    std::is_same<std::decay_t<K>, NodeId>::value || LessComparable<NodeId, K>::value ||
    (std::is_arithmetic<NodeId>::value && std::is_arithmetic<std::decay_t<K>>::value)>;

// The id to compare with: a number converted to a numeric NodeId, else the argument itself.
template <class NodeId, class K>
decltype(auto) as_id(const K& key) {
    if constexpr (std::is_arithmetic<NodeId>::value && std::is_arithmetic<K>::value) {
        return static_cast<NodeId>(key);
    } else {
        return (key);
    }
}

template <class Hash, class = void>
struct HasTokenName : std::false_type {};
template <class Hash>
struct HasTokenName<Hash, std::void_t<decltype(Hash::token_name(Token{}))>> : std::true_type {};

// A token as the policy's users write it (Cassandra's are signed), for messages.
template <class Hash>
std::string describe_token(Token t) {
    if constexpr (HasTokenName<Hash>::value) {
        return Hash::token_name(t);
    } else {
        return std::to_string(t);
    }
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_DESCRIBE_HPP
