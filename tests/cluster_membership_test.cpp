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
    for (int mode = 0; mode < 2; ++mode) {
        for (std::uint64_t seed = 1; seed <= 40; ++seed) {
            auto o = fixed_options(ms(static_cast<std::int64_t>(seed % 3) * 20000));
            if (mode == 1) {
                o.partitions = 12;
            }
            rp_test::SplitMix64 rng{seed};
            auto next = [&rng](std::uint64_t n) { return rng.next() % n; };
            Membership m({"a", "b", "c"}, 0ms, o);
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
                            cs = m.join_request(id, t);
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
                if (mode == 0) {
                    CHECK(m.ring().nodes() == owners);
                } else {
                    CHECK(m.partition_map().nodes() == owners);
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
        std::string t = text;
        const auto at = t.find(from);
        REQUIRE(at != std::string::npos);
        return t.replace(at, from.size(), to);
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
