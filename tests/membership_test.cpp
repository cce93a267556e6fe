// Membership: adding nodes by vnode count, in bulk and with explicit tokens; removing them;
// counts, contains, the node list and each node's tokens.
#include "catch.hpp"
#include "test_util.hpp"

#include <string>
#include <vector>

using Ring = ringplan::Ring<>;
using ringplan::Token;

TEST_CASE("add_node derives the node's vnodes", "[membership]") {
    Ring ring;
    CHECK(ring.empty());
    ring.add_node("a", 16);
    ring.add_node("b", 8);
    CHECK_FALSE(ring.empty());
    CHECK(ring.node_count() == 2);
    CHECK(ring.vnode_count() == 24);
    CHECK(ring.vnode_count("a") == 16);
    CHECK(ring.vnode_count("b") == 8);
    CHECK(ring.contains("a"));
    CHECK_FALSE(ring.contains("c"));
    CHECK(ring.nodes() == std::vector<std::string>{"a", "b"});

    auto tokens = ring.tokens_of("a");
    REQUIRE(tokens.size() == 16);
    CHECK(std::is_sorted(tokens.begin(), tokens.end()));
    for (std::uint32_t i = 0; i < 16; ++i) {
        CHECK(std::binary_search(tokens.begin(), tokens.end(),
                                 ringplan::vnode_token(std::string("a"), i)));
    }
    // The vnode array is sorted and lists exactly the members' tokens.
    std::vector<Token> all;
    for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
        all.push_back(ring.vnode_token(i));
        if (i > 0) {
            CHECK(ring.vnode_token(i - 1) <= ring.vnode_token(i));
        }
    }
    auto expect = ring.tokens_of("a");
    auto more = ring.tokens_of("b");
    expect.insert(expect.end(), more.begin(), more.end());
    std::sort(expect.begin(), expect.end());
    CHECK(all == expect);
}

TEST_CASE("add_nodes in bulk equals one add_node per node", "[membership]") {
    const std::vector<std::string> ids = {"d", "b", "e", "a", "c"};
    Ring bulk;
    bulk.add_nodes(ids, 32);
    Ring one_by_one;
    for (const auto& id : ids) {
        one_by_one.add_node(id, 32);
    }
    CHECK(bulk == one_by_one);
    CHECK(bulk.node_count() == 5);
    CHECK(bulk.vnode_count() == 160);

    Ring from_list;
    from_list.add_nodes({"a", "b", "c", "d", "e"}, 32);
    CHECK(from_list == bulk);

    Ring nothing;
    nothing.add_nodes(std::vector<std::string>{}, 32);
    CHECK(nothing.empty());
}

TEST_CASE("add_node_with_tokens places vnodes exactly", "[membership]") {
    Ring ring;
    ring.add_node_with_tokens("n1", {700, 200});
    ring.add_node_with_tokens("n2", {400});
    CHECK(ring.vnode_count() == 3);
    CHECK(ring.tokens_of("n1") == std::vector<Token>{200, 700});
    CHECK(ring.vnode_token(0) == 200);
    CHECK(ring.vnode_node(0) == "n1");
    CHECK(ring.vnode_token(1) == 400);
    CHECK(ring.vnode_node(1) == "n2");
    CHECK(ring.vnode_token(2) == 700);
    CHECK(ring.vnode_node(2) == "n1");
}

TEST_CASE("remove_node takes out every vnode of the node and nothing else", "[membership]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c"}, 64);
    Ring without_b;
    without_b.add_nodes({"a", "c"}, 64);
    Ring copy = ring;
    ring.remove_node("b");
    CHECK(ring == without_b);
    CHECK(ring.node_count() == 2);
    CHECK(ring.vnode_count() == 128);
    CHECK_FALSE(ring.contains("b"));
    CHECK(copy.contains("b"));  // a copy is independent
    ring.add_node("b", 64);
    CHECK(ring == copy);

    ring.remove_node("a");
    ring.remove_node("b");
    ring.remove_node("c");
    CHECK(ring.empty());
    CHECK(ring.node_count() == 0);
    CHECK(ring == Ring());
}

TEST_CASE("rings are values: copy, move and compare", "[membership]") {
    Ring a;
    a.add_nodes({"x", "y"}, 8);
    Ring b = a;
    CHECK(a == b);
    b.add_node("z", 1);
    CHECK(a != b);
    Ring c = std::move(b);
    CHECK(c.contains("z"));
    Ring d;
    d = c;
    CHECK(d == c);

    Ring other_tokens;
    other_tokens.add_node_with_tokens("x", a.tokens_of("x"));
    other_tokens.add_node_with_tokens("y", a.tokens_of("y"));
    CHECK(other_tokens == a);  // same members at the same tokens
}

TEST_CASE("add_nodes_with_tokens adds many explicit-token nodes at once", "[membership]") {
    const std::vector<std::pair<std::string, std::vector<Token>>> nodes = {
        {"n3", {700}}, {"n1", {200, 900}}, {"n2", {400}}};
    Ring bulk;
    bulk.add_nodes_with_tokens(nodes.begin(), nodes.end());
    Ring single;
    for (const auto& [id, tokens] : nodes) {
        single.add_node_with_tokens(id, tokens);
    }
    CHECK(bulk == single);
    CHECK(bulk.vnode_count() == 4);
    CHECK(bulk.owner_at(850) == "n1");
}

TEST_CASE("memory_usage stays near 18 bytes per vnode (docs/placement.md: 18.1)",
          "[membership][memory]") {
    Ring ring;
    CHECK(ring.memory_usage() == 0);
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    ring.add_nodes(ids, 256);  // 25,600 vnodes: tokens 8 + owners 4 + index 64/11 bytes each
    const double per_vnode =
        static_cast<double>(ring.memory_usage()) / static_cast<double>(ring.vnode_count());
    CHECK(per_vnode >= 12.0);
    CHECK(per_vnode <= 19.0);
}
