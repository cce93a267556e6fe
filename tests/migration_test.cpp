// MigrationRunner: each call and its errors, the limits, retries, fencing, the text form, and a
// randomized run against an in-memory store (writes between steps, failures, restarts, aborts).
#include "catch.hpp"
#include "expect_error.hpp"

#include <ringplan/handoff.hpp>
#include <ringplan/migration.hpp>
#include <ringplan/partitions.hpp>
#include <ringplan/placement.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using ringplan::Errc;
using ringplan::MigrationPhase;
using ringplan::MoveState;
using ringplan::Rf;
using ringplan::Token;
using ringplan::TokenRange;
using Ring = ringplan::Ring<>;
using Runner = ringplan::MigrationRunner<std::string>;
using Options = ringplan::MigrationOptions<std::string>;
using Transfer = ringplan::Transfer<std::string>;
using rp_test::expect_error;

Ring ring_of(std::initializer_list<std::pair<const char*, std::uint32_t>> nodes) {
    Ring r;
    for (const auto& [id, v] : nodes) {
        r.add_node(id, v);
    }
    return r;
}

// Hands out and completes every move until none is pending; returns the transfers in order.
std::vector<Transfer> drain(Runner& r) {
    std::vector<Transfer> all;
    for (auto batch = r.next(); !batch.empty(); batch = r.next()) {
        for (const Transfer& t : batch) {
            r.done(t);
            all.push_back(t);
        }
    }
    return all;
}

// The streaming moves' load per sender and receiver, and their ring fraction.
struct InFlight {
    std::map<std::string, std::size_t> send, recv;
    double fraction = 0;
    std::size_t count = 0;
};
InFlight in_flight(const Runner& r) {
    InFlight f;
    for (const auto& m : r.moves()) {
        if (m.state == MoveState::streaming) {
            ++f.send[m.sources[m.source]];
            ++f.recv[m.to];
            f.fraction += m.range.fraction();
            ++f.count;
        }
    }
    return f;
}

std::size_t max_of(const std::map<std::string, std::size_t>& m) {
    std::size_t best = 0;
    for (const auto& e : m) {
        best = std::max(best, e.second);
    }
    return best;
}

}  // namespace

TEST_CASE("migration: the phases of a join, two rings", "[migration]") {
    const Ring before = ring_of({{"a", 8}, {"b", 8}, {"c", 8}});
    Ring after = before;
    after.add_node("d", 8);
    Runner r(before, after, Rf{2});
    CHECK(r.phase() == MigrationPhase::streaming);
    CHECK(std::string(ringplan::to_string(r.phase())) == "streaming");
    const auto plan = ringplan::diff(before, after, Rf{2});
    REQUIRE(r.moves().size() == plan.moves.size());
    for (std::size_t i = 0; i < plan.moves.size(); ++i) {
        CHECK(r.moves()[i].range == plan.moves[i].range);
        CHECK(r.moves()[i].to == "d");
        CHECK(r.moves()[i].sources.front() == plan.moves[i].from);
    }
    // Before cutover: reads from the old replicas, writes to both.
    const Token t = plan.moves.front().range.first;
    CHECK(r.read_from(t) == before.replicas_at(t, Rf{2}));
    std::vector<std::string> both = before.replicas_at(t, Rf{2});
    both.push_back("d");
    CHECK(r.write_to(t) == both);

    const auto transfers = drain(r);
    CHECK(transfers.size() == plan.moves.size());
    CHECK(r.progress().copied == plan.moves.size());
    CHECK(r.progress().fraction_copied == 1.0);
    r.cutover();
    CHECK(r.phase() == MigrationPhase::read_new);
    CHECK(r.read_from(t) == after.replicas_at(t, Rf{2}));
    CHECK(r.write_to(t).size() == 3);
    const auto deletions = r.cleanup();
    CHECK(r.phase() == MigrationPhase::cleaned);
    CHECK(r.finished());
    CHECK(r.write_to(t) == after.replicas_at(t, Rf{2}));
    // Every deletion is an old replica that is not a new one, and each token d gained has one.
    REQUIRE_FALSE(deletions.empty());
    for (const auto& [range, node] : deletions) {
        for (Token x : {range.first, range.last}) {
            const auto old = before.replicas_at(x, Rf{2});
            const auto now = after.replicas_at(x, Rf{2});
            CHECK(std::find(old.begin(), old.end(), node) != old.end());
            CHECK(std::find(now.begin(), now.end(), node) == now.end());
        }
    }
    CHECK(std::is_sorted(deletions.begin(), deletions.end()));
}

TEST_CASE("migration: errors name the move and its state", "[migration]") {
    const Ring before = ring_of({{"a", 4}, {"b", 4}, {"c", 4}});
    Ring after = before;
    after.add_node("d", 4);
    Options o;
    o.epoch = 7;
    Runner r(before, after, Rf{2}, o);
    expect_error([&] { r.cleanup(); }, Errc::invalid_transition, "streaming, not read_new");
    auto batch = r.next();
    REQUIRE(!batch.empty());
    const Transfer t = batch.front();
    CHECK(t.epoch == 7);
    CHECK(t.attempt == 1);
    expect_error([&] { r.cutover(); }, Errc::invalid_transition, "streaming, ");
    Transfer stale = t;
    stale.epoch = 6;
    expect_error([&] { r.done(stale); }, Errc::stale_epoch, "of epoch 6, not 7");
    Transfer wrong = t;
    wrong.to = "a";
    expect_error([&] { r.done(wrong); }, Errc::invalid_transition, "not the transfer handed out");
    Transfer missing = t;
    missing.id = 1000;
    expect_error([&] { r.done(missing); }, Errc::invalid_transition, "#1000 is not a move");
    r.done(t);
    expect_error([&] { r.done(t); }, Errc::invalid_transition,
                 "move #" + std::to_string(t.id) + " [");
    expect_error([&] { r.done(t); }, Errc::invalid_transition, "(copied) is not streaming");
    expect_error([&] { r.cutover(); }, Errc::invalid_transition, "pending");
    r.abort();
    CHECK(r.phase() == MigrationPhase::aborted);
    expect_error([&] { r.abort(); }, Errc::invalid_transition, "already aborted");
    expect_error([&] { r.cutover(); }, Errc::invalid_transition, "aborted");
    CHECK(r.next().empty());

    Options bad;
    bad.max_send = 0;
    expect_error([&] { Runner(before, after, Rf{2}, bad); }, Errc::invalid_limit, "max_send");
    bad.max_send = 1;
    bad.max_fraction = 0.0;
    expect_error([&] { Runner(before, after, Rf{2}, bad); }, Errc::invalid_limit, "max_fraction");
    Options unknown;
    unknown.down = {"zz"};
    expect_error([&] { Runner(before, after, Rf{2}, unknown); }, Errc::unknown_node, "zz");
}

