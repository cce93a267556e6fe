// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Ketama as libmemcached builds it (weighted ketama, MD5), bit for bit: docs/compatibility.md.
#ifndef RINGPLAN_KETAMA_HPP
#define RINGPLAN_KETAMA_HPP

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

/// MD5 (RFC 1321). Small and dependency-free: ketama only needs digests of short strings, and
/// none of ringplan's dependencies provides MD5 (docs/compatibility.md).
class Md5 {
public:
    using Digest = std::array<unsigned char, 16>;

    static Digest digest(const void* data, std::size_t size) noexcept {
        Md5 m;
        m.update(static_cast<const unsigned char*>(data), size);
        return m.finish();
    }

private:
    std::uint32_t a_ = 0x67452301u;
    std::uint32_t b_ = 0xefcdab89u;
    std::uint32_t c_ = 0x98badcfeu;
    std::uint32_t d_ = 0x10325476u;
    std::uint64_t length_ = 0;  // bytes
    unsigned char buffer_[64] = {};

    static std::uint32_t rotl(std::uint32_t x, unsigned n) noexcept {
        return (x << n) | (x >> (32u - n));
    }

    void update(const unsigned char* p, std::size_t size) noexcept {
        for (std::size_t i = 0; i < size; ++i) {
            buffer_[length_ % 64] = p[i];
            ++length_;
            if (length_ % 64 == 0) {
                block(buffer_);
            }
        }
    }

    Digest finish() noexcept {
        const std::uint64_t bits = length_ * 8;
        const unsigned char pad = 0x80;
        update(&pad, 1);
        const unsigned char zero = 0;
        while (length_ % 64 != 56) {
            update(&zero, 1);
        }
        unsigned char len[8];
        for (unsigned i = 0; i < 8; ++i) {
            len[i] = static_cast<unsigned char>(bits >> (8 * i));
        }
        update(len, 8);
        Digest out{};
        const std::uint32_t words[4] = {a_, b_, c_, d_};
        for (unsigned w = 0; w < 4; ++w) {
            for (unsigned i = 0; i < 4; ++i) {
                out[4 * w + i] = static_cast<unsigned char>(words[w] >> (8 * i));
            }
        }
        return out;
    }

    void block(const unsigned char* p) noexcept {
        static constexpr std::uint32_t k[64] = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
            0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
            0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
            0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
            0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
            0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
            0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
            0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
            0xeb86d391};
        static constexpr unsigned s[64] = {
            7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,  14, 20, 5,  9,
            14, 20, 5,  9,  14, 20, 5,  9,  14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
            4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21};
        std::uint32_t m[16];
        for (unsigned i = 0; i < 16; ++i) {
            m[i] = std::uint32_t{p[4 * i]} | (std::uint32_t{p[4 * i + 1]} << 8) |
                   (std::uint32_t{p[4 * i + 2]} << 16) | (std::uint32_t{p[4 * i + 3]} << 24);
        }
        std::uint32_t a = a_, b = b_, c = c_, d = d_;
        for (unsigned i = 0; i < 64; ++i) {
            std::uint32_t f;
            unsigned g;
            if (i < 16) {
                f = (b & c) | (~b & d);
                g = i;
            } else if (i < 32) {
                f = (d & b) | (~d & c);
                g = (5 * i + 1) % 16;
            } else if (i < 48) {
                f = b ^ c ^ d;
                g = (3 * i + 5) % 16;
            } else {
                f = c ^ (b | ~d);
                g = (7 * i) % 16;
            }
            const std::uint32_t next = b + rotl(a + f + k[i] + m[g], s[i]);
            a = d;
            d = c;
            c = b;
            b = next;
        }
        a_ += a;
        b_ += b;
        c_ += c;
        d_ += d;
    }
};

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
