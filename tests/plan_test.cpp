// Plans by example: small rings whose moves can be worked out by hand (docs/plans.md walks
// through the same cases), plus the totals, projection and error paths.
#include "catch.hpp"
#include "test_util.hpp"

#include <string>
#include <vector>

using Ring = ringplan::Ring<>;
using ringplan::max_token;
using ringplan::Token;
using ringplan::TokenRange;
using Move = ringplan::Move<std::string>;
using Ranges = std::vector<TokenRange>;

namespace {
// n1 at 200, n2 at 400, n3 at 700: n1 owns (700, 200] (wrapping), n2 (200, 400], n3 (400, 700].
Ring three() {
    Ring ring;
    ring.add_node_with_tokens("n1", {200});
    ring.add_node_with_tokens("n2", {400});
    ring.add_node_with_tokens("n3", {700});
    return ring;
}
const TokenRange low{0, 200};
const TokenRange high{701, max_token};
}  // namespace

TEST_CASE("leave with rf=1 hands the node's range to its successor", "[plan]") {
    const auto plan = ringplan::plan_leave(three(), "n2");
    CHECK(plan.moves == std::vector<Move>{{{201, 400}, "n2", "n3"}});
    CHECK(plan.lost.empty());
    CHECK(plan.under_replicated.empty());
    CHECK(plan.rf == 1);
    CHECK_FALSE(plan.empty());
}

TEST_CASE("leave with rf=2: every range n2 replicated gains one replica, fed by n2", "[plan]") {
    // rf=2 replica sets: (700,200] {n1,n2}; (200,400] {n2,n3}; (400,700] {n3,n1}.
    const auto plan = ringplan::plan_leave(three(), "n2", 2);
    CHECK(plan.moves ==
          std::vector<Move>{{low, "n2", "n3"}, {{201, 400}, "n2", "n1"}, {high, "n2", "n3"}});
    CHECK(plan.lost.empty());
}

TEST_CASE("crash with rf=2 streams from the surviving replicas", "[plan]") {
    const auto plan = ringplan::plan_crash(three(), "n2", 2);
    CHECK(plan.moves ==
          std::vector<Move>{{low, "n1", "n3"}, {{201, 400}, "n3", "n1"}, {high, "n1", "n3"}});
    for (const auto& m : plan.moves) {
        CHECK(m.from != "n2");
    }
    CHECK(plan.lost.empty());
}

