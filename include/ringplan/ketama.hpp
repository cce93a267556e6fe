// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Ketama as libmemcached builds it (weighted ketama, MD5), bit for bit: docs/compatibility.md.
#ifndef RINGPLAN_KETAMA_HPP
#define RINGPLAN_KETAMA_HPP

#include <ringplan/detail/md5.hpp>
#include <ringplan/error.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// libmemcached's weighted ketama (MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA with
/// MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED and MD5), as an ordinary ringplan::Ring.
///
/// A ketama point is a 32-bit value; in the ring it sits at token `point << 32`, and a key
/// hashes to `md5_32(key) << 32`. "The first point >= the key's hash, wrapping" is then exactly
/// the ring's owner rule, so Ring::owner gives libmemcached's server for every key, and plans,
/// replicas and ranges work unchanged. docs/compatibility.md says what is compatible with what.
namespace ketama {

/// The port libmemcached leaves out of a server's point names (MEMCACHED_DEFAULT_PORT).
inline constexpr std::uint16_t default_port = 11211;

/// Points per server at average weight (MEMCACHED_POINTS_PER_SERVER_KETAMA).
inline constexpr std::uint32_t points_per_server = 160;

/// One memcached server, as given to memcached_server_add_with_weight.
struct Server {
    std::string host;                   ///< Host name or address, exactly as libmemcached gets it.
    std::uint16_t port = default_port;  ///< TCP port.
    std::uint32_t weight = 1;           ///< Relative weight, >= 1.
};

/// The hash policy of a ketama ring: a key's token is `md5_32(key) << 32`.
struct Md5Hash {
    static constexpr const char* name = "ketama-md5";
    /// The token of a key: key_hash(data, size) in the top 32 bits.
    static Token hash(const void* data, std::size_t size) noexcept;
};

/// A ring whose nodes are "host:port" strings and whose keys hash as libmemcached's do.
using KetamaRing = Ring<Md5Hash, std::string>;

/// The 32-bit hash libmemcached gives a key (MEMCACHED_HASH_MD5): the first 4 bytes of the MD5
/// digest, read little-endian.
std::uint32_t key_hash(const void* data, std::size_t size) noexcept;

/// key_hash over a string's bytes.
inline std::uint32_t key_hash(std::string_view key) noexcept {
    return key_hash(key.data(), key.size());
}

/// The ring token of a ketama point (or key hash): `point << 32`.
constexpr Token point_token(std::uint32_t point) noexcept {
    return Token{point} << 32;
}

/// The number of points libmemcached gives a server of weight `weight` among `server_count`
/// servers whose weights sum to `total_weight`: floor(pct * 160 / 4 * n + 1e-10) * 4 with
/// pct = weight / total_weight, every step in single precision, as in update_continuum.
std::uint32_t point_count(std::uint32_t weight, std::uint64_t total_weight,
                          std::size_t server_count) noexcept;

/// The string whose MD5 digest yields points 4i..4i+3 of a server: "host-i" on the default
/// port, "host:port-i" otherwise.
std::string point_name(const Server& server, std::uint32_t i);

/// The ring's id for a server: "host:port", the port always written.
std::string node_id(const Server& server);

/// One point of the continuum: its value and the index of its server in the input list.
struct Point {
    std::uint32_t value;   ///< The 32-bit point.
    std::uint32_t server;  ///< Index of the server in the list given to continuum().
};

/// libmemcached's continuum for `servers` (in this order), sorted as its qsort leaves it: by
/// value, then by server index. Errors: zero_vnodes (a weight of 0).
std::vector<Point> continuum(const std::vector<Server>& servers);

/// The server libmemcached picks for a key with hash `hash` on a sorted continuum (the first
/// point >= hash, wrapping): the index into the server list. The continuum must not be empty.
std::uint32_t pick(const std::vector<Point>& points, std::uint32_t hash) noexcept;

/// A ring that routes every key to the server libmemcached picks. Of equal points only the
/// first (lowest server index) is kept: libmemcached's lookup can never reach the others. A
/// server whose weight earns it no points is left out, as it is never picked.
/// Errors: zero_vnodes (a weight of 0), duplicate_node (a host:port listed twice).
KetamaRing build_ring(const std::vector<Server>& servers);

}  // namespace ketama

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

