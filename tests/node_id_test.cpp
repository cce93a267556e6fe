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

namespace app {
// A name ordered against std::string both ways: found without building a std::string.
struct NameRef {
    const char* text;
};
inline bool operator<(const NameRef& a, const std::string& b) {
    return b.compare(a.text) > 0;
}
inline bool operator<(const std::string& a, const NameRef& b) {
    return a.compare(b.text) < 0;
}
}  // namespace app

TEST_CASE("members are named by anything ordered against the id type", "[node_id]") {
    ringplan::Ring<> ring;
    ring.add_nodes({"alpha", "beta", "gamma"}, 16);
    const std::string_view beta = "beta";
    CHECK(ring.contains(beta));
    CHECK(ring.contains("gamma"));
    CHECK_FALSE(ring.contains(std::string_view("delta")));
    CHECK(ring.contains(app::NameRef{"alpha"}));
    CHECK(ring.vnode_count(beta) == 16);
    CHECK(ring.tokens_of(beta) == ring.tokens_of(std::string("beta")));
    CHECK(ring.ranges_of(app::NameRef{"beta"}) == ring.ranges_of(std::string("beta")));
    CHECK(ring.ownership(beta) == ring.ownership(std::string("beta")));
    CHECK(ring.node_at(ring.node_index(beta)) == "beta");
    const auto leave = ringplan::plan_leave(ring, beta, ringplan::Rf{2});
    CHECK(leave.moves == ringplan::plan_leave(ring, std::string("beta"), ringplan::Rf{2}).moves);
    CHECK(ringplan::replicated_share(ring, beta, ringplan::Rf{2}) ==
          ringplan::replicated_share(ring, std::string("beta"), ringplan::Rf{2}));
    rp_test::expect_error([&] { (void)ring.tokens_of(std::string_view("delta")); },
                          ringplan::Errc::unknown_node, "'delta'");
    ring.remove_node(beta);
    CHECK_FALSE(ring.contains("beta"));
    // A numeric id takes any number, converted: no signed/unsigned comparison.
    ringplan::Ring<ringplan::Xxh3, std::uint64_t> numbers;
    numbers.add_nodes({std::uint64_t{1}, std::uint64_t{2}}, 8);
    CHECK(numbers.contains(2));
    CHECK(numbers.vnode_count(1) == 8);
}
