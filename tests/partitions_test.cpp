// Fixed partitions (docs/partitions.md): balance, order independence, rebalance invariants on
// a simulated store, the copy count against a max-flow minimum, ClusterKit's vectors, errors.
#include <ringplan/partitions.hpp>
#include <ringplan/xxh3.hpp>

#include "catch.hpp"
#include "expect_error.hpp"
#include "partition_model.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using ringplan::PartitionAction;
using ringplan::PartitionId;
using ringplan::Rf;
using Map = ringplan::PartitionMap<std::string>;
using Change = ringplan::PartitionChange<std::string>;
using Options = ringplan::RebalanceOptions<std::string>;
using ringplan::Errc;

namespace {

std::vector<std::string> names(std::size_t n, const std::string& prefix = "n") {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(prefix + std::to_string(i));
    }
    return out;
}

// Every partition has min(rf, N) distinct members; every node's replicas and primaries are the
// floor or ceil of its share (tests/partition_model.hpp).
void check_balanced(const Map& m) {
    CHECK(rp_model::unbalanced(m) == "");
}

// ---- the reference minimum: a max-flow (Edmonds-Karp) over "replicas that can stay" ----------

class MaxFlow {
public:
    explicit MaxFlow(std::size_t n) : adj_(n) {}
    void edge(std::size_t a, std::size_t b, long cap) {
        adj_[a].push_back(edges_.size());
        edges_.push_back({b, cap});
        adj_[b].push_back(edges_.size());
        edges_.push_back({a, 0});
    }
    long run(std::size_t s, std::size_t t) {
        long total = 0;
        for (;;) {
            std::vector<std::size_t> via(adj_.size(), SIZE_MAX);
            std::queue<std::size_t> frontier;
            frontier.push(s);
            via[s] = SIZE_MAX - 1;
            while (!frontier.empty() && via[t] == SIZE_MAX) {
                const std::size_t u = frontier.front();
                frontier.pop();
                for (std::size_t e : adj_[u]) {
                    if (edges_[e].cap > 0 && via[edges_[e].to] == SIZE_MAX) {
                        via[edges_[e].to] = e;
                        frontier.push(edges_[e].to);
                    }
                }
            }
            if (via[t] == SIZE_MAX) {
                return total;
            }
            long push = LONG_MAX;
            for (std::size_t v = t; v != s; v = edges_[via[v] ^ 1].to) {
                push = std::min(push, edges_[via[v]].cap);
            }
            for (std::size_t v = t; v != s; v = edges_[via[v] ^ 1].to) {
                edges_[via[v]].cap -= push;
                edges_[via[v] ^ 1].cap += push;
            }
            total += push;
        }
    }

private:
    struct Edge {
        std::size_t to;
        long cap;
    };
    std::vector<std::vector<std::size_t>> adj_;
    std::vector<Edge> edges_;
};

// The fewest full copies any balanced map of `members` needs from `old` (unweighted): Q r minus
// the most holder slots a balanced map can keep (source -> partition (r) -> a member holding
// it with data (1) -> sink (floor), plus the ceil slots shared through one extra node), minus
// r per lost partition (nothing to copy there).
std::size_t reference_minimum(const Map& old, const std::vector<std::string>& members,
                              const std::set<std::string>& failed) {
    const std::size_t q = old.partition_count();
    const std::size_t n = members.size();
    const std::size_t r = std::min(old.rf().value(), n);
    const std::size_t fl = q * r / n;
    const std::size_t extra = q * r - fl * n;
    // nodes: 0 source, 1 sink, 2 extra, 3.. partitions, then members
    MaxFlow f(3 + q + n);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) {
        index[members[i]] = 3 + q + i;
        f.edge(3 + q + i, 1, static_cast<long>(fl));
        if (extra > 0) {
            f.edge(3 + q + i, 2, 1);
        }
    }
    f.edge(2, 1, static_cast<long>(extra));
    std::size_t lost = 0;
    for (PartitionId p = 0; p < q; ++p) {
        f.edge(0, 3 + p, static_cast<long>(r));
        bool live = false;
        for (const std::string& h : old.replicas_at(p)) {
            if (failed.count(h) != 0) {
                continue;
            }
            live = true;
            const auto it = index.find(h);
            if (it != index.end()) {
                f.edge(3 + p, it->second, 1);
            }
        }
        lost += live ? 0 : 1;
    }
    const auto kept = static_cast<std::size_t>(f.run(0, 1));
    return q * r - kept - lost * r;
}