TEST_CASE("migration: next() keeps to the stream limits and the budget", "[migration]") {
    std::mt19937_64 rng(42);
    std::size_t saturated_send = 0, saturated_budget = 0;
    for (int round = 0; round < 20; ++round) {
        Ring before;
        for (int i = 0; i < 6; ++i) {
            before.add_node("n" + std::to_string(i), 16);
        }
        Ring after = before;
        after.remove_node("n0");
        after.add_node("x", 16);
        after.add_node("y", 16);
        Options o;
        o.max_send = 1 + rng() % 3;
        o.max_recv = 1 + rng() % 3;
        if (round % 2 == 1) {
            o.max_fraction = 0.02 + 0.1 * static_cast<double>(rng() % 10) / 10.0;
        }
        Runner r(before, after, Rf{2}, o);
        while (r.progress().pending != 0 || r.progress().streaming != 0) {
            const auto batch = r.next();
            const InFlight f = in_flight(r);
            CHECK(max_of(f.send) <= o.max_send);
            CHECK(max_of(f.recv) <= o.max_recv);
            saturated_send += max_of(f.send) == o.max_send;
            if (o.max_fraction) {
                CHECK((f.count <= 1 || f.fraction <= *o.max_fraction + 1e-12));
                saturated_budget += f.count > 1;
            }
            // Never two streams to one (range, to).
            std::set<std::pair<TokenRange, std::string>> seen;
            for (const auto& m : r.moves()) {
                if (m.state == MoveState::streaming) {
                    CHECK(seen.emplace(m.range, m.to).second);
                }
            }
            REQUIRE(f.count > 0);  // something always runs while moves are pending
            // Complete about half of what runs.
            std::size_t k = 0;
            for (std::size_t i = 0; i < r.moves().size(); ++i) {
                const auto& m = r.moves()[i];
                if (m.state == MoveState::streaming && (k++ % 2 == 0 || batch.empty())) {
                    r.done(Transfer{i, m.range, m.sources[m.source], m.to, 0, m.attempts});
                }
            }
        }
        r.cutover();
    }
    CHECK(saturated_send > 0);
    CHECK(saturated_budget > 0);
}

TEST_CASE("migration: a failed transfer is retried from the next source", "[migration]") {
    const Ring before = ring_of({{"a", 4}, {"b", 4}, {"c", 4}, {"d", 4}});
    Ring after = before;
    after.add_node("e", 4);
    Runner r(before, after, Rf{3});
    const auto batch = r.next();
    REQUIRE(!batch.empty());
    const Transfer first = batch.front();
    const auto& move = r.moves()[first.id];
    REQUIRE(move.sources.size() >= 2);  // rf = 3: other old replicas hold the range
    CHECK(move.sources.front() == first.from);
    r.failed(first);
    CHECK(r.moves()[first.id].state == MoveState::pending);
    const auto again = r.next();
    const auto retry = std::find_if(again.begin(), again.end(),
                                    [&](const Transfer& t) { return t.id == first.id; });
    REQUIRE(retry != again.end());
    CHECK(retry->from == r.moves()[first.id].sources[1]);
    CHECK(retry->attempt == 2);
    // The first attempt's stream, finishing late, is fenced off.
    expect_error([&] { r.done(first); }, Errc::stale_epoch, "attempt 1 is not the latest, 2");
    r.done(*retry);
    CHECK(r.moves()[first.id].state == MoveState::copied);
    CHECK(r.progress().nodes.size() >= 2);
}

TEST_CASE("migration: a move failed for good is reported and blocks cutover", "[migration]") {
    const Ring before = ring_of({{"a", 4}, {"b", 4}, {"c", 4}});
    Ring after = before;
    after.add_node("d", 4);
    Runner r(before, after, Rf{2});
    const std::size_t id = r.next().front().id;
    const std::size_t candidates = r.moves()[id].sources.size();
    r.failed(Transfer{id, r.moves()[id].range, r.moves()[id].sources[0], "d", 0, 1});
    for (std::size_t k = 1; k < candidates; ++k) {
        for (const Transfer& t : r.next()) {
            if (t.id == id) {
                r.failed(t);
            }
        }
    }
    CHECK(r.moves()[id].state == MoveState::failed);
    CHECK(r.failed_moves() == std::vector<std::size_t>{id});
    drain(r);
    CHECK(r.progress().failed == 1);
    CHECK(r.progress().fraction_copied < 1.0);
    expect_error([&] { r.cutover(); }, Errc::invalid_transition, "1 failed");
    expect_error([&] { r.cutover(); }, Errc::invalid_transition,
                 "first: move #" + std::to_string(id));
    const auto partial = r.abort();
    CHECK(partial.size() >= 1);
    for (const auto& [range, node] : partial) {
        CHECK(node == "d");
    }
}

