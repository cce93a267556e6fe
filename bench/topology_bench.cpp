// Replica rules with failure domains (docs/topology.md), on rings of "node-<i>" spread over 2
// datacenters x 3 racks (node i in datacenter i % 2, rack (i / 2) % 3), in one run:
//
//   topology/replicas/<rule>/<nodes>x<vnodes>   one replica list of a random token, into caller
//                                               storage: distinct (ring.replicas_at, rf 6),
//                                               distinct_rule (Placement, distinct nodes, rf 6),
//                                               nts_server / nts_driver (rf 3 in each
//                                               datacenter), rack_aware (rf 3, one datacenter)
//   topology/plan_<leave|crash>/<rule>/<nodes>x<vnodes>
//                                               a plan of node-<nodes/2>: distinct (rf 6, the
//                                               run-by-run planner) against nts (rf 3 + 3, the
//                                               rule's walk at every vnode)
//   topology/plan_crash_rack/nts/<nodes>x<vnodes>   every node of dc0/r0 at once
#include "bench_common.hpp"

#include <string>
#include <vector>

namespace bench {
namespace {

const ringplan::Topology<std::string>& topology_of(std::size_t nodes) {
    static std::map<std::size_t, std::unique_ptr<ringplan::Topology<std::string>>> cache;
    auto& slot = cache[nodes];
    if (!slot) {
        slot = std::make_unique<ringplan::Topology<std::string>>();
        for (std::size_t i = 0; i < nodes; ++i) {
            slot->set("node-" + std::to_string(i), "dc" + std::to_string(i % 2),
                      "r" + std::to_string((i / 2) % 3));
        }
    }
    return *slot;
}

ringplan::ReplicaPolicy nts(ringplan::ReplicaOrder order = ringplan::ReplicaOrder::server) {
    return ringplan::ReplicaPolicy::network_topology({{"dc0", 3}, {"dc1", 3}}, order);
}

void replicas_bench(benchmark::State& state, Shape s, int rule) {
    const Ring& ring = ring_of(s);
    const auto& tokens = probes();
    const std::size_t mask = tokens.size() - 1;
    const ringplan::ReplicaPolicy policy =
        rule == 2   ? nts(ringplan::ReplicaOrder::server)
        : rule == 3 ? nts(ringplan::ReplicaOrder::driver)
        : rule == 4 ? ringplan::ReplicaPolicy::rack_aware(ringplan::Rf{3})
                    : ringplan::ReplicaPolicy::distinct_nodes(ringplan::Rf{6});
    const ringplan::Placement<ringplan::Xxh3, std::string> placement(ring, topology_of(s.nodes),
                                                                     policy);
    const std::string* out[8];
    std::size_t i = 0;
    std::size_t total = 0;
    for (auto _ : state) {
        const Token t = tokens[i++ & mask];
        const std::size_t n =
            rule == 0 ? ring.replicas_at(t, ringplan::Rf{6}, out) : placement.replicas_at(t, out);
        total += n;
        benchmark::DoNotOptimize(out);
    }
    benchmark::DoNotOptimize(total);
}

void plan_bench(benchmark::State& state, Shape s, bool crash, bool rule) {
    const Ring& ring = ring_of(s);
    const std::string node = leaving_node(s);
    ringplan::PlanOptions<std::string> options(ringplan::Rf{6});
    if (rule) {
        options.policy = nts();
        options.topology = topology_of(s.nodes);
    }
    std::size_t moves = 0;
    for (auto _ : state) {
        const auto plan = crash ? ringplan::plan_crash(ring, node, options)
                                : ringplan::plan_leave(ring, node, options);
        moves = plan.moves.size();
        benchmark::DoNotOptimize(plan.moves.data());
    }
    state.counters["moves"] = static_cast<double>(moves);
}

void rack_crash_bench(benchmark::State& state, Shape s) {
    const Ring& ring = ring_of(s);
    ringplan::PlanOptions<std::string> options;
    options.policy = nts();
    options.topology = topology_of(s.nodes);
    double lost = 0;
    for (auto _ : state) {
        const auto plan = ringplan::plan_crash_rack(ring, "dc0", "r0", options);
        lost = plan.lost_fraction();
        benchmark::DoNotOptimize(plan.moves.data());
    }
    state.counters["lost"] = lost;  // 0: every range keeps replicas in the other racks
}

const bool registered = [] {
    const char* rules[] = {"distinct", "distinct_rule", "nts_server", "nts_driver", "rack_aware"};
    for (const Shape& s : {Shape{60, 16}, Shape{60, 256}, Shape{600, 256}}) {
        for (int r = 0; r < 5; ++r) {
            const std::string name = "topology/replicas/" + std::string(rules[r]) + "/" + s.label();
            benchmark::RegisterBenchmark(name.c_str(), replicas_bench, s, r);
        }
    }
    for (const Shape& s : {Shape{60, 16}, Shape{60, 256}}) {
        for (bool crash : {false, true}) {
            for (bool rule : {false, true}) {
                const std::string name = std::string("topology/plan_") +
                                         (crash ? "crash/" : "leave/") +
                                         (rule ? "nts/" : "distinct/") + s.label();
                benchmark::RegisterBenchmark(name.c_str(), plan_bench, s, crash, rule)
                    ->Unit(benchmark::kMicrosecond);
            }
        }
        const std::string name = "topology/plan_crash_rack/nts/" + s.label();
        benchmark::RegisterBenchmark(name.c_str(), rack_crash_bench, s)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace
}  // namespace bench
