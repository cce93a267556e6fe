// The membership state machine's steady-state costs: a tick that decides nothing and a
// heartbeat, over N members with 1 s heartbeats and Akka's detector. A process calls tick on a
// timer and heartbeat per message, so these bound its overhead.
#include <ringplan/membership.hpp>
#include <ringplan/xxh3.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

// N members that have heartbeated every second for a minute.
ringplan::Membership<> steady(std::size_t n, ringplan::MembershipOptions options) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    ringplan::Membership<> m(ids, 0ms, options);
    for (std::chrono::milliseconds t = 1s; t <= 60s; t += 1s) {
        for (const auto& id : ids) {
            (void)m.heartbeat(id, t);
        }
    }
    return m;
}

ringplan::MembershipOptions options_for(std::int64_t partitions) {
    ringplan::MembershipOptions o;
    o.partitions = static_cast<std::size_t>(partitions);
    return o;
}

// One tick at the time of the last heartbeats: nothing to decide.
void tick_bench(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ringplan::Membership<> m = steady(n, options_for(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(m.tick(60s));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
    state.counters["ns_per_node"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Heartbeats of every member, one second apart.
void heartbeat_bench(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ringplan::Membership<> m = steady(n, options_for(0));
    std::vector<std::string> ids = m.members();
    std::chrono::milliseconds t = 60s;
    for (auto _ : state) {
        t += 1s;
        for (const auto& id : ids) {
            benchmark::DoNotOptimize(m.heartbeat(id, t));
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

// A conviction and its removal with the crash plan, end to end: what one failure costs the
// decider. Ring mode (16 vnodes, rf 3) or 1024 partitions.
void failure_bench(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    ringplan::MembershipOptions o = options_for(state.range(1));
    o.remove_after = 0ms;
    const ringplan::Membership<> base = steady(n, o);
    std::size_t changes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        ringplan::Membership<> m = base;
        // Everyone but node-0 heartbeats once more; node-0 is convicted and removed by the tick.
        for (const auto& id : m.members()) {
            if (id != "node-0") {
                (void)m.heartbeat(id, 70s);
            }
        }
        state.ResumeTiming();
        changes += m.tick(70s).size();
    }
    if (changes != 2 * static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("expected a down and a removal per iteration");
    }
}

}  // namespace

BENCHMARK(tick_bench)->Name("membership/tick")->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(heartbeat_bench)->Name("membership/heartbeat")->Arg(100)->Arg(1000);
BENCHMARK(failure_bench)
    ->Name("membership/failure")
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({100, 1024})
    ->Args({1000, 1024})
    ->Unit(benchmark::kMicrosecond);