// Runs `ch`'s events in order on a simulated store and checks the event contract
// (tests/partition_model.hpp).
void run_events(const Map& old, const Change& ch, const std::set<std::string>& failed,
                const std::set<std::string>& returning) {
    CHECK(rp_model::check_change(old, ch, failed, returning) == "");
}

std::vector<std::string> shuffled(std::vector<std::string> v, std::mt19937_64& rng) {
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

}  // namespace

TEST_CASE("a key's partition is floor(token * Q / 2^64): contiguous, no modulo bias",
          "[partitions]") {
    using ringplan::partition_at;
    CHECK(partition_at(0, 16) == 0);
    CHECK(partition_at(ringplan::max_token, 16) == 15);
    CHECK(partition_at(ringplan::max_token, 1) == 0);
    // Partition p starts at ceil(p 2^64 / Q): 2^60 for p = 1 of 16.
    CHECK(partition_at((ringplan::Token{1} << 60) - 1, 16) == 0);
    CHECK(partition_at(ringplan::Token{1} << 60, 16) == 1);
    // Q = 3: boundaries at ceil(2^64/3) = 0x5555555555555556 and ceil(2 2^64/3) = 0xAA..AB.
    CHECK(partition_at(0x5555555555555555ULL, 3) == 0);
    CHECK(partition_at(0x5555555555555556ULL, 3) == 1);
    CHECK(partition_at(0xAAAAAAAAAAAAAAAAULL, 3) == 1);
    CHECK(partition_at(0xAAAAAAAAAAAAAAABULL, 3) == 2);
    // Keys through the policy spread evenly: 100,000 keys over 16 partitions within 5% each.
    std::vector<std::size_t> count(16, 0);
    for (int i = 0; i < 100000; ++i) {
        ++count[ringplan::key_partition<ringplan::Xxh3>("key:" + std::to_string(i), 16)];
    }
    for (std::size_t c : count) {
        CHECK(c > 6250 * 95 / 100);
        CHECK(c < 6250 * 105 / 100);
    }
    CHECK(ringplan::key_partition<ringplan::Xxh3>(std::string("user:1"), 1024) ==
          partition_at(ringplan::key_token<ringplan::Xxh3>(std::string("user:1")), 1024));
}

TEST_CASE("assignment is balanced to within one and independent of the order of nodes",
          "[partitions]") {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 200; ++round) {
        const std::size_t n = 1 + rng() % 12;
        const std::size_t q = 1 + rng() % 300;
        const std::size_t rf = 1 + rng() % 5;
        INFO("N " << n << " Q " << q << " rf " << rf);
        const std::vector<std::string> nodes = names(n);
        const Map m = ringplan::assign_partitions(nodes, q, Rf{rf});
        check_balanced(m);
        CHECK(ringplan::assign_partitions(shuffled(nodes, rng), q, Rf{rf}) == m);
    }
}

TEST_CASE("the balanced assignment is pinned", "[partitions][golden]") {
    // A change here moves data in every deployed cluster: say so in CHANGELOG.md.
    const Map m =
        ringplan::assign_partitions(std::vector<std::string>{"a", "b", "c", "d"}, 8, Rf{2});
    std::ostringstream got;
    for (PartitionId p = 0; p < 8; ++p) {
        for (const std::string& id : m.replicas_at(p)) {
            got << id;
        }
        got << ' ';
    }
    CHECK(got.str() == "da cb ba cd db ac ad bc ");
}

TEST_CASE("capacity weights: counts within one of the exact share", "[partitions]") {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 100; ++round) {
        const std::size_t n = 1 + rng() % 8;
        const std::size_t q = 1 + rng() % 200;
        const std::size_t rf = 1 + rng() % 4;
        std::vector<std::pair<std::string, std::uint32_t>> nodes;
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            nodes.emplace_back("w" + std::to_string(i), 1 + rng() % 5);
            total += nodes.back().second;
        }
        INFO("N " << n << " Q " << q << " rf " << rf);
        const Map m = ringplan::assign_partitions(nodes, q, Rf{rf});
        const std::size_t r = std::min(rf, n);
        // Water-filling: a node whose share exceeds Q holds every partition.
        std::vector<bool> capped(n, false);
        std::uint64_t left = q * r;
        std::uint64_t wleft = total;
        for (bool changed = true; changed;) {
            changed = false;
            for (std::size_t i = 0; i < n; ++i) {
                if (!capped[i] && double(left) * nodes[i].second / double(wleft) > double(q)) {
                    capped[i] = true;
                    left -= q;
                    wleft -= nodes[i].second;
                    changed = true;
                }
            }
        }
        for (const auto& load : m.loads()) {
            const std::size_t i = std::stoul(load.node.substr(1));
            const double share =
                capped[i] ? double(q) : double(left) * nodes[i].second / double(wleft);
            const double pshare = double(q) * nodes[i].second / double(total);
            INFO(load.node << " weight " << nodes[i].second << ": " << load.replicas << " vs "
                           << share << ", primaries " << load.primaries << " vs " << pshare);
            CHECK(load.weight == nodes[i].second);
            CHECK(double(load.replicas) > share - 1.0);
            CHECK(double(load.replicas) < share + 1.0);
            if (r > 1) {
                CHECK(double(load.primaries) > pshare - 1.0);
                CHECK(double(load.primaries) < pshare + 1.0);
            }
        }
        std::shuffle(nodes.begin(), nodes.end(), rng);
        CHECK(ringplan::assign_partitions(nodes, q, Rf{rf}) == m);
    }
}