TEST_CASE("migration: plans of a leave, a crash, a join and a hint return", "[migration]") {
    const Ring ring = ring_of({{"a", 1}, {"b", 64}, {"c", 8}, {"d", 16}, {"e", 2}});
    const Rf rf{2};
    SECTION("a leave deletes everything the leaving node held, as the two-ring runner") {
        Ring after = ring;
        after.remove_node("c");
        Runner from_plan(ringplan::plan_leave(ring, "c", rf), ring, ringplan::PlanOrigin::leave,
                         "c");
        Runner from_rings(ring, after, rf);
        CHECK(from_plan.layout() == from_rings.layout());
        drain(from_plan);
        drain(from_rings);
        from_plan.cutover();
        from_rings.cutover();
        const auto d = from_plan.cleanup();
        CHECK(d == from_rings.cleanup());
        double held = 0;
        for (const auto& [range, node] : d) {
            CHECK(node == "c");
            held += range.fraction();
        }
        CHECK(held == Approx(ringplan::replicated_share(ring, "c", rf)));
    }
    SECTION("a crash: the crashed node is no source and deletes nothing") {
        Runner r(ringplan::plan_crash(ring, "b", rf), ring, ringplan::PlanOrigin::crash, "b");
        for (const auto& m : r.moves()) {
            CHECK(std::find(m.sources.begin(), m.sources.end(), "b") == m.sources.end());
        }
        drain(r);
        r.cutover();
        CHECK(r.cleanup().empty());
    }
    SECTION("a join: the node each full set pushes out deletes, as the two-ring runner") {
        Ring after = ring;
        after.add_node("f", 8);
        Runner from_plan(ringplan::plan_join(ring, "f", 8, rf), ring, ringplan::PlanOrigin::join,
                         "f");
        Runner from_rings(ring, after, rf);
        CHECK_FALSE(from_plan.has_layout());
        expect_error([&] { (void)from_plan.read_from(0); }, Errc::invalid_transition, "no layout");
        drain(from_plan);
        drain(from_rings);
        from_plan.cutover();
        from_rings.cutover();
        const auto d = from_plan.cleanup();
        CHECK_FALSE(d.empty());
        CHECK(d == from_rings.cleanup());
    }
    SECTION("a hint return: each fallback deletes the hints it returned") {
        const auto plan = ringplan::plan_hint_return(ring, "c", rf);
        REQUIRE_FALSE(plan.moves.empty());
        Runner r(plan, ring, ringplan::PlanOrigin::hint_return, "c");
        drain(r);
        r.cutover();
        const auto d = r.cleanup();
        double returned = 0, deleted = 0;
        for (const auto& m : plan.moves) {
            returned += m.range.fraction();
        }
        for (const auto& [range, node] : d) {
            CHECK(node != "c");
            deleted += range.fraction();
        }
        CHECK(deleted == Approx(returned));
    }
    SECTION("unknown nodes") {
        expect_error(
            [&] {
                Runner(ringplan::plan_leave(ring, "c", rf), ring, ringplan::PlanOrigin::leave,
                       "zz");
            },
            Errc::unknown_node, "zz");
    }
}

TEST_CASE("migration: a partition change", "[migration]") {
    const std::size_t q = 7;  // uneven: the ranges are ceil(p 2^64 / q)
    const auto map = ringplan::assign_partitions<std::string>({"a", "b", "c", "d"}, q, Rf{2});
    ringplan::RebalanceOptions<std::string> o;
    o.failed = {"d"};
    const auto change = ringplan::rebalance_partitions(map, {"a", "b", "c", "e"}, o);
    Runner r(change);
    std::size_t copies = 0, drops = 0, lost = 0;
    for (const auto& e : change.events) {
        copies += e.action == ringplan::PartitionAction::copy ||
                  e.action == ringplan::PartitionAction::catch_up;
        drops += e.action == ringplan::PartitionAction::drop;
        lost += e.action == ringplan::PartitionAction::lost;
    }
    REQUIRE(r.moves().size() == copies);
    CHECK(r.lost().size() == lost);
    REQUIRE(copies > 0);
    std::size_t i = 0;
    for (const auto& e : change.events) {
        if (e.action != ringplan::PartitionAction::copy &&
            e.action != ringplan::PartitionAction::catch_up) {
            continue;
        }
        const auto& m = r.moves()[i++];
        CHECK(m.to == e.node);
        CHECK(m.sources == e.sources);  // d failed, so it is in no event's sources
        // The range is exactly the tokens partition_at maps to the partition.
        CHECK(ringplan::partition_at(m.range.first, q) == e.partition);
        CHECK(ringplan::partition_at(m.range.last, q) == e.partition);
        if (m.range.first > 0) {
            CHECK(ringplan::partition_at(m.range.first - 1, q) + 1 == e.partition);
        }
        if (m.range.last < ringplan::max_token) {
            CHECK(ringplan::partition_at(m.range.last + 1, q) == e.partition + 1);
        } else {
            CHECK(e.partition == q - 1);
        }
    }
    drain(r);
    r.cutover();
    CHECK(r.cleanup().size() == drops);
}

