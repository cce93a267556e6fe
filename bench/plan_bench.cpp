// Migration planning benchmarks, on rings of 256 vnodes per node (40x256, 400x256, 3900x256):
//
//   plan_leave/ringplan/<nodes>x<vnodes>/rf<r>  plan_leave of one node
//   plan_crash/ringplan/...                     plan_crash of the same node
//   diff/ringplan/...                           diff(ring, ring without the node): one merge of
//                                               the two whole rings
//   plan_naive/sorted_vector/...                the baseline a user without ringplan writes:
//                                               the replica sets of 10^6 keys in both rings
//   project_keys/ringplan/<keys>                ringplan::project_keys<ringplan::Xxh3>(plan, keys)
//   of string keys, hashing
//                                               included, for a leave of one of 10 x 256 nodes
//                                               with rf = 3
//
//   skewed/<plan>/1+<big>/rf2                  a plan of a 1-vnode node beside one of <big>
//                                               vnodes: time must not grow with <big>
//   skewed/hint_return_all/3x<v>                hint return with 3 nodes, rf 3
//
// moved_vs_optimum is the plan's moved fraction over replicated_share(ring, node,
// ringplan::Rf{rf}): 1 means nothing moved that did not have to.
#include "bench_common.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t naive_keys = 1000000;

/// The keys of the plan_naive and project_keys rows: "key:<i>".
const std::vector<std::string>& string_keys(std::size_t n) {
    static std::map<std::size_t, std::vector<std::string>> cache;
    auto& keys = cache[n];
    if (keys.empty()) {
        keys.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back("key:" + std::to_string(i));
        }
    }
    return keys;
}

/// The tokens of naive_keys keys, hashed once: plan_naive does not pay for hashing.
const std::vector<Token>& key_tokens() {
    static const std::vector<Token> tokens = [] {
        const std::vector<std::string>& keys = string_keys(naive_keys);
        std::vector<Token> t(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            t[i] = Ring::key_token(keys[i]);
        }
        return t;
    }();
    return tokens;
}

void set_moved_vs_optimum(benchmark::State& state, double moved, const Ring& ring,
                          const std::string& node, std::size_t rf) {
    state.counters["moved_vs_optimum"] =
        moved / ringplan::replicated_share(ring, node, ringplan::Rf{rf});
}

void plan_leave_bench(benchmark::State& state, Shape s, std::size_t rf) {
    const Ring& ring = ring_of(s);
    const std::string node = leaving_node(s);
    for (auto _ : state) {
        auto plan = ringplan::plan_leave(ring, node, ringplan::Rf{rf});
        benchmark::DoNotOptimize(plan.moves.data());
    }
    set_moved_vs_optimum(state, ringplan::plan_leave(ring, node, ringplan::Rf{rf}).moved_fraction(),
                         ring, node, rf);
}

void plan_crash_bench(benchmark::State& state, Shape s, std::size_t rf) {
    const Ring& ring = ring_of(s);
    const std::string node = leaving_node(s);
    for (auto _ : state) {
        auto plan = ringplan::plan_crash(ring, node, ringplan::Rf{rf});
        benchmark::DoNotOptimize(plan.moves.data());
    }
    // With rf = 1 a crash moves nothing: everything the node held is lost.
    const auto plan = ringplan::plan_crash(ring, node, ringplan::Rf{rf});
    set_moved_vs_optimum(state, plan.moved_fraction(), ring, node, rf);
    state.counters["lost_vs_optimum"] =
        plan.lost_fraction() / ringplan::replicated_share(ring, node, ringplan::Rf{rf});
}

void diff_bench(benchmark::State& state, Shape s, std::size_t rf) {
    const Ring& before = ring_of(s);
    const Ring& after = ring_without(s);
    const std::string node = leaving_node(s);
    for (auto _ : state) {
        auto plan = ringplan::diff(before, after, ringplan::Rf{rf});
        benchmark::DoNotOptimize(plan.moves.data());
    }
    set_moved_vs_optimum(state, ringplan::diff(before, after, ringplan::Rf{rf}).moved_fraction(),
                         before, node, rf);
}

