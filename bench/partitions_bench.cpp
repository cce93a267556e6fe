// Fixed-partition benchmarks (ringplan/partitions.hpp), rf 3, nodes "node-<i>", i < N, for Q in
// {256, 4096, 65536} and N in {10, 100, 1000}, three schemes: `balanced` (assign_partitions,
// rebalance_partitions), `racks` (the same with a topology: node-<i> in rack-<i mod R>, R = 5
// for N = 10 and 10 above, so every rack allows distinct racks) and `clusterkit` (ClusterKit's
// MD5 rendezvous recompute, with ringplan's events):
//
//   partitions/assign/<scheme>/<Q>/<N>  a map of the N nodes from scratch
//   partitions/join/<scheme>/<Q>/<N>    the rebalance of that map when node-<N> joins
//   partitions/leave/<scheme>/<Q>/<N>   ... when node-<N/2> leaves gracefully
//   partitions/fail/<scheme>/<Q>/<N>    ... when node-<N/2> fails (its data is gone)
//
// The maps are built once, outside the timed loops, and shared by the rows. Counters:
//
//   replica_max_over_mean, primary_max_over_mean   the resulting map's balance: the most
//                                                  replicas (primaries) a node holds over the
//                                                  mean, Q r / N (Q / N)
//   copies, minimum_copies, copies_over_minimum    PartitionChange's copies against the fewest
//                                                  any balanced map of the new membership needs
//                                                  from the old map (ClusterKit's map is not
//                                                  balanced, so it can copy less than that)
//   spurious                                       copy notifications to a node that already
//                                                  held the partition: for `balanced`, ringplan's
//                                                  copy events (0 by construction, counted here);
//                                                  for `clusterkit`, the OnPartitionChange calls
//                                                  ClusterKit itself would make (see
//                                                  clusterkit_notifications)
//
//   rack_shared                                    (racks) partitions with two replicas in one
//                                                  rack: 0 here, since the racks allow it
//
// A balanced row whose copies differ from minimum_copies, a racks row whose map repeats a
// rack, or a map of either that is not balanced within one replica and one primary, reports an
// error (the smoke test fails on it).
#include "bench_common.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace bench {
namespace {

using PartitionMap = ringplan::PartitionMap<std::string>;
using PartitionChange = ringplan::PartitionChange<std::string>;

constexpr std::size_t partition_rf = 3;
constexpr std::size_t partition_counts[] = {256, 4096, 65536};
constexpr std::size_t partition_node_counts[] = {10, 100, 1000};

enum class Scheme { balanced, racks, clusterkit };
enum class Step { join, leave, fail };

const char* scheme_name(Scheme s) {
    return s == Scheme::balanced ? "balanced" : s == Scheme::racks ? "racks" : "clusterkit";
}

/// The racks of node-<i> for every i < 1001 (the joiner included): rack-<i mod R>, R = 5 when
/// the membership is 10 nodes, 10 otherwise.
const ringplan::Topology<std::string>& topology_of(std::size_t n) {
    static std::map<std::size_t, ringplan::Topology<std::string>> cache;
    auto& t = cache[n];
    if (t.empty()) {
        const std::size_t racks = n <= 10 ? 5 : 10;
        for (std::size_t i = 0; i <= n; ++i) {
            t.set("node-" + std::to_string(i), "dc", "rack-" + std::to_string(i % racks));
        }
    }
    return t;
}
const char* step_name(Step s) {
    return s == Step::join ? "join" : s == Step::leave ? "leave" : "fail";
}

PartitionMap assign_map(Scheme scheme, const std::vector<std::string>& nodes, std::size_t q) {
    const ringplan::Rf rf{partition_rf};
    switch (scheme) {
        case Scheme::balanced:
            return ringplan::assign_partitions(nodes, q, rf);
        case Scheme::racks:
            return ringplan::assign_partitions(nodes, q, rf, topology_of(nodes.size()));
        case Scheme::clusterkit:
            break;
    }
    return ringplan::clusterkit::assign_partitions(nodes, q, rf);
}

/// `options` carries the topology for `racks` (membership_after sets it).
PartitionChange rebalance_map(Scheme scheme, const PartitionMap& map,
                              const std::vector<std::string>& nodes,
                              const ringplan::RebalanceOptions<std::string>& options) {
    return scheme != Scheme::clusterkit
               ? ringplan::rebalance_partitions(map, nodes, options)
               : ringplan::clusterkit::rebalance_partitions(map, nodes, options);
}

/// The map of node_ids(n), built once per (scheme, Q, N): a ClusterKit map of 65536 x 1000
/// partitions and nodes is 65 million MD5s.
const PartitionMap& partition_map_of(Scheme scheme, std::size_t q, std::size_t n) {
    static std::map<std::tuple<Scheme, std::size_t, std::size_t>, std::unique_ptr<PartitionMap>>
        cache;
    auto& slot = cache[{scheme, q, n}];
    if (!slot) {
        slot = std::make_unique<PartitionMap>(assign_map(scheme, node_ids(n), q));
    }
    return *slot;
}

/// The membership after `step` and who failed.
struct Membership {
    std::vector<std::string> nodes;
    ringplan::RebalanceOptions<std::string> options;
};

Membership membership_after(Scheme scheme, Step step, std::size_t n) {
    Membership m;
    m.nodes = node_ids(n);
    if (scheme == Scheme::racks) {
        m.options.topology = topology_of(n);
    }
    if (step == Step::join) {
        m.nodes.push_back("node-" + std::to_string(n));
        return m;
    }
    const std::string gone = "node-" + std::to_string(n / 2);
    m.nodes.erase(m.nodes.begin() + static_cast<std::ptrdiff_t>(n / 2));
    if (step == Step::fail) {
        m.options.failed.push_back(gone);
    }
    return m;
}

struct Balance {
    double replica_max_over_mean = 0;
    double primary_max_over_mean = 0;
    bool within_one = true;  // every node within one replica and one primary of every other
};

Balance balance_of(const PartitionMap& map) {
    std::size_t rmin = std::numeric_limits<std::size_t>::max(), rmax = 0;
    std::size_t pmin = rmin, pmax = 0;
    for (const auto& load : map.loads()) {
        rmin = std::min(rmin, load.replicas);
        rmax = std::max(rmax, load.replicas);
        pmin = std::min(pmin, load.primaries);
        pmax = std::max(pmax, load.primaries);
    }
    const auto n = static_cast<double>(map.node_count());
    const auto q = static_cast<double>(map.partition_count());
    Balance b;
    b.replica_max_over_mean =
        static_cast<double>(rmax) / (q * static_cast<double>(map.replica_count()) / n);
    b.primary_max_over_mean = static_cast<double>(pmax) / (q / n);
    b.within_one = rmax - rmin <= 1 && pmax - pmin <= 1;
    return b;
}

void set_balance(benchmark::State& state, const Balance& b) {
    state.counters["replica_max_over_mean"] = b.replica_max_over_mean;
    state.counters["primary_max_over_mean"] = b.primary_max_over_mean;
}

/// The nodes of `after` looked up in `before`: whether a node held a partition before the
/// change and still has its data (a failed node does not), and in which role.
struct Holders {
    const PartitionMap& before;
    const PartitionMap& after;
    std::vector<std::uint32_t> before_index;  // per node of `after`: its index in `before`, or n
    std::vector<bool> failed;                 // per node of `before`