TEST_CASE("migration: text round trip and resume", "[migration]") {
    const Ring before = ring_of({{"a", 1}, {"b", 64}, {"c", 8}, {"d", 2}, {"f", 4}});
    Ring after = before;
    after.remove_node("b");
    after.add_node("e", 16);
    Options o;
    o.max_send = 2;
    o.max_recv = 2;
    o.epoch = 3;
    Options with_down = o;
    with_down.down = {"d"};
    with_down.max_fraction = 0.25;
    const Runner down_runner(before, after, Rf{2}, with_down);
    CHECK(Runner::from_text(down_runner.to_text()) == down_runner);
    CHECK(Runner::from_text(down_runner.to_text()).to_text() == down_runner.to_text());
    CHECK(down_runner.to_text().find("\ndown 1 d\n") != std::string::npos);

    Runner r(before, after, Rf{2}, o);
    CHECK(Runner::from_text(r.to_text()) == r);
    // Mid-run: one copied, one failed attempt (with another source left), the rest streaming
    // or pending.
    auto batch = r.next();
    REQUIRE(batch.size() >= 2);
    const auto retried = std::find_if(batch.begin() + 1, batch.end(), [&](const Transfer& t) {
        return r.moves()[t.id].sources.size() >= 2;
    });
    REQUIRE(retried != batch.end());
    std::swap(batch[1], *retried);
    r.done(batch[0]);
    r.failed(batch[1]);
    const Runner restored = Runner::from_text(r.to_text());
    CHECK(restored != r);  // the streaming moves come back pending
    CHECK(restored.progress().streaming == 0);
    CHECK(restored.progress().copied == 1);
    CHECK(restored.progress().pending == r.progress().pending + r.progress().streaming);
    CHECK(restored.moves()[batch[0].id].state == MoveState::copied);
    CHECK(restored.moves()[batch[1].id].source == 1);
    CHECK(Runner::from_text(restored.to_text()) == restored);

    // Resume: the restored runner finishes with exactly the moves not yet copied, and ends
    // where an uninterrupted run ends.
    Runner resumed = restored;
    const auto rest = drain(resumed);
    std::set<std::size_t> ids;
    for (const Transfer& t : rest) {
        ids.insert(t.id);
    }
    CHECK(ids.count(batch[0].id) == 0);         // a copied move is never handed out again
    CHECK(ids.size() == r.moves().size() - 1);  // no pending move is skipped
    Runner straight(before, after, Rf{2}, o);
    drain(straight);
    resumed.cutover();
    straight.cutover();
    CHECK(resumed.cleanup() == straight.cleanup());

    SECTION("malformed texts") {
        const std::string good = r.to_text();
        expect_error([] { (void)Runner::from_text(""); }, Errc::parse_error, "line 1");
        expect_error([] { (void)Runner::from_text("ringplan migration 9\n"); }, Errc::parse_error,
                     "header");
        expect_error([&] { (void)Runner::from_text(good.substr(0, good.size() / 2)); },
                     Errc::parse_error, "");
        std::string bad_phase = good;
        bad_phase.replace(bad_phase.find("phase streaming"), 15, "phase streamin");
        expect_error([&] { (void)Runner::from_text(bad_phase); }, Errc::parse_error,
                     "unknown phase");
        expect_error([&] { (void)Runner::from_text(good + "x\n"); }, Errc::parse_error,
                     "after 'end'");
        std::string zero = good;
        zero.replace(zero.find("options 2"), 9, "options 0");
        expect_error([&] { (void)Runner::from_text(zero); }, Errc::invalid_limit, "max_send");
    }
}

// ---- the randomized store model -------------------------------------------------------------

namespace {

using Store = std::map<std::string, std::map<Token, std::uint64_t>>;  // node -> key -> version

struct Flight {
    Transfer t;
    std::map<Token, std::uint64_t> snapshot;  // the source's data when the stream started
};

// Copies `data` into `node`, keeping the newer version of each key (a stream races writes).
void apply(Store& store, const std::string& node, const std::map<Token, std::uint64_t>& data,
           std::mt19937_64* partial) {
    auto& to = store[node];
    for (const auto& [k, v] : data) {
        if (partial != nullptr && (*partial)() % 2 == 0) {
            continue;
        }
        to[k] = std::max(to[k], v);
    }
}

void erase(Store& store, const std::pair<TokenRange, std::string>& d) {
    auto& s = store[d.second];
    s.erase(s.lower_bound(d.first.first), s.upper_bound(d.first.last));
}

struct ModelRun {
    std::mt19937_64 rng;
    Ring before, after;
    Rf rf{1};
    // Rule runs: every node sits in one of 2 datacenters x 3 racks, and the runner, the
    // store's initial layout and the final check all follow the rule.
    bool rules = false;
    std::optional<ringplan::ReplicaPolicy> policy;
    ringplan::Topology<std::string> topology;
    std::set<std::string> crashed;
    std::vector<Token> keys;
    std::vector<std::uint64_t> latest;
    std::vector<std::size_t> baseline;  // live old replicas of each key
    std::vector<bool> lost;
    // The fewest fresh readable copies a key may have: as many as before the change, unless
    // the new replica set is smaller; at least one.
    std::vector<std::size_t> floors;
    Store store;
    std::size_t restarts = 0, aborts = 0, failures = 0, cleaned = 0;

