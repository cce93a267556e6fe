// Hash policies and byte representations: golden values from independent tools
// (tests/data/make_golden.sh), the vnode-token rule, and little-endian integer bytes.
#include "catch.hpp"
#include "test_util.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using ringplan::Fnv1a64;
using ringplan::Token;
using ringplan::Xxh3;

namespace {
Token parse_hex(const std::string& s) {
    return std::stoull(s, nullptr, 16);
}
}  // namespace

TEST_CASE("hash policies match golden vectors from xxhsum and a reference FNV-1a",
          "[hash][golden]") {
    const auto rows = rp_test::read_golden("golden_hashes.txt");
    REQUIRE(rows.size() >= 20);
    for (const auto& row : rows) {
        REQUIRE(row.size() == 3);
        const auto bytes = rp_test::from_hex(row[1]);
        const Token want = parse_hex(row[2]);
        INFO(row[0] << " of " << row[1]);
        if (row[0] == "xxh3") {
            CHECK(Xxh3::hash(bytes.data(), bytes.size()) == want);
        } else {
            REQUIRE(row[0] == "fnv1a64");
            CHECK(Fnv1a64::hash(bytes.data(), bytes.size()) == want);
        }
    }
}

TEST_CASE("well-known values pin both policies", "[hash][golden]") {
    // XXH3_64bits("") and FNV-1a 64 of "" and "a", as published by their authors.
    CHECK(ringplan::key_token<Xxh3>(std::string()) == 0x2D06800538D394C2ULL);
    CHECK(ringplan::key_token<Fnv1a64>(std::string()) == 0xcbf29ce484222325ULL);
    CHECK(ringplan::key_token<Fnv1a64>("a") == 0xaf63dc4c8601ec8cULL);
}

TEST_CASE("keys hash their bytes: strings without NUL, integers little-endian", "[hash][bytes]") {
    const std::string s = "user:1234";
    CHECK(ringplan::key_token<Xxh3>(s) == ringplan::key_token<Xxh3>("user:1234"));
    CHECK(ringplan::key_token<Xxh3>(std::string_view(s)) == ringplan::key_token<Xxh3>(s.c_str()));

    // 42 as a 64-bit integer is the bytes 2a 00 00 00 00 00 00 00 on every platform.
    const unsigned char le42[8] = {0x2a, 0, 0, 0, 0, 0, 0, 0};
    CHECK(ringplan::key_token<Xxh3>(std::uint64_t{42}) == Xxh3::hash(le42, 8));
    CHECK(ringplan::key_token<Xxh3>(std::int64_t{42}) == Xxh3::hash(le42, 8));
    CHECK(ringplan::key_token<Xxh3>(std::uint32_t{42}) == Xxh3::hash(le42, 4));

    const auto b = ringplan::ByteRepr<std::uint32_t>::bytes(0x01020304u);
    CHECK(b[0] == 0x04);
    CHECK(b[1] == 0x03);
    CHECK(b[2] == 0x02);
    CHECK(b[3] == 0x01);
    const auto neg = ringplan::ByteRepr<std::int16_t>::bytes(std::int16_t{-2});
    CHECK(neg[0] == 0xFE);
    CHECK(neg[1] == 0xFF);
}

TEST_CASE("vnode tokens follow the documented rule hash(id || le32(index))", "[hash][placement]") {
    for (std::uint32_t index : {0u, 1u, 255u, 256u, 65536u, 0xFFFFFFFFu}) {
        std::string bytes = "alpha";
        for (int i = 0; i < 4; ++i) {
            bytes += static_cast<char>((index >> (8 * i)) & 0xFF);
        }
        CHECK(ringplan::vnode_token<Xxh3>(std::string("alpha"), index) ==
              Xxh3::hash(bytes.data(), bytes.size()));
        CHECK(ringplan::vnode_token<Fnv1a64>(std::string("alpha"), index) ==
              Fnv1a64::hash(bytes.data(), bytes.size()));
    }
    // Pinned against xxhsum (golden_hashes.txt has the same vectors).
    CHECK(ringplan::vnode_token<Xxh3>(std::string("alpha"), 0) == 0x33642112b2a178d3ULL);
    CHECK(ringplan::vnode_token<Xxh3>(std::string("alpha"), 65536) == 0xd1ba88d1c142f912ULL);
}

namespace {
// A policy that places vnodes itself, as a ketama-style policy would.
struct SeededPolicy {
    static Token hash(const void* data, std::size_t size) noexcept {
        return Xxh3::hash(data, size);
    }
    static Token vnode_token(const void* id, std::size_t size, std::uint32_t index) noexcept {
        return XXH3_64bits_withSeed(id, size, index);
    }
};
}  // namespace

TEST_CASE("a policy's own vnode_token replaces the default rule", "[hash][policy]") {
    const std::string id = "node";
    CHECK(ringplan::vnode_token<SeededPolicy>(id, 7) ==
          XXH3_64bits_withSeed(id.data(), id.size(), 7));
    ringplan::Ring<SeededPolicy> ring;
    ring.add_node(id, 3);
    for (std::uint32_t i = 0; i < 3; ++i) {
        const auto tokens = ring.tokens_of(id);
        CHECK(std::find(tokens.begin(), tokens.end(),
                        XXH3_64bits_withSeed(id.data(), id.size(), i)) != tokens.end());
    }
}

TEST_CASE("Fnv1a64::extend continues a hash", "[hash]") {
    const std::string a = "hello ", b = "world", ab = a + b;
    CHECK(Fnv1a64::extend(Fnv1a64::hash(a.data(), a.size()), b.data(), b.size()) ==
          Fnv1a64::hash(ab.data(), ab.size()));
}

namespace {
struct NoHashMember {};
struct HashReturnsString {
    static std::string hash(const void*, std::size_t) noexcept { return {}; }
};
struct HashTakesOneArgument {
    static Token hash(const void*) noexcept { return 0; }
};
struct HashReturnsUint32 {  // converts to Token: accepted
    static std::uint32_t hash(const void*, std::size_t) noexcept { return 0; }
};
}  // namespace

TEST_CASE("the hash-policy check accepts the policies and rejects what lacks hash()",
          "[hash][policy]") {
    // Ring and key_token static_assert this trait (tests/compile_fail/ checks the message).
    // Checked at compile time; the test case only names the check.
    static_assert(ringplan::detail::IsHashPolicy<Xxh3>::value, "");
    static_assert(ringplan::detail::IsHashPolicy<Fnv1a64>::value, "");
    static_assert(ringplan::detail::IsHashPolicy<HashReturnsUint32>::value, "");
    static_assert(!ringplan::detail::IsHashPolicy<NoHashMember>::value, "");
    static_assert(!ringplan::detail::IsHashPolicy<HashReturnsString>::value, "");
    static_assert(!ringplan::detail::IsHashPolicy<HashTakesOneArgument>::value, "");
    CHECK(HashReturnsUint32::hash(nullptr, 0) == 0);
}
