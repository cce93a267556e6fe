// Plans by example: small rings whose moves can be worked out by hand (docs/plans.md walks
// through the same cases), plus the totals, projection and error paths.
#include "catch.hpp"
#include "expect_error.hpp"
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
    const auto plan = ringplan::plan_leave(three(), "n2", ringplan::Rf{2});
    CHECK(plan.moves ==
          std::vector<Move>{{low, "n2", "n3"}, {{201, 400}, "n2", "n1"}, {high, "n2", "n3"}});
    CHECK(plan.lost.empty());
}

TEST_CASE("crash with rf=2 streams from the surviving replicas", "[plan]") {
    const auto plan = ringplan::plan_crash(three(), "n2", ringplan::Rf{2});
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
    CHECK(ringplan::lost_tokens(plan, {200, 201, 300, 400, 401}) ==
          std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("join takes each range from the replica that drops out (strict source)", "[plan]") {
    // n4 at 300 with rf=2: (700,200] {n1,n2} -> {n1,n4}: n2 drops out and feeds n4;
    // (200,300] {n2,n3} -> {n4,n2}: n3 drops out and feeds n4; (300,700] is unchanged.
    const auto plan = ringplan::plan_join_with_tokens(three(), "n4", {300}, ringplan::Rf{2});
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
    const auto plan = ringplan::plan_join_with_tokens(ring, "b", {500}, ringplan::Rf{3});
    CHECK(plan.moves == std::vector<Move>{{{0, max_token}, "a", "b"}});
    CHECK(plan.under_replicated == Ranges{{0, max_token}});  // 2 nodes < rf 3
}

TEST_CASE("a leave that leaves too few nodes is under-replicated, the last node loses all",
          "[plan]") {
    const auto plan = ringplan::plan_crash(three(), "n2", ringplan::Rf{3});
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
    CHECK(ringplan::replicated_share(ring, "c", ringplan::Rf{1}) == Approx(ring.ownership("c")));
}

TEST_CASE("a leave moves exactly the node's replicated share: the optimum", "[plan]") {
    Ring ring;
    ring.add_nodes({"a", "b", "c", "d", "e", "f"}, 32);
    for (std::size_t rf = 1; rf <= 4; ++rf) {
        const double share = ringplan::replicated_share(ring, "d", ringplan::Rf{rf});
        CHECK(ringplan::plan_leave(ring, "d", ringplan::Rf{rf}).moved_fraction() == Approx(share));
        const auto crash = ringplan::plan_crash(ring, "d", ringplan::Rf{rf});
        // With rf=1 nothing survives to copy from: the same share is lost instead.
        CHECK((rf == 1 ? crash.lost_fraction() : crash.moved_fraction()) == Approx(share));
    }
    // A joining node receives exactly what it will replicate.
    Ring after = ring;
    after.add_node("g", 32);
    const auto join = ringplan::plan_join(ring, "g", 32, ringplan::Rf{3});
    CHECK(join.moved_fraction() == Approx(ringplan::replicated_share(after, "g", ringplan::Rf{3})));
    CHECK(join.moves == ringplan::diff(ring, after, ringplan::Rf{3}).moves);
}

TEST_CASE("diff plans several changes at once", "[plan]") {
    Ring before;
    before.add_nodes({"a", "b", "c", "d"}, 16);
    Ring after = before;
    after.remove_node("b");
    after.remove_node("c");
    after.add_nodes({"x", "y"}, 16);
    const auto plan = ringplan::diff(before, after, ringplan::Rf{2});
    for (const auto& m : plan.moves) {
        CHECK((m.to == "a" || m.to == "d" || m.to == "x" || m.to == "y"));
        for (Token t : {m.range.first, m.range.last}) {
            const auto rb = before.replicas_at(t, ringplan::Rf{2});
            const auto ra = after.replicas_at(t, ringplan::Rf{2});
            CHECK(std::find(rb.begin(), rb.end(), m.from) != rb.end());
            CHECK(std::find(ra.begin(), ra.end(), m.to) != ra.end());
            CHECK(std::find(rb.begin(), rb.end(), m.to) == rb.end());
        }
    }
    CHECK(plan.lost.empty());
    CHECK(ringplan::diff(before, before, ringplan::Rf{2}).empty());
}

TEST_CASE("nodes marked down are never sources", "[plan]") {
    // Leaving n2 is down: its leave becomes a crash.
    ringplan::PlanOptions<std::string> options(ringplan::Rf{2});
    options.down = {"n2"};
    CHECK(ringplan::plan_leave(three(), "n2", options).moves ==
          ringplan::plan_crash(three(), "n2", ringplan::Rf{2}).moves);
    // n1 and n2 both down and n2 crashes: (700, 200] has no source left.
    options.down = {"n1"};
    const auto plan = ringplan::plan_crash(three(), "n2", options);
    CHECK(plan.lost == Ranges{low, high});
    CHECK(plan.moves == std::vector<Move>{{{201, 400}, "n3", "n1"}});
}

TEST_CASE("projecting a plan onto keys", "[plan][project]") {
    const auto plan = ringplan::plan_leave(three(), "n2");
    const std::vector<Token> tokens = {400, 100, 201, 250, 700, 200};
    const auto moves = ringplan::project_tokens(plan, tokens);
    REQUIRE(moves.size() == 3);
    CHECK(moves[0].index == 2);  // sorted by token: 201, 250, 400
    CHECK(moves[0].token == 201);
    CHECK(moves[1].index == 3);
    CHECK(moves[2].index == 0);
    for (const auto& m : moves) {
        REQUIRE(m.move < plan.moves.size());
        CHECK(plan.moves[m.move].from == "n2");
        CHECK(plan.moves[m.move].to == "n3");
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
    for (const auto& km : ringplan::project_keys<ringplan::Xxh3>(leave, keys)) {
        CHECK(ring.owner(keys[km.index]) == "b");
        CHECK(leave.moves[km.move].to == ring.successor(keys[km.index]));
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
    const auto code_of = [](auto&& call) { return rp_test::error_code(call); };
    CHECK(code_of([&] { (void)ringplan::plan_leave(ring, "zz"); }) == Errc::unknown_node);
    CHECK(code_of([&] { (void)ringplan::plan_crash(ring, "zz"); }) == Errc::unknown_node);
    CHECK(code_of([&] { (void)ringplan::plan_leave(ring, "n1", ringplan::Rf{0}); }) ==
          Errc::invalid_rf);
    CHECK(code_of([&] { (void)ringplan::diff(ring, ring, ringplan::Rf{0}); }) == Errc::invalid_rf);
    CHECK(code_of([&] { (void)ringplan::replicated_share(ring, "n1", ringplan::Rf{0}); }) ==
          Errc::invalid_rf);
    CHECK(code_of([&] { (void)ringplan::replicated_share(ring, "zz", ringplan::Rf{1}); }) ==
          Errc::unknown_node);
    CHECK(code_of([&] { (void)ringplan::plan_join(ring, "n1", 8); }) == Errc::duplicate_node);
    CHECK(code_of([&] { (void)ringplan::plan_join(ring, "n9", 0); }) == Errc::zero_vnodes);
    CHECK(code_of([&] { (void)ringplan::plan_join_with_tokens(ring, "n9", {400}); }) ==
          Errc::token_collision);
    CHECK(code_of([&] {
              (void)ringplan::plan_join_with_tokens(ring, "n9", {5, 5});
          }) == Errc::token_collision);
    CHECK(code_of([&] { (void)ringplan::plan_join_with_tokens(ring, "n9", {}); }) ==
          Errc::zero_vnodes);
    ringplan::PlanOptions<std::string> options;
    options.down = {"ghost"};
    CHECK(code_of([&] { (void)ringplan::plan_crash(ring, "n1", options); }) == Errc::unknown_node);
}

// ---- projection through the interval index, against scans of every move ---------------------

namespace {
using Plan = ringplan::Plan<std::string>;
using KeyMoves = std::vector<ringplan::KeyMove>;

// Every (key, move) with the key in the move's range, by a scan of all moves, in the promised
// order: token, index, from, to, and moves with equal (from, to) in plan order.
KeyMoves scan_projection(const Plan& plan, const std::vector<Token>& tokens) {
    std::vector<std::pair<std::size_t, std::size_t>> hits;  // (key, move), key-major
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        for (std::size_t m = 0; m < plan.moves.size(); ++m) {
            if (plan.moves[m].range.contains(tokens[i])) {
                hits.emplace_back(i, m);
            }
        }
    }
    std::stable_sort(hits.begin(), hits.end(), [&](const auto& a, const auto& b) {
        const Move& x = plan.moves[a.second];
        const Move& y = plan.moves[b.second];
        if (tokens[a.first] != tokens[b.first]) {
            return tokens[a.first] < tokens[b.first];
        }
        if (a.first != b.first) {
            return a.first < b.first;
        }
        return x.from != y.from ? x.from < y.from : x.to < y.to;
    });
    KeyMoves out;
    for (const auto& h : hits) {
        out.push_back({h.first, tokens[h.first], h.second});
    }
    return out;
}

std::vector<std::size_t> scan_lost(const Plan& plan, const std::vector<Token>& tokens) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (std::any_of(plan.lost.begin(), plan.lost.end(),
                        [&](const TokenRange& r) { return r.contains(tokens[i]); })) {
            out.push_back(i);
        }
    }
    return out;
}

// "" when equal, else the first difference, down to the move index.
std::string difference(const KeyMoves& got, const KeyMoves& want) {
    for (std::size_t k = 0; k < std::max(got.size(), want.size()); ++k) {
        if (k == got.size() || k == want.size()) {
            return std::to_string(got.size()) + " key moves, want " + std::to_string(want.size());
        }
        const auto& g = got[k];
        const auto& w = want[k];
        if (g != w) {
            return "key move " + std::to_string(k) + ": index " + std::to_string(g.index) +
                   " token " + std::to_string(g.token) + " move " + std::to_string(g.move) +
                   ", want index " + std::to_string(w.index) + " token " + std::to_string(w.token) +
                   " move " + std::to_string(w.move);
        }
    }
    return "";
}

// project_tokens of tokens in any order, from the no-sort path: project the tokens sorted by
// (token, index), then map the indices back. Independent of the radix sort, and fast enough
// for inputs too large to scan against every move.
KeyMoves via_sorted_path(const Plan& plan, const std::vector<Token>& tokens) {
    std::vector<std::size_t> order(tokens.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return tokens[a] < tokens[b]; });
    std::vector<Token> sorted(tokens.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
        sorted[k] = tokens[order[k]];
    }
    KeyMoves out = ringplan::project_tokens(plan, sorted);
    for (auto& km : out) {
        km.index = order[km.index];
    }
    return out;
}

// Checks project_tokens, on the tokens as given and sorted, and lost_tokens against the scans.
void check_against_scans(const Plan& plan, std::vector<Token> tokens) {
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) {
            std::sort(tokens.begin(), tokens.end());
        }
        INFO((pass == 0 ? "unsorted" : "sorted") << ", " << plan.moves.size() << " moves");
        CHECK(difference(ringplan::project_tokens(plan, tokens), scan_projection(plan, tokens))
                  .empty());
        CHECK(ringplan::lost_tokens(plan, tokens) == scan_lost(plan, tokens));
    }
}

