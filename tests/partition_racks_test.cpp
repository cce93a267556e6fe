// Rack-aware partition maps (docs/partitions.md, "Racks"): no partition repeats a rack when the
// racks allow it (checked against an independent feasibility count), balance, order
// independence, the copy bound, and whole-rack failures that lose nothing.
#include <ringplan/partitions.hpp>

#include "catch.hpp"
#include "expect_error.hpp"
#include "partition_model.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using ringplan::PartitionId;
using ringplan::Rf;
using Map = ringplan::PartitionMap<std::string>;
using Change = ringplan::PartitionChange<std::string>;
using Options = ringplan::RebalanceOptions<std::string>;
using Topo = ringplan::Topology<std::string>;
using ringplan::Errc;
using rp_model::least_excess;
using rp_model::rack_excess;
using rp_model::rack_key;
using rp_model::shared_partitions;

namespace {

// Racks for ids n0..n<count - 1>, in one of several shapes.
Topo random_topology(std::size_t count, std::size_t rf, int shape, std::mt19937_64& rng) {
    Topo t;
    const std::size_t racks = 1 + rng() % std::max<std::size_t>(count / 2, 1);
    for (std::size_t i = 0; i < count; ++i) {
        const std::string id = "n" + std::to_string(i);
        switch (shape) {
            case 0:  // uniform random racks
                t.set(id, "dc", "r" + std::to_string(rng() % racks));
                break;
            case 1:  // one big rack, the rest racks of one node
                t.set(id, "dc", rng() % 3 != 0 ? "big" : "r" + std::to_string(i));
                break;
            case 2:  // fewer racks than rf
                t.set(id, "dc", "r" + std::to_string(rng() % std::max<std::size_t>(rf - 1, 1)));
                break;
            case 3:  // racks of one node, some without a rack (each its own)
                t.set(id, "dc", rng() % 2 == 0 ? std::string() : "r" + std::to_string(i));
                break;
            default:  // two datacenters sharing rack names: dc-a/r0 and dc-b/r0 differ
                t.set(id, rng() % 2 == 0 ? "dc-a" : "dc-b", "r" + std::to_string(rng() % 2));
                break;
        }
    }
    return t;
}

std::vector<std::string> shuffled(std::vector<std::string> v, std::mt19937_64& rng) {
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

std::vector<std::string> names(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back("n" + std::to_string(i));
    }
    return out;
}

}  // namespace

TEST_CASE("rack-aware assignment: distinct racks exactly when the racks allow it, balanced",
          "[partitions][racks][property]") {
    std::mt19937_64 rng(17);
    int checked = 0, feasible = 0, at_least_excess = 0;
    for (int run = 0; run < 600; ++run) {
        const std::size_t n = 1 + rng() % 24;
        const std::size_t q = 1 + rng() % 200;
        const std::size_t rf = 1 + rng() % 5;
        const int shape = static_cast<int>(rng() % 5);
        const Topo t = random_topology(n, rf, shape, rng);
        const std::vector<std::string> nodes = names(n);
        INFO("run " << run << " N " << n << " Q " << q << " rf " << rf << " shape " << shape);
        const Map m = ringplan::assign_partitions(shuffled(nodes, rng), q, Rf{rf}, t);
        CHECK(rp_model::unbalanced(m) == "");
        const std::size_t least = least_excess(nodes, t, q, rf);
        const std::size_t excess = rack_excess(m, t);
        CHECK(excess >= least);  // no map does better: checks least_excess itself
        CHECK(ringplan::rack_shared_partitions(m, t) == shared_partitions(m, t));
        if (least == 0) {
            CHECK(excess == 0);
            ++feasible;
        }
        at_least_excess += excess == least ? 1 : 0;
        CHECK(ringplan::assign_partitions(shuffled(nodes, rng), q, Rf{rf}, t) == m);
        ++checked;
    }
    CHECK(feasible > 150);
    CHECK(checked - feasible > 150);
    std::printf(
        "partition racks: %d random assignments, %d where the racks allow distinct racks "
        "(all met), %d at the least rack excess\n",
        checked, feasible, at_least_excess);
}

TEST_CASE("the rack-aware assignment is pinned", "[partitions][racks][golden]") {
    // A change here moves data in every deployed cluster that gives racks: say so in
    // CHANGELOG.md. d1 has no rack: a rack of its own.
    const Topo t{{"a1", {"dc", "a"}}, {"a2", {"dc", "a"}}, {"b1", {"dc", "b"}},
                 {"b2", {"dc", "b"}}, {"c1", {"dc", "c"}}, {"d1", {"dc", ""}}};
    const Map m = ringplan::assign_partitions(
        std::vector<std::string>{"a1", "a2", "b1", "b2", "c1", "d1"}, 8, Rf{3}, t);
    std::string got;
    for (PartitionId p = 0; p < 8; ++p) {
        for (const std::string& id : m.replicas_at(p)) {
            got += id;
        }
        got += ' ';
    }
    CHECK(got == "a2b2c1 a1b1d1 a2b1c1 a1b2d1 b1a2c1 b2a1d1 c1a1b2 d1a2b1 ");
}