TEST_CASE("crash with rf=1 loses the node's ranges and says so", "[plan]") {
    const auto plan = ringplan::plan_crash(three(), "n2");
    CHECK(plan.moves.empty());
    CHECK(plan.lost == Ranges{{201, 400}});
    CHECK(plan.lost_fraction() == Approx(200.0 / 18446744073709551616.0));
    CHECK(plan.lost_tokens({200, 201, 300, 400, 401}) == std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("join takes each range from the replica that drops out (strict source)", "[plan]") {
    // n4 at 300 with rf=2: (700,200] {n1,n2} -> {n1,n4}: n2 drops out and feeds n4;
    // (200,300] {n2,n3} -> {n4,n2}: n3 drops out and feeds n4; (300,700] is unchanged.
    const auto plan = ringplan::plan_join_with_tokens(three(), "n4", {300}, 2);
    CHECK(plan.moves ==
          std::vector<Move>{{low, "n2", "n4"}, {{201, 300}, "n3", "n4"}, {high, "n2", "n4"}});

    // With rf=1 the new node takes (200, 300] from its old owner.
    const auto one = ringplan::plan_join_with_tokens(three(), "n4", {300});
    CHECK(one.moves == std::vector<Move>{{{201, 300}, "n2", "n4"}});
}

TEST_CASE("join into a ring smaller than rf copies from an old replica", "[plan]") {
    Ring ring;
    ring.add_node_with_tokens("a", {100});
    // rf=3 with one node: every range has replicas {a}; after the join {b, a} or {a, b}.
    const auto plan = ringplan::plan_join_with_tokens(ring, "b", {500}, 3);
    CHECK(plan.moves == std::vector<Move>{{{0, max_token}, "a", "b"}});
    CHECK(plan.under_replicated == Ranges{{0, max_token}});  // 2 nodes < rf 3
}

TEST_CASE("a leave that leaves too few nodes is under-replicated, the last node loses all",
          "[plan]") {
    const auto plan = ringplan::plan_crash(three(), "n2", 3);
    CHECK(plan.moves.empty());  // the two survivors already hold everything
    CHECK(plan.lost.empty());
    CHECK(plan.under_replicated == Ranges{{0, max_token}});

    Ring solo;
    solo.add_node("only", 8);
    const auto last = ringplan::plan_leave(solo, "only");
    CHECK(last.moves.empty());
    CHECK(last.lost == Ranges{{0, max_token}});
    CHECK(last.under_replicated == Ranges{{0, max_token}});
}

TEST_CASE("adjacent ranges with the same from and to are merged, but never across the top",
          "[plan]") {
    Ring ring;
    ring.add_node_with_tokens("a", {100, 200});
    ring.add_node_with_tokens("b", {300});
    const auto plan = ringplan::plan_leave(ring, "a");
    CHECK(plan.moves == std::vector<Move>{{{0, 200}, "a", "b"}, {{301, max_token}, "a", "b"}});
}

TEST_CASE("with vnodes a leave spreads over many successors", "[plan]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c", "d", "e", "f", "g", "h"}, 64);
    const auto plan = ringplan::plan_leave(ring, "c");
    const auto traffic = plan.traffic();
    std::size_t receivers = 0;
    double received = 0;
    for (const auto& t : traffic) {
        if (t.node == "c") {
            CHECK(t.sent == Approx(ring.ownership("c")));
            CHECK(t.received == 0);
        } else {
            CHECK(t.sent == 0);
            CHECK(t.received > 0);
            ++receivers;
            received += t.received;
        }
    }
    CHECK(receivers == 7);
    CHECK(received == Approx(ring.ownership("c")));
    CHECK(plan.moved_fraction() == Approx(ring.ownership("c")));
    CHECK(ringplan::replicated_share(ring, "c", 1) == Approx(ring.ownership("c")));
}

TEST_CASE("a leave moves exactly the node's replicated share: the optimum", "[plan]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c", "d", "e", "f"}, 32);
    for (std::size_t rf = 1; rf <= 4; ++rf) {
        const double share = ringplan::replicated_share(ring, "d", rf);
        CHECK(ringplan::plan_leave(ring, "d", rf).moved_fraction() == Approx(share));
        const auto crash = ringplan::plan_crash(ring, "d", rf);
        // With rf=1 nothing survives to copy from: the same share is lost instead.
        CHECK((rf == 1 ? crash.lost_fraction() : crash.moved_fraction()) == Approx(share));
    }
    // A joining node receives exactly what it will replicate.
    Ring after = ring;
    after.add_node("g", 32);
    const auto join = ringplan::plan_join(ring, "g", 32, 3);
    CHECK(join.moved_fraction() == Approx(ringplan::replicated_share(after, "g", 3)));
    CHECK(join.moves == ringplan::diff(ring, after, 3).moves);
}

TEST_CASE("diff plans several changes at once", "[plan]") {
    Ring before;
    before.add_nodes({"a", "b", "c", "d"}, 16);
    Ring after = before;
    after.remove_node("b");
    after.remove_node("c");
    after.add_nodes({"x", "y"}, 16);
    const auto plan = ringplan::diff(before, after, 2);
    for (const auto& m : plan.moves) {
        CHECK((m.to == "a" || m.to == "d" || m.to == "x" || m.to == "y"));
        for (Token t : {m.range.first, m.range.last}) {
            const auto rb = before.replicas_of(t, 2);
            const auto ra = after.replicas_of(t, 2);
            CHECK(std::find(rb.begin(), rb.end(), m.from) != rb.end());
            CHECK(std::find(ra.begin(), ra.end(), m.to) != ra.end());
            CHECK(std::find(rb.begin(), rb.end(), m.to) == rb.end());
        }
    }
    CHECK(plan.lost.empty());
    CHECK(ringplan::diff(before, before, 2).empty());
}

