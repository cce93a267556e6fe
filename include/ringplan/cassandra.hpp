// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Cassandra's Murmur3Partitioner tokens, SimpleStrategy and NetworkTopologyStrategy replicas:
// docs/compatibility.md.
#ifndef RINGPLAN_CASSANDRA_HPP
#define RINGPLAN_CASSANDRA_HPP

#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// Apache Cassandra's Murmur3Partitioner, SimpleStrategy and NetworkTopologyStrategy, as an
/// ordinary ringplan::Ring (and a Placement for NetworkTopologyStrategy).
///
/// Cassandra's tokens are signed 64-bit values ordered as signed numbers; in the ring a token
/// `t` sits at token_to_unsigned(t) (the sign bit flipped), which keeps the order, so "the
/// first node token >= the key's token, wrapping" is exactly the ring's owner rule, and
/// Ring::replicas with rf is SimpleStrategy's replica list.
///
/// NetworkTopologyStrategy's replicas come from a Placement over the same ring:
///
///     const std::vector<cassandra::Node> nodes = {{"a1", {-100, 900}, "dc1", "r1"}, ...};
///     const auto ring = cassandra::build_ring(nodes);
///     const Placement<cassandra::Murmur3Hash, std::string> nts(
///         ring, cassandra::build_topology(nodes),
///         ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}}, ReplicaOrder::driver));
///     nts.replicas("user:42");  // the DataStax Python driver's list, in its order
///
/// ReplicaOrder::driver lists them as the DataStax Python driver 3.25 does (checked against it),
/// ReplicaOrder::server as Cassandra 4's calculateNaturalReplicas (checked against a
/// transcription of its Java code); docs/compatibility.md says where the two differ.
namespace cassandra {

/// Cassandra's signed token.
using SignedToken = std::int64_t;

/// A signed Cassandra token at its place in ringplan's unsigned token space (sign bit flipped:
/// Long.MIN_VALUE -> 0, -1 -> 2^63 - 1, 0 -> 2^63, Long.MAX_VALUE -> 2^64 - 1).
constexpr Token token_to_unsigned(SignedToken t) noexcept {
    return static_cast<Token>(t) ^ (Token{1} << 63);
}

/// The inverse of token_to_unsigned.
constexpr SignedToken unsigned_to_token(Token t) noexcept {
    const Token flipped = t ^ (Token{1} << 63);
    // Two's complement without implementation-defined conversion of values >= 2^63.
    return flipped < (Token{1} << 63) ? static_cast<SignedToken>(flipped)
                                      : -static_cast<SignedToken>(~flipped) - 1;
}

/// h1 of Cassandra's MurmurHash3 x64_128 with seed 0 (MurmurHash.hash3_x64_128, including its
/// sign extension of the tail bytes): what the DataStax driver's cassandra.murmur3.murmur3
/// returns.
SignedToken murmur3(const void* data, std::size_t size) noexcept;

/// The Murmur3Partitioner token of a partition key's bytes: murmur3, except that
/// Long.MIN_VALUE (which Cassandra reserves as the minimum token) becomes Long.MAX_VALUE.
SignedToken key_token(const void* data, std::size_t size) noexcept;

/// key_token over a string's bytes.
inline SignedToken key_token(std::string_view key) noexcept {
    return key_token(key.data(), key.size());
}

/// The hash policy of a Cassandra ring: token_to_unsigned(key_token(key)).
struct Murmur3Hash {
    static constexpr const char* name = "cassandra-murmur3";
    /// The ring token of a partition key's bytes.
    static Token hash(const void* data, std::size_t size) noexcept {
        return token_to_unsigned(key_token(data, size));
    }
    /// A ring token as Cassandra prints it (signed), for error messages.
    static std::string token_name(Token t) { return std::to_string(unsigned_to_token(t)); }
};

/// A ring of named Cassandra nodes whose keys hash as Murmur3Partitioner's.
using CassandraRing = Ring<Murmur3Hash, std::string>;

/// One node and its tokens as Cassandra prints them (initial_token, nodetool ring), and where it
/// sits (nodetool status), which only NetworkTopologyStrategy reads.
struct Node {
    std::string name;                 ///< The node's id in the ring.
    std::vector<SignedToken> tokens;  ///< Its tokens, any order, at least one.
    std::string datacenter = {};      ///< Its datacenter (build_topology needs one).
    std::string rack = {};            ///< Its rack; empty: no rack (the driver's None).
};

/// The ring of `nodes`; Ring::replicas(key, rf) is then SimpleStrategy's replica list.
/// Errors: duplicate_node, zero_vnodes (no tokens), token_collision (a token held twice).
CassandraRing build_ring(const std::vector<Node>& nodes);

/// The locations of `nodes` (datacenter and rack), for a network-topology Placement over
/// build_ring(nodes). Errors: invalid_topology (a node without a datacenter, a node listed
/// twice).
Topology<std::string> build_topology(const std::vector<Node>& nodes);

}  // namespace cassandra

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

