// Lookup: owner, replicas, successor, the ranges a node owns and its share, with the edge
// tokens of docs/design.md: 0, 2^64-1, exactly on a vnode, one past it, a single-vnode ring.
#include "catch.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using Ring = ringplan::Ring<>;
using ringplan::max_token;
using ringplan::Token;
using ringplan::TokenRange;
using Ranges = std::vector<TokenRange>;

namespace {
// The departure protocol's example: n1 at 200, n2 at 400, n3 at 700.
Ring three_nodes() {
    Ring ring;
    ring.add_node_with_tokens("n1", {200});
    ring.add_node_with_tokens("n2", {400});
    ring.add_node_with_tokens("n3", {700});
    return ring;
}
}  // namespace

TEST_CASE("owner is the first vnode at or after the token, wrapping", "[lookup][edge]") {
    const Ring ring = three_nodes();
    CHECK(ring.owner_at(0) == "n1");
    CHECK(ring.owner_at(199) == "n1");
    CHECK(ring.owner_at(200) == "n1");  // exactly on a vnode: that vnode
    CHECK(ring.owner_at(201) == "n2");  // one past it: the next
    CHECK(ring.owner_at(400) == "n2");
    CHECK(ring.owner_at(401) == "n3");
    CHECK(ring.owner_at(700) == "n3");
    CHECK(ring.owner_at(701) == "n1");  // past the last vnode: wraps to the first
    CHECK(ring.owner_at(max_token) == "n1");
    CHECK(ring.vnode_at(0) == 0);
    CHECK(ring.vnode_at(201) == 1);
    CHECK(ring.vnode_at(max_token) == 0);
}

TEST_CASE("vnodes at 0 and at 2^64-1", "[lookup][edge]") {
    Ring ring;
    ring.add_node_with_tokens("low", {0});
    ring.add_node_with_tokens("high", {max_token});
    CHECK(ring.owner_at(0) == "low");
    CHECK(ring.owner_at(1) == "high");
    CHECK(ring.owner_at(max_token) == "high");
    CHECK(ring.ranges_of("low") == Ranges{{0, 0}});
    CHECK(ring.ranges_of("high") == Ranges{{1, max_token}});

    // A single vnode at the top owns everything: [0, 2^64-1] as one range.
    Ring top;
    top.add_node_with_tokens("only", {max_token});
    CHECK(top.ranges_of("only") == Ranges{{0, max_token}});
}

TEST_CASE("a single-vnode ring owns every token", "[lookup][edge]") {
    Ring ring;
    ring.add_node_with_tokens("solo", {1000});
    for (Token t : {Token{0}, Token{999}, Token{1000}, Token{1001}, max_token}) {
        CHECK(ring.owner_at(t) == "solo");
        CHECK(ring.replicas_at(t, ringplan::Rf{3}) == std::vector<std::string>{"solo"});
    }
    CHECK(ring.ranges_of("solo") == Ranges{{0, max_token}});
    CHECK(ring.ownership("solo") == 1.0);
}

TEST_CASE("ranges_of lists sorted, disjoint, merged ranges, split at the top", "[lookup][ranges]") {
    const Ring ring = three_nodes();
    CHECK(ring.ranges_of("n1") == Ranges{{0, 200}, {701, max_token}});
    CHECK(ring.ranges_of("n2") == Ranges{{201, 400}});
    CHECK(ring.ranges_of("n3") == Ranges{{401, 700}});

    // Adjacent vnodes of one node merge into one range.
    Ring merged;
    merged.add_node_with_tokens("a", {10, 20, 30});
    merged.add_node_with_tokens("b", {40});
    CHECK(merged.ranges_of("a") == Ranges{{0, 30}, {41, max_token}});
    CHECK(merged.ranges_of("b") == Ranges{{31, 40}});

    // A range's width, in tokens and as a share of the ring: the whole ring is 2^64 tokens.
    CHECK(TokenRange{31, 40}.token_count() == 10.0);
    CHECK(TokenRange{5, 5}.token_count() == 1.0);
    CHECK(TokenRange{0, max_token}.token_count() == 18446744073709551616.0);
    CHECK(TokenRange{0, max_token}.fraction() == 1.0);
    CHECK(TokenRange{0, (max_token >> 2)}.fraction() == 0.25);
}

