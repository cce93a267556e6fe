// Wave scheduling benchmarks (include/ringplan/schedule.hpp), on random move lists: every move
// between two random distinct nodes of "node-<i>", over disjoint random ranges.
//
//   schedule/ringplan/random/<moves>/<nodes>/s<k>    schedule() with max_send = max_recv = k
//   schedule/ringplan/budget/<moves>/<nodes>/s4      the same with k = 4 and a budget of 1/200
//                                                    of the moves' total fraction per wave
//   schedule/ringplan/star/35000                     one node sends 35,000 moves to 1,000
//                                                    others, k = 1: 35,000 waves of one move
//   schedule/reference/...                           the same rows through the scheduler
//                                                    ringplan had before (every wave scanned
//                                                    for every move, tests/schedule_reference.hpp),
//                                                    kept as the baseline; each such row first
//                                                    checks that both make the same waves
//
// Counters: waves, lower_bound and waves_vs_bound (waves / lower_bound, 1 is optimal).
#include "bench_common.hpp"

#include "../tests/schedule_reference.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {
namespace {

using Move = ringplan::Move<std::string>;

enum class Kind { random, budget, star };

struct Row {
    Kind kind;
    std::size_t moves;
    std::size_t nodes;
    std::size_t streams;

    bool operator<(const Row& o) const {
        return std::tie(kind, moves, nodes, streams) <
               std::tie(o.kind, o.moves, o.nodes, o.streams);
    }
};

/// The moves of a row, made once (seeded, so every run schedules the same moves).
const std::vector<Move>& moves_of(const Row& row) {
    static std::map<std::pair<std::size_t, std::size_t>, std::vector<Move>> random_cache;
    static std::vector<Move> star;
    if (row.kind == Kind::star) {
        if (star.empty()) {
            for (std::size_t k = 0; k < row.moves; ++k) {
                star.push_back(Move{ringplan::TokenRange{k * 1000, k * 1000 + 999}, "node-0",
                                    "node-" + std::to_string(1 + k % row.nodes)});
            }
        }
        return star;
    }
    auto& out = random_cache[{row.moves, row.nodes}];
    if (out.empty()) {
        std::mt19937_64 rng(row.moves * 7919 + row.nodes);
        out.reserve(row.moves);
        Token at = 0;
        for (std::size_t k = 0; k < row.moves; ++k) {
            const std::size_t from = rng() % row.nodes;
            std::size_t to = rng() % (row.nodes - 1);
            to += to >= from ? 1 : 0;
            const Token width = 1 + rng() % (Token{1} << 40);
            out.push_back(Move{ringplan::TokenRange{at, at + width - 1},
                               "node-" + std::to_string(from), "node-" + std::to_string(to)});
            at += width;
        }
    }
    return out;
}

ringplan::ScheduleLimits limits_of(const Row& row) {
    ringplan::ScheduleLimits limits{row.streams, row.streams, std::nullopt};
    if (row.kind == Kind::budget) {
        double total = 0;
        for (const Move& m : moves_of(row)) {
            total += m.range.fraction();
        }
        limits.max_fraction = total / 200;
    }
    return limits;
}

void set_counters(benchmark::State& state, const ringplan::Schedule<std::string>& s) {
    state.counters["waves"] = static_cast<double>(s.waves.size());
    state.counters["lower_bound"] = static_cast<double>(s.lower_bound);
    state.counters["waves_vs_bound"] =
        static_cast<double>(s.waves.size()) / static_cast<double>(s.lower_bound);
}

void schedule_bench(benchmark::State& state, Row row) {
    const std::vector<Move>& moves = moves_of(row);
    const ringplan::ScheduleLimits limits = limits_of(row);
    std::size_t waves = 0;
    for (auto _ : state) {
        auto s = ringplan::schedule(moves, limits);
        waves = s.waves.size();
        benchmark::DoNotOptimize(s.waves.data());
    }
    benchmark::DoNotOptimize(waves);
    state.SetItemsProcessed(state.iterations() * to_i64(moves.size()));
    set_counters(state, ringplan::schedule(moves, limits));
}

void schedule_reference_bench(benchmark::State& state, Row row) {
    const std::vector<Move>& moves = moves_of(row);
    const ringplan::ScheduleLimits limits = limits_of(row);
    const auto want = ringplan::schedule(moves, limits);
    if (rp_test::schedule_reference(moves, limits).waves != want.waves) {
        state.SkipWithError("the reference scheduler and ringplan::schedule make different waves");
        return;
    }
    for (auto _ : state) {
        auto s = rp_test::schedule_reference(moves, limits);
        benchmark::DoNotOptimize(s.waves.data());
    }
    state.SetItemsProcessed(state.iterations() * to_i64(moves.size()));
    set_counters(state, want);
}

std::string label(const Row& row) {
    switch (row.kind) {
        case Kind::star:
            return "star/" + std::to_string(row.moves);
        case Kind::budget:
            return "budget/" + std::to_string(row.moves) + "/" + std::to_string(row.nodes) + "/s" +
                   std::to_string(row.streams);
        case Kind::random:
            break;
    }
    return "random/" + std::to_string(row.moves) + "/" + std::to_string(row.nodes) + "/s" +
           std::to_string(row.streams);
}

const bool registered = [] {
    std::vector<Row> rows;
    for (std::size_t moves : {std::size_t{1000}, std::size_t{35000}, std::size_t{200000}}) {
        for (std::size_t nodes : {std::size_t{100}, std::size_t{1000}}) {
            for (std::size_t streams : {std::size_t{1}, std::size_t{4}}) {
                rows.push_back(Row{Kind::random, moves, nodes, streams});
            }
            rows.push_back(Row{Kind::budget, moves, nodes, 4});
        }
    }
    rows.push_back(Row{Kind::star, 35000, 1000, 1});
    for (const Row& row : rows) {
        benchmark::RegisterBenchmark(("schedule/ringplan/" + label(row)).c_str(), schedule_bench,
                                     row)
            ->Unit(benchmark::kMillisecond);
    }
    for (const Row& row : rows) {
        benchmark::RegisterBenchmark(("schedule/reference/" + label(row)).c_str(),
                                     schedule_reference_bench, row)
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
}  // namespace bench
