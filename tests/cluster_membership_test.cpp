// The membership state machine (membership.hpp): detection, removal, rejoin against new join,
// graceful leave, epochs and fencing, one range movement at a time, both layouts, and the
// strong guarantee of every observation.
#include "catch.hpp"
#include "expect_error.hpp"
#include "splitmix64.hpp"

#include <ringplan/membership.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ringplan::ChangeKind;
using ringplan::Errc;
using ringplan::NodeState;
using ringplan::PlanKind;
using ringplan::Rf;
using Membership = ringplan::Membership<>;
using Change = Membership::Change;
using ms = std::chrono::milliseconds;
using rp_test::expect_error;

// ClusterKit's policy: down after 3 missed checks of 5 s; suspected after one.
ringplan::MembershipOptions fixed_options(ms remove_after = 60s) {
    ringplan::MembershipOptions o;
    o.detector = ringplan::DetectorOptions::fixed();
    o.remove_after = remove_after;
    return o;
}

// Drives a machine through simulated time: every listed node heartbeats each second, and the
// machine ticks every 100 ms. Collects every change.
struct Driver {
    Membership m;
    std::vector<std::string> beating;
    std::vector<Change> log;
    ms t{0};

    void keep(const std::vector<Change>& cs) { log.insert(log.end(), cs.begin(), cs.end()); }
    void run_until(ms end) {
        while (t < end) {
            t += 100ms;
            if (t.count() % 1000 == 0) {
                for (const auto& id : beating) {
                    keep(m.heartbeat(id, t));
                }
            }
            keep(m.tick(t));
        }
    }
    void stop(const std::string& id) {
        beating.erase(std::find(beating.begin(), beating.end(), id));
    }
    void start(const std::string& id) { beating.push_back(id); }
    std::vector<const Change*> of(ChangeKind kind, const std::string& id) const {
        std::vector<const Change*> out;
        for (const auto& c : log) {
            if (c.kind == kind && c.node == id) {
                out.push_back(&c);
            }
        }
        return out;
    }
};

Driver three_nodes(ringplan::MembershipOptions o) {
    Driver d{Membership({"n1", "n2", "n3"}, 0ms, o), {"n1", "n2", "n3"}, {}, 0ms};
    return d;
}

}  // namespace

TEST_CASE("founders start up at epoch 1 with the layout of their mode", "[cluster]") {
    Membership empty;
    CHECK(empty.epoch() == 0);
    CHECK(empty.members().empty());

    Membership m({"c", "a", "b"}, 5s, fixed_options());
    CHECK(m.epoch() == 1);
    CHECK(m.members() == std::vector<std::string>{"a", "b", "c"});
    CHECK(m.state("b") == NodeState::up);
    CHECK(m.ring().nodes() == m.members());
    CHECK(m.ring().vnode_count("a") == 16);
    CHECK_FALSE(m.known("d"));
    expect_error([&] { (void)m.state("d"); }, Errc::unknown_node, "'d'");

    auto o = fixed_options();
    o.partitions = 16;
    Membership p({"a", "b", "c"}, 0ms, o);
    CHECK(p.partition_map() ==
          ringplan::assign_partitions(std::vector<std::string>{"a", "b", "c"}, 16, Rf{3}));
    CHECK(p.ring().empty());

    expect_error([&] { Membership({"a", "b", "a"}, 0ms, o); }, Errc::duplicate_node, "'a'");
    auto bad = fixed_options();
    bad.remove_after = -1ms;
    expect_error([&] { Membership x(bad); }, Errc::invalid_option, "remove_after");
    bad = fixed_options();
    bad.vnodes = 0;
    expect_error([&] { Membership x(bad); }, Errc::invalid_option, "vnodes");
    bad.partitions = 1u << 25;
    expect_error([&] { Membership x(bad); }, Errc::invalid_partition_count);
}

TEST_CASE("a crash: suspect, down after 3 missed 5 s checks, removed with the crash plan",
          "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    d.run_until(10s);
    const auto ring_before = d.m.ring();
    d.stop("n2");  // last heartbeat at 10 s
    d.run_until(200s);

    const auto suspect = d.of(ChangeKind::suspect, "n2");
    const auto down = d.of(ChangeKind::down, "n2");
    const auto removed = d.of(ChangeKind::removed, "n2");
    REQUIRE(suspect.size() == 1);
    REQUIRE(down.size() == 1);
    REQUIRE(removed.size() == 1);
    CHECK(suspect[0]->at == 15s);  // one missed check
    CHECK(down[0]->at == 25s);     // three missed checks after the last heartbeat
    CHECK(removed[0]->at == 85s);  // down for remove_after
    // Suspicion changes nothing anyone acts on; down and removed are membership changes.
    CHECK(suspect[0]->epoch == 1);
    CHECK(down[0]->epoch == 2);
    CHECK(removed[0]->epoch == 3);
    CHECK(down[0]->plan_kind == PlanKind::none);
    CHECK(down[0]->owned == Approx(ringplan::replicated_share(ring_before, "n2", Rf{3})));

    // The removal runs the crash plan of the ring it was down in; nothing is lost at rf 3.
    CHECK(removed[0]->plan_kind == PlanKind::crash);
    CHECK(removed[0]->plan.moves == ringplan::plan_crash(ring_before, "n2", Rf{3}).moves);
    CHECK(removed[0]->summary().lost == 0);
    CHECK(removed[0]->summary().moves == removed[0]->plan.moves.size());
    // Two nodes are left for rf 3: the whole ring is under-replicated, and the summary says so.
    CHECK(removed[0]->summary().under_replicated == Approx(1.0));
    CHECK(d.m.state("n2") == NodeState::removed);
    CHECK_FALSE(d.m.ring().contains("n2"));
    CHECK(d.m.members() == std::vector<std::string>{"n1", "n3"});
    CHECK_FALSE(d.m.detector().monitors("n2"));
    CHECK(d.log.size() == 3);  // the others were never suspected
}