    explicit ModelRun(std::uint64_t seed, bool with_rules = false) : rng(seed), rules(with_rules) {}

    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng() % n); }

    // The replicas of `key` in `ring`: the rule's, or the first rf distinct nodes.
    std::vector<std::string> replicas(const Ring& ring, Token key) const {
        if (!policy) {
            return ring.replicas_at(key, rf);
        }
        return ringplan::Placement<ringplan::Xxh3, std::string>(ring, topology, *policy)
            .replicas_at(key);
    }

    void locate(const std::string& id) {
        topology.set(id, "dc" + std::to_string(1 + pick(2)), "r" + std::to_string(1 + pick(3)));
    }

    void setup() {
        static const std::uint32_t vnode_choices[] = {1, 1, 2, 8, 64};
        const std::size_t n = rules ? 4 + pick(8) : 2 + pick(6);
        for (std::size_t i = 0; i < n; ++i) {
            before.add_node("n" + std::to_string(i), vnode_choices[pick(5)]);
            if (rules) {
                locate("n" + std::to_string(i));
            }
        }
        rf = Rf{1 + pick(3)};
        if (rules) {
            switch (pick(4)) {
                case 0:
                    policy = ringplan::ReplicaPolicy::distinct_nodes(rf);
                    break;
                case 1:
                    policy = ringplan::ReplicaPolicy::rack_aware(rf);
                    break;
                default:
                    policy = ringplan::ReplicaPolicy::network_topology(
                        {{"dc1", 1 + static_cast<std::uint32_t>(pick(3))}, {"dc2", 2}},
                        pick(2) == 0 ? ringplan::ReplicaOrder::server
                                     : ringplan::ReplicaOrder::driver);
            }
        }
        after = before;
        std::vector<std::string> ids;
        for (std::size_t i = 0; i < n; ++i) {
            ids.push_back("n" + std::to_string(i));
        }
        std::shuffle(ids.begin(), ids.end(), rng);
        std::size_t gone = 0;
        if (pick(2) == 0 && gone + 1 < n) {
            after.remove_node(ids[gone++]);  // a leave
        }
        if (pick(2) == 0 && gone + 1 < n) {
            crashed.insert(ids[gone]);
            after.remove_node(ids[gone++]);
        }
        for (std::size_t j = pick(3); j > 0; --j) {
            after.add_node("j" + std::to_string(j), vnode_choices[pick(5)]);
            if (rules) {
                locate("j" + std::to_string(j));
            }
        }
        for (int k = 0; k < 60; ++k) {
            // Some keys sit on vnode tokens, the edges of the ranges.
            keys.push_back(k % 4 == 0 ? before.vnode_tokens()[pick(before.vnode_count())]
                                      : static_cast<Token>(rng()));
        }
        std::sort(keys.begin(), keys.end());  // one version counter per key
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        latest.assign(keys.size(), 1);
        for (std::size_t k = 0; k < keys.size(); ++k) {
            std::size_t live = 0;
            for (const auto& node : replicas(before, keys[k])) {
                if (crashed.count(node) == 0) {
                    store[node][keys[k]] = 1;
                    ++live;
                }
            }
            baseline.push_back(live);
            lost.push_back(live == 0);
            floors.push_back(
                std::max<std::size_t>(1, std::min(live, replicas(after, keys[k]).size())));
        }
    }

    std::size_t up_to_date(std::size_t k, const std::vector<std::string>& nodes) {
        std::size_t n = 0;
        for (const auto& node : nodes) {
            auto it = store[node].find(keys[k]);
            n += crashed.count(node) == 0 && it != store[node].end() && it->second == latest[k];
        }
        return n;
    }

    // After every step: every key kept by the plan is readable, up to date, on every live
    // node reads go to, and on at least as many as before the change (or the new set's size).
    void check_reads(const Runner& r) {
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (lost[k]) {
                continue;
            }
            const auto reads = r.read_from(keys[k]);
            std::size_t live = 0;
            for (const auto& node : reads) {
                live += crashed.count(node) == 0;
            }
            const std::size_t fresh = up_to_date(k, reads);
            const std::size_t floor = floors[k];
            if (fresh != live || fresh < floor) {  // REQUIRE only on failure: keeps the run fast
                INFO("key " << keys[k] << " phase " << ringplan::to_string(r.phase()));
                REQUIRE(fresh == live);
                REQUIRE(fresh >= floor);
            }
        }
    }

    void check_limits(const Runner& r) {
        const InFlight f = in_flight(r);
        REQUIRE(max_of(f.send) <= r.options().max_send);
        REQUIRE(max_of(f.recv) <= r.options().max_recv);
        if (r.options().max_fraction) {
            REQUIRE((f.count <= 1 || f.fraction <= *r.options().max_fraction + 1e-12));
        }
    }

    void run() {
        setup();
        Options o;
        o.max_send = 1 + pick(3);
        o.max_recv = 1 + pick(3);
        if (pick(2) == 0) {
            o.max_fraction = 0.05 + static_cast<double>(pick(50)) / 100.0;
        }
        o.epoch = pick(1000);
        o.down.assign(crashed.begin(), crashed.end());
        o.policy = policy;
        o.topology = topology;
        Runner r(before, after, rf, o);
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (lost[k]) {  // no live old replica: the plan reports it, never silently
                const bool reported =
                    std::any_of(r.lost().begin(), r.lost().end(),
                                [&](const TokenRange& x) { return x.contains(keys[k]); });
                REQUIRE(reported);
            }
        }
        std::vector<Flight> flights;
        const bool will_abort = pick(4) == 0;
        const std::size_t abort_at = pick(120);
        for (std::size_t step = 0; step < 400 && !r.finished(); ++step) {
            if (will_abort && step == abort_at) {
                for (const auto& d : r.abort()) {
                    erase(store, d);
                }
                break;
            }
            const std::size_t action = pick(12);
            if (action < 3) {  // a write
                const std::size_t k = pick(keys.size());
                if (!lost[k]) {
                    ++latest[k];
                    for (const auto& node : r.write_to(keys[k])) {
                        if (crashed.count(node) == 0) {
                            store[node][keys[k]] = latest[k];
                        }
                    }
                }
            } else if (action < 5) {
                for (const Transfer& t : r.next()) {
                    const auto& src = store[t.from];
                    flights.push_back(
                        Flight{t, {src.lower_bound(t.range.first), src.upper_bound(t.range.last)}});
                }
                check_limits(r);
            } else if (action < 9 && !flights.empty()) {
                const std::size_t i = pick(flights.size());
                const Flight f = flights[i];
                flights.erase(flights.begin() + static_cast<std::ptrdiff_t>(i));
                if (pick(8) == 0) {
                    apply(store, f.t.to, f.snapshot, &rng);  // cut off half way
                    r.failed(f.t);
                    ++failures;
                } else {
                    apply(store, f.t.to, f.snapshot, nullptr);
                    r.done(f.t);
                }
            } else if (action == 9 && pick(4) == 0) {  // the coordinator restarts
                r = Runner::from_text(r.to_text());
                ++restarts;
                for (const Flight& f : flights) {
                    apply(store, f.t.to, f.snapshot, &rng);  // streams cut off
                }
                if (!flights.empty()) {
                    const auto code = rp_test::error_code([&] { r.done(flights.front().t); });
                    REQUIRE(code.has_value());  // a stream of before the restart is refused
                }
                flights.clear();
            } else if (action == 10) {
                const auto p = r.progress();
                if (r.phase() == MigrationPhase::streaming && p.copied == p.total) {
                    r.cutover();
                } else if (r.phase() == MigrationPhase::read_new) {
                    for (const auto& d : r.cleanup()) {
                        erase(store, d);
                    }
                } else if (r.phase() == MigrationPhase::streaming) {
                    REQUIRE(rp_test::error_code([&] { r.cutover(); }) == Errc::invalid_transition);
                }
            }
            check_reads(r);
        }
        // Finish: the streams in flight complete, then everything else.
        for (const Flight& f : flights) {
            if (r.phase() == MigrationPhase::streaming) {
                apply(store, f.t.to, f.snapshot, nullptr);
                r.done(f.t);
            }
        }
        if (!r.finished()) {
            for (auto batch = r.next(); !batch.empty(); batch = r.next()) {
                for (const Transfer& t : batch) {
                    const auto& src = store[t.from];
                    apply(store, t.to,
                          {src.lower_bound(t.range.first), src.upper_bound(t.range.last)}, nullptr);
                    r.done(t);
                }
                check_limits(r);
            }
            if (!r.failed_moves().empty()) {
                for (const auto& d : r.abort()) {
                    erase(store, d);
                }
            } else {
                if (r.phase() == MigrationPhase::streaming) {
                    r.cutover();
                }
                check_reads(r);
                for (const auto& d : r.cleanup()) {
                    erase(store, d);
                }
            }
        }
        aborts += r.phase() == MigrationPhase::aborted;
        cleaned += r.phase() == MigrationPhase::cleaned;
        check_reads(r);
        check_final(r);
    }

    // Cleaned: each kept key is on exactly its new replicas, at its latest version. Aborted:
    // on exactly its live old replicas, at its latest version.
    void check_final(const Runner& r) {
        const Ring& layout = r.phase() == MigrationPhase::cleaned ? after : before;
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (lost[k]) {
                continue;
            }
            std::set<std::string> want;
            for (const auto& node : replicas(layout, keys[k])) {
                if (crashed.count(node) == 0) {
                    want.insert(node);
                }
            }
            std::set<std::string> holders;
            for (const auto& [node, data] : store) {
                if (data.count(keys[k]) != 0) {
                    holders.insert(node);
                    if (data.at(keys[k]) != latest[k]) {
                        INFO("key " << keys[k] << " on " << node);
                        REQUIRE(data.at(keys[k]) == latest[k]);
                    }
                }
            }
            if (holders != want) {
                INFO("key " << keys[k] << " phase " << ringplan::to_string(r.phase()));
                REQUIRE(holders == want);
            }
        }
    }
};

