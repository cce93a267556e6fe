// The partition-operations fuzz target: bytes are read as a partition count, an rf, a starting
// membership (optionally weighted) and a program of changes (joins, graceful leaves, failures,
// empty returns, returns with data, reweighs, several at once), each run through
// rebalance_partitions of both schemes, and in a quarter of the inputs with racks (each node
// gets a rack, or none, from the bytes); every change is checked on the simulated store of
// tests/partition_model.hpp, balance and the copy bound too, and with racks: no repeated rack
// when the racks allow it, rack_shared, and nothing lost when one rack fails as a whole. A
// violation aborts with a message (libFuzzer reports it; the replay test fails). Used by
// tests/fuzz/partition_fuzz.cpp (libFuzzer) and tests/fuzz_replay_test.cpp (every run).
#ifndef RINGPLAN_TESTS_FUZZ_PARTITION_OPS_HPP
#define RINGPLAN_TESTS_FUZZ_PARTITION_OPS_HPP

#include "../partition_model.hpp"

#include <ringplan/partitions.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rp_fuzz {

[[noreturn]] inline void partition_mismatch(const std::string& detail) {
    std::fprintf(stderr, "partition_ops mismatch: %s\n", detail.c_str());
    std::abort();
}

inline int partition_ops_one_input(const std::uint8_t* data, std::size_t size) {
    std::size_t at = 0;
    const auto byte = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
    const std::size_t q = 1 + (std::size_t{byte()} << 8 | byte()) % 300;
    const std::size_t rf = 1 + byte() % 5;
    const std::uint8_t mode = byte();
    const bool weighted = mode % 2 == 1;
    // Rack mode on mode bits 2-4 of 2 or 7: no input of the corpus before racks changes meaning.
    const bool racks = ((mode >> 2) & 7) == 2 || ((mode >> 2) & 7) == 7;
    const bool clusterkit = !weighted && !racks && byte() % 4 == 0;
    std::map<std::string, std::uint32_t> members;
    std::size_t next_id = 0;
    ringplan::Topology<std::string> topology;
    const auto add_node = [&](std::map<std::string, std::uint32_t>& to) {
        const std::string id = "n" + std::to_string(next_id++);
        to[id] = weighted ? 1u + byte() % 6 : 1u;
        if (racks) {
            const std::uint8_t r = byte() % 5;  // 0: no rack, a rack of its own
            topology.set(id, "dc", r == 0 ? std::string() : "r" + std::to_string(r));
        }
    };
    for (std::size_t i = 0, n = 1 + byte() % 8; i < n; ++i) {
        add_node(members);
    }
    const auto list = [&](const std::map<std::string, std::uint32_t>& m) {
        return std::vector<std::pair<std::string, std::uint32_t>>(m.begin(), m.end());
    };
    const auto ids = [&](const std::map<std::string, std::uint32_t>& m) {
        std::vector<std::string> out;
        for (const auto& kv : m) {
            out.push_back(kv.first);
        }
        return out;
    };
    rp_model::PartitionMap map =
        clusterkit ? ringplan::clusterkit::assign_partitions(ids(members), q, ringplan::Rf{rf})
        : racks    ? ringplan::assign_partitions(list(members), q, ringplan::Rf{rf}, topology)
                   : ringplan::assign_partitions(list(members), q, ringplan::Rf{rf});
    if (racks && !weighted && rp_model::least_excess(ids(members), topology, q, rf) == 0 &&
        rp_model::shared_partitions(map, topology) != 0) {
        partition_mismatch("a new map repeats a rack where the racks allow distinct ones");
    }
    std::set<std::string> down;  // members that went down; the map still lists them
    for (int step = 0; step < 24 && at < size; ++step) {
        std::map<std::string, std::uint32_t> next = members;
        std::set<std::string> failed;
        ringplan::RebalanceOptions<std::string> options;
        const auto pick = [&]() {
            auto it = members.begin();
            std::advance(it, static_cast<long>(byte() % members.size()));
            return it->first;
        };
        bool bring_back = false;
        for (int k = 0, changes = 1 + byte() % 3; k < changes; ++k) {
            switch (byte() % 7) {
                case 0:
                    add_node(next);
                    break;
                case 1:
                    next.erase(pick());  // graceful leave
                    break;
                case 2: {
                    const std::string f = pick();  // failure, removed
                    next.erase(f);
                    failed.insert(f);
                    break;
                }
                case 3:
                    failed.insert(pick());  // failure; back empty if still in `next`
                    break;
                case 4:
                    down.insert(pick());
                    break;
                case 5:
                    if (weighted) {
                        next[pick()] = 1u + byte() % 6;
                    }
                    break;
                default:
                    bring_back = true;
                    break;
            }
        }
        if (bring_back) {
            for (const std::string& d : down) {
                if (next.count(d) != 0 && failed.count(d) == 0) {
                    options.returning.push_back(d);
                }
            }
            down.clear();
        }
        if (next.empty()) {
            continue;
        }
        options.failed.assign(failed.begin(), failed.end());
        if (racks) {
            options.topology = topology;
        }
        const rp_model::PartitionChange ch =
            clusterkit ? ringplan::clusterkit::rebalance_partitions(map, ids(next), options)
                       : ringplan::rebalance_partitions(map, list(next), options);
        const std::set<std::string> returning(options.returning.begin(), options.returning.end());
        const std::string broken = rp_model::check_change(map, ch, failed, returning);
        if (!broken.empty()) {
            partition_mismatch(broken);
        }
        if (racks) {
            if (ch.rack_shared != rp_model::shared_partitions(ch.map, topology)) {
                partition_mismatch("rack_shared does not count the repeated racks");
            }
            if (!weighted && rp_model::least_excess(ids(next), topology, q, rf) == 0 &&
                ch.rack_shared != 0) {
                partition_mismatch("a change repeats a rack where the racks allow distinct ones");
            }
            std::set<std::string> failed_racks;
            for (const std::string& f : failed) {
                failed_racks.insert(rp_model::rack_key(topology, f));
            }
            if (failed_racks.size() == 1 && map.replica_count() >= 2 &&
                rp_model::shared_partitions(map, topology) == 0 && ch.lost != 0) {
                partition_mismatch("one rack failed and a partition on distinct racks was lost");
            }
        }
        if (!clusterkit) {
            if (ch.copies < ch.minimum_copies) {
                partition_mismatch("fewer copies than the lower bound");
            }
            if (!weighted) {
                const std::string uneven = rp_model::unbalanced(ch.map);
                if (!uneven.empty()) {
                    partition_mismatch(uneven);
                }
                // minimum_copies counts each node's target alone; when rf is close to N the
                // partitions that lost a replica may have too few candidates to reach it, so the
                // change must make exactly the fewest copies any balanced map can (with racks,
                // no fewer: a rack-aware map is a balanced map).
                const std::size_t optimum = rp_model::optimal_copies(map, ch, failed);
                if (racks && ch.rack_shared == 0) {
                    // The bound with racks must not exceed the optimum under the rack rule.
                    std::size_t rack_count = 0;
                    const std::vector<std::size_t> rack =
                        rp_model::rack_numbers(ch.map, topology, rack_count);
                    const std::size_t rack_optimum =
                        rp_model::optimal_rack_copies(map, ch, failed, rack, rack_count);
                    if (ch.minimum_copies > rack_optimum || ch.copies < rack_optimum) {
                        partition_mismatch("minimum_copies " + std::to_string(ch.minimum_copies) +
                                           ", copies " + std::to_string(ch.copies) +
                                           ", optimum with racks " + std::to_string(rack_optimum));
                    }
                }
                if (racks ? ch.copies < optimum : ch.copies != optimum) {
                    partition_mismatch(
                        "an unweighted change above the optimum: " + std::to_string(ch.copies) +
                        " copies, optimum " + std::to_string(optimum) + ", bound " +
                        std::to_string(ch.minimum_copies));
                }
            }
        }
        for (const std::string& f : failed) {
            down.erase(f);
        }
        for (auto it = down.begin(); it != down.end();) {
            it = next.count(*it) == 0 ? down.erase(it) : std::next(it);
        }
        map = ch.map;
        members = next;
    }
    return 0;
}

}  // namespace rp_fuzz

#endif  // RINGPLAN_TESTS_FUZZ_PARTITION_OPS_HPP