Ring ten_by_256() {
    Ring ring;
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    ring.add_nodes(ids, 256);
    return ring;
}

// Random tokens, the space's edges, every vnode token and its neighbours, and repeats.
std::vector<Token> probe_tokens(const Ring& ring, std::mt19937_64& rng, std::size_t random) {
    std::vector<Token> tokens = {0, 1, max_token - 1, max_token, 0, max_token};
    for (std::size_t i = 0; i < random; ++i) {
        tokens.push_back(rng());
    }
    for (std::size_t v = 0; v < ring.vnode_count(); ++v) {
        const Token t = ring.vnode_token(v);
        tokens.insert(tokens.end(), {t - 1, t, t + 1});
    }
    for (std::size_t i = 0; i < 500; ++i) {
        tokens.push_back(tokens[rng() % tokens.size()]);
    }
    std::shuffle(tokens.begin(), tokens.end(), rng);
    return tokens;
}
}  // namespace

TEST_CASE("projection agrees with a scan of every move on overlapping vnode plans",
          "[plan][project]") {
    const Ring ring = ten_by_256();
    std::mt19937_64 rng(20240601);
    const std::vector<Token> tokens = probe_tokens(ring, rng, 3000);
    Ring after = ring;
    after.remove_node("node-2");
    after.remove_node("node-7");
    after.add_node("node-x", 256);
    // rf > 1 plans overlap: a token is in up to rf moves (one per node that gains it).
    const std::vector<Plan> plans = {ringplan::plan_leave(ring, "node-5", ringplan::Rf{1}),
                                     ringplan::plan_leave(ring, "node-5", ringplan::Rf{3}),
                                     ringplan::plan_crash(ring, "node-5", ringplan::Rf{1}),
                                     ringplan::plan_crash(ring, "node-5", ringplan::Rf{3}),
                                     ringplan::plan_join(ring, "node-x", 256, ringplan::Rf{3}),
                                     ringplan::diff(ring, after, ringplan::Rf{3})};
    for (const Plan& plan : plans) {
        check_against_scans(plan, tokens);
    }
    CHECK_FALSE(plans[2].lost.empty());  // lost_tokens had something to find

    // String keys hash with the ring's policy, looked up as they are hashed.
    std::vector<std::string> keys;
    std::vector<Token> key_tokens;
    for (int i = 0; i < 2000; ++i) {
        keys.push_back("key:" + std::to_string(i % 1500));  // repeats too
        key_tokens.push_back(ringplan::key_token<ringplan::Xxh3>(keys.back()));
    }
    CHECK(difference(ringplan::project_keys<ringplan::Xxh3>(plans[1], keys),
                     scan_projection(plans[1], key_tokens))
              .empty());
    CHECK(difference(ringplan::project_keys<ringplan::Xxh3>(plans[5], keys),
                     scan_projection(plans[5], key_tokens))
              .empty());
}