// ---- plan_naive ---------------------------------------------------------------------------------

struct NaiveMove {
    std::uint32_t key;
    std::uint32_t from;
    std::uint32_t to;
};

/// What a user without ringplan writes: for every key, the replica sets in the old and the new
/// ring (their own sorted-vector ring, allocation-free), and one move per node that gains the
/// key, from a replica that drops out (the leaving node) or else the first old replica.
void naive_plan(const SortedVectorRing& before, const SortedVectorRing& after,
                const std::vector<Token>& keys, std::size_t rf, std::vector<NaiveMove>& moves) {
    moves.clear();
    std::uint32_t rb[8];
    std::uint32_t ra[8];
    for (std::size_t k = 0; k < keys.size(); ++k) {
        const std::size_t nb = before.replicas_at(keys[k], rf, rb);
        const std::size_t na = after.replicas_at(keys[k], rf, ra);
        for (std::size_t a = 0; a < na; ++a) {
            if (std::find(rb, rb + nb, ra[a]) != rb + nb) {
                continue;
            }
            std::uint32_t from = rb[0];
            for (std::size_t b = 0; b < nb; ++b) {
                if (std::find(ra, ra + na, rb[b]) == ra + na) {
                    from = rb[b];
                    break;
                }
            }
            moves.push_back(NaiveMove{static_cast<std::uint32_t>(k), from, ra[a]});
        }
    }
}

const std::pair<SortedVectorRing, SortedVectorRing>& naive_rings(const Shape& s) {
    static std::map<Shape, std::unique_ptr<std::pair<SortedVectorRing, SortedVectorRing>>> cache;
    auto& slot = cache[s];
    if (!slot) {
        const std::string node = leaving_node(s);
        slot = std::make_unique<std::pair<SortedVectorRing, SortedVectorRing>>(
            SortedVectorRing::copy_of(ring_of(s)), SortedVectorRing::copy_of(ring_of(s), &node));
        slot->first.count_nodes();
        slot->second.count_nodes();
    }
    return *slot;
}