TEST_CASE("ownership shares follow the ranges and sum to one", "[lookup][ownership]") {
    const Ring ring = three_nodes();
    const double ring_size = 18446744073709551616.0;
    CHECK(ring.ownership("n2") == Approx(200.0 / ring_size));
    CHECK(ring.ownership("n1") == Approx(1.0 - 500.0 / ring_size));

    Ring big;
    big.add_nodes({"a", "b", "c", "d", "e"}, 128);
    double sum = 0;
    for (const auto& [id, share] : big.ownership()) {
        CHECK(share == Approx(big.ownership(id)).epsilon(1e-9));
        CHECK(share > 0.1);  // 128 vnodes keep each of 5 nodes near 0.2
        CHECK(share < 0.3);
        sum += share;
    }
    CHECK(sum == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("replicas are the first rf distinct nodes clockwise", "[lookup][replicas]") {
    Ring ring;
    ring.add_node_with_tokens("a", {100, 200});
    ring.add_node_with_tokens("b", {300});
    ring.add_node_with_tokens("c", {400, 500});
    CHECK(ring.replicas_at(50, ringplan::Rf{1}) == std::vector<std::string>{"a"});
    CHECK(ring.replicas_at(50, ringplan::Rf{2}) ==
          std::vector<std::string>{"a", "b"});  // skips a's 2nd vnode
    CHECK(ring.replicas_at(350, ringplan::Rf{3}) ==
          std::vector<std::string>{"c", "a", "b"});  // wraps
    CHECK(ring.replicas_at(350, ringplan::Rf{10}) ==
          std::vector<std::string>{"c", "a", "b"});  // capped
    CHECK(ring.replicas_at(max_token, ringplan::Rf{2}) == std::vector<std::string>{"a", "b"});
    // The owner always comes first.
    for (Token t : {Token{0}, Token{150}, Token{300}, Token{301}, Token{450}, max_token}) {
        CHECK(ring.replicas_at(t, ringplan::Rf{3}).front() == ring.owner_at(t));
    }
}

TEST_CASE("successor is the next vnode of a different node", "[lookup][successor]") {
    Ring ring;
    ring.add_node_with_tokens("a", {100, 200});
    ring.add_node_with_tokens("b", {300});
    CHECK(ring.successor_at(50) == "b");   // a@100 -> a@200 is the same node -> b@300
    CHECK(ring.successor_at(250) == "a");  // b@300 wraps to a@100
    CHECK(ring.successor_at(max_token) == "b");
}

TEST_CASE("key lookups hash the key with the ring's policy", "[lookup]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c"}, 64);
    for (const std::string key :
         {"", "user:1", "user:2", "cart:42", "a much longer key than most"}) {
        const Token t = ringplan::key_token<ringplan::Xxh3>(key);
        CHECK(Ring::key_token(key) == t);
        CHECK(ring.owner(key) == ring.owner_at(t));
        CHECK(ring.replicas(key, ringplan::Rf{2}) == ring.replicas_at(t, ringplan::Rf{2}));
        CHECK(ring.successor(key) == ring.successor_at(t));
        CHECK(ring.owner(key) != ring.successor(key));
    }
    CHECK(ring.owner(std::uint64_t{7}) == ring.owner_at(Ring::key_token(std::uint64_t{7})));
}

namespace {
// The textbook answer: std::lower_bound over the vnode array, wrapping.
std::string reference_owner(const Ring& ring, const std::vector<Token>& tokens, Token t) {
    auto it = std::lower_bound(tokens.begin(), tokens.end(), t);
    const auto i = it == tokens.end() ? 0 : static_cast<std::size_t>(it - tokens.begin());
    return ring.vnode_node(i);
}

void check_lookups(const Ring& ring, std::mt19937_64& rng) {
    std::vector<Token> tokens;
    for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
        tokens.push_back(ring.vnode_token(i));
    }
    std::vector<Token> probes = {0, 1, max_token - 1, max_token};
    for (std::size_t i = 0; i < ring.vnode_count(); i += 97) {
        const Token t = ring.vnode_token(i);
        probes.insert(probes.end(), {t - 1, t, t + 1});
    }
    for (int i = 0; i < 500; ++i) {
        probes.push_back(rng());
    }
    std::vector<const std::string*> batch(probes.size());
    ring.owners_at(probes.data(), probes.size(), batch.data());
    for (std::size_t i = 0; i < probes.size(); ++i) {
        INFO("token " << probes[i]);
        const std::string want = reference_owner(ring, tokens, probes[i]);
        REQUIRE(ring.owner_at(probes[i]) == want);
        REQUIRE(*batch[i] == want);
        REQUIRE(batch[i] == &ring.owner_at(probes[i]));  // points into the ring
    }
    for (std::size_t i = 1; i < ring.vnode_count(); ++i) {
        REQUIRE(ring.vnode_token(i - 1) <= ring.vnode_token(i));
    }
}
}  // namespace