TEST_CASE("remove_after 0 removes in the tick that convicts", "[cluster]") {
    Driver d = three_nodes(fixed_options(0ms));
    d.stop("n3");
    d.run_until(30s);
    REQUIRE(d.log.size() == 3);
    CHECK(d.log[1].kind == ChangeKind::down);
    CHECK(d.log[2].kind == ChangeKind::removed);
    CHECK(d.log[1].at == d.log[2].at);
    CHECK(d.log[2].epoch == d.log[1].epoch + 1);
}

TEST_CASE("a down node back before removal rejoins with its data: the hints come back",
          "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    d.run_until(10s);
    d.stop("n1");
    d.run_until(40s);  // down at 25 s
    REQUIRE(d.m.state("n1") == NodeState::down);
    const auto ring = d.m.ring();
    const auto epoch = d.m.epoch();
    d.start("n1");
    d.run_until(41s);

    const auto rejoin = d.of(ChangeKind::rejoin, "n1");
    REQUIRE(rejoin.size() == 1);
    CHECK(rejoin[0]->at == 41s);
    CHECK(rejoin[0]->away == 31s);  // since its last heartbeat, at 10 s
    CHECK(rejoin[0]->epoch == epoch + 1);
    CHECK(rejoin[0]->plan_kind == PlanKind::hint_return);
    CHECK(rejoin[0]->plan.moves == ringplan::plan_hint_return(ring, "n1", Rf{3}).moves);
    CHECK(rejoin[0]->owned == Approx(ringplan::replicated_share(ring, "n1", Rf{3})));
    CHECK(d.m.state("n1") == NodeState::up);
    CHECK(d.m.ring() == ring);  // it kept its ranges: nothing was reassigned
    d.run_until(300s);
    CHECK(d.of(ChangeKind::removed, "n1").empty());
}

TEST_CASE("a flapping node never triggers a rebalance before remove_after", "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    const auto ring = d.m.ring();
    for (int flap = 0; flap < 5; ++flap) {
        d.stop("n2");
        d.run_until(d.t + 30s);
        d.start("n2");
        d.run_until(d.t + 10s);
    }
    CHECK(d.of(ChangeKind::down, "n2").size() == 5);
    CHECK(d.of(ChangeKind::rejoin, "n2").size() == 5);
    CHECK(d.of(ChangeKind::removed, "n2").empty());
    for (const auto& c : d.log) {
        CHECK(c.plan_kind != PlanKind::crash);
    }
    CHECK(d.m.ring() == ring);
    CHECK(d.m.epoch() == 11);  // each down and each rejoin
}

TEST_CASE("an id that returns after removal is a new join, never a duplicate", "[cluster]") {
    Driver d = three_nodes(fixed_options(10s));
    d.stop("n3");
    d.run_until(60s);
    REQUIRE(d.m.state("n3") == NodeState::removed);
    // Its heartbeats alone change nothing: it is not a member.
    const Membership before = d.m;
    CHECK(d.m.heartbeat("n3", 61s).empty());
    CHECK(d.m.state("n3") == NodeState::removed);
    CHECK(d.m.members() == before.members());

    const auto join = d.m.join_request("n3", 62s);
    REQUIRE(join.size() == 1);
    CHECK(join[0].kind == ChangeKind::join);
    CHECK(join[0].plan_kind == PlanKind::join);
    CHECK(join[0].plan.moves ==
          ringplan::plan_join(d.m.ring(), std::string("n3"), 16, Rf{3}).moves);
    CHECK(join[0].epoch == d.m.epoch());
    CHECK(d.m.state("n3") == NodeState::joining);
    CHECK_FALSE(d.m.ring().contains("n3"));  // an owner only once its data has streamed
    CHECK(d.m.in_flight() == std::make_pair(std::string("n3"), PlanKind::join));

    expect_error([&] { d.m.join_request("n3", 63s); }, Errc::duplicate_node,
                 "'n3' is already a member (joining)");
    expect_error([&] { d.m.join_request("n1", 63s); }, Errc::duplicate_node, "(up)");
    const auto up = d.m.join_done("n3", join[0].epoch, 64s);
    REQUIRE(up.size() == 1);
    CHECK(up[0].kind == ChangeKind::up);
    CHECK(d.m.ring().contains("n3"));
    CHECK(d.m.members() == std::vector<std::string>{"n1", "n2", "n3"});
}

TEST_CASE("join_request from a down member is its rejoin", "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    d.stop("n2");
    d.run_until(20s);
    REQUIRE(d.m.state("n2") == NodeState::down);
    const auto cs = d.m.join_request("n2", 21s);
    REQUIRE(cs.size() == 1);
    CHECK(cs[0].kind == ChangeKind::rejoin);
    CHECK(d.m.state("n2") == NodeState::up);
}

