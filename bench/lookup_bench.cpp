// Lookup benchmarks: ringplan's owner() against the textbook rings a user would write instead.
// Names follow <family>/<impl>/<vnodes>. The performance issue extends this suite; run it with
// the release build: build/release/bench/ringplan_bench.
#include <ringplan/ringplan.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t vnodes_per_node = 256;

std::vector<std::string> node_ids(std::size_t vnodes) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, vnodes / vnodes_per_node); ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    return ids;
}

std::vector<ringplan::Token> probe_tokens() {
    std::mt19937_64 rng(42);
    std::vector<ringplan::Token> probes(1 << 16);
    for (auto& t : probes) {
        t = rng();
    }
    return probes;
}

ringplan::Ring<> make_ring(std::size_t vnodes) {
    ringplan::Ring<> ring;
    const auto ids = node_ids(vnodes);
    ring.add_nodes(ids, static_cast<std::uint32_t>(vnodes / ids.size()));
    return ring;
}

void owner_ringplan(benchmark::State& state) {
    const auto ring = make_ring(static_cast<std::size_t>(state.range(0)));
    const auto probes = probe_tokens();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(&ring.owner_of(probes[i++ & (probes.size() - 1)]));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void owner_std_map(benchmark::State& state) {
    const auto ring = make_ring(static_cast<std::size_t>(state.range(0)));
    std::map<ringplan::Token, std::string> map;
    for (std::size_t v = 0; v < ring.vnode_count(); ++v) {
        map.emplace(ring.vnode_token(v), ring.vnode_node(v));
    }
    const auto probes = probe_tokens();
    std::size_t i = 0;
    for (auto _ : state) {
        auto it = map.lower_bound(probes[i++ & (probes.size() - 1)]);
        if (it == map.end()) {
            it = map.begin();
        }
        benchmark::DoNotOptimize(&it->second);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void owner_sorted_vector(benchmark::State& state) {
    const auto ring = make_ring(static_cast<std::size_t>(state.range(0)));
    std::vector<std::pair<ringplan::Token, std::string>> points;
    for (std::size_t v = 0; v < ring.vnode_count(); ++v) {
        points.emplace_back(ring.vnode_token(v), ring.vnode_node(v));
    }
    const auto probes = probe_tokens();
    std::size_t i = 0;
    for (auto _ : state) {
        const ringplan::Token t = probes[i++ & (probes.size() - 1)];
        auto it = std::lower_bound(points.begin(), points.end(), t,
                                   [](const auto& p, ringplan::Token x) { return p.first < x; });
        if (it == points.end()) {
            it = points.begin();
        }
        benchmark::DoNotOptimize(&it->second);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void build_ringplan(benchmark::State& state) {
    const auto vnodes = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        auto ring = make_ring(vnodes);
        benchmark::DoNotOptimize(ring.vnode_count());
    }
}

}  // namespace

BENCHMARK(owner_ringplan)->Name("owner/ringplan")->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(owner_std_map)->Name("owner/std_map")->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(owner_sorted_vector)
    ->Name("owner/sorted_vector")
    ->RangeMultiplier(10)
    ->Range(1000, 1000000);
BENCHMARK(build_ringplan)
    ->Name("build/ringplan")
    ->RangeMultiplier(10)
    ->Range(1000, 1000000)
    ->Unit(benchmark::kMillisecond);
