// Token allocation benchmarks (include/ringplan/allocate.hpp):
//
//   allocate/ringplan/<nodes>x<T>/rf3  ringplan::allocate_tokens of T tokens for one node joining
//                                      a ring of <nodes> nodes with T derived vnodes each,
//                                      balanced for rf 3
//
// Counter max_over_mean: the ring's max/mean replicated ownership at rf 3 after the join (the
// ring's random tokens dominate it; docs/balance.md measures rings grown by the allocator).
#include "bench_common.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {
namespace {

void allocate_bench(benchmark::State& state, std::size_t nodes, std::uint32_t tokens) {
    Ring ring;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < nodes; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    ring.add_nodes(ids, tokens);
    const std::string joining = "joining";
    ringplan::AllocateOptions<std::string> options;
    options.rfs = {ringplan::Rf{3}};
    for (auto _ : state) {
        auto chosen = ringplan::allocate_tokens(ring, joining, tokens, options);
        benchmark::DoNotOptimize(chosen.data());
    }
    ring.add_node_with_tokens(joining, ringplan::allocate_tokens(ring, joining, tokens, options));
    double most = 0, sum = 0;
    for (const std::string& id : ring.nodes()) {
        const double share = ringplan::replicated_share(ring, id, ringplan::Rf{3});
        most = std::max(most, share);
        sum += share;
    }
    state.counters["max_over_mean"] = most / (sum / static_cast<double>(ring.node_count()));
}

const bool registered = [] {
    for (std::size_t nodes : {std::size_t{10}, std::size_t{100}, std::size_t{1000}}) {
        for (std::uint32_t tokens : {4u, 16u, 256u}) {
            const std::string name = "allocate/ringplan/" + std::to_string(nodes) + "x" +
                                     std::to_string(tokens) + "/rf3";
            benchmark::RegisterBenchmark(name.c_str(), allocate_bench, nodes, tokens)
                ->Unit(benchmark::kMillisecond);
        }
    }
    return true;
}();

}  // namespace
}  // namespace bench