TEST_CASE("nodes marked down are never sources", "[plan]") {
    // Leaving n2 is down: its leave becomes a crash.
    ringplan::PlanOptions<std::string> options(2);
    options.down = {"n2"};
    CHECK(ringplan::plan_leave(three(), "n2", options).moves ==
          ringplan::plan_crash(three(), "n2", 2).moves);
    // n1 and n2 both down and n2 crashes: (700, 200] has no source left.
    options.down = {"n1"};
    const auto plan = ringplan::plan_crash(three(), "n2", options);
    CHECK(plan.lost == Ranges{low, high});
    CHECK(plan.moves == std::vector<Move>{{{201, 400}, "n3", "n1"}});
}

TEST_CASE("projecting a plan onto keys", "[plan][project]") {
    const auto plan = ringplan::plan_leave(three(), "n2");
    const std::vector<Token> tokens = {400, 100, 201, 250, 700, 200};
    const auto moves = plan.project_tokens(tokens);
    REQUIRE(moves.size() == 3);
    CHECK(moves[0].index == 2);  // sorted by token: 201, 250, 400
    CHECK(moves[0].token == 201);
    CHECK(moves[1].index == 3);
    CHECK(moves[2].index == 0);
    for (const auto& m : moves) {
        CHECK(*m.from == "n2");
        CHECK(*m.to == "n3");
    }
    // Keys are hashed with the ring's policy.
    Ring ring;
    ring.add_nodes({"a", "b", "c"}, 32);
    const auto leave = ringplan::plan_leave(ring, "b");
    std::vector<std::string> keys;
    for (int i = 0; i < 1000; ++i) {
        keys.push_back("key-" + std::to_string(i));
    }
    std::size_t moved = 0;
    for (const auto& km : leave.project(keys)) {
        CHECK(ring.owner(keys[km.index]) == "b");
        CHECK(*km.to == ring.successor(keys[km.index]));
        ++moved;
    }
    std::size_t owned_by_b = 0;
    for (const auto& k : keys) {
        owned_by_b += ring.owner(k) == "b" ? 1u : 0u;
    }
    CHECK(moved == owned_by_b);
}

TEST_CASE("plan errors", "[plan][errors]") {
    using ringplan::Errc;
    const Ring ring = three();
    auto code_of = [](auto&& call) {
        try {
            call();
        } catch (const ringplan::Error& e) {
            return e.code();
        }
        FAIL("no error");
        return Errc::empty_ring;
    };
    CHECK(code_of([&] { ringplan::plan_leave(ring, "zz"); }) == Errc::unknown_node);
    CHECK(code_of([&] { ringplan::plan_crash(ring, "zz"); }) == Errc::unknown_node);
    CHECK(code_of([&] { ringplan::plan_leave(ring, "n1", 0); }) == Errc::invalid_rf);
    CHECK(code_of([&] { ringplan::diff(ring, ring, 0); }) == Errc::invalid_rf);
    CHECK(code_of([&] { ringplan::replicated_share(ring, "n1", 0); }) == Errc::invalid_rf);
    CHECK(code_of([&] { ringplan::replicated_share(ring, "zz", 1); }) == Errc::unknown_node);
    CHECK(code_of([&] { ringplan::plan_join(ring, "n1", 8); }) == Errc::duplicate_node);
    CHECK(code_of([&] { ringplan::plan_join(ring, "n9", 0); }) == Errc::zero_vnodes);
    CHECK(code_of([&] { ringplan::plan_join_with_tokens(ring, "n9", {400}); }) ==
          Errc::token_collision);
    CHECK(code_of([&] {
              ringplan::plan_join_with_tokens(ring, "n9", {5, 5});
          }) == Errc::token_collision);
    CHECK(code_of([&] { ringplan::plan_join_with_tokens(ring, "n9", {}); }) == Errc::zero_vnodes);
    ringplan::PlanOptions<std::string> options;
    options.down = {"ghost"};
    CHECK(code_of([&] { ringplan::plan_crash(ring, "n1", options); }) == Errc::unknown_node);
}