/// Word `w` (0..3) of a digest, little-endian: libmemcached's ketama_server_hash(..., w).
inline std::uint32_t md5_word(const Md5::Digest& d, unsigned w) noexcept {
    return std::uint32_t{d[4 * w]} | (std::uint32_t{d[4 * w + 1]} << 8) |
           (std::uint32_t{d[4 * w + 2]} << 16) | (std::uint32_t{d[4 * w + 3]} << 24);
}

}  // namespace detail

namespace ketama {

inline std::uint32_t key_hash(const void* data, std::size_t size) noexcept {
    return detail::md5_word(detail::Md5::digest(data, size), 0);
}

inline Token Md5Hash::hash(const void* data, std::size_t size) noexcept {
    return point_token(key_hash(data, size));
}

inline std::uint32_t point_count(std::uint32_t weight, std::uint64_t total_weight,
                                 std::size_t server_count) noexcept {
    // One float operation per statement, in libmemcached's order: the count must round exactly
    // as its single-precision expression does (no contraction into a fused multiply-add).
    const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
    float x = pct * static_cast<float>(points_per_server);
    x = x / 4.0f;
    x = x * static_cast<float>(server_count);
    x = x + 0.0000000001f;
    return static_cast<std::uint32_t>(std::floor(x)) * 4u;
}

inline std::string point_name(const Server& server, std::uint32_t i) {
    std::string name = server.host;
    if (server.port != default_port) {
        name += ':';
        name += std::to_string(server.port);
    }
    name += '-';
    name += std::to_string(i);
    return name;
}

inline std::string node_id(const Server& server) {
    return server.host + ':' + std::to_string(server.port);
}

inline std::vector<Point> continuum(const std::vector<Server>& servers) {
    std::uint64_t total_weight = 0;
    for (const Server& s : servers) {
        if (s.weight == 0) {
            detail::raise(Errc::zero_vnodes, "ketama server " + node_id(s) + " has weight 0");
        }
        total_weight += s.weight;
    }
    std::vector<Point> points;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const std::uint32_t count = point_count(servers[i].weight, total_weight, servers.size());
        for (std::uint32_t h = 0; h < count / 4; ++h) {
            const std::string name = point_name(servers[i], h);
            const auto digest = detail::Md5::digest(name.data(), name.size());
            for (unsigned w = 0; w < 4; ++w) {
                points.push_back({detail::md5_word(digest, w), static_cast<std::uint32_t>(i)});
            }
        }
    }
    // libmemcached's continuum_item_cmp: by value, then by server index.
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
        return a.value != b.value ? a.value < b.value : a.server < b.server;
    });
    return points;
}

inline std::uint32_t pick(const std::vector<Point>& points, std::uint32_t hash) noexcept {
    auto it = std::lower_bound(points.begin(), points.end(), hash,
                               [](const Point& p, std::uint32_t h) { return p.value < h; });
    if (it == points.end()) {
        it = points.begin();
    }
    return it->server;
}

inline KetamaRing build_ring(const std::vector<Server>& servers) {
    std::vector<std::pair<std::string, std::vector<Token>>> nodes(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
        nodes[i].first = node_id(servers[i]);
    }
    // A server listed twice has the same points as its first listing, so the dedup below would
    // drop it silently: refuse it here.
    std::vector<std::string> ids;
    ids.reserve(nodes.size());
    for (const auto& n : nodes) {
        ids.push_back(n.first);
    }
    std::sort(ids.begin(), ids.end());
    const auto dup = std::adjacent_find(ids.begin(), ids.end());
    if (dup != ids.end()) {
        detail::raise(Errc::duplicate_node, "ketama server " + *dup + " is listed twice");
    }
    const std::vector<Point> points = continuum(servers);
    for (std::size_t i = 0; i < points.size(); ++i) {
        // Sorted by (value, server): the first of equal values is the one lookups reach.
        if (i > 0 && points[i].value == points[i - 1].value) {
            continue;
        }
        nodes[points[i].server].second.push_back(point_token(points[i].value));
    }
    nodes.erase(
        std::remove_if(nodes.begin(), nodes.end(), [](const auto& n) { return n.second.empty(); }),
        nodes.end());
    KetamaRing ring;
    ring.add_nodes_with_tokens(nodes.begin(), nodes.end());
    return ring;
}

}  // namespace ketama

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_KETAMA_HPP