TEST_CASE("the lookup index agrees with a plain binary search on large rings", "[lookup][index]") {
    std::mt19937_64 rng(7);
    Ring big;  // 12,000 vnodes: built with the bucket sort, one index bucket per vnode
    for (int i = 0; i < 60; ++i) {
        big.add_node("node-" + std::to_string(i), 200);
    }
    check_lookups(big, rng);
    Ring bulk;
    std::vector<std::string> ids;
    for (int i = 0; i < 60; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    bulk.add_nodes(ids, 200);
    CHECK(bulk == big);

    // 51,200 vnodes: an index of some 300 KiB, over the size where batches are pipelined.
    Ring large;
    ids.clear();
    for (int i = 0; i < 200; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    large.add_nodes(ids, 256);
    check_lookups(large, rng);

    // Skewed explicit tokens: 5,000 vnodes packed into the lowest bucket and a few at the top,
    // so one bucket holds almost everything and the search inside it does the work.
    Ring skewed;
    std::vector<std::pair<std::string, std::vector<Token>>> nodes;
    for (int n = 0; n < 50; ++n) {
        std::vector<Token> tokens;
        for (int v = 0; v < 100; ++v) {
            tokens.push_back(static_cast<Token>(v * 50 + n));
        }
        tokens.push_back(max_token - static_cast<Token>(n));
        nodes.emplace_back("s" + std::to_string(n), tokens);
    }
    skewed.add_nodes_with_tokens(nodes.begin(), nodes.end());
    check_lookups(skewed, rng);
    skewed.remove_node("s7");  // the index is rebuilt on removal too
    check_lookups(skewed, rng);
}

TEST_CASE("batch lookups of keys", "[lookup][batch]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c", "d"}, 64);
    std::vector<std::string> keys;
    for (int i = 0; i < 1000; ++i) {  // more than one internal block of 256
        keys.push_back("key-" + std::to_string(i));
    }
    std::vector<const std::string*> out(keys.size());
    ring.owners(keys.data(), keys.size(), out.data());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CHECK(out[i] == &ring.owner(keys[i]));
    }
    ring.owners_at(nullptr, 0, nullptr);  // nothing to do, nothing touched
    Ring empty;
    CHECK_THROWS_AS(empty.owners(keys.data(), 1, out.data()), ringplan::Error);
}

TEST_CASE("replicas into caller storage match the vector form and the reference model",
          "[lookup][replicas]") {
    std::mt19937_64 rng(20261129);
    for (int round = 0; round < 200; ++round) {
        const auto members = rp_test::random_members(rng, 12, 6, true);
        Ring ring;
        for (const auto& m : members) {
            rp_test::add_member(ring, m);
        }
        const auto naive = rp_test::naive_of<ringplan::Xxh3>(members);
        for (int k = 0; k < 20; ++k) {
            const Token t = k % 5 == 0 ? ringplan::max_token : rng();
            const ringplan::Rf rf(1 + rng() % 15);
            std::vector<const std::string*> out(rf.value(), nullptr);
            const std::size_t got = ring.replicas_at(t, rf, out.data());
            INFO("round " << round << ", token " << t << ", rf " << rf.value());
            REQUIRE(got == std::min(rf.value(), ring.node_count()));
            // Nothing written past the count.
            CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(got), out.end(),
                              [](const std::string* p) { return p == nullptr; }));
            std::vector<std::string> ids;
            for (std::size_t i = 0; i < got; ++i) {
                ids.push_back(*out[i]);
            }
            CHECK(ids == ring.replicas_at(t, rf));
            CHECK(ids == naive.replicas(t, rf.value()));
        }
        const std::string key = "key:" + std::to_string(round);
        const ringplan::Rf rf(3);
        const std::string* out[3] = {};
        const std::size_t got = ring.replicas(key, rf, out);
        CHECK(std::vector<std::string>(ring.replicas(key, rf)).size() == got);
        CHECK(*out[0] == ring.owner(key));
    }
    Ring empty;
    const std::string* out[1] = {};
    CHECK_THROWS_AS(empty.replicas_at(1, ringplan::Rf(1), out), ringplan::Error);
}