TEST_CASE("projection sorts many moved keys, with repeats and bunched tokens", "[plan][project]") {
    const Ring ring = ten_by_256();
    const Plan plan = ringplan::plan_leave(ring, "node-5", ringplan::Rf{3});
    std::mt19937_64 rng(99);
    // Over 2^15 moved keys: the sort's top digit takes 8 bits, then finer ones.
    std::vector<Token> many(150000);
    for (Token& t : many) {
        t = rng();
    }
    CHECK(difference(ringplan::project_tokens(plan, many), via_sorted_path(plan, many)).empty());
    // The widest move, to aim tokens into it.
    Move widest = plan.moves.front();
    for (const Move& m : plan.moves) {
        if (m.range.last - m.range.first > widest.range.last - widest.range.first) {
            widest = m;
        }
    }
    const Token first = widest.range.first;
    const Token width = widest.range.last - first;
    // Every key moves (more than the buffer guessed from the plan's share of the ring), and
    // the tokens take 40 distinct values: digits all keys share are skipped, then equal tokens
    // keep their input order.
    std::vector<Token> repeats(40000);
    for (Token& t : repeats) {
        t = first + (rng() % 40) * (width / 40);
    }
    CHECK(difference(ringplan::project_tokens(plan, repeats), scan_projection(plan, repeats))
              .empty());
    // Consecutive tokens, shuffled, around the start of the move: differ in the low bits only.
    std::vector<Token> bunched(40000);
    for (std::size_t i = 0; i < bunched.size(); ++i) {
        bunched[i] = first - 100 + i;
    }
    std::shuffle(bunched.begin(), bunched.end(), rng);
    CHECK(difference(ringplan::project_tokens(plan, bunched), via_sorted_path(plan, bunched))
              .empty());
}