TEST_CASE("a join takes exactly its share, copied from the others, nothing else moves",
          "[partitions]") {
    // ClusterKit's scenario: 3 nodes, 16 partitions, rf 3; a 4th node joins.
    const std::vector<std::string> three = {"node-1", "node-2", "node-3"};
    const Map m = ringplan::assign_partitions(three, 16, Rf{3});
    const Change ch = ringplan::rebalance_partitions(m, {"node-1", "node-2", "node-3", "node-4"});
    check_balanced(ch.map);
    CHECK(ch.copies == 12);  // 12 of the 48 replicas, 25%
    CHECK(ch.minimum_copies == 12);
    CHECK(ch.lost == 0);
    for (const auto& e : ch.events) {
        if (e.action == PartitionAction::copy) {
            CHECK(e.node == "node-4");
            CHECK(e.reason == ringplan::ChangeReason::join);
            CHECK(e.sources.size() == 3);
        }
        CHECK(e.action != PartitionAction::lost);
        CHECK(e.action != PartitionAction::catch_up);
    }
    run_events(m, ch, {}, {});
    // The sends spread: each old node is the planned sender of 4 of the 12 copies.
    std::map<std::string, int> first;
    for (const auto& e : ch.events) {
        if (e.action == PartitionAction::copy) {
            ++first[e.sources[0]];
        }
    }
    for (const auto& [node, sends] : first) {
        INFO(node);
        CHECK(sends == 4);
    }
}

TEST_CASE("random sequences of joins, leaves, failures and returns keep every invariant",
          "[partitions][property]") {
    std::mt19937_64 rng(2024);
    int checked = 0, at_bound = 0;
    for (int run = 0; run < 150; ++run) {
        const std::size_t q = 1 + rng() % 160;
        const std::size_t rf = 1 + rng() % 5;
        std::set<std::string> members;
        for (std::size_t i = 0, n = 1 + rng() % 6; i < n; ++i) {
            members.insert("n" + std::to_string(i));
        }
        std::size_t next_id = members.size();
        Map map = ringplan::assign_partitions(
            std::vector<std::string>(members.begin(), members.end()), q, Rf{rf});
        std::set<std::string> down;  // members that are down but still in the map
        for (int step = 0; step < 12; ++step) {
            std::set<std::string> next = members;
            std::set<std::string> failed;
            Options options;
            const auto pick = [&](const std::set<std::string>& from) {
                auto it = from.begin();
                std::advance(it, static_cast<long>(rng() % from.size()));
                return *it;
            };
            const int kind = static_cast<int>(rng() % 6);
            if (kind == 0 || members.size() == 1) {
                next.insert("n" + std::to_string(next_id++));  // join
            } else if (kind == 1) {
                next.erase(pick(members));  // graceful leave
            } else if (kind == 2) {
                const std::string f = pick(members);  // failure, removed
                next.erase(f);
                failed.insert(f);
            } else if (kind == 3) {
                const std::string f = pick(members);  // failure, comes back empty
                failed.insert(f);
            } else if (kind == 4 && down.empty()) {
                down.insert(pick(members));  // goes down; the map keeps it: no change yet
                continue;
            } else if (!down.empty()) {
                for (const auto& d : down) {
                    options.returning.push_back(d);  // back with its data
                }
                down.clear();
            } else {
                next.insert("n" + std::to_string(next_id++));
                next.erase(pick(members));  // a join and a leave in one step
            }
            if (next.empty()) {
                continue;
            }
            for (const auto& d : down) {
                if (failed.count(d) != 0 || next.count(d) == 0) {
                    down.erase(d);
                    break;
                }
            }
            options.failed.assign(failed.begin(), failed.end());
            const std::vector<std::string> list(next.begin(), next.end());
            INFO("run " << run << " step " << step << " Q " << q << " rf " << rf << " kind " << kind
                        << " nodes " << list.size());
            const Change ch = ringplan::rebalance_partitions(map, shuffled(list, rng), options);
            check_balanced(ch.map);
            const std::set<std::string> returning(options.returning.begin(),
                                                  options.returning.end());
            run_events(map, ch, failed, returning);
            const std::size_t minimum = reference_minimum(map, list, failed);
            CHECK(ch.minimum_copies == minimum);
            CHECK(ch.copies >= minimum);
            CHECK(ch.copies == rp_model::optimal_copies(map, ch, failed));
            at_bound += ch.copies == minimum ? 1 : 0;
            // The same change from the same map and membership, in any order, is identical.
            CHECK(ringplan::rebalance_partitions(map, shuffled(list, rng), options).map == ch.map);
            map = ch.map;
            members = next;
            ++checked;
        }
    }
    CHECK(checked > 1200);
    // The optimum is minimum_copies in nearly every step; it is above it only when the
    // partitions that lost a replica have too few candidates with room (the test below).
    CHECK(at_bound * 100 >= checked * 95);
    std::printf(
        "partitions: %d random unweighted steps, %d at minimum_copies, all at the optimum\n",
        checked, at_bound);
}