// The runs of seeds 1..seeds, and how often each path was taken.
struct ModelTotals {
    std::size_t restarts = 0, aborts = 0, failures = 0, cleaned = 0;
};
ModelTotals run_seeds(std::uint64_t seeds, bool rules) {
    ModelTotals total;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        INFO("seed " << seed);
        ModelRun run(seed, rules);
        run.run();
        total.restarts += run.restarts;
        total.aborts += run.aborts;
        total.failures += run.failures;
        total.cleaned += run.cleaned;
    }
    return total;
}

}  // namespace

TEST_CASE("migration: randomized runs against an in-memory store", "[migration][model]") {
    const ModelTotals t = run_seeds(300, false);
    // Every path was taken, many times.
    CHECK(t.restarts > 50);
    CHECK(t.aborts > 30);
    CHECK(t.failures > 100);
    CHECK(t.cleaned > 50);
}

// The same runs with every node in one of 2 datacenters x 3 racks and a random rule.
TEST_CASE("migration: randomized runs under replica rules", "[migration][model][topology]") {
    const ModelTotals t = run_seeds(200, true);
    CHECK(t.restarts > 30);
    CHECK(t.aborts > 20);
    CHECK(t.failures > 50);
    CHECK(t.cleaned > 30);
}

// ---- replica rules --------------------------------------------------------------------------

namespace {

using Topology = ringplan::Topology<std::string>;
using ringplan::ReplicaPolicy;

// 2 datacenters x 3 racks, 2 nodes a rack ("dc1-r2-b"), 8 vnodes each.
struct TwoDatacenters {
    Ring ring;
    Topology topology;
    ReplicaPolicy policy = ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}});

    TwoDatacenters() {
        for (const char* dc : {"dc1", "dc2"}) {
            for (const char* rack : {"r1", "r2", "r3"}) {
                for (const char* n : {"a", "b"}) {
                    const std::string id = std::string(dc) + "-" + rack + "-" + n;
                    ring.add_node(id, 8);
                    topology.set(id, dc, rack);
                }
            }
        }
    }
    Options options() const {
        Options o;
        o.policy = policy;
        o.topology = topology;
        return o;
    }
    std::vector<std::string> rule(const Ring& r, Token t) const {
        return ringplan::Placement<ringplan::Xxh3, std::string>(r, topology, policy).replicas_at(t);
    }
};

