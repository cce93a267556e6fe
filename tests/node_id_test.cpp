// Node ids other than std::string: integers (little-endian bytes) and a user type with its own
// ByteRepr specialization; errors name them readably.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace app {
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    friend bool operator<(const Endpoint& a, const Endpoint& b) {
        return a.host != b.host ? a.host < b.host : a.port < b.port;
    }
    friend bool operator==(const Endpoint& a, const Endpoint& b) {
        return a.host == b.host && a.port == b.port;
    }
};
}  // namespace app

template <>
struct ringplan::ByteRepr<app::Endpoint> {
    static std::string bytes(const app::Endpoint& e) {
        return e.host + ":" + std::to_string(e.port);
    }
};

TEST_CASE("integer node ids hash their little-endian bytes", "[node_id]") {
    ringplan::Ring<ringplan::Xxh3, std::uint32_t> ring;
    ring.add_nodes(std::vector<std::uint32_t>{3, 1, 2}, 16);
    CHECK(ring.nodes() == std::vector<std::uint32_t>{1, 2, 3});
    const unsigned char id2[8] = {2, 0, 0, 0, 5, 0, 0, 0};  // id 2, vnode 5
    const auto tokens = ring.tokens_of(2);
    CHECK(std::binary_search(tokens.begin(), tokens.end(), ringplan::Xxh3::hash(id2, 8)));
    rp_test::expect_error([&] { ring.remove_node(9); }, ringplan::Errc::unknown_node,
                          "node 9 is not in the ring");
}

TEST_CASE("a user node type with a ByteRepr specialization", "[node_id]") {
    using app::Endpoint;
    ringplan::Ring<ringplan::Xxh3, Endpoint> ring;
    ring.add_node(Endpoint{"10.0.0.1", 11211}, 32);
    ring.add_node(Endpoint{"10.0.0.2", 11211}, 32);
    CHECK(ring.node_count() == 2);
    // Same bytes as the string id "10.0.0.1:11211", so the same tokens.
    ringplan::Ring<> by_string;
    by_string.add_node("10.0.0.1:11211", 32);
    CHECK(ring.tokens_of(Endpoint{"10.0.0.1", 11211}) == by_string.tokens_of("10.0.0.1:11211"));
    // No readable form: the id's bytes in hex ("x:1").
    rp_test::expect_error(
        [&] {
            ring.remove_node(Endpoint{"x", 1});
        },
        ringplan::Errc::unknown_node, "0x783a31");
}