TEST_CASE("weighted rebalances keep the event contract and nearly always meet the bound",
          "[partitions][property]") {
    std::mt19937_64 rng(99);
    std::size_t steps = 0, above = 0, max_above = 0;
    for (int run = 0; run < 150; ++run) {
        const std::size_t q = 1 + rng() % 160;
        const std::size_t rf = 1 + rng() % 3;
        std::map<std::string, std::uint32_t> members;
        std::size_t next_id = 0;
        for (std::size_t i = 0, n = 1 + rng() % 5; i < n; ++i) {
            members["w" + std::to_string(next_id++)] = static_cast<std::uint32_t>(1 + rng() % 4);
        }
        const auto as_list = [](const std::map<std::string, std::uint32_t>& m) {
            return std::vector<std::pair<std::string, std::uint32_t>>(m.begin(), m.end());
        };
        Map map = ringplan::assign_partitions(as_list(members), q, Rf{rf});
        for (int step = 0; step < 8; ++step) {
            std::map<std::string, std::uint32_t> next = members;
            std::set<std::string> failed;
            const auto victim = [&] {
                auto it = members.begin();
                std::advance(it, static_cast<long>(rng() % members.size()));
                return it->first;
            };
            switch (rng() % 4) {
                case 0:
                    next["w" + std::to_string(next_id++)] =
                        static_cast<std::uint32_t>(1 + rng() % 4);
                    break;
                case 1:
                    if (members.size() > 1) {
                        next.erase(victim());
                    }
                    break;
                case 2:
                    if (members.size() > 1) {
                        const std::string f = victim();
                        next.erase(f);
                        failed.insert(f);
                    }
                    break;
                default:
                    next[victim()] = static_cast<std::uint32_t>(1 + rng() % 6);  // reweigh
                    break;
            }
            Options o;
            o.failed.assign(failed.begin(), failed.end());
            INFO("run " << run << " step " << step);
            const Change ch = ringplan::rebalance_partitions(map, as_list(next), o);
            run_events(map, ch, failed, {});
            // minimum_copies counts each node's target alone. With weights, a few large nodes
            // can hold (nearly) every partition; the others then share the slots left, and two
            // of them that held the same partition can not both keep it, so the true minimum
            // can exceed the bound. Unweighted maps meet it exactly (the test above); weighted
            // ones must meet it in nearly every step.
            CHECK(ch.copies >= ch.minimum_copies);
            const auto loads = ch.map.loads();
            const bool capped = ch.map.node_count() > ch.map.replica_count() &&
                                std::any_of(loads.begin(), loads.end(),
                                            [&](const auto& l) { return l.replicas == q; });
            ++steps;
            if (!capped && ch.copies != ch.minimum_copies) {
                ++above;
                max_above = std::max(max_above, ch.copies - ch.minimum_copies);
            }
            for (const auto& load : ch.map.loads()) {
                CHECK(load.weight == next.at(load.node));
            }
            map = ch.map;
            members = next;
        }
    }
    // Steps where no node holds every partition, above the bound: 5 of 1,200 today, by 5 at most.
    INFO(above << " of " << steps << " steps above the bound, by at most " << max_above);
    CHECK(steps > 1000);
    CHECK(above * 100 <= steps);  // at most 1%
    CHECK(max_above <= 8);
}

