// The lookup index on its own (detail::LookupIndex): every answer against std::lower_bound, on
// random, bunched, duplicated and edge tokens, owners too wide for a line, single and batched
// lookups; the wide multiply it rests on; and the share of lookups a line settles alone.
#include "catch.hpp"

#include <ringplan/detail/lookup_index.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using ringplan::max_token;
using ringplan::Token;
using ringplan::detail::LookupIndex;

namespace {

struct Fixture {
    std::vector<Token> tokens;  // sorted
    std::vector<std::uint32_t> owners;
    LookupIndex index;

    void build() {
        std::sort(tokens.begin(), tokens.end());
        index.build(tokens, owners);
    }
    std::size_t expected_position(Token t) const {
        return static_cast<std::size_t>(std::lower_bound(tokens.begin(), tokens.end(), t) -
                                        tokens.begin());
    }
    std::uint32_t expected_owner(Token t) const {
        const std::size_t i = expected_position(t);
        return owners[i == tokens.size() ? 0 : i];
    }
};

std::vector<Token> probes_for(const std::vector<Token>& tokens, std::mt19937_64& rng) {
    std::vector<Token> probes = {0, 1, max_token - 1, max_token};
    for (Token t : tokens) {
        probes.insert(probes.end(), {t - 1, t, t + 1});
    }
    for (int i = 0; i < 2000; ++i) {
        probes.push_back(rng());
    }
    return probes;
}

// Every single and batched answer of the index against std::lower_bound.
void check_index(const Fixture& f, std::mt19937_64& rng) {
    const std::vector<Token> probes = probes_for(f.tokens, rng);
    for (Token t : probes) {
        INFO("token " << t << " of " << f.tokens.size());
        REQUIRE(f.index.lower_bound(f.tokens.data(), t) == f.expected_position(t));
        REQUIRE(f.index.owner(f.tokens.data(), f.owners.data(), t) == f.expected_owner(t));
    }
    // Batches of every awkward length: empty, shorter than the prefetch window, around a
    // chunk, and all of them at once.
    for (std::size_t count :
         {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
          std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{1000}, probes.size()}) {
        std::vector<std::uint32_t> got(count, 0xDEADBEEF);
        std::vector<int> calls(count, 0);
        std::size_t first_calls = 0;
        f.index.owners(f.tokens.data(), f.owners.data(), probes.data(), count,
                       [&](std::size_t i, std::uint32_t o) {
                           REQUIRE(i < count);
                           if (calls[i]++ == 0) {
                               REQUIRE(i == first_calls);  // first calls in order
                               ++first_calls;
                           }
                           REQUIRE(calls[i] <= 2);  // settled once, or provisional then exact
                           got[i] = o;              // the last call wins
                       });
        REQUIRE(first_calls == count);
        for (std::size_t i = 0; i < count; ++i) {
            INFO("batch of " << count << ", token " << probes[i]);
            REQUIRE(got[i] == f.expected_owner(probes[i]));
            REQUIRE(calls[i] >= 1);
        }
    }
}

Fixture random_fixture(std::size_t n, std::uint32_t nodes, std::mt19937_64& rng) {
    Fixture f;
    for (std::size_t i = 0; i < n; ++i) {
        f.tokens.push_back(rng());
    }
    f.owners.resize(n);
    for (std::uint32_t& o : f.owners) {
        o = static_cast<std::uint32_t>(rng() % nodes);
    }
    f.build();
    return f;
}

}  // namespace

TEST_CASE("mul_wide gives the full 128-bit product", "[index]") {
    using ringplan::detail::mul_wide;
    using ringplan::detail::mul_wide_portable;
    std::uint64_t low = 0;
    CHECK(mul_wide(max_token, max_token, low) == max_token - 1);  // (2^64-1)^2 = 2^128-2^65+1
    CHECK(low == 1);
    CHECK(mul_wide(std::uint64_t{1} << 32, std::uint64_t{1} << 32, low) == 1);
    CHECK(low == 0);
    CHECK(mul_wide(0x123456789ABCDEF0u, 11, low) == 0);
    CHECK(low == 0x123456789ABCDEF0u * 11);

    std::mt19937_64 rng(3);
    std::vector<std::uint64_t> values = {
        0, 1, 2, 11, 0xFFFFFFFFu, 0x100000000u, max_token / 2, max_token - 1, max_token};
    for (int i = 0; i < 200; ++i) {
        values.push_back(rng());
        values.push_back(rng() >> (rng() % 64));
    }
    for (std::uint64_t a : values) {
        for (std::uint64_t b : values) {
            std::uint64_t low_fast = 0, low_portable = 0;
            const std::uint64_t high = mul_wide(a, b, low_fast);
            REQUIRE(mul_wide_portable(a, b, low_portable) == high);
            REQUIRE(low_portable == low_fast);
            REQUIRE(low_fast == a * b);  // the low half is the ordinary wrapped product
        }
    }
}

