// Lookup and build benchmarks: ringplan against the rings a user would write instead.
//
//   owner/<impl>/<vnodes>          independent lookups (throughput: the CPU overlaps them)
//   owner_latency/<impl>/<vnodes>  each lookup's token depends on the previous result
//   owner_batch/ringplan/<vnodes>  Ring::owners_at over a block of tokens
//   replicas/ringplan/<vnodes>     Ring::replicas_at(t, Rf{3}), the vector form
//   replicas_into/<impl>/<vnodes>  rf 3 into caller storage (ringplan, sorted_vector)
//   build/<impl>/<vnodes>          a whole ring from a node list, vnode hashing included
//
// impl: ringplan (Ring<>::owner_at), std_map (std::map lower_bound with wrap), sorted_vector
// (std::lower_bound over sorted tokens: ketama, Envoy), jump (Lamping-Veach jump hash, no ring).
// Every lookup row processes blocks of `block` probes per iteration; items/s is lookups/s.
// Run with bench/run (Release, -O2); docs/performance.md has the results.
#include "bench_common.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

namespace bench {
namespace {

constexpr std::size_t block = 1024;  // lookups per benchmark iteration; divides probes().size()

// Independent lookups of consecutive probes; the results go to an array, as a caller's would.
template <class Lookup>
void run_owner(benchmark::State& state, Lookup lookup) {
    const std::vector<Token>& p = probes();
    const std::size_t mask = p.size() - 1;
    std::array<const std::string*, block> out{};
    std::size_t i = 0;
    for (auto _ : state) {
        const Token* t = p.data() + (i & mask);
        for (std::size_t j = 0; j < block; ++j) {
            out[j] = lookup(t[j]);
        }
        i += block;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * to_i64(block));
}

// Dependent lookups: the next token is probe ^ (result address >> 60). User-space addresses are
// below 2^47, so that is the probe itself at run time, but the compiler can not know it and the
// CPU must finish each lookup before it starts the next: this measures latency.
template <class Lookup>
void run_owner_latency(benchmark::State& state, Lookup lookup) {
    const std::vector<Token>& p = probes();
    const std::size_t mask = p.size() - 1;
    std::uintptr_t carry = 0;
    std::size_t i = 0;
    for (auto _ : state) {
        const Token* t = p.data() + (i & mask);
        for (std::size_t j = 0; j < block; ++j) {
            const std::string* r = lookup(t[j] ^ static_cast<Token>(carry));
            carry = reinterpret_cast<std::uintptr_t>(r) >> 60;
        }
        i += block;
        benchmark::DoNotOptimize(carry);
    }
    state.SetItemsProcessed(state.iterations() * to_i64(block));
}

// A baseline must give ringplan's owner for every probe, or the comparison is void.
template <class Baseline>
bool agrees_with_ringplan(const Shape& s, const Baseline& baseline) {
    const Ring& ring = ring_of(s);
    for (Token t : probes()) {
        if (baseline.owner_at(t) != ring.owner_at(t)) {
            return false;
        }
    }
    return true;
}

template <class Baseline>
bool checked(benchmark::State& state, const char* impl, const Shape& s, const Baseline& b) {
    static std::set<std::pair<std::string, Shape>> verified;
    if (verified.count({impl, s}) != 0) {
        return true;
    }
    if (!agrees_with_ringplan(s, b)) {
        state.SkipWithError((std::string(impl) + " disagrees with ringplan's owners").c_str());
        return false;
    }
    verified.insert({impl, s});
    return true;
}

double per_vnode(std::size_t bytes, std::size_t vnodes) {
    return static_cast<double>(bytes) / static_cast<double>(vnodes);
}

// ---- owner / owner_latency ----------------------------------------------------------------------

template <bool Latency, class Lookup>
void run(benchmark::State& state, Lookup lookup) {
    if constexpr (Latency) {
        run_owner_latency(state, lookup);
    } else {
        run_owner(state, lookup);
    }
}

template <bool Latency>
void owner_ringplan(benchmark::State& state, Shape s) {
    const Ring& ring = ring_of(s);
    run<Latency>(state, [&](Token t) { return &ring.owner_at(t); });
    state.counters["bytes_per_vnode"] = per_vnode(ring.memory_usage(), ring.vnode_count());
}

template <bool Latency>
void owner_std_map(benchmark::State& state, Shape s) {
    const CachedMap& m = map_of(s);
    if (!checked(state, "std_map", s, m.ring)) {
        return;
    }
    run<Latency>(state, [&](Token t) { return &m.ring.owner_at(t); });
    state.counters["bytes_per_vnode"] = per_vnode(m.heap_bytes, m.ring.vnode_count());
}

template <bool Latency>
void owner_sorted_vector(benchmark::State& state, Shape s) {
    const SortedVectorRing& v = sorted_of(s);
    if (!checked(state, "sorted_vector", s, v)) {
        return;
    }
    run<Latency>(state, [&](Token t) { return &v.owner_at(t); });
    state.counters["bytes_per_vnode"] = per_vnode(v.memory_usage(), v.vnode_count());
}

template <bool Latency>
void owner_jump(benchmark::State& state, Shape s) {
    const JumpTable& j = jump_of(s);
    run<Latency>(state, [&](Token t) { return &j.owner_at(t); });
    // No vnodes: the node table spread over the ring size it stands in for.
    state.counters["bytes_per_vnode"] = per_vnode(j.memory_usage(), s.total());
}

void owner_batch_ringplan(benchmark::State& state, Shape s) {
    const Ring& ring = ring_of(s);
    const std::vector<Token>& p = probes();
    const std::size_t mask = p.size() - 1;
    std::array<const std::string*, block> out{};
    std::size_t i = 0;
    for (auto _ : state) {
        ring.owners_at(p.data() + (i & mask), block, out.data());
        i += block;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * to_i64(block));
    state.counters["bytes_per_vnode"] = per_vnode(ring.memory_usage(), ring.vnode_count());
}

// Replica lists at rf 3, per probe: the vector form (one allocation, the result), the form
// into caller storage (none), and the sorted-vector ring's walk into caller storage.
constexpr std::size_t replicas_rf = 3;

template <class Replicas>
void run_replicas(benchmark::State& state, Replicas replicas) {
    const std::vector<Token>& p = probes();
    const std::size_t mask = p.size() - 1;
    std::size_t i = 0;
    std::size_t total = 0;
    for (auto _ : state) {
        const Token* t = p.data() + (i & mask);
        for (std::size_t j = 0; j < block; ++j) {
            total += replicas(t[j]);
        }
        i += block;
        benchmark::DoNotOptimize(total);
    }
    state.SetItemsProcessed(state.iterations() * to_i64(block));
}

void replicas_ringplan(benchmark::State& state, Shape s) {
    const Ring& ring = ring_of(s);
    run_replicas(state, [&](Token t) {
        const std::vector<std::string> r = ring.replicas_at(t, ringplan::Rf{replicas_rf});
        return r.size();
    });
}

void replicas_into_ringplan(benchmark::State& state, Shape s) {
    const Ring& ring = ring_of(s);
    const std::string* out[replicas_rf];
    run_replicas(state, [&](Token t) {
        const std::size_t k = ring.replicas_at(t, ringplan::Rf{replicas_rf}, out);
        benchmark::DoNotOptimize(out[0]);
        return k;
    });
}

void replicas_into_sorted_vector(benchmark::State& state, Shape s) {
    const SortedVectorRing& v = sorted_of(s);
    std::uint32_t out[replicas_rf];
    run_replicas(state, [&](Token t) {
        const std::size_t k = v.replicas_at(t, replicas_rf, out);
        benchmark::DoNotOptimize(out[0]);
        return k;
    });
}

// ---- build --------------------------------------------------------------------------------------

// Builds a fresh structure per iteration; tearing it down is not timed.
template <class T, class Build>
void run_build(benchmark::State& state, Build build) {
    for (auto _ : state) {
        auto r = std::make_unique<T>();
        build(*r);
        benchmark::DoNotOptimize(r.get());
        benchmark::ClobberMemory();
        state.PauseTiming();
        r.reset();
        state.ResumeTiming();
    }
}

void build_ringplan(benchmark::State& state, Shape s) {
    const std::vector<std::string> ids = node_ids(s.nodes);
    run_build<Ring>(state, [&](Ring& r) { r.add_nodes(ids, s.vnodes); });
    const Ring& ring = ring_of(s);
    state.counters["bytes_per_vnode"] = per_vnode(ring.memory_usage(), ring.vnode_count());
    state.counters["spread"] = spread_of(ring);
    state.SetItemsProcessed(state.iterations() * to_i64(s.total()));
}

void build_std_map(benchmark::State& state, Shape s) {
    const std::vector<std::string> ids = node_ids(s.nodes);
    run_build<MapRing>(state, [&](MapRing& r) { r.add_nodes(ids, s.vnodes); });
    const CachedMap& m = map_of(s);
    state.counters["bytes_per_vnode"] = per_vnode(m.heap_bytes, m.ring.vnode_count());
    state.counters["spread"] = m.ring.spread(s.nodes);
    state.SetItemsProcessed(state.iterations() * to_i64(s.total()));
}

void build_sorted_vector(benchmark::State& state, Shape s) {
    const std::vector<std::string> ids = node_ids(s.nodes);
    run_build<SortedVectorRing>(state, [&](SortedVectorRing& r) { r.add_nodes(ids, s.vnodes); });
    const SortedVectorRing& v = sorted_of(s);
    state.counters["bytes_per_vnode"] = per_vnode(v.memory_usage(), v.vnode_count());
    state.counters["spread"] = v.spread();
    state.SetItemsProcessed(state.iterations() * to_i64(s.total()));
}

// ---- registration -------------------------------------------------------------------------------

using Fn = void (*)(benchmark::State&, Shape);

void add(const std::string& name, Fn fn, std::size_t nominal, benchmark::TimeUnit unit) {
    benchmark::RegisterBenchmark(name.c_str(), fn, shape_for(nominal))->Unit(unit);
}

const bool registered = [] {
    const std::pair<const char*, std::pair<Fn, Fn>> impls[] = {
        {"ringplan", {owner_ringplan<false>, owner_ringplan<true>}},
        {"std_map", {owner_std_map<false>, owner_std_map<true>}},
        {"sorted_vector", {owner_sorted_vector<false>, owner_sorted_vector<true>}},
        {"jump", {owner_jump<false>, owner_jump<true>}},
    };
    for (const auto& [impl, fns] : impls) {
        for (std::size_t n : lookup_sizes) {
            add(std::string("owner/") + impl + "/" + std::to_string(n), fns.first, n,
                benchmark::kMicrosecond);
        }
    }
    for (const auto& [impl, fns] : impls) {
        for (std::size_t n : lookup_sizes) {
            add(std::string("owner_latency/") + impl + "/" + std::to_string(n), fns.second, n,
                benchmark::kMicrosecond);
        }
    }
    for (std::size_t n : lookup_sizes) {
        add("owner_batch/ringplan/" + std::to_string(n), owner_batch_ringplan, n,
            benchmark::kMicrosecond);
    }
    for (std::size_t n : lookup_sizes) {
        add("replicas/ringplan/" + std::to_string(n), replicas_ringplan, n,
            benchmark::kMicrosecond);
        add("replicas_into/ringplan/" + std::to_string(n), replicas_into_ringplan, n,
            benchmark::kMicrosecond);
        add("replicas_into/sorted_vector/" + std::to_string(n), replicas_into_sorted_vector, n,
            benchmark::kMicrosecond);
    }
    const std::pair<const char*, Fn> builders[] = {
        {"ringplan", build_ringplan},
        {"std_map", build_std_map},
        {"sorted_vector", build_sorted_vector},
    };
    for (const auto& [impl, fn] : builders) {
        for (std::size_t n : lookup_sizes) {
            add(std::string("build/") + impl + "/" + std::to_string(n), fn, n,
                benchmark::kMillisecond);
        }
    }
    return true;
}();

}  // namespace
}  // namespace bench
