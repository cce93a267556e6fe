// ketama: MD5 against RFC 1321, the point arithmetic, and owners against golden vectors that
// libmemcached 1.1.4 produced (tests/data/compat/make_golden.sh). The live cross-check against
// the installed library is tests/compat/ketama_live.cpp.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <ringplan/ketama.hpp>
#include <ringplan/plan.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ketama = ringplan::ketama;

namespace {

std::string md5_hex(const std::string& s) {
    const auto d = ringplan::detail::Md5::digest(s.data(), s.size());
    std::string out;
    char buf[3];
    for (unsigned char c : d) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
    }
    return out;
}

// "host:port:weight,..." as written by ketama_reference.c.
std::vector<ketama::Server> parse_servers(const std::string& spec) {
    std::vector<ketama::Server> out;
    std::size_t start = 0;
    while (start < spec.size()) {
        std::size_t end = spec.find(',', start);
        if (end == std::string::npos) {
            end = spec.size();
        }
        const std::string item = spec.substr(start, end - start);
        const std::size_t w = item.rfind(':');
        const std::size_t p = item.rfind(':', w - 1);
        out.push_back({item.substr(0, p),
                       static_cast<std::uint16_t>(std::stoul(item.substr(p + 1, w - p - 1))),
                       static_cast<std::uint32_t>(std::stoul(item.substr(w + 1)))});
        start = end + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("MD5 matches the RFC 1321 test suite", "[compat][ketama]") {
    CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
    CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
    CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
    CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
          "d174ab98d277d9f5a5611c2c9f419d9f");
    CHECK(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                  "7890") == "57edf4a22be3c955ac49da2e2107b67a");
    // Lengths around the padding boundary (55, 56, 64 bytes), from coreutils md5sum.
    CHECK(md5_hex(std::string(55, 'a')) == "ef1772b6dff9a122358552954ad0df65");
    CHECK(md5_hex(std::string(56, 'a')) == "3b0c8ac703f828b04c6c197006d17218");
    CHECK(md5_hex(std::string(64, 'a')) == "014842d480b571495a4a0363793f7367");
}

TEST_CASE("ketama key hash and point names follow libmemcached", "[compat][ketama]") {
    // md5("") = d4 1d 8c d9 ...: the first four bytes little-endian.
    CHECK(ketama::key_hash("") == 0xd98c1dd4u);
    CHECK(ketama::Md5Hash::hash("", 0) == ringplan::Token{0xd98c1dd4u} << 32);
    CHECK(ketama::point_name({"10.0.0.1", 11211, 1}, 0) == "10.0.0.1-0");
    CHECK(ketama::point_name({"10.0.0.1", 11212, 1}, 39) == "10.0.0.1:11212-39");
    CHECK(ketama::node_id({"10.0.0.1", 11211, 1}) == "10.0.0.1:11211");
}

TEST_CASE("ketama point counts use libmemcached's single-precision arithmetic",
          "[compat][ketama]") {
    // Equal weights: 160 points each, except where float rounding drops a digest: with 100
    // servers, 0.01f * 160 / 4 * 100 = 39.99999... and floor gives 39 (156 points), as
    // libmemcached computes it (checked against a C build of its expression).
    for (std::size_t n : {1u, 2u, 3u, 5u, 7u, 10u}) {
        CHECK(ketama::point_count(1, n, n) == 160);
    }
    CHECK(ketama::point_count(1, 100, 100) == 156);
    CHECK(ketama::point_count(2, 3, 2) == 212);   // floor(2/3 * 40 * 2) * 4
    CHECK(ketama::point_count(1, 3, 2) == 104);   // floor(1/3 * 40 * 2) * 4 = 26 * 4
    CHECK(ketama::point_count(1, 1000, 3) == 0);  // too light to earn a point
}

TEST_CASE("ketama owners match golden vectors from libmemcached", "[compat][ketama][golden]") {
    const auto rows = rp_test::read_golden("compat/ketama.txt");
    std::size_t configs = 0;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r][0] != "servers") {
            continue;
        }
        REQUIRE(r + 1 < rows.size());
        REQUIRE(rows[r + 1][0] == "owners");
        const auto servers = parse_servers(rows[r][1]);
        const auto ring = ketama::build_ring(servers);
        const auto points = ketama::continuum(servers);
        INFO(rows[r][1]);
        for (std::size_t k = 1; k < rows[r + 1].size(); ++k) {
            const std::string key = "key:" + std::to_string(k - 1);
            const auto want = std::stoul(rows[r + 1][k]);
            CHECK(ketama::pick(points, ketama::key_hash(key)) == want);
            CHECK(ring.owner(key) == ketama::node_id(servers[want]));
        }
        ++configs;
    }
    CHECK(configs == 44);
}

TEST_CASE("a ketama ring is an ordinary ring", "[compat][ketama]") {
    const std::vector<ketama::Server> servers = {{"a", 11211, 1}, {"b", 11211, 2}, {"c", 11300, 1}};
    const auto ring = ketama::build_ring(servers);
    CHECK(ring.node_count() == 3);
    CHECK(ring.vnode_count() == ketama::continuum(servers).size());
    CHECK(ring.vnode_count("b:11211") == ketama::point_count(2, 4, 3));
    const auto replicas = ring.replicas("some-key", ringplan::Rf{2});
    REQUIRE(replicas.size() == 2);
    CHECK(replicas[0] == ring.owner("some-key"));
    const auto plan = ringplan::plan_leave(ring, "b:11211");
    CHECK(!plan.moves.empty());
}

TEST_CASE("ketama builder errors", "[compat][ketama]") {
    CHECK_THROWS_AS(ketama::build_ring({{"a", 11211, 0}, {"b", 11211, 1}}), ringplan::Error);
    rp_test::expect_error(
        [] {
            (void)ketama::build_ring({{"a", 11211, 1}, {"a", 11211, 1}});
        },
        ringplan::Errc::duplicate_node);
    // A server too light to earn a point is never picked, and not in the ring.
    const auto ring = ketama::build_ring({{"heavy", 11211, 1000}, {"light", 11211, 1}});
    CHECK(ring.node_count() == 1);
    CHECK(ring.owner("k") == "heavy:11211");
    CHECK(ketama::build_ring({}).empty());
}