TEST_CASE("the index answers like std::lower_bound on random tokens", "[index]") {
    std::mt19937_64 rng(11);
    for (std::size_t n :
         {std::size_t{1}, std::size_t{2}, std::size_t{10}, std::size_t{11}, std::size_t{12},
          std::size_t{100}, std::size_t{1000}, std::size_t{5000}}) {
        const Fixture f = random_fixture(n, 50, rng);
        check_index(f, rng);
    }
    // Large enough (over 256 KiB of index) for batches to take the pipelined path.
    const Fixture big = random_fixture(60000, 3000, rng);
    CHECK(big.index.bytes() >= (std::size_t{256} << 10));
    check_index(big, rng);
}

TEST_CASE("a line settles about four lookups in five on its own", "[index]") {
    // One bucket per vnode: a bucket is empty with probability 1/e, holds one vnode with 1/e,
    // and a token before a bucket's first vnode or after its only one is settled by the line:
    // about 0.82 in all, less the ties of one byte in 256.
    std::mt19937_64 rng(5);
    const Fixture f = random_fixture(100000, 1000, rng);
    int settled = 0;
    const int probes = 100000;
    for (int i = 0; i < probes; ++i) {
        settled += f.index.settled_in_line(rng()) ? 1 : 0;
    }
    const double share = static_cast<double>(settled) / probes;
    CHECK(share > 0.78);
    CHECK(share < 0.85);
    // 64 bytes per 11 vnodes, plus one sentinel line.
    CHECK(f.index.bytes() <= (100000 / 11 + 2) * 64);
}

TEST_CASE("bunched, duplicated and edge tokens fall back to searching", "[index]") {
    std::mt19937_64 rng(13);
    SECTION("a thousand tokens in one narrow range, among random ones") {
        Fixture f = random_fixture(3000, 40, rng);
        const Token base = Token{1} << 40;
        for (Token i = 0; i < 1000; ++i) {
            f.tokens.push_back(base + i * 7);
            f.owners.push_back(static_cast<std::uint32_t>(i % 40));
        }
        f.build();
        CHECK_FALSE(f.index.settled_in_line(base + 500 * 7 + 3));  // its line spans > 254 vnodes
        check_index(f, rng);
    }
    SECTION("three hundred copies of one token") {
        Fixture f;
        f.tokens.assign(300, Token{12345});
        f.owners.resize(300);
        for (std::uint32_t i = 0; i < 300; ++i) {
            f.owners[i] = i;  // ties ordered by owner, as the ring orders them
        }
        f.build();
        CHECK(f.index.owner(f.tokens.data(), f.owners.data(), 12345) == 0);
        CHECK(f.index.owner(f.tokens.data(), f.owners.data(), 12346) == 0);  // wraps
        check_index(f, rng);
    }
    SECTION("tokens at 0 and at 2^64-1") {
        Fixture f;
        f.tokens = {0, 1, max_token - 1, max_token};
        f.owners = {1, 2, 3, 4};
        f.build();
        CHECK(f.index.owner(f.tokens.data(), f.owners.data(), max_token) == 4);
        CHECK(f.index.lower_bound(f.tokens.data(), max_token) == 3);
        check_index(f, rng);
    }
    SECTION("owners beyond 24 bits (over 16 million nodes)") {
        Fixture f = random_fixture(2000, 40, rng);
        for (std::size_t i = 0; i < f.owners.size(); i += 3) {
            f.owners[i] = 0x1000000u + static_cast<std::uint32_t>(i);
        }
        f.build();
        check_index(f, rng);
    }
}

TEST_CASE("an empty index costs nothing and a rebuilt one forgets the old tokens", "[index]") {
    std::mt19937_64 rng(17);
    LookupIndex index;
    index.build({}, {});
    CHECK(index.bytes() == 0);
    Fixture f = random_fixture(500, 10, rng);
    Fixture g = random_fixture(20, 3, rng);
    f.index.swap(g.index);
    f.index.swap(g.index);
    check_index(f, rng);
    check_index(g, rng);
    f.tokens = g.tokens;
    f.owners = g.owners;
    f.index.build(f.tokens, f.owners);
    check_index(f, rng);
}

TEST_CASE("asking for huge pages leaves sizes and contents as resize would", "[index][memory]") {
    std::vector<Token> v;
    ringplan::detail::resize_for_lookups(v, (std::size_t{6} << 20) / sizeof(Token));  // 6 MiB
    REQUIRE(v.size() == (std::size_t{6} << 20) / sizeof(Token));
    CHECK(std::all_of(v.begin(), v.end(), [](Token t) { return t == 0; }));
    for (std::size_t i = 0; i < v.size(); i += 4099) {
        v[i] = i;
    }
    // Ranges that hold no whole 2 MiB page, or none at all, are left alone.
    ringplan::detail::advise_huge_pages(nullptr, 0);
    ringplan::detail::advise_huge_pages(v.data() + 1, 100);
    ringplan::detail::advise_huge_pages(v.data(), v.size() * sizeof(Token));
    for (std::size_t i = 0; i < v.size(); i += 4099) {
        REQUIRE(v[i] == i);
    }
    std::vector<std::uint32_t> small = {1, 2, 3};
    ringplan::detail::resize_for_lookups(small, 5);
    CHECK(small == std::vector<std::uint32_t>{1, 2, 3, 0, 0});
}