TEST_CASE("a graceful leave streams, then goes; only the current epoch completes it", "[cluster]") {
    Driver d = three_nodes(fixed_options());
    d.start("n4");
    d.m = Membership({"n1", "n2", "n3", "n4"}, 0ms, fixed_options());
    const auto ring = d.m.ring();
    const auto leaving = d.m.leave_request("n2", 1s);
    REQUIRE(leaving.size() == 1);
    CHECK(leaving[0].kind == ChangeKind::leaving);
    CHECK(leaving[0].epoch == 2);
    CHECK(leaving[0].plan_kind == PlanKind::leave);
    CHECK(leaving[0].plan.moves == ringplan::plan_leave(ring, "n2", Rf{3}).moves);
    CHECK(leaving[0].owned == Approx(ringplan::replicated_share(ring, "n2", Rf{3})));
    CHECK(d.m.state("n2") == NodeState::leaving);
    CHECK(d.m.is_up("n2"));  // it serves until it has left
    CHECK(d.m.ring() == ring);

    // One join or leave streams at a time.
    Membership same = d.m;
    expect_error([&] { d.m.leave_request("n3", 2s); }, Errc::invalid_transition, "'n2' is leaving");
    expect_error([&] { d.m.join_request("n9", 2s); }, Errc::invalid_transition,
                 "one join or leave");
    expect_error([&] { d.m.leave_done("n2", 1, 2s); }, Errc::stale_epoch, "epoch 2, not 1");
    expect_error([&] { d.m.join_done("n2", 2, 2s); }, Errc::invalid_transition, "not joining");
    expect_error([&] { d.m.leave_done("n3", 2, 2s); }, Errc::invalid_transition, "not leaving");
    CHECK(d.m == same);

    const auto left = d.m.leave_done("n2", 2, 3s);
    REQUIRE(left.size() == 1);
    CHECK(left[0].kind == ChangeKind::left);
    CHECK(left[0].epoch == 3);
    CHECK(d.m.state("n2") == NodeState::left);
    CHECK_FALSE(d.m.ring().contains("n2"));
    CHECK_FALSE(d.m.detector().monitors("n2"));
    CHECK(d.m.heartbeat("n2", 4s).empty());
    expect_error([&] { d.m.leave_request("n2", 5s); }, Errc::invalid_transition, "left");
    expect_error([&] { d.m.leave_request("zz", 5s); }, Errc::unknown_node, "'zz'");
}

TEST_CASE("a change during a leave re-issues its plan at the new epoch (fencing)", "[cluster]") {
    Driver d{Membership({"n1", "n2", "n3", "n4", "n5"}, 0ms, fixed_options(0ms)),
             {"n1", "n2", "n3", "n4", "n5"},
             {},
             0ms};
    const auto leaving = d.m.leave_request("n2", 0ms);
    const std::uint64_t old_epoch = leaving[0].epoch;
    d.stop("n4");  // crashes while n2 streams; removed as soon as it is down
    d.run_until(20s);
    REQUIRE(d.of(ChangeKind::removed, "n4").size() == 1);
    const auto replan = d.of(ChangeKind::replan, "n2");
    REQUIRE(replan.size() == 1);
    CHECK(replan[0]->epoch == d.m.epoch());
    CHECK(replan[0]->plan_kind == PlanKind::leave);
    // The new plan is the leave of the ring without n4; the old one sent ranges to n4.
    CHECK(replan[0]->plan.moves == ringplan::plan_leave(d.m.ring(), "n2", Rf{3}).moves);
    bool old_used_n4 = false;
    for (const auto& mv : leaving[0].plan.moves) {
        old_used_n4 = old_used_n4 || mv.to == "n4";
    }
    CHECK(old_used_n4);
    for (const auto& mv : replan[0]->plan.moves) {
        CHECK(mv.to != "n4");
    }
    // The coordinator that still holds the old plan is refused.
    expect_error([&] { d.m.leave_done("n2", old_epoch, d.t); }, Errc::stale_epoch);
    expect_error([&] { d.m.check_epoch(old_epoch); }, Errc::stale_epoch,
                 "epoch " + std::to_string(old_epoch) + " is not the current epoch");
    d.m.check_epoch(replan[0]->epoch);
    CHECK(d.m.leave_done("n2", replan[0]->epoch, d.t)[0].kind == ChangeKind::left);
}

TEST_CASE("a joining node that goes down abandons its join; a leaving one cancels its leave",
          "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    d.keep(d.m.join_request("n4", 0ms));  // never heartbeats
    d.run_until(20s);
    const auto removed = d.of(ChangeKind::removed, "n4");
    REQUIRE(removed.size() == 1);
    CHECK(removed[0]->plan_kind == PlanKind::none);  // it owned nothing
    CHECK_FALSE(d.m.in_flight());
    CHECK_FALSE(d.m.ring().contains("n4"));

    d.keep(d.m.leave_request("n3", d.t));
    d.stop("n3");
    d.run_until(d.t + 20s);
    CHECK(d.m.state("n3") == NodeState::down);
    CHECK_FALSE(d.m.in_flight());
    CHECK(d.m.ring().contains("n3"));  // still an owner: its ranges wait remove_after
    d.start("n3");
    d.run_until(d.t + 1s);
    CHECK(d.m.state("n3") == NodeState::up);  // back, and no longer leaving
}

TEST_CASE("observations are refused whole: clock_backwards and friends change nothing",
          "[cluster]") {
    Membership m({"a", "b", "c"}, 10s, fixed_options());
    CHECK(m.heartbeat("a", 11s).empty());
    const Membership same = m;
    expect_error([&] { m.heartbeat("a", 10s); }, Errc::clock_backwards, "10000 ms");
    expect_error([&] { m.tick(5s); }, Errc::clock_backwards);
    expect_error([&] { m.join_request("d", 1s); }, Errc::clock_backwards);
    CHECK(m == same);
    CHECK(m.now() == 11s);
}

TEST_CASE("next_tick is the first time a tick decides something", "[cluster]") {
    Membership m({"a", "b"}, 0ms, fixed_options(60s));
    REQUIRE(m.next_tick() == 5s);  // a and b become suspect one check after their heartbeat
    CHECK(m.tick(4999ms).empty());
    CHECK(m.tick(5s).size() == 2);
    CHECK(m.next_tick() == 15s);
    CHECK(m.tick(15s).size() == 2);
    CHECK(m.next_tick() == 75s);
    CHECK(m.tick(74999ms).empty());
    CHECK(m.tick(75s).size() == 2);
    CHECK_FALSE(m.next_tick());
}