TEST_CASE("weights that give nodes every partition, with a failed node back empty",
          "[partitions][regression]") {
    // Found by the partition fuzzer: Q 76, rf 5; with these weights n0, n3, n5 and n7 hold
    // every partition, so the other nodes share one slot per partition, and partitions that
    // kept two of them could not be completed ("internal: partition 67 can not be completed").
    const char* text =
        "n3 n6 n7 n5 n0 | "
        "n3 n6 n5 n7 n0 | "
        "n3 n5 n2 n7 n0 | "
        "n3 n6 n7 n5 n0 | "
        "n3 n5 n7 n9 n0 | "
        "n6 n5 n2 n7 n0 | "
        "n3 n6 n2 n7 n0 | "
        "n6 n3 n5 n7 n0 | "
        "n3 n6 n5 n2 n7 | "
        "n3 n6 n7 n9 n0 | "
        "n6 n3 n7 n5 n0 | "
        "n3 n6 n5 n2 n7 | "
        "n6 n3 n5 n7 n0 | "
        "n3 n5 n2 n7 n0 | "
        "n6 n3 n5 n2 n7 | "
        "n3 n6 n5 n2 n7 | "
        "n6 n3 n7 n9 n0 | "
        "n6 n3 n5 n2 n7 | "
        "n3 n6 n2 n7 n0 | "
        "n0 n3 n5 n2 n7 | "
        "n6 n3 n7 n9 n0 | "
        "n3 n6 n5 n2 n7 | "
        "n6 n3 n5 n7 n0 | "
        "n0 n3 n6 n2 n7 | "
        "n5 n3 n6 n0 n7 | "
        "n5 n3 n6 n7 n0 | "
        "n0 n3 n6 n5 n7 | "
        "n6 n3 n5 n7 n0 | "
        "n5 n3 n6 n0 n7 | "
        "n6 n3 n5 n7 n0 | "
        "n6 n3 n5 n7 n9 | "
        "n7 n3 n6 n2 n0 | "
        "n5 n6 n3 n7 n0 | "
        "n6 n3 n5 n7 n0 | "
        "n7 n3 n6 n5 n0 | "
        "n7 n3 n6 n5 n0 | "
        "n5 n6 n2 n7 n0 | "
        "n9 n7 n3 n5 n0 | "
        "n7 n3 n5 n2 n0 | "
        "n0 n6 n3 n5 n7 | "
        "n5 n6 n3 n7 n9 | "
        "n5 n6 n3 n0 n7 | "
        "n0 n6 n3 n5 n7 | "
        "n5 n3 n6 n0 n7 | "
        "n5 n3 n6 n0 n7 | "
        "n7 n6 n3 n9 n0 | "
        "n5 n6 n0 n7 n9 | "
        "n7 n6 n5 n2 n0 | "
        "n7 n6 n2 n5 n0 | "
        "n7 n6 n3 n5 n0 | "
        "n0 n3 n6 n5 n7 | "
        "n2 n6 n5 n7 n0 | "
        "n9 n2 n3 n6 n7 | "
        "n5 n3 n6 n0 n7 | "
        "n7 n6 n2 n5 n0 | "
        "n7 n3 n5 n2 n0 | "
        "n7 n3 n6 n5 n0 | "
        "n5 n3 n6 n0 n7 | "
        "n5 n3 n6 n7 n0 | "
        "n7 n6 n3 n5 n0 | "
        "n2 n5 n7 n9 n0 | "
        "n0 n3 n7 n5 n9 | "
        "n0 n3 n6 n7 n5 | "
        "n0 n5 n3 n6 n7 | "
        "n7 n6 n3 n5 n0 | "
        "n7 n5 n6 n3 n0 | "
        "n2 n6 n3 n7 n0 | "
        "n7 n6 n3 n0 n5 | "
        "n2 n6 n3 n5 n7 | "
        "n0 n6 n5 n7 n9 | "
        "n2 n6 n5 n7 n0 | "
        "n7 n3 n6 n5 n0 | "
        "n2 n3 n5 n7 n0 | "
        "n0 n5 n7 n3 n6 | "
        "n0 n7 n3 n6 n5 | "
        "n0 n7 n6 n5 n3";
    std::vector<std::vector<std::string>> lists(1);
    std::istringstream in(text);
    for (std::string id; in >> id;) {
        if (id == "|") {
            lists.emplace_back();
        } else {
            lists.back().push_back(id);
        }
    }
    REQUIRE(lists.size() == 76);
    const Map old = Map::from_lists(lists, Rf{5});
    Options o;
    o.failed = {"n7"};
    const std::vector<std::pair<std::string, std::uint32_t>> next = {
        {"n0", 5}, {"n2", 2}, {"n3", 5}, {"n5", 5}, {"n6", 1}, {"n7", 6}, {"n9", 1}};
    const Change ch = ringplan::rebalance_partitions(old, next, o);
    run_events(old, ch, {"n7"}, {});
    std::map<std::string, std::size_t> replicas;
    for (const auto& load : ch.map.loads()) {
        replicas[load.node] = load.replicas;
    }
    CHECK(replicas["n0"] == 76);
    CHECK(replicas["n3"] == 76);
    CHECK(replicas["n5"] == 76);
    CHECK(replicas["n7"] == 76);
    CHECK(replicas["n2"] == 38);
    CHECK(replicas["n6"] == 19);
    CHECK(replicas["n9"] == 19);
}