TEST_CASE("projection with vnodes bunched at small tokens (no hash spread)", "[plan][project]") {
    // 32 cuts below 2^20: one bucket of the interval index holds them all.
    Ring ring;
    for (std::uint64_t n = 0; n < 8; ++n) {
        std::vector<Token> tokens;
        for (std::uint64_t k = 0; k < 4; ++k) {
            tokens.push_back(1000 * k + 10 * n + 5);
        }
        ring.add_node_with_tokens("n" + std::to_string(n), tokens);
    }
    std::mt19937_64 rng(5);
    std::vector<Token> tokens = {0, 1, max_token, max_token - 1};
    for (int i = 0; i < 3000; ++i) {
        tokens.push_back(rng() % 4200);
    }
    for (int i = 0; i < 200; ++i) {
        tokens.push_back(rng());
    }
    check_against_scans(ringplan::plan_leave(ring, "n3", ringplan::Rf{1}), tokens);
    check_against_scans(ringplan::plan_leave(ring, "n3", ringplan::Rf{3}), tokens);
    const Plan crash = ringplan::plan_crash(ring, "n3", ringplan::Rf{1});
    CHECK_FALSE(crash.lost.empty());
    check_against_scans(crash, tokens);
}

TEST_CASE("projection of a hand-built plan: overlaps, repeats, both ends of the ring",
          "[plan][project]") {
    // Not what diff produces, but every field is public: moves out of order, overlapping,
    // repeated, covering the whole ring; lost ranges out of order and overlapping.
    Plan plan;
    plan.moves = {{{0, max_token}, "z", "a"},
                  {{100, 200}, "b", "c"},
                  {{150, max_token}, "a", "b"},
                  {{0, 0}, "q", "r"},
                  {{max_token, max_token}, "b", "a"},
                  {{100, 200}, "b", "c"},
                  {{50, 120}, "a", "c"},
                  {{max_token - 9, max_token}, "a", "b"}};
    plan.lost = {{500, 600}, {0, 10}, {550, 700}, {max_token - 5, max_token}, {700, 700}};
    const std::vector<Token> tokens = {
        150, 0,  max_token, 100, 200,           201,           99,  0,  max_token, 120, 121, 49, 50,
        10,  11, 600,       701, max_token - 6, max_token - 5, 150, 700};
    check_against_scans(plan, tokens);
    // Token 150 is in four moves, by (from, to): a->b, b->c twice (in plan order), z->a.
    const KeyMoves at150 = ringplan::project_tokens(plan, {150});
    REQUIRE(at150.size() == 4);
    CHECK(at150[0].move == 2);
    CHECK(at150[1].move == 1);
    CHECK(at150[2].move == 5);
    CHECK(at150[3].move == 0);
    CHECK(ringplan::lost_tokens(plan, tokens) ==
          std::vector<std::size_t>{1, 2, 7, 8, 13, 15, 18, 20});
}