TEST_CASE("preference lists route a down node's writes to a fallback", "[cluster]") {
    Driver d = three_nodes(fixed_options(60s));
    d.m = Membership({"n1", "n2", "n3", "n4", "n5"}, 0ms, fixed_options(60s));
    d.beating = {"n1", "n2", "n3", "n4"};
    d.run_until(20s);
    REQUIRE(d.m.state("n5") == NodeState::down);
    const auto is_up = [&](const std::string& id) { return d.m.is_up(id); };
    for (int k = 0; k < 200; ++k) {
        const auto list =
            ringplan::preference_list(d.m.ring(), "key" + std::to_string(k), Rf{3}, is_up);
        REQUIRE(list.size() == 3);
        for (const auto& e : list) {
            CHECK(e.node != "n5");
        }
    }
}

TEST_CASE("ClusterKit's scenarios on 16 partitions at rf 3", "[cluster][partitions]") {
    auto o = fixed_options(60s);
    o.partitions = 16;
    Driver d{Membership({"node-1", "node-2", "node-3"}, 0ms, o),
             {"node-1", "node-2", "node-3"},
             {},
             0ms};
    d.run_until(5s);

    // 1. A fourth node joins: it takes a quarter of the 48 replicas, copied before it owns them.
    const auto join = d.m.join_request("node-4", d.t);
    REQUIRE(join.size() == 1);
    CHECK(join[0].partitions.copies == 12);
    CHECK(join[0].partitions.lost == 0);
    CHECK(join[0].summary().moved == Approx(12.0 / 16));
    CHECK_FALSE(d.m.partition_map().contains("node-4"));
    d.keep(d.m.join_done("node-4", join[0].epoch, d.t));
    d.start("node-4");
    CHECK(d.m.partition_map().partitions_of("node-4").size() == 12);

    // 2. node-2 is killed with kill -9: detected after 3 missed 5 s checks, then removed; its
    // replicas are rebuilt from the survivors, nothing lost.
    d.run_until(10s);
    d.stop("node-2");
    d.run_until(100s);
    const auto down = d.of(ChangeKind::down, "node-2");
    REQUIRE(down.size() == 1);
    CHECK(down[0]->at == 25s);
    const auto removed = d.of(ChangeKind::removed, "node-2");
    REQUIRE(removed.size() == 1);
    CHECK(removed[0]->plan_kind == PlanKind::crash);
    CHECK(removed[0]->partitions.lost == 0);
    CHECK(removed[0]->partitions.copies == 12);
    CHECK(removed[0]->summary().under_replicated == 0);
    CHECK_FALSE(d.m.partition_map().contains("node-2"));

    // 3. The dead node restarts with the same id: it was removed, so it joins anew, and is a
    // member once, never twice.
    CHECK(d.m.heartbeat("node-2", d.t).empty());
    const auto again = d.m.join_request("node-2", d.t);
    REQUIRE(again.size() == 1);
    CHECK(again[0].kind == ChangeKind::join);
    CHECK(again[0].partitions.copies == 12);
    d.keep(d.m.join_done("node-2", again[0].epoch, d.t));
    d.start("node-2");
    const auto members = d.m.members();
    CHECK(std::count(members.begin(), members.end(), "node-2") == 1);
    CHECK(d.m.partition_map().node_count() == 4);

    // 3'. Restarting before removal instead: a rejoin that only catches up, no full copy.
    d.run_until(d.t + 1s);
    d.stop("node-3");
    d.run_until(d.t + 30s);
    REQUIRE(d.m.state("node-3") == NodeState::down);
    const auto held = d.m.partition_map().partitions_of("node-3");
    d.start("node-3");
    d.run_until(d.t + 1s);
    const auto rejoin = d.of(ChangeKind::rejoin, "node-3");
    REQUIRE(rejoin.size() == 1);
    CHECK(rejoin[0]->plan_kind == PlanKind::hint_return);
    CHECK(rejoin[0]->partitions.copies == 0);
    std::size_t catch_ups = 0;
    for (const auto& e : rejoin[0]->partitions.events) {
        if (e.action == ringplan::PartitionAction::catch_up) {
            ++catch_ups;
            CHECK(e.node == "node-3");
        }
    }
    CHECK(catch_ups == held.size());
    CHECK(d.m.partition_map().partitions_of("node-3") == held);
}

TEST_CASE("the last member's departure reports everything lost", "[cluster][partitions]") {
    auto o = fixed_options(0ms);
    o.partitions = 8;
    Membership m({"solo"}, 0ms, o);
    const auto leaving = m.leave_request("solo", 1s);
    CHECK(leaving[0].partitions.lost == 8);
    CHECK(leaving[0].summary().lost == 1.0);
    m.leave_done("solo", leaving[0].epoch, 2s);
    CHECK(m.members().empty());
    CHECK(m.partition_map().node_count() == 0);
    // An empty view takes a first member again.
    const auto join = m.join_request("next", 3s);
    CHECK(join[0].partitions.copies == 0);
    m.join_done("next", join[0].epoch, 3s);
    CHECK(m.partition_map().partitions_of("next").size() == 8);

    Membership r({"solo"}, 0ms, fixed_options(0ms));
    const auto gone = r.leave_request("solo", 1s);
    CHECK(gone[0].summary().lost == Approx(1.0));
}

TEST_CASE("decisions depend on the observations only, not on the order of the founders",
          "[cluster]") {
    auto run = [](std::vector<std::string> founders) {
        Driver d{Membership(founders, 0ms, fixed_options(30s)), founders, {}, 0ms};
        d.stop("n3");
        d.run_until(120s);
        d.keep(d.m.join_request("n3", d.t));
        return d;
    };
    const Driver a = run({"n1", "n2", "n3", "n4"});
    const Driver b = run({"n4", "n3", "n2", "n1"});
    CHECK(a.m == b.m);
    REQUIRE(a.log.size() == b.log.size());
    for (std::size_t i = 0; i < a.log.size(); ++i) {
        CHECK(a.log[i].kind == b.log[i].kind);
        CHECK(a.log[i].epoch == b.log[i].epoch);
        CHECK(a.log[i].plan.moves == b.log[i].plan.moves);
    }
}

