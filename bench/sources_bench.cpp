// Stream-source balance of crash plans (docs/plans.md, "Sources"), rf 3:
//
//   sources/plan_crash/<nodes>x<vnodes>/rf3   plan_crash of node-<nodes/2>; the time is the plan's
//
// Counters, over crashes of 20 different nodes of the same ring (computed once, not timed):
//   balance_median, balance_max   plan.max_sent / plan.optimal_max_sent, the busiest source over
//                                 the splittable optimum with the same candidates
//   greedy_median, greedy_max     the same for the sources the planner chose before balanced
//                                 sources (0.2): for each segment, in descending token order,
//                                 the least-loaded surviving replica so far, recomputed here
//                                 from the rings
#include "bench_common.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {
namespace {

// The busiest source of the greedy choice for a crash of `crashed`, as a ring fraction.
double greedy_max_sent(const Ring& ring, const std::string& crashed, std::size_t rf) {
    Ring after = ring;
    after.remove_node(crashed);
    const ringplan::Rf r{rf};
    std::map<std::string, double> load;
    const std::size_t n = ring.vnode_count();
    const Token* tokens = ring.vnode_tokens();
    // Segments (tokens[i-1], tokens[i]], visited from the top down; the first one wraps.
    // Consecutive segments with the same replica lists are one job, as in the planner.
    std::vector<std::string> pending_before, pending_after;
    double pending_width = 0;
    const auto flush = [&] {
        if (pending_width == 0) {
            return;
        }
        std::vector<std::string> pool;
        for (const auto& id : pending_before) {
            if (id != crashed) {
                pool.push_back(id);
            }
        }
        for (const auto& to : pending_after) {
            if (std::find(pending_before.begin(), pending_before.end(), to) !=
                pending_before.end()) {
                continue;
            }
            std::string from = pool.front();
            for (const auto& c : pool) {
                if (load[c] < load[from]) {
                    from = c;
                }
            }
            load[from] += pending_width;
        }
        pending_width = 0;
    };
    for (std::size_t i = n; i-- > 0;) {
        const Token hi = tokens[i];
        const double width = i == 0
                                 ? (static_cast<double>(tokens[0]) + 1 +
                                    (18446744073709551615.0 - static_cast<double>(tokens[n - 1]))) /
                                       18446744073709551616.0
                                 : static_cast<double>(hi - tokens[i - 1]) / 18446744073709551616.0;
        std::vector<std::string> b = ring.replicas_at(hi, r);
        if (std::find(b.begin(), b.end(), crashed) == b.end()) {
            flush();
            continue;
        }
        std::vector<std::string> a = after.replicas_at(hi, r);
        if (pending_width > 0 && b == pending_before && a == pending_after) {
            pending_width += width;
            continue;
        }
        flush();
        pending_before = std::move(b);
        pending_after = std::move(a);
        pending_width = width;
    }
    flush();
    double most = 0;
    for (const auto& entry : load) {
        most = std::max(most, entry.second);
    }
    return most;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void crash_sources_bench(benchmark::State& state, Shape s) {
    const std::size_t rf = 3;
    const Ring& ring = ring_of(s);
    const std::string node = leaving_node(s);
    for (auto _ : state) {
        auto plan = ringplan::plan_crash(ring, node, ringplan::Rf{rf});
        benchmark::DoNotOptimize(plan.moves.data());
    }
    std::vector<double> balanced, greedy;
    for (std::size_t k = 0; k < 20; ++k) {
        const std::string crashed = "node-" + std::to_string(k * s.nodes / 20);
        const auto plan = ringplan::plan_crash(ring, crashed, ringplan::Rf{rf});
        balanced.push_back(plan.source_balance());
        greedy.push_back(greedy_max_sent(ring, crashed, rf) / plan.optimal_max_sent);
    }
    state.counters["balance_median"] = median(balanced);
    state.counters["balance_max"] = *std::max_element(balanced.begin(), balanced.end());
    state.counters["greedy_median"] = median(greedy);
    state.counters["greedy_max"] = *std::max_element(greedy.begin(), greedy.end());
}

const bool registered = [] {
    const Shape shapes[] = {{100, 4}, {100, 16}, {100, 256}, {1000, 256}};
    for (const Shape& s : shapes) {
        const std::string name = "sources/plan_crash/" + s.label() + "/rf3";
        benchmark::RegisterBenchmark(name.c_str(), crash_sources_bench, s)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace
}  // namespace bench