    Holders(const PartitionMap& b, const PartitionMap& a,
            const std::vector<std::string>& failed_nodes)
        : before(b), after(a), failed(b.node_count(), false) {
        for (const std::string& f : failed_nodes) {
            failed[b.find_node(f)] = true;
        }
        for (const std::string& id : a.nodes()) {
            before_index.push_back(static_cast<std::uint32_t>(b.find_node(id)));
        }
    }
    bool held(ringplan::PartitionId p, std::uint32_t new_index) const {
        const std::uint32_t i = before_index[new_index];
        if (i == before.node_count() || failed[i]) {
            return false;
        }
        const std::uint32_t* s = before.replica_indices_at(p);
        return std::find(s, s + before.replica_count(), i) != s + before.replica_count();
    }
    bool was_primary(ringplan::PartitionId p, std::uint32_t new_index) const {
        return before_index[new_index] == before.replica_indices_at(p)[0];
    }
    bool was_non_primary_replica(ringplan::PartitionId p, std::uint32_t new_index) const {
        const std::uint32_t i = before_index[new_index];
        const std::uint32_t* s = before.replica_indices_at(p);
        return std::find(s + 1, s + before.replica_count(), i) != s + before.replica_count();
    }
};

struct Notifications {
    std::size_t total = 0;
    std::size_t spurious = 0;  // to a node that already held the partition
};

/// The OnPartitionChange calls ClusterKit makes for the change `before` -> `after`
/// (hooks.go, detectChanges): for each partition, the new primary if the primary changed,
/// and each new non-primary replica that was not a non-primary replica before. So a replica
/// promoted to primary, and a primary demoted to replica, are told to copy data they hold.
Notifications clusterkit_notifications(const Holders& h) {
    Notifications out;
    const std::size_t r = h.after.replica_count();
    for (std::size_t pi = 0; pi < h.after.partition_count(); ++pi) {
        const auto p = static_cast<ringplan::PartitionId>(pi);
        const std::uint32_t* ns = h.after.replica_indices_at(p);
        for (std::size_t k = 0; k < r; ++k) {
            const bool notified =
                k == 0 ? !h.was_primary(p, ns[0]) : !h.was_non_primary_replica(p, ns[k]);
            if (notified) {
                ++out.total;
                out.spurious += h.held(p, ns[k]) ? 1u : 0u;
            }
        }
    }
    return out;
}

/// ringplan's copy events to a node that already held the partition.
std::size_t spurious_copy_events(const Holders& h, const PartitionChange& change) {
    std::size_t n = 0;
    for (const auto& e : change.events) {
        if (e.action == ringplan::PartitionAction::copy &&
            h.held(e.partition, static_cast<std::uint32_t>(h.after.find_node(e.node)))) {
            ++n;
        }
    }
    return n;
}

void assign_bench(benchmark::State& state, Scheme scheme, std::size_t q, std::size_t n) {
    const std::vector<std::string> nodes = node_ids(n);
    for (auto _ : state) {
        PartitionMap map = assign_map(scheme, nodes, q);
        benchmark::DoNotOptimize(map.replica_indices_at(0));
    }
    const Balance b = balance_of(partition_map_of(scheme, q, n));
    if (scheme != Scheme::clusterkit && !b.within_one) {
        state.SkipWithError("assign_partitions: a map that is not balanced within one");
    }
    if (scheme == Scheme::racks) {
        const std::size_t shared =
            ringplan::rack_shared_partitions(partition_map_of(scheme, q, n), topology_of(n));
        if (shared != 0) {
            state.SkipWithError("assign_partitions: a partition repeats a rack");
        }
        state.counters["rack_shared"] = static_cast<double>(shared);
    }
    set_balance(state, b);
}

void change_bench(benchmark::State& state, Scheme scheme, Step step, std::size_t q, std::size_t n) {
    const PartitionMap& before = partition_map_of(scheme, q, n);
    const Membership m = membership_after(scheme, step, n);
    for (auto _ : state) {
        PartitionChange change = rebalance_map(scheme, before, m.nodes, m.options);
        benchmark::DoNotOptimize(change.events.data());
    }
    const PartitionChange change = rebalance_map(scheme, before, m.nodes, m.options);
    const Balance b = balance_of(change.map);
    const Holders holders(before, change.map, m.options.failed);
    std::size_t spurious = 0;
    if (scheme == Scheme::balanced) {
        spurious = spurious_copy_events(holders, change);
        if (change.copies != change.minimum_copies || !b.within_one) {
            state.SkipWithError(
                "rebalance_partitions: more copies than the minimum, or unbalanced");
        }
    } else if (scheme == Scheme::racks) {
        spurious = spurious_copy_events(holders, change);
        if (change.rack_shared != 0 || !b.within_one) {
            state.SkipWithError("rebalance_partitions: a partition repeats a rack, or unbalanced");
        }
        state.counters["rack_shared"] = static_cast<double>(change.rack_shared);
    } else {
        const Notifications note = clusterkit_notifications(holders);
        spurious = note.spurious;
        // Every node that gains a partition is notified, so the calls are the copies plus the
        // spurious ones: a check on both counts.
        if (note.total != change.copies + note.spurious) {
            state.SkipWithError("clusterkit: notifications are not copies + spurious");
        }
    }
    set_balance(state, b);
    state.counters["copies"] = static_cast<double>(change.copies);
    state.counters["minimum_copies"] = static_cast<double>(change.minimum_copies);
    // 0 / 0 (nothing to copy, nothing copied) is 1: no excess.
    state.counters["copies_over_minimum"] =
        change.minimum_copies == 0
            ? (change.copies == 0 ? 1.0 : std::numeric_limits<double>::infinity())
            : static_cast<double>(change.copies) / static_cast<double>(change.minimum_copies);
    state.counters["spurious"] = static_cast<double>(spurious);
}

const bool registered = [] {
    for (Scheme scheme : {Scheme::balanced, Scheme::racks, Scheme::clusterkit}) {
        for (std::size_t q : partition_counts) {
            for (std::size_t n : partition_node_counts) {
                // Not registered: ClusterKit at Q = 65536, N = 1000 hashes 65.5 million
                // partition-node names per map (14 to 17 s here, 210 to 260 ns an MD5), so
                // its four rows alone would take minutes; 4096 x 1000 and 65536 x 100 (about 1
                // and 2 s a call) show the same linear growth in Q N.
                if (scheme == Scheme::clusterkit && q * n > std::size_t{65536} * 100) {
                    continue;
                }
                const std::string size = std::to_string(q) + "/" + std::to_string(n);
                benchmark::RegisterBenchmark(
                    ("partitions/assign/" + std::string(scheme_name(scheme)) + "/" + size).c_str(),
                    assign_bench, scheme, q, n)
                    ->Unit(benchmark::kMicrosecond);
                for (Step step : {Step::join, Step::leave, Step::fail}) {
                    benchmark::RegisterBenchmark(("partitions/" + std::string(step_name(step)) +
                                                  "/" + scheme_name(scheme) + "/" + size)
                                                     .c_str(),
                                                 change_bench, scheme, step, q, n)
                        ->Unit(benchmark::kMicrosecond);
                }
            }
        }
    }
    return true;
}();

}  // namespace
}  // namespace bench