TEST_CASE("random observations keep the machine's invariants, and a refusal changes nothing",
          "[cluster][property]") {
    const std::vector<std::string> pool = {"a", "b", "c", "d", "e", "f"};
    // Mode 2: ring mode under a network-topology rule; f has no location until a join gives
    // one, and a join may name another location than the known one.
    const ringplan::Topology<std::string> places{{"a", {"dc1", "r1"}},
                                                 {"b", {"dc1", "r2"}},
                                                 {"c", {"dc2", "r1"}},
                                                 {"d", {"dc2", "r2"}},
                                                 {"e", {"dc1", "r1"}}};
    for (int mode = 0; mode < 3; ++mode) {
        for (std::uint64_t seed = 1; seed <= 40; ++seed) {
            auto o = fixed_options(ms(static_cast<std::int64_t>(seed % 3) * 20000));
            if (mode == 1) {
                o.partitions = 12;
            }
            if (mode == 2) {
                o.policy = ringplan::ReplicaPolicy::network_topology({{"dc1", 2}, {"dc2", 1}});
            }
            rp_test::SplitMix64 rng{seed};
            auto next = [&rng](std::uint64_t n) { return rng.next() % n; };
            Membership m({"a", "b", "c"}, 0ms, o, mode == 2 ? places : ringplan::Topology<>{});
            ms t{0};
            std::uint64_t last_epoch = m.epoch();
            for (int step = 0; step < 400; ++step) {
                t += ms(static_cast<std::int64_t>(next(4000)));
                const std::string& id = pool[next(pool.size())];
                const Membership before = m;
                std::vector<Change> cs;
                try {
                    switch (next(6)) {
                        case 0:
                        case 1:
                            cs = m.heartbeat(id, t);
                            break;
                        case 2:
                            if (mode == 2 && next(2) == 0) {
                                cs = m.join_request(id, t, ringplan::Location{"dc2", "r3"});
                            } else {
                                cs = m.join_request(id, t);
                            }
                            break;
                        case 3:
                            cs = m.leave_request(id, t);
                            break;
                        case 4: {
                            const auto f = m.in_flight();
                            // Sometimes with a stale epoch, which must be refused.
                            const std::uint64_t e = m.epoch() - next(2);
                            if (f && f->second == PlanKind::join) {
                                cs = m.join_done(f->first, e, t);
                            } else if (f) {
                                cs = m.leave_done(f->first, e, t);
                            }
                            break;
                        }
                        default:
                            cs = m.tick(t);
                    }
                } catch (const ringplan::Error&) {
                    CHECK(m == before);
                    continue;
                }
                // Epochs never go back, and each change carries the epoch it applies to.
                for (const auto& c : cs) {
                    CHECK(c.epoch >= last_epoch);
                    CHECK(c.epoch <= m.epoch());
                    last_epoch = c.epoch;
                    CHECK(c.at == t);
                }
                // The owners are exactly the up, suspect, down and leaving members.
                std::vector<std::string> owners;
                for (const auto& [node, s] : m.states()) {
                    if (s == NodeState::up || s == NodeState::suspect || s == NodeState::down ||
                        s == NodeState::leaving) {
                        owners.push_back(node);
                    }
                    CHECK(m.detector().monitors(node) ==
                          (s != NodeState::left && s != NodeState::removed));
                }
                if (mode != 1) {
                    CHECK(m.ring().nodes() == owners);
                } else {
                    CHECK(m.partition_map().nodes() == owners);
                }
                if (mode == 2) {
                    for (const auto& node : m.members()) {  // the rule's precondition holds
                        CHECK(m.topology().find(node) != nullptr);
                    }
                    if (step % 25 == 0) {
                        CHECK(Membership::from_text(m.to_text()) == m);
                    }
                }
                // At most one join or leave streams, and it is the node in that state.
                const auto f = m.in_flight();
                std::size_t moving = 0;
                for (const auto& [node, s] : m.states()) {
                    if (s == NodeState::joining || s == NodeState::leaving) {
                        ++moving;
                        REQUIRE(f);
                        CHECK(f->first == node);
                    }
                }
                CHECK(moving == (f ? 1u : 0u));
            }
        }
    }
}

TEST_CASE("the text form round-trips, and a machine read back decides the same",
          "[cluster][text]") {
    for (int mode = 0; mode < 2; ++mode) {
        auto o = fixed_options(20s);
        o.partitions = mode == 1 ? 8 : 0;
        o.detector.threshold = 0.1;  // not a fixed-model field, but it must round-trip exactly
        Driver d{Membership({"n1", "n 2", "n%3", ""}, 0ms, o), {"n1", "n 2", "n%3", ""}, {}, 0ms};
        d.stop("n%3");
        d.run_until(30s);
        d.keep(d.m.leave_request("n1", d.t));
        const Membership& m = d.m;
        REQUIRE(m.in_flight());
        const std::string text = m.to_text();
        INFO(text);
        const Membership back = Membership::from_text(text);
        CHECK(back == m);
        CHECK(back.to_text() == text);
        // Both go on alike.
        Driver a = d;
        Driver b = d;
        b.m = back;
        a.log.clear();
        b.log.clear();
        a.run_until(200s);
        b.run_until(200s);
        CHECK(a.m == b.m);
        REQUIRE(a.log.size() == b.log.size());
        for (std::size_t i = 0; i < a.log.size(); ++i) {
            CHECK(a.log[i].kind == b.log[i].kind);
            CHECK(a.log[i].epoch == b.log[i].epoch);
            CHECK(a.log[i].summary().moves == b.log[i].summary().moves);
        }
    }
    Membership empty;
    CHECK(Membership::from_text(empty.to_text()) == empty);
}

