// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_DETAIL_MD5_HPP
#define RINGPLAN_DETAIL_MD5_HPP

#include <ringplan/version.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

/// MD5 (RFC 1321). Small and dependency-free: ketama and the ClusterKit partition scheme only need
/// digests of short strings, and none of ringplan's dependencies provides MD5
/// (docs/compatibility.md).
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

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_MD5_HPP