// Many tokens: random ones and both ends of every range of the layout.
std::vector<Token> probe_tokens(const Runner& r) {
    std::mt19937_64 g(17);
    std::vector<Token> out;
    for (int i = 0; i < 3000; ++i) {
        out.push_back(static_cast<Token>(g()));
    }
    for (const auto& s : r.layout()) {
        out.push_back(s.range.first);
        out.push_back(s.range.last);
    }
    return out;
}

}  // namespace

TEST_CASE("migration: a network-topology rule, make-before-break", "[migration][topology]") {
    TwoDatacenters c;
    const Ring& before = c.ring;
    Ring after = before;
    after.remove_node("dc1-r2-a");
    after.add_node("dc2-r3-c", 8);
    c.topology.set("dc2-r3-c", "dc2", "r3");
    Runner r(before, after, Rf{1}, c.options());  // the rule replaces rf

    ringplan::PlanOptions<std::string> po;
    po.policy = c.policy;
    po.topology = c.topology;
    const auto plan = ringplan::diff(before, after, po);
    REQUIRE(r.moves().size() == plan.moves.size());
    for (std::size_t i = 0; i < plan.moves.size(); ++i) {
        CHECK(r.moves()[i].range == plan.moves[i].range);
        CHECK(r.moves()[i].to == plan.moves[i].to);
        CHECK(r.moves()[i].sources.front() == plan.moves[i].from);
    }
    // The rule is not the first 5 distinct nodes: somewhere the sets differ.
    const std::vector<Token> tokens = probe_tokens(r);
    bool differs = false;
    for (Token t : tokens) {
        std::vector<std::string> rule = c.rule(before, t), plain = before.replicas_at(t, Rf{5});
        std::sort(rule.begin(), rule.end());
        std::sort(plain.begin(), plain.end());
        differs = differs || rule != plain;
    }
    CHECK(differs);

    // A store laid out by the rule, with writes between the copies.
    Store store;
    std::map<Token, std::uint64_t> latest;
    for (Token t : tokens) {
        latest[t] = 1;
        for (const auto& n : c.rule(before, t)) {
            store[n][t] = 1;
        }
    }
    std::mt19937_64 g(5);
    const auto write_some = [&] {
        for (int i = 0; i < 50; ++i) {
            auto it = latest.begin();
            std::advance(it, static_cast<std::ptrdiff_t>(g() % latest.size()));
            ++it->second;
            for (const auto& n : r.write_to(it->first)) {
                store[n][it->first] = it->second;
            }
        }
    };
    for (auto batch = r.next(); !batch.empty(); batch = r.next()) {
        for (Token t : tokens) {  // streaming: reads from the old replicas, writes to both
            const auto old_set = c.rule(before, t);
            REQUIRE(r.read_from(t) == old_set);
            std::vector<std::string> both = old_set;
            for (const auto& n : c.rule(after, t)) {
                if (std::find(both.begin(), both.end(), n) == both.end()) {
                    both.push_back(n);
                }
            }
            REQUIRE(r.write_to(t) == both);
        }
        write_some();
        for (const Transfer& t : batch) {
            const auto& src = store[t.from];
            apply(store, t.to, {src.lower_bound(t.range.first), src.upper_bound(t.range.last)},
                  nullptr);
            r.done(t);
        }
        write_some();
    }
    r.cutover();
    for (Token t : tokens) {
        REQUIRE(r.read_from(t) == c.rule(after, t));
    }
    for (const auto& d : r.cleanup()) {
        erase(store, d);
    }
    // Every key sits exactly on the rule's new replicas, at its latest version; each range's
    // replicas are 3 racks of dc1 and 2 racks of dc2.
    for (const auto& [t, version] : latest) {
        const auto want = c.rule(after, t);
        std::set<std::string> holders;
        for (const auto& [node, data] : store) {
            auto it = data.find(t);
            if (it != data.end()) {
                holders.insert(node);
                REQUIRE(it->second == version);
            }
        }
        REQUIRE(holders == std::set<std::string>(want.begin(), want.end()));
        REQUIRE(r.write_to(t) == want);
        std::set<std::string> dc1_racks, dc2_racks;
        for (const auto& n : want) {
            const auto& where = c.topology.at(n);
            (where.datacenter == "dc1" ? dc1_racks : dc2_racks).insert(where.rack);
        }
        REQUIRE(dc1_racks.size() == 3);
        REQUIRE(dc2_racks.size() == 2);
    }
}