TEST_CASE("a text that is not a machine's is refused, naming the line", "[cluster][text]") {
    auto o = fixed_options(20s);
    o.partitions = 4;
    Membership m({"a", "b", "c"}, 0ms, o);
    m.leave_request("b", 1s);
    const std::string text = m.to_text();
    auto replace = [&](const std::string& from, const std::string& to) {
        return rp_test::replaced(text, from, to);
    };
    expect_error([&] { (void)Membership::from_text(""); }, Errc::parse_error, "line 1:");
    expect_error([&] { (void)Membership::from_text(replace("ringplan-membership 1", "x")); },
                 Errc::parse_error, "line 1: expected the header");
    expect_error([&] { (void)Membership::from_text(replace("options fixed", "options slow")); },
                 Errc::parse_error, "line 2: unknown detector model 'slow'");
    expect_error([&] { (void)Membership::from_text(replace("epoch 2 1000", "epoch -2 1000")); },
                 Errc::parse_error, "line 3: the epoch");
    expect_error([&] { (void)Membership::from_text(replace("node b leaving", "node b up")); },
                 Errc::parse_error, "state leaving");
    expect_error([&] { (void)Membership::from_text(replace("node b leaving", "node b lazy")); },
                 Errc::parse_error, "line 6: unknown state 'lazy'");
    expect_error([&] { (void)Membership::from_text(replace("node c up", "node a up")); },
                 Errc::parse_error, "out of order or repeated");
    expect_error(
        [&] { (void)Membership::from_text(replace("flight leave b 2", "flight leave b")); },
        Errc::parse_error, "flight");
    expect_error(
        [&] { (void)Membership::from_text(replace("flight leave b 2", "flight leave b 3")); },
        Errc::parse_error, "line 8: the streaming plan");
    expect_error([&] { (void)Membership::from_text(replace("map 4", "map 3")); }, Errc::parse_error,
                 "must list 4 partitions");
    expect_error([&] { (void)Membership::from_text(text + "more\n"); }, Errc::parse_error,
                 "text after 'end'");
    expect_error([&] { (void)Membership::from_text(text.substr(0, text.size() - 4)); },
                 Errc::parse_error, "expected a 'end' line");
}

TEST_CASE("each detector model convicts a crashed node when its formula says", "[cluster]") {
    struct Case {
        ringplan::DetectorOptions detector;
        ms earliest;
        ms latest;
    };
    // 1 s heartbeats. Akka: mean 1 s + 3 s acceptable pause + about 4.8 standard deviations of
    // 100 ms. Cassandra: 8 ln 10 mean intervals. Fixed: 3 missed 5 s checks.
    const Case cases[] = {{ringplan::DetectorOptions::akka(), 4400ms, 4700ms},
                          {ringplan::DetectorOptions::cassandra(), 18000ms, 19500ms},
                          {ringplan::DetectorOptions::fixed(), 15000ms, 15000ms}};
    for (const Case& c : cases) {
        ringplan::MembershipOptions o;
        o.detector = c.detector;
        Driver d{Membership({"n1", "n2", "n3"}, 0ms, o), {"n1", "n2", "n3"}, {}, 0ms};
        d.run_until(60s);
        d.stop("n3");  // last heartbeat at 60 s
        d.run_until(100s);
        INFO(ringplan::to_string(c.detector.model));
        const auto down = d.of(ChangeKind::down, "n3");
        REQUIRE(down.size() == 1);
        CHECK(down[0]->at >= 60s + c.earliest);
        CHECK(down[0]->at <= 60s + c.latest + 100ms);  // ticks every 100 ms
        REQUIRE(d.of(ChangeKind::suspect, "n3").size() == 1);
        CHECK(d.of(ChangeKind::suspect, "n3")[0]->at < down[0]->at);
        // Steady heartbeats never raised a suspicion of the others.
        CHECK(d.of(ChangeKind::suspect, "n1").empty());
        CHECK(d.of(ChangeKind::suspect, "n2").empty());
    }
}

TEST_CASE(
    "a GC pause within the detector's tolerance passes unnoticed; a longer one is a "
    "rejoin",
    "[cluster]") {
    // Akka's defaults tolerate 3 s of pause beyond the mean interval.
    ringplan::MembershipOptions o;
    Driver d{Membership({"n1", "n2", "n3"}, 0ms, o), {"n1", "n2", "n3"}, {}, 0ms};
    d.run_until(60s);
    d.stop("n2");
    d.run_until(63s);  // no heartbeats for 3 s (last at 60 s, next at 64 s)
    d.start("n2");
    d.run_until(120s);
    CHECK(d.log.empty());

    d.stop("n2");
    d.run_until(135s);  // 15 s without a heartbeat: convicted, not removed (10 minutes)
    d.start("n2");
    d.run_until(140s);
    REQUIRE(d.of(ChangeKind::down, "n2").size() == 1);
    const auto rejoin = d.of(ChangeKind::rejoin, "n2");
    REQUIRE(rejoin.size() == 1);
    CHECK(rejoin[0]->away == 16s);  // last heartbeat at 120 s, back at 136 s
    CHECK(d.of(ChangeKind::removed, "n2").empty());
}

// ---- replica rules ----------------------------------------------------------------------------

namespace {

using ringplan::Location;
using ringplan::ReplicaPolicy;
using Topology = ringplan::Topology<std::string>;

// dc1: 3 racks of 2 nodes; dc2: 2 racks of 1 node. dc1 keeps 3 replicas, dc2 keeps 2.
struct RuleCluster {
    std::vector<std::string> ids;
    Topology topology;
    ringplan::MembershipOptions options = fixed_options(20s);