TEST_CASE("a topology where every node is its own rack changes nothing but the tie-breaks",
          "[partitions][racks]") {
    Topo t;
    for (const std::string& n : names(7)) {
        t.set(n, "dc", "");  // no rack: each node a rack of its own
    }
    const Map m = ringplan::assign_partitions(names(7), 64, Rf{3}, t);
    CHECK(rp_model::unbalanced(m) == "");
    CHECK(ringplan::rack_shared_partitions(m, t) == 0);
}

TEST_CASE("rack-aware rebalances keep every invariant, and a whole rack may fail",
          "[partitions][racks][property]") {
    std::mt19937_64 rng(4242);
    int checked = 0, at_bound = 0, at_plain_optimum = 0, rack_failures = 0;
    int rack_steps = 0, at_rack_optimum = 0;
    for (int run = 0; run < 120; ++run) {
        const std::size_t q = 1 + rng() % 120;
        const std::size_t rf = 1 + rng() % 4;
        const int shape = static_cast<int>(rng() % 5);
        const Topo t = random_topology(40, rf, shape, rng);
        std::set<std::string> members;
        for (std::size_t i = 0, n = 2 + rng() % 8; i < n; ++i) {
            members.insert("n" + std::to_string(i));
        }
        std::size_t next_id = members.size();
        Map map = ringplan::assign_partitions(
            std::vector<std::string>(members.begin(), members.end()), q, Rf{rf}, t);
        for (int step = 0; step < 10 && next_id < 40; ++step) {
            std::set<std::string> next = members;
            std::set<std::string> failed;
            Options options;
            options.topology = t;
            const auto pick = [&](const std::set<std::string>& from) {
                auto it = from.begin();
                std::advance(it, static_cast<long>(rng() % from.size()));
                return *it;
            };
            const int kind = static_cast<int>(rng() % 5);
            bool whole_rack = false;
            if (kind == 0 || members.size() <= 2) {
                next.insert("n" + std::to_string(next_id++));  // join
            } else if (kind == 1) {
                next.erase(pick(members));  // graceful leave
            } else if (kind == 2) {
                const std::string f = pick(members);  // failure, back empty or removed
                failed.insert(f);
                if (rng() % 2 == 0) {
                    next.erase(f);
                }
            } else if (kind == 3) {
                // Every node of one rack fails at once.
                const std::string rack = rack_key(t, pick(members));
                for (const std::string& m : members) {
                    if (rack_key(t, m) == rack) {
                        failed.insert(m);
                        next.erase(m);
                    }
                }
                whole_rack = true;
            } else {
                next.insert("n" + std::to_string(next_id++));
                next.erase(pick(members));  // a join and a leave in one step
            }
            if (next.empty()) {
                continue;
            }
            options.failed.assign(failed.begin(), failed.end());
            const std::vector<std::string> list(next.begin(), next.end());
            INFO("run " << run << " step " << step << " Q " << q << " rf " << rf << " shape "
                        << shape << " kind " << kind << " nodes " << list.size());
            const Change ch = ringplan::rebalance_partitions(map, shuffled(list, rng), options);
            CHECK(rp_model::unbalanced(ch.map) == "");
            CHECK(rp_model::check_change(map, ch, failed, {}) == "");
            CHECK(ch.rack_shared == shared_partitions(ch.map, t));
            if (least_excess(list, t, q, rf) == 0) {
                CHECK(ch.rack_shared == 0);
            }
            if (whole_rack && map.replica_count() >= 2 && shared_partitions(map, t) == 0) {
                CHECK(ch.lost == 0);  // every partition had a replica on another rack
                ++rack_failures;
            }
            CHECK(ch.copies >= ch.minimum_copies);
            // A rack-aware map is a balanced map: never fewer copies than the best of those.
            const std::size_t plain_optimum = rp_model::optimal_copies(map, ch, failed);
            CHECK(ch.copies >= plain_optimum);
            at_bound += ch.copies == ch.minimum_copies ? 1 : 0;
            at_plain_optimum += ch.copies == plain_optimum ? 1 : 0;
            if (ch.rack_shared == 0) {
                // The exact optimum under the rack rule: minimum_copies must not exceed it.
                std::size_t racks = 0;
                const std::vector<std::size_t> rack = rp_model::rack_numbers(ch.map, t, racks);
                const std::size_t optimum =
                    rp_model::optimal_rack_copies(map, ch, failed, rack, racks);
                CHECK(ch.minimum_copies <= optimum);
                CHECK(plain_optimum <= optimum);
                CHECK(ch.copies >= optimum);
                at_rack_optimum += ch.copies == optimum ? 1 : 0;
                ++rack_steps;
            }
            Options again = options;
            CHECK(ringplan::rebalance_partitions(map, shuffled(list, rng), again).map == ch.map);
            map = ch.map;
            members = next;
            ++checked;
        }
    }
    CHECK(checked > 900);
    CHECK(rack_failures > 50);
    std::printf(
        "partition racks: %d random rack-aware steps, %d at minimum_copies, %d at the "
        "optimum without racks, %d whole-rack failures that lost nothing; %d with no repeated "
        "rack, %d of them at the optimum with racks\n",
        checked, at_bound, at_plain_optimum, rack_failures, rack_steps, at_rack_optimum);
}