TEST_CASE("migration: plans under a rule, and their errors", "[migration][topology]") {
    const TwoDatacenters c;
    ringplan::PlanOptions<std::string> po;
    po.policy = c.policy;
    po.topology = c.topology;
    const std::string node = "dc2-r1-b";
    Ring after = c.ring;
    after.remove_node(node);

    SECTION("a leave: the layouts and the fallback sources are the rule's") {
        const auto plan = ringplan::plan_leave(c.ring, node, po);
        Runner r(plan, c.ring, ringplan::PlanOrigin::leave, node, c.options());
        REQUIRE(r.moves().size() == plan.moves.size());
        const std::vector<Token> tokens = probe_tokens(r);
        for (Token t : tokens) {
            REQUIRE(r.read_from(t) == c.rule(c.ring, t));
        }
        for (const auto& m : r.moves()) {
            for (const auto& s : m.sources) {  // every candidate holds the range under the rule
                const auto old_set = c.rule(c.ring, m.range.first);
                CHECK(std::find(old_set.begin(), old_set.end(), s) != old_set.end());
            }
        }
        drain(r);
        r.cutover();
        for (Token t : tokens) {
            REQUIRE(r.read_from(t) == c.rule(after, t));
        }
        for (const auto& [range, who] : r.cleanup()) {
            CHECK(who == node);  // only the leaving node gives ranges up
            (void)range;
        }
    }
    SECTION("a rack that loses power: the two-ring form with its nodes down") {
        Ring without = c.ring;
        Options o = c.options();
        for (const auto& id : c.topology.nodes_in("dc1", "r2")) {
            without.remove_node(id);
            o.down.push_back(id);
        }
        const Runner r(c.ring, without, Rf{1}, o);
        const auto plan = ringplan::plan_crash_rack(c.ring, "dc1", "r2", po);
        REQUIRE(r.moves().size() == plan.moves.size());
        for (std::size_t i = 0; i < plan.moves.size(); ++i) {
            CHECK(r.moves()[i].range == plan.moves[i].range);
            CHECK(r.moves()[i].to == plan.moves[i].to);
            CHECK(r.moves()[i].sources.front() == plan.moves[i].from);
        }
        CHECK(r.lost() == plan.lost);
    }
    SECTION("a rule the plan was not computed for") {
        const auto plan = ringplan::plan_leave(c.ring, node, Rf{3});
        expect_error([&] { Runner(plan, c.ring, ringplan::PlanOrigin::leave, node, c.options()); },
                     Errc::invalid_option, "the plan is for rf 3, the replica rule's total is 5");
    }
    SECTION("a join plan under a network-topology rule") {
        auto located = po;
        located.topology.set("dc1-r1-c", "dc1", "r1");
        const auto plan = ringplan::plan_join(c.ring, "dc1-r1-c", 8, located);
        Options o = c.options();
        o.topology = located.topology;
        expect_error([&] { Runner(plan, c.ring, ringplan::PlanOrigin::join, "dc1-r1-c", o); },
                     Errc::invalid_option, "two-ring constructor");
    }
    SECTION("a member without a location") {
        Ring grown = c.ring;
        grown.add_node("nowhere", 8);
        expect_error([&] { Runner(c.ring, grown, Rf{1}, c.options()); }, Errc::invalid_topology,
                     "nowhere");
    }
}

TEST_CASE("migration: the rule survives a restart", "[migration][topology]") {
    TwoDatacenters c;
    Ring after = c.ring;
    after.remove_node("dc1-r1-a");
    Options o = c.options();
    o.topology.set("spare node", "dc 3", "");  // names that need escaping
    o.policy = ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}, {"dc 3", 0}},
                                               ringplan::ReplicaOrder::driver);
    Runner r(c.ring, after, Rf{1}, o);
    auto batch = r.next();
    REQUIRE(!batch.empty());
    r.done(batch.front());
    const std::string text = r.to_text();
    CHECK(text.rfind("ringplan migration 2\n", 0) == 0);
    CHECK(text.find("\nrule network_topology driver 3 dc%203 0 dc1 3 dc2 2\nlocations 13\n") !=
          std::string::npos);
    CHECK(text.find("\nlocation spare%20node dc%203 %\n") != std::string::npos);
    const Runner restored = Runner::from_text(text);
    CHECK(restored.options().policy == o.policy);
    CHECK(restored.options().topology == o.topology);
    CHECK(restored.moves()[batch.front().id].state == MoveState::copied);
    CHECK(Runner::from_text(restored.to_text()) == restored);
    // A runner without a rule still writes (and reads) version 1.
    const Runner plain(c.ring, after, Rf{2});
    CHECK(plain.to_text().rfind("ringplan migration 1\n", 0) == 0);
    CHECK(Runner::from_text(plain.to_text()) == plain);

    // Lines: 1 header, 2 options, 3 down, 4 rule, 5 locations, 6.. location.
    const auto broken = [&](const std::string& from, const std::string& to) {
        return rp_test::replaced(text, from, to);
    };
    expect_error(
        [&] {
            (void)Runner::from_text(
                broken("rule network_topology driver", "rule network_topology sideways"));
        },
        Errc::parse_error, "line 4: 'rule network_topology' takes the order");
    expect_error([&] { (void)Runner::from_text(broken("rule network_topology", "rule nearby")); },
                 Errc::parse_error, "line 4: unknown rule 'nearby'");
    expect_error([&] { (void)Runner::from_text(broken("dc1 3 dc2 2", "dc2 3 dc1 2")); },
                 Errc::parse_error, "line 4: the datacenters must be named, sorted and distinct");
    expect_error([&] { (void)Runner::from_text(broken("driver 3 dc%203", "driver 4 dc%203")); },
                 Errc::parse_error, "line 4: 'rule network_topology' must list as many");
    expect_error([&] { (void)Runner::from_text(broken("locations 13", "locations 14")); },
                 Errc::parse_error, "expected a 'location' line, got 'phase'");
    expect_error(
        [&] {
            (void)Runner::from_text(broken("location dc1-r1-a dc1 r1", "location dc1-r1-a % r1"));
        },
        Errc::parse_error, "line 6: node 'dc1-r1-a' needs a datacenter");
    expect_error([&] { (void)Runner::from_text(broken("location dc1-r1-b", "location dc1-r1-a")); },
                 Errc::parse_error, "line 7: node 'dc1-r1-a' is out of order or repeated");
    expect_error([&] { (void)Runner::from_text(broken("\nrule ", "\nrules ")); }, Errc::parse_error,
                 "line 4: expected a 'rule' line, got 'rules'");
    // A version-1 header has no rule lines: a rule line there is out of place.
    expect_error([&] { (void)Runner::from_text(broken("migration 2", "migration 1")); },
                 Errc::parse_error, "line 4: expected 'phase'");
}