    RuleCluster() {
        for (const char* rack : {"r1", "r2", "r3"}) {
            for (const char* n : {"a", "b"}) {
                ids.push_back(std::string("dc1-") + rack + "-" + n);
                topology.set(ids.back(), "dc1", rack);
            }
        }
        for (const char* rack : {"r1", "r2"}) {
            ids.push_back(std::string("dc2-") + rack + "-a");
            topology.set(ids.back(), "dc2", rack);
        }
        options.policy = ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}});
        options.vnodes = 8;
    }
    ringplan::PlanOptions<std::string> plan_options(const Topology& t) const {
        ringplan::PlanOptions<std::string> po;
        po.policy = options.policy;
        po.topology = t;
        return po;
    }
};

}  // namespace

TEST_CASE("under a network-topology rule, plans, summaries and shares follow the rule",
          "[cluster][topology]") {
    const RuleCluster c;
    Membership m(c.ids, 0ms, c.options, c.topology);
    CHECK(m.topology() == c.topology);
    const ringplan::Ring<> ring = m.ring();

    // A leave in dc2 leaves it one node for an rf of 2: under-replicated everywhere, which
    // the first 5 of 7 nodes would not be.
    const auto leave = m.leave_request("dc2-r1-a", 1s);
    REQUIRE(leave.size() == 1);
    const auto expected = ringplan::plan_leave(ring, "dc2-r1-a", c.plan_options(c.topology));
    CHECK(leave[0].plan.moves == expected.moves);
    CHECK(leave[0].plan.rf == Rf{5});
    CHECK(leave[0].summary().under_replicated == Approx(1.0));
    CHECK(ringplan::plan_leave(ring, "dc2-r1-a", Rf{5}).under_replicated.empty());
    REQUIRE(leave[0].plan.datacenters.size() == 2);
    CHECK(leave[0].plan.datacenters[1].datacenter == "dc2");
    CHECK(leave[0].plan.datacenters[1].under_replicated ==
          std::vector<ringplan::TokenRange>{{0, ringplan::max_token}});
    // Both dc2 nodes hold every range under the rule; the first 5 nodes would say less.
    CHECK(leave[0].owned == Approx(1.0));
    CHECK(ringplan::replicated_share(ring, "dc2-r1-a", Rf{5}) < 0.9);
    m.leave_done("dc2-r1-a", leave[0].epoch, 2s);

    SECTION("a join needs a location, given or known") {
        const Membership before = m;
        expect_error([&] { m.join_request("dc2-r3-a", 3s); }, Errc::invalid_topology,
                     "node 'dc2-r3-a' has no location, and the network_topology rule needs one");
        CHECK(m == before);
        expect_error(
            [&] {
                m.join_request("dc2-r3-a", 3s, Location{"", "r3"});
            },
            Errc::invalid_topology, "needs a datacenter");
        CHECK(m == before);
        const auto join = m.join_request("dc2-r3-a", 3s, Location{"dc2", "r3"});
        REQUIRE(join.size() == 1);
        Topology grown = c.topology;
        grown.set("dc2-r3-a", "dc2", "r3");
        CHECK(m.topology() == grown);
        const auto want = ringplan::plan_join(before.ring(), "dc2-r3-a", 8, c.plan_options(grown));
        CHECK(join[0].plan.moves == want.moves);
        CHECK(join[0].summary().under_replicated == 0.0);  // dc2 has 2 nodes again
        // The node that left comes back with the location it had: none needs to be given.
        m.join_done("dc2-r3-a", join[0].epoch, 4s);
        const auto back = m.join_request("dc2-r1-a", 5s);
        REQUIRE(back.size() == 1);
        CHECK(back[0].kind == ChangeKind::join);
    }
    SECTION("a removal rebuilds by the rule") {
        Driver d{m, c.ids, {}, 2s};
        d.stop("dc2-r1-a");  // left already
        d.stop("dc1-r2-b");
        d.run_until(50s);
        const auto removed = d.of(ChangeKind::removed, "dc1-r2-b");
        REQUIRE(removed.size() == 1);
        const auto want = ringplan::plan_crash(m.ring(), "dc1-r2-b", c.plan_options(c.topology));
        CHECK(removed[0]->plan.moves == want.moves);
        CHECK(removed[0]->plan.lost.empty());
        // dc1's racks: each range has a replica on r2's other node, so nothing is under.
        CHECK(removed[0]->plan.datacenters[0].under_replicated.empty());
    }
    SECTION("a node back before its removal rejoins at its location") {
        Driver d{m, c.ids, {}, 2s};
        d.stop("dc2-r1-a");  // left already
        d.stop("dc1-r3-a");
        d.run_until(18s);
        REQUIRE(d.m.state("dc1-r3-a") == NodeState::down);
        const Membership down = d.m;
        expect_error(
            [&] {
                d.m.join_request("dc1-r3-a", d.t, Location{"dc1", "r1"});
            },
            Errc::invalid_topology, "rejoins at its location");
        CHECK(d.m == down);
        const auto back = d.m.join_request("dc1-r3-a", d.t, Location{"dc1", "r3"});
        REQUIRE(back.size() == 1);
        CHECK(back[0].kind == ChangeKind::rejoin);
        CHECK(back[0].plan_kind == PlanKind::hint_return);
        CHECK(back[0].plan.rf == Rf{5});  // the rule's total
        CHECK(d.m.topology() == m.topology());
    }
}