inline std::uint64_t murmur_rotl(std::uint64_t x, unsigned r) noexcept {
    return (x << r) | (x >> (64u - r));
}

inline std::uint64_t murmur_fmix(std::uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

inline std::uint64_t murmur_load_le64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (unsigned i = 8; i > 0; --i) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

// A tail byte as Java's (long) of a signed byte: sign-extended to 64 bits.
inline std::uint64_t murmur_tail_byte(unsigned char b) noexcept {
    return b < 0x80 ? std::uint64_t{b} : std::uint64_t{b} | 0xFFFFFFFFFFFFFF00ULL;
}

}  // namespace detail

namespace cassandra {

inline SignedToken murmur3(const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL;
    constexpr std::uint64_t c2 = 0x4cf5ad432745937fULL;
    std::uint64_t h1 = 0;
    std::uint64_t h2 = 0;
    const std::size_t blocks = size / 16;
    for (std::size_t i = 0; i < blocks; ++i) {
        std::uint64_t k1 =
            detail::murmur_load_le64(p + 16 * i);  // getBlock masks each byte: no sign extension
        std::uint64_t k2 = detail::murmur_load_le64(p + 16 * i + 8);
        k1 *= c1;
        k1 = detail::murmur_rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = detail::murmur_rotl(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = detail::murmur_rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = detail::murmur_rotl(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const unsigned char* tail = p + 16 * blocks;
    const std::size_t rest = size % 16;
    std::uint64_t k1 = 0;
    std::uint64_t k2 = 0;
    // Cassandra's tail: ((long) key.get(i)) << shift, the byte sign-extended (unlike the
    // reference MurmurHash3, which zero-extends).
    for (std::size_t i = rest; i > 8; --i) {
        k2 ^= detail::murmur_tail_byte(tail[i - 1]) << (8 * (i - 9));
    }
    if (rest > 8) {
        k2 *= c2;
        k2 = detail::murmur_rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    for (std::size_t i = rest < 8 ? rest : 8; i > 0; --i) {
        k1 ^= detail::murmur_tail_byte(tail[i - 1]) << (8 * (i - 1));
    }
    if (rest > 0) {
        k1 *= c1;
        k1 = detail::murmur_rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= static_cast<std::uint64_t>(size);
    h2 ^= static_cast<std::uint64_t>(size);
    h1 += h2;
    h2 += h1;
    h1 = detail::murmur_fmix(h1);
    h2 = detail::murmur_fmix(h2);
    h1 += h2;
    return unsigned_to_token(h1 ^ (Token{1} << 63));
}

inline SignedToken key_token(const void* data, std::size_t size) noexcept {
    const SignedToken t = murmur3(data, size);
    // Murmur3Partitioner.getToken: Long.MIN_VALUE is the partitioner's minimum token, never a
    // key's.
    return t == std::numeric_limits<SignedToken>::min() ? std::numeric_limits<SignedToken>::max()
                                                        : t;
}

inline CassandraRing build_ring(const std::vector<Node>& nodes) {
    std::vector<std::pair<std::string, std::vector<Token>>> entries;
    entries.reserve(nodes.size());
    for (const Node& n : nodes) {
        std::vector<Token> tokens;
        tokens.reserve(n.tokens.size());
        for (SignedToken t : n.tokens) {
            tokens.push_back(token_to_unsigned(t));
        }
        entries.emplace_back(n.name, std::move(tokens));
    }
    CassandraRing ring;
    ring.add_nodes_with_tokens(entries.begin(), entries.end());
    return ring;
}

inline Topology<std::string> build_topology(const std::vector<Node>& nodes) {
    Topology<std::string> topology;
    for (const Node& n : nodes) {
        if (topology.find(n.name) != nullptr) {
            detail::raise(Errc::invalid_topology,
                          "node " + detail::describe(n.name) + " is listed twice");
        }
        topology.set(n.name, n.datacenter, n.rack);  // invalid_topology: no datacenter
    }
    return topology;
}

}  // namespace cassandra

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_CASSANDRA_HPP