void plan_naive_bench(benchmark::State& state, Shape s, std::size_t rf) {
    const auto& [before, after] = naive_rings(s);
    const std::vector<Token>& keys = key_tokens();
    std::vector<NaiveMove> moves;
    moves.reserve(keys.size());
    // The baseline must find exactly the key moves of ringplan's plan, once per row.
    static std::set<std::pair<Shape, std::size_t>> verified;
    if (verified.count({s, rf}) == 0) {
        naive_plan(before, after, keys, rf, moves);
        const auto plan = ringplan::plan_leave(ring_of(s), leaving_node(s), ringplan::Rf{rf});
        if (ringplan::project_tokens(plan, keys).size() != moves.size()) {
            state.SkipWithError("plan_naive and plan_leave disagree on the keys that move");
            return;
        }
        verified.insert({s, rf});
    }
    for (auto _ : state) {
        naive_plan(before, after, keys, rf, moves);
        benchmark::DoNotOptimize(moves.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * to_i64(keys.size()));
    set_moved_vs_optimum(state,
                         static_cast<double>(moves.size()) / static_cast<double>(keys.size()),
                         ring_of(s), leaving_node(s), rf);
}

// ---- project_keys -------------------------------------------------------------------------------

void project_keys_bench(benchmark::State& state, std::size_t n) {
    const Shape s{10, 256};
    static const auto plan = ringplan::plan_leave(ring_of(s), leaving_node(s), ringplan::Rf{3});
    const std::vector<std::string>& keys = string_keys(n);
    std::size_t moved = 0;
    for (auto _ : state) {
        auto out = ringplan::project_keys<ringplan::Xxh3>(plan, keys);
        moved = out.size();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * to_i64(n));
    state.counters["moved_keys"] = static_cast<double>(moved);
}

// ---- registration -------------------------------------------------------------------------------

// Skewed rings: node "small" with 1 vnode beside node "big" with `big` vnodes, rf 2. Every
// range has "small" among its replicas, so before the run index every plan walked the big
// node's vnodes once per segment (8 s at 40,000). Plan time should not grow with `big`.
Ring skewed(std::uint32_t big) {
    Ring ring;
    ring.add_node("small", 1);
    ring.add_node("big", big);
    return ring;
}

void skewed_bench(benchmark::State& state, std::uint32_t big, int kind) {
    const Ring ring = skewed(big);
    Ring without = ring;
    without.remove_node("small");
    const ringplan::Rf rf{2};
    for (auto _ : state) {
        switch (kind) {
            case 0:
                benchmark::DoNotOptimize(ringplan::plan_leave(ring, "small", rf));
                break;
            case 1:
                benchmark::DoNotOptimize(ringplan::plan_crash(ring, "small", rf));
                break;
            case 2:
                benchmark::DoNotOptimize(ringplan::plan_join(without, "small", 1, rf));
                break;
            case 3:
                benchmark::DoNotOptimize(ringplan::plan_hint_return(ring, "small", rf));
                break;
            default:
                benchmark::DoNotOptimize(
                    ringplan::preference_list(ring, "key", ringplan::Rf{3},
                                              [](const std::string& n) { return n != "small"; }));
                break;
        }
    }
}

// Three nodes, rf 3: the returning node is a home replica of every range (11.5 s at 8,192
// vnodes each before; now proportional to the runs of the ring).
void hint_return_all_bench(benchmark::State& state, std::uint32_t vnodes) {
    Ring ring;
    ring.add_nodes({"a", "b", "c"}, vnodes);
    for (auto _ : state) {
        benchmark::DoNotOptimize(ringplan::plan_hint_return(ring, "a", ringplan::Rf{3}));
    }
}

using Fn = void (*)(benchmark::State&, Shape, std::size_t);

const bool registered = [] {
    const std::tuple<const char*, Fn, benchmark::TimeUnit> families[] = {
        {"plan_leave/ringplan/", plan_leave_bench, benchmark::kMicrosecond},
        {"plan_crash/ringplan/", plan_crash_bench, benchmark::kMicrosecond},
        {"diff/ringplan/", diff_bench, benchmark::kMillisecond},
        {"plan_naive/sorted_vector/", plan_naive_bench, benchmark::kMillisecond},
    };
    for (const auto& [prefix, fn, unit] : families) {
        for (std::size_t n : plan_sizes) {
            for (std::size_t rf : {std::size_t{1}, std::size_t{3}}) {
                const Shape s = shape_for(n);
                const std::string name =
                    std::string(prefix) + s.label() + "/rf" + std::to_string(rf);
                benchmark::RegisterBenchmark(name.c_str(), fn, s, rf)->Unit(unit);
            }
        }
    }
    const char* skewed_kinds[] = {"plan_leave", "plan_crash", "plan_join", "plan_hint_return",
                                  "preference_list"};
    for (int kind = 0; kind < 5; ++kind) {
        for (std::uint32_t big : {1000u, 10000u, 100000u}) {
            const std::string name =
                std::string("skewed/") + skewed_kinds[kind] + "/1+" + std::to_string(big) + "/rf2";
            benchmark::RegisterBenchmark(name.c_str(), skewed_bench, big, kind)
                ->Unit(benchmark::kMicrosecond);
        }
    }
    for (std::uint32_t v : {1000u, 8192u}) {
        benchmark::RegisterBenchmark(("skewed/hint_return_all/3x" + std::to_string(v)).c_str(),
                                     hint_return_all_bench, v)
            ->Unit(benchmark::kMillisecond);
    }
    for (std::size_t n : {std::size_t{1000000}, std::size_t{10000000}}) {
        benchmark::RegisterBenchmark(("project_keys/ringplan/" + std::to_string(n)).c_str(),
                                     project_keys_bench, n)
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
}  // namespace bench