TEST_CASE("the rule's errors: founders without a location, a rack rule in partition mode",
          "[cluster][topology]") {
    const RuleCluster c;
    Topology partial = c.topology;
    partial.erase("dc1-r3-b");
    expect_error([&] { Membership(c.ids, 0ms, c.options, partial); }, Errc::invalid_topology,
                 "node 'dc1-r3-b' has no location");
    auto o = c.options;
    o.partitions = 8;
    expect_error([&] { Membership(c.ids, 0ms, o, c.topology); }, Errc::invalid_option,
                 "partition mode takes the distinct_nodes or rack_aware rule, got "
                 "network_topology");
    // The rack-aware rule puts the map's replicas on distinct racks, through every change.
    o.policy = ReplicaPolicy::rack_aware(Rf{2});
    Membership racked(c.ids, 0ms, o, c.topology);
    CHECK(racked.partition_map().rf() == Rf{2});
    CHECK(ringplan::rack_shared_partitions(racked.partition_map(), c.topology) == 0);
    CHECK(racked.partition_map() == ringplan::assign_partitions(c.ids, 8, Rf{2}, c.topology));
    const auto left = racked.leave_request(c.ids.front(), 1ms);
    REQUIRE(left.size() == 1);
    CHECK(left[0].partitions.rack_shared == 0);
    CHECK(ringplan::rack_shared_partitions(left[0].partitions.map, c.topology) == 0);
    expect_error([&] { Membership(c.ids, 0ms, o, partial); }, Errc::invalid_topology, "'dc1-r3-b'");
    // The distinct-node rule is the rf it carries, in either mode.
    o.policy = ReplicaPolicy::distinct_nodes(Rf{2});
    const Membership parts(c.ids, 0ms, o);
    CHECK(parts.partition_map().rf() == Rf{2});
    o.partitions = 0;
    Membership ring_mode(c.ids, 0ms, o);
    const auto leave = ring_mode.leave_request("dc1-r1-a", 1s);
    CHECK(leave[0].plan.moves == ringplan::plan_leave(ring_mode.ring(), "dc1-r1-a", Rf{2}).moves);
}

TEST_CASE("the text form keeps the rule and the locations", "[cluster][text][topology]") {
    RuleCluster c;
    c.topology.set("spare 1", "dc 3", "");  // a node that may join later; names to escape
    Driver d{Membership(c.ids, 0ms, c.options, c.topology), c.ids, {}, 0ms};
    d.stop("dc1-r1-b");
    d.run_until(40s);  // dc1-r1-b is removed
    REQUIRE(d.m.state("dc1-r1-b") == NodeState::removed);
    d.keep(d.m.join_request("dc1-r1-c", d.t, Location{"dc1", "r1"}));
    REQUIRE(d.m.in_flight());
    const std::uint64_t join_epoch = d.log.back().epoch;
    const std::string text = d.m.to_text();
    INFO(text);
    CHECK(text.rfind("ringplan-membership 2\n", 0) == 0);
    CHECK(text.find("\nrule network_topology server 2 dc1 3 dc2 2\nlocations 10\n") !=
          std::string::npos);
    CHECK(text.find("\nlocation spare%201 dc%203 %\n") != std::string::npos);
    const Membership back = Membership::from_text(text);
    CHECK(back == d.m);
    CHECK(back.options().policy == c.options.policy);
    CHECK(back.topology().at("dc1-r1-c") == Location{"dc1", "r1"});
    CHECK(back.to_text() == text);
    // Both go on alike: the join completes, then a leave plans by the rule.
    Driver a = d;
    Driver b = d;
    b.m = back;
    for (Driver* x : {&a, &b}) {
        x->log.clear();
        x->keep(x->m.join_done("dc1-r1-c", join_epoch, x->t));
        x->start("dc1-r1-c");
        x->run_until(60s);
        x->keep(x->m.leave_request("dc2-r2-a", x->t));
    }
    CHECK(a.m == b.m);
    REQUIRE(a.log.size() == b.log.size());
    REQUIRE(a.log.back().kind == ChangeKind::leaving);
    CHECK(a.log.back().plan.moves == b.log.back().plan.moves);
    CHECK(a.log.back().summary().under_replicated == Approx(1.0));  // dc2 keeps 1 of 2
    // A machine with neither a rule nor locations still writes version 1.
    CHECK(Membership({"a"}, 0ms).to_text().rfind("ringplan-membership 1\n", 0) == 0);

    // Lines: 1 header, 2 options, 3 rule, 4 locations, 5-14 location, 15 epoch, 16 nodes, 17-
    // node (ascending: dc1-r1-a first); one location fewer moves dc1-r1-a's node line to 16.
    auto replace = [&](const std::string& from, const std::string& to) {
        return rp_test::replaced(text, from, to);
    };
    expect_error(
        [&] {
            (void)Membership::from_text(replace("network_topology server", "network_topology up"));
        },
        Errc::parse_error, "line 3: 'rule network_topology' takes the order");
    expect_error([&] { (void)Membership::from_text(replace("\nrule ", "\nrole ")); },
                 Errc::parse_error, "line 3: expected a 'rule' line, got 'role'");
    expect_error([&] { (void)Membership::from_text(replace("locations 10", "locations x")); },
                 Errc::parse_error, "line 4: 'locations' takes 1 field");
    expect_error(
        [&] {
            (void)Membership::from_text(
                replace("location dc1-r1-a dc1 r1", "location dc1-r1-a dc1"));
        },
        Errc::parse_error, "line 5: 'location' takes 3 fields");
    expect_error(
        [&] {
            (void)Membership::from_text(
                replace("locations 10\nlocation dc1-r1-a dc1 r1\n", "locations 9\n"));
        },
        Errc::parse_error, "line 16: member 'dc1-r1-a' has no location");
    expect_error(
        [&] {
            (void)Membership::from_text(replace("ringplan-membership 2", "ringplan-membership 1"));
        },
        Errc::parse_error, "line 3: expected a 'epoch' line");
}