TEST_CASE("when the bound is out of reach the change makes the fewest copies any map can",
          "[partitions]") {
    // Found by the partition fuzz target: rf 5 of 7 nodes, n4 fails. Every survivor is below
    // its target of 10, so minimum_copies is 8 (one per partition n4 held); but partitions 5,
    // 7 and 10 can only take n2 or n3, which have one free slot each. Some partition must give
    // up a replica of n2 or n3 and copy elsewhere: 9 copies is the optimum.
    const Map old = Map::from_lists({{"n3", "n0", "n2", "n1", "n7"},
                                     {"n0", "n5", "n3", "n1", "n2"},
                                     {"n2", "n3", "n5", "n1", "n4"},
                                     {"n0", "n2", "n7", "n3", "n4"},
                                     {"n7", "n0", "n1", "n2", "n3"},
                                     {"n5", "n1", "n7", "n0", "n4"},
                                     {"n4", "n2", "n3", "n0", "n5"},
                                     {"n5", "n7", "n0", "n1", "n4"},
                                     {"n2", "n5", "n1", "n3", "n7"},
                                     {"n3", "n2", "n0", "n5", "n4"},
                                     {"n1", "n5", "n7", "n0", "n4"},
                                     {"n1", "n3", "n2", "n7", "n4"}},
                                    Rf{5});
    Options o;
    o.failed = {"n4"};
    const Change ch = ringplan::rebalance_partitions(old, {"n0", "n1", "n2", "n3", "n5", "n7"}, o);
    check_balanced(ch.map);
    run_events(old, ch, {"n4"}, {});
    CHECK(ch.minimum_copies == 8);
    CHECK(ch.copies == 9);
    CHECK(rp_model::optimal_copies(old, ch, {"n4"}) == 9);
}

TEST_CASE("a failure rebuilds from the survivors; with rf 1 its partitions are lost",
          "[partitions]") {
    const Map m = ringplan::assign_partitions(std::vector<std::string>{"a", "b", "c"}, 12, Rf{2});
    Options o;
    o.failed = {"b"};
    const Change ch = ringplan::rebalance_partitions(m, {"a", "c"}, o);
    CHECK(ch.lost == 0);
    CHECK(ch.copies == 8);  // b held 8 replicas; the survivors rebuild each from the other
    for (const auto& e : ch.events) {
        if (e.action == PartitionAction::copy) {
            CHECK(e.reason == ringplan::ChangeReason::failure);
            CHECK(e.sources.size() == 1);
            CHECK(e.sources[0] != "b");
        }
        CHECK(e.node != "b");  // a failed node is told nothing
    }
    run_events(m, ch, {"b"}, {});

    const Map single = ringplan::assign_partitions(std::vector<std::string>{"a", "b"}, 10, Rf{1});
    const Change gone = ringplan::rebalance_partitions(single, {"a"}, o);
    CHECK(gone.lost == 5);
    CHECK(gone.copies == 0);
    std::size_t lost_events = 0;
    for (const auto& e : gone.events) {
        if (e.action == PartitionAction::lost) {
            ++lost_events;
            CHECK(single.primary_at(e.partition) == "b");
            CHECK(e.reason == ringplan::ChangeReason::failure);
        }
    }
    CHECK(lost_events == 5);
    run_events(single, gone, {"b"}, {});
}