TEST_CASE("a rack failure loses nothing with rf 2 or more when racks allow it",
          "[partitions][racks]") {
    Topo t;
    std::vector<std::string> nodes = names(12);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        t.set(nodes[i], "dc", "rack-" + std::to_string(i % 4));
    }
    for (std::size_t rf : {2u, 3u, 4u}) {
        const Map m = ringplan::assign_partitions(nodes, 256, Rf{rf}, t);
        REQUIRE(ringplan::rack_shared_partitions(m, t) == 0);
        for (int rack = 0; rack < 4; ++rack) {
            Options o;
            o.topology = t;
            std::vector<std::string> survivors;
            for (const std::string& n : nodes) {
                (t.at(n).rack == "rack-" + std::to_string(rack) ? o.failed : survivors)
                    .push_back(n);
            }
            const Change ch = ringplan::rebalance_partitions(m, survivors, o);
            CHECK(ch.lost == 0);
            CHECK(ch.rack_shared == (rf == 4 ? 256u : 0u));  // 3 racks left for rf 4
        }
    }
    // Without racks the same failure loses partitions: the rule is what saves them.
    const Map plain = ringplan::assign_partitions(nodes, 256, Rf{2});
    CHECK(ringplan::rack_shared_partitions(plain, t) > 0);
}

TEST_CASE("rack-aware weighted maps stay within one of each share", "[partitions][racks]") {
    std::mt19937_64 rng(99);
    for (int run = 0; run < 100; ++run) {
        const std::size_t n = 2 + rng() % 12;
        const std::size_t q = 1 + rng() % 150;
        const std::size_t rf = 1 + rng() % 4;
        const Topo t = random_topology(n, rf, static_cast<int>(rng() % 5), rng);
        std::vector<std::pair<std::string, std::uint32_t>> nodes;
        std::uint64_t w_total = 0;
        for (const std::string& id : names(n)) {
            nodes.emplace_back(id, static_cast<std::uint32_t>(1 + rng() % 4));
            w_total += nodes.back().second;
        }
        INFO("run " << run);
        const Map m = ringplan::assign_partitions(nodes, q, Rf{rf}, t);
        const Map plain = ringplan::assign_partitions(nodes, q, Rf{rf});
        const std::size_t r = m.replica_count();
        const auto loads = m.loads();
        const auto plain_loads = plain.loads();
        for (std::size_t i = 0; i < loads.size(); ++i) {
            // The plain map's counts are within one of each share; the rack-aware map only
            // moves round-ups, so it is within one of the plain map's floor and ceil.
            const double share =
                static_cast<double>(q * r) * loads[i].weight / static_cast<double>(w_total);
            const double got = static_cast<double>(loads[i].replicas);
            const double plain_got = static_cast<double>(plain_loads[i].replicas);
            CHECK(got <= std::max(plain_got, share + 1) + 1e-9);
            CHECK(loads[i].replicas + 1 >= plain_loads[i].replicas);
            CHECK(loads[i].replicas <= plain_loads[i].replicas + 1);
        }
        for (PartitionId p = 0; p < q; ++p) {
            std::vector<std::string> list = m.replicas_at(p);
            std::sort(list.begin(), list.end());
            CHECK(std::adjacent_find(list.begin(), list.end()) == list.end());
        }
    }
}

TEST_CASE("rack-aware maps need a location for every member", "[partitions][racks][errors]") {
    Topo t{{"a", {"dc", "r1"}}, {"b", {"dc", "r2"}}};
    const std::vector<std::string> nodes = {"a", "b", "c"};
    rp_test::expect_error([&] { (void)ringplan::assign_partitions(nodes, 8, Rf{2}, t); },
                          Errc::invalid_topology, "'c'");
    const Map m = ringplan::assign_partitions(std::vector<std::string>{"a", "b"}, 8, Rf{2}, t);
    const Map before = m;
    Options o;
    o.topology = t;
    rp_test::expect_error([&] { (void)ringplan::rebalance_partitions(m, nodes, o); },
                          Errc::invalid_topology, "'c'");
    CHECK(m == before);
    rp_test::expect_error([&] { (void)ringplan::rack_shared_partitions(m, Topo{}); },
                          Errc::invalid_topology, "'a'");
}