TEST_CASE("projection of nothing", "[plan][project]") {
    const Plan none;
    CHECK(ringplan::project_tokens(none, {0, 5, max_token}).empty());
    CHECK(ringplan::project_keys<ringplan::Xxh3>(none, std::vector<std::string>{"a", "b"}).empty());
    CHECK(ringplan::lost_tokens(none, {0, 5, max_token}).empty());
    const Plan leave = ringplan::plan_leave(three(), "n2");
    CHECK(ringplan::project_tokens(leave, {}).empty());
    CHECK(ringplan::project_keys<ringplan::Xxh3>(leave, std::vector<std::string>{}).empty());
    CHECK(ringplan::lost_tokens(ringplan::plan_crash(three(), "n2"), {}).empty());
    // Keys that all stay put.
    CHECK(ringplan::project_tokens(leave, {100, 200, 401, 700, 701}).empty());
}

TEST_CASE("projection with 64-bit index tables (for plans of billions of moves)",
          "[plan][project]") {
    // Reached through the public API only past 2^32 intervals: call the wide instantiation.
    const Plan plan = ringplan::plan_leave(ten_by_256(), "node-5", ringplan::Rf{3});
    std::mt19937_64 rng(3);
    const std::vector<Token> tokens = probe_tokens(ten_by_256(), rng, 2000);
    for (bool sorted : {false, true}) {
        std::vector<Token> t = tokens;
        if (sorted) {
            std::sort(t.begin(), t.end());
        }
        const KeyMoves wide = ringplan::detail::project_with<std::size_t>(
            plan.moves, ringplan::detail::cover_input(plan.moves), t.size(),
            [&](std::size_t i) { return t[i]; }, sorted);
        CHECK(difference(wide, scan_projection(plan, t)).empty());
    }
    const Plan crash = ringplan::plan_crash(ten_by_256(), "node-5", ringplan::Rf{1});
    CHECK(ringplan::detail::lost_with<std::size_t>(crash.lost, tokens.data(), tokens.size()) ==
          scan_lost(crash, tokens));
}

// ---- skewed rings: plans cost the runs they cross, not the vnodes --------------------------

TEST_CASE("plans beside a node of 100,000 vnodes visit runs, not vnodes", "[plan][skewed]") {
    // "small" (1 vnode) is a replica of every range at rf 2. Before the run index each plan
    // walked big's vnodes once per segment: 8 s at 40,000 vnodes, minutes at 100,000 (and far
    // more in a Debug build), which this suite would not survive. The answers are checked
    // against diff, which is linear.
    Ring ring;
    ring.add_node("small", 1);
    ring.add_node("big", 100000);
    Ring without = ring;
    without.remove_node("small");
    const ringplan::Rf rf{2};
    const auto leave = ringplan::plan_leave(ring, "small", rf);
    CHECK(leave.moves.empty());  // big already holds everything
    CHECK(leave.under_replicated == std::vector<TokenRange>{{0, ringplan::max_token}});
    CHECK(leave.moves == ringplan::diff(ring, without, rf).moves);
    const auto crash = ringplan::plan_crash(ring, "small", rf);
    CHECK(crash.moves.empty());
    CHECK(crash.lost.empty());
    const auto join = ringplan::plan_join(without, "small", 1, rf);
    CHECK(join.moves == ringplan::diff(without, ring, rf).moves);
    CHECK(join.moved_fraction() == Approx(1.0));  // small copies the whole ring from big
    CHECK(ringplan::replicated_share(ring, "small", rf) == Approx(1.0));
    // rf 1: small's one range goes to big.
    const auto leave1 = ringplan::plan_leave(ring, "small", ringplan::Rf{1});
    REQUIRE(leave1.moves.size() >= 1);
    CHECK(leave1.moves.front().to == "big");
    CHECK(ring.successor_at(ring.vnode_token(0)) != ring.vnode_node(0));
}