TEST_CASE("a node that returns with its data catches up instead of copying", "[partitions]") {
    const Map m =
        ringplan::assign_partitions(std::vector<std::string>{"a", "b", "c", "d"}, 16, Rf{3});
    Options o;
    o.returning = {"c"};
    const Change ch = ringplan::rebalance_partitions(m, {"a", "b", "c", "d"}, o);
    CHECK(ch.map == m);  // the membership did not change: nor does the map
    CHECK(ch.copies == 0);
    std::size_t catch_ups = 0;
    for (const auto& e : ch.events) {
        CHECK(e.action == PartitionAction::catch_up);
        CHECK(e.node == "c");
        ++catch_ups;
    }
    CHECK(catch_ups == m.partitions_of("c").size());
    run_events(m, ch, {}, {"c"});
}

TEST_CASE("a graceful leave streams from the leaving node too, then drops", "[partitions]") {
    const Map m = ringplan::assign_partitions(std::vector<std::string>{"a", "b", "c"}, 9, Rf{2});
    const Change ch = ringplan::rebalance_partitions(m, {"a", "b"});
    CHECK(ch.copies == 6);
    std::size_t drops = 0;
    for (const auto& e : ch.events) {
        if (e.action == PartitionAction::copy) {
            CHECK(e.reason == ringplan::ChangeReason::leave);
            CHECK(std::find(e.sources.begin(), e.sources.end(), "c") != e.sources.end());
        }
        if (e.action == PartitionAction::drop) {
            CHECK(e.node == "c");
            CHECK(e.reason == ringplan::ChangeReason::leave);
            ++drops;
        }
    }
    CHECK(drops == 6);
    run_events(m, ch, {}, {});
}

TEST_CASE("the ClusterKit scheme matches ClusterKit's rules bit for bit", "[partitions][compat]") {
    std::ifstream in(RINGPLAN_TEST_DATA_DIR "/clusterkit.txt");
    REQUIRE(in);
    std::map<std::tuple<std::size_t, std::size_t, std::string>, Map> maps;
    std::size_t keys = 0, lines = 0;
    for (std::string line; std::getline(in, line);) {
        std::istringstream s(line);
        std::string kind;
        s >> kind;
        if (kind == "key") {
            std::size_t q = 0;
            std::string hex;
            PartitionId want = 0;
            s >> q >> hex >> want;
            std::string key;
            for (std::size_t i = 0; hex != "-" && i < hex.size(); i += 2) {
                key += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
            }
            INFO("key " << hex << " Q " << q);
            CHECK(ringplan::clusterkit::key_partition(key, q) == want);
            ++keys;
        } else if (kind == "map") {
            std::size_t q = 0, rf = 0;
            std::string nodes;
            PartitionId p = 0;
            s >> q >> rf >> nodes >> p;
            std::vector<std::string> want;
            for (std::string id; s >> id;) {
                want.push_back(id);
            }
            const auto k = std::make_tuple(q, rf, nodes);
            if (maps.count(k) == 0) {
                std::vector<std::string> ids;
                std::istringstream split(nodes);
                for (std::string id; std::getline(split, id, ',');) {
                    ids.push_back(id);
                }
                maps.emplace(k, ringplan::clusterkit::assign_partitions(ids, q, Rf{rf}));
            }
            INFO("partition-" << p << " of " << nodes);
            CHECK(maps.at(k).replicas_at(p) == want);
            ++lines;
        }
    }
    CHECK(keys == 130);
    CHECK(lines == 204);
}

TEST_CASE("the ClusterKit scheme's rebalance uses ringplan's events, and copies more",
          "[partitions][compat]") {
    const std::vector<std::string> three = {"node-1", "node-2", "node-3"};
    const Map m = ringplan::clusterkit::assign_partitions(three, 16, Rf{3});
    const Change ch =
        ringplan::clusterkit::rebalance_partitions(m, {"node-1", "node-2", "node-3", "node-4"});
    run_events(m, ch, {}, {});
    CHECK(ch.minimum_copies == 12);
    // ClusterKit's recompute is not balanced: node-4 gets what the hashes give it (10 of 48
    // here, not 12), and every replica it gets is a copy.
    std::size_t node4 = 0;
    for (const auto& load : ch.map.loads()) {
        if (load.node == "node-4") {
            node4 = load.replicas;
        }
    }
    CHECK(ch.copies == node4);
    CHECK(node4 != 12);
    // Balance figures: the balanced scheme is exact here, ClusterKit's is not.
    const ringplan::PartitionStats ck = ch.map.stats();
    CHECK(ck.max_replicas > 12);
    CHECK(ck.replica_max_over_mean > 1.0);
    const ringplan::PartitionStats even =
        ringplan::rebalance_partitions(ringplan::assign_partitions(three, 16, Rf{3}),
                                       {"node-1", "node-2", "node-3", "node-4"})
            .map.stats();
    CHECK(even.min_replicas == 12);
    CHECK(even.max_replicas == 12);
    CHECK(even.replica_max_over_mean == 1.0);
    CHECK(even.min_primaries == 4);
    CHECK(even.max_primaries == 4);
    CHECK(ch.map ==
          ringplan::clusterkit::assign_partitions(
              std::vector<std::string>{"node-1", "node-2", "node-3", "node-4"}, 16, Rf{3}));
}

TEST_CASE("partition maps from lists, and their queries", "[partitions]") {
    const Map m = Map::from_lists({{"a", "b"}, {"b", "c"}, {"c", "a"}}, Rf{2});
    CHECK(m.partition_count() == 3);
    CHECK(m.nodes() == std::vector<std::string>{"a", "b", "c"});
    CHECK(m.primary_at(1) == "b");
    CHECK(m.replicas_at(2) == std::vector<std::string>{"c", "a"});
    CHECK(m.holds(0, std::string_view("b")));
    CHECK(!m.holds(0, "c"));
    CHECK(!m.holds(0, "zz"));
    CHECK(m.partitions_of("a") == std::vector<PartitionId>{0, 2});
    CHECK(m.contains(std::string_view("c")));
    CHECK(!m.contains("d"));
    CHECK(m.weight_of("c") == 1);
    const std::uint32_t* idx = m.replica_indices_at(1);
    CHECK(m.node_at(idx[0]) == "b");
    CHECK(m.node_at(idx[1]) == "c");
}

TEST_CASE("partition errors", "[partitions][errors]") {
    using rp_test::expect_error;
    const std::vector<std::string> abc = {"a", "b", "c"};
    expect_error([&] { (void)ringplan::assign_partitions(abc, 0, Rf{2}); },
                 Errc::invalid_partition_count, "must be in [1, 16777216], got 0");
    expect_error(
        [&] { (void)ringplan::assign_partitions(abc, ringplan::max_partitions + 1, Rf{2}); },
        Errc::invalid_partition_count, "got 16777217");
    expect_error([&] { (void)ringplan::assign_partitions(std::vector<std::string>{}, 4, Rf{2}); },
                 Errc::empty_ring, "at least one node");
    expect_error(
        [&] {
            (void)ringplan::assign_partitions(std::vector<std::string>{"a", "b", "a"}, 4, Rf{2});
        },
        Errc::duplicate_node, "node 'a' is listed twice");
    expect_error(
        [&] {
            (void)ringplan::assign_partitions(
                std::vector<std::pair<std::string, std::uint32_t>>{{"a", 1}, {"b", 0}}, 4, Rf{2});
        },
        Errc::invalid_weight, "node 'b' has weight 0");
    const Map m = ringplan::assign_partitions(abc, 4, Rf{2});
    expect_error([&] { (void)m.primary_at(4); }, Errc::invalid_partition,
                 "partition 4 is not below the partition count 4");
    expect_error([&] { (void)m.partitions_of("zz"); }, Errc::unknown_node,
                 "node 'zz' is not in the partition map");
    expect_error(
        [&] {
            (void)Map::from_lists({{"a", "b"}, {"a"}}, Rf{2});
        },
        Errc::invalid_map, "partition 1 lists 1 nodes; with rf 2 and 2 nodes it needs 2");
    expect_error(
        [&] {
            (void)Map::from_lists({{"a", "a"}}, Rf{2});
        },
        Errc::invalid_map, "partition 0 lists node 'a' twice");
    expect_error([&] { (void)Map::from_lists({}, Rf{2}); }, Errc::invalid_partition_count, "got 0");
    Options o;
    o.failed = {"zz"};
    expect_error([&] { (void)ringplan::rebalance_partitions(m, abc, o); }, Errc::unknown_node,
                 "failed node 'zz' is not in the partition map");
    o.failed.clear();
    o.returning = {"zz"};
    expect_error([&] { (void)ringplan::rebalance_partitions(m, abc, o); }, Errc::unknown_node,
                 "returning node 'zz' is not in the partition map");
    o.returning = {"c"};
    expect_error(
        [&] {
            (void)ringplan::rebalance_partitions(m, {"a", "b"}, o);
        },
        Errc::invalid_map, "returning node 'c' is not in the new membership");
    o.failed = {"c"};
    expect_error([&] { (void)ringplan::rebalance_partitions(m, abc, o); }, Errc::invalid_map,
                 "node 'c' is listed as failed and returning");
    expect_error([&] { (void)ringplan::rebalance_partitions(m, std::vector<std::string>{}); },
                 Errc::empty_ring, "at least one node");
}
