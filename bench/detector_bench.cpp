// Failure detector benchmarks (ringplan/failure_detector.hpp), for each model with its
// defaults (DetectorOptions::akka(), cassandra(), fixed()):
//
//   detector/heartbeat/<model>  ns per heartbeat: 1000 monitored nodes "node-<i>", round robin,
//                               the clock 1 ms on per call (so each node beats every 1000 ms),
//                               the windows full (warmed up with 1000 rounds first)
//   detector/available/<model>  ns per available(node, now) on that detector, round robin
//   detection/<model>/<load>    a simulated run: one node, heartbeats every 1000 ms with the
//                               load's jitter, crashing (it stops right after a heartbeat)
//                               after every 2000 heartbeats and coming back a second after it
//                               is declared down, 200 crashes (about 111 hours of heartbeats)
//
// Loads: jitter100, jitter200, jitter500 (each gap 1000 ms + uniform [-J, J] ms), and pauses
// (jitter 100, and one gap in 1000 stretched by a stall of uniform [1, 8] s: a GC pause or a
// network hiccup of a node that is alive). Random numbers come from splitmix64, the same on
// every platform. Counters of the detection rows:
//
//   detect_mean_ms, detect_worst_ms   time from the crash (the last heartbeat) to the first ms
//                                     at which available() is false (down_at), over the crashes
//   false_suspicions_per_hour         gaps of the live node during which suspected() became
//                                     true, per hour of live heartbeats
//   false_downs_per_hour              ... during which available() became false
//
// Decisions only move one way within a gap, so a gap is checked at its last ms.
#include "bench_common.hpp"

#include <ringplan/failure_detector.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {
namespace {

using Detector = ringplan::FailureDetector<std::string>;
using ms = std::chrono::milliseconds;

constexpr std::size_t detector_nodes = 1000;

const ringplan::DetectorOptions& model_options(ringplan::DetectorModel model) {
    static const ringplan::DetectorOptions akka = ringplan::DetectorOptions::akka();
    static const ringplan::DetectorOptions cassandra = ringplan::DetectorOptions::cassandra();
    static const ringplan::DetectorOptions fixed = ringplan::DetectorOptions::fixed();
    return model == ringplan::DetectorModel::akka        ? akka
           : model == ringplan::DetectorModel::cassandra ? cassandra
                                                         : fixed;
}

/// A detector of detector_nodes nodes, its ids and its clock, built once per model and shared
/// by the heartbeat and available rows (the heartbeat row moves its clock on).
struct Monitored {
    std::vector<std::string> ids = node_ids(detector_nodes);
    Detector detector;
    std::int64_t now = 0;
    std::size_t next = 0;

    explicit Monitored(ringplan::DetectorModel model) : detector(model_options(model)) {
        for (std::size_t round = 0; round < 1001; ++round) {
            for (const std::string& id : ids) {
                detector.heartbeat(id, ms{now++});
            }
        }
    }
};

Monitored& monitored(ringplan::DetectorModel model) {
    static std::map<ringplan::DetectorModel, std::unique_ptr<Monitored>> cache;
    auto& slot = cache[model];
    if (!slot) {
        slot = std::make_unique<Monitored>(model);
    }
    return *slot;
}

void heartbeat_bench(benchmark::State& state, ringplan::DetectorModel model) {
    Monitored& m = monitored(model);
    for (auto _ : state) {
        m.detector.heartbeat(m.ids[m.next], ms{m.now++});
        m.next = m.next + 1 == m.ids.size() ? 0 : m.next + 1;
    }
    if (!m.detector.available(m.ids[m.next], ms{m.now})) {
        state.SkipWithError("a node beating every second is down");
    }
}

void available_bench(benchmark::State& state, ringplan::DetectorModel model) {
    Monitored& m = monitored(model);
    std::size_t i = 0;
    std::size_t up = 0;
    for (auto _ : state) {
        const bool a = m.detector.available(m.ids[i], ms{m.now});
        benchmark::DoNotOptimize(a);
        up += static_cast<std::size_t>(a);
        i = i + 1 == m.ids.size() ? 0 : i + 1;
    }
    if (up != static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("a node beating every second is down");
    }
}

// splitmix64 (Steele, Lea, Flood 2014).
struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::int64_t uniform(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
        return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }
};

struct Load {
    const char* name;
    std::int64_t jitter;
    bool pauses;
};
constexpr Load loads[] = {
    {"jitter100", 100, false},
    {"jitter200", 200, false},
    {"jitter500", 500, false},
    {"pauses", 100, true},
};

struct DetectionFigures {
    double detect_mean_ms = 0;
    double detect_worst_ms = 0;
    double false_suspicions_per_hour = 0;
    double false_downs_per_hour = 0;
    bool consistent = true;  // down_at agreed with available() at every crash
};

DetectionFigures simulate(ringplan::DetectorModel model, const Load& load) {
    constexpr int crashes = 200;
    constexpr int beats_between = 2000;
    Detector fd(model_options(model));
    SplitMix64 rng{0x5EED + static_cast<std::uint64_t>(load.jitter)};
    std::int64_t t = 0;
    fd.heartbeat("n", ms{t});
    DetectionFigures f;
    std::int64_t live_ms = 0;
    std::uint64_t suspicions = 0;
    std::uint64_t downs = 0;
    double detect_sum = 0;
    for (int c = 0; c < crashes; ++c) {
        for (int i = 0; i < beats_between; ++i) {
            std::int64_t gap = 1000 + rng.uniform(-load.jitter, load.jitter);
            if (load.pauses && rng.next() % 1000 == 0) {
                gap += rng.uniform(1000, 8000);
            }
            suspicions += static_cast<std::uint64_t>(fd.suspected("n", ms{t + gap - 1}));
            downs += static_cast<std::uint64_t>(!fd.available("n", ms{t + gap - 1}));
            live_ms += gap;
            fd.heartbeat("n", ms{t += gap});
        }
        const ms down = *fd.down_at("n");
        f.consistent = f.consistent && !fd.available("n", down) &&
                       (down.count() == t || fd.available("n", down - ms{1}));
        const auto detect = static_cast<double>(down.count() - t);
        detect_sum += detect;
        f.detect_worst_ms = std::max(f.detect_worst_ms, detect);
        // Back a second after it is declared down.
        fd.heartbeat("n", ms{t = down.count() + 1000 + rng.uniform(-load.jitter, load.jitter)});
    }
    const double hours = static_cast<double>(live_ms) / 3.6e6;
    f.detect_mean_ms = detect_sum / crashes;
    f.false_suspicions_per_hour = static_cast<double>(suspicions) / hours;
    f.false_downs_per_hour = static_cast<double>(downs) / hours;
    return f;
}

void detection_bench(benchmark::State& state, ringplan::DetectorModel model, Load load) {
    DetectionFigures f;
    for (auto _ : state) {
        f = simulate(model, load);
        benchmark::DoNotOptimize(f);
    }
    if (!f.consistent) {
        state.SkipWithError("down_at disagrees with available()");
    }
    state.counters["detect_mean_ms"] = f.detect_mean_ms;
    state.counters["detect_worst_ms"] = f.detect_worst_ms;
    state.counters["false_suspicions_per_hour"] = f.false_suspicions_per_hour;
    state.counters["false_downs_per_hour"] = f.false_downs_per_hour;
}

const bool registered = [] {
    for (ringplan::DetectorModel model :
         {ringplan::DetectorModel::akka, ringplan::DetectorModel::cassandra,
          ringplan::DetectorModel::fixed}) {
        const std::string name = ringplan::to_string(model);
        benchmark::RegisterBenchmark(("detector/heartbeat/" + name).c_str(), heartbeat_bench,
                                     model);
        benchmark::RegisterBenchmark(("detector/available/" + name).c_str(), available_bench,
                                     model);
        for (const Load& load : loads) {
            // One simulated run per row: the counters are its figures, the time its cost.
            benchmark::RegisterBenchmark(("detection/" + name + "/" + load.name).c_str(),
                                         detection_bench, model, load)
                ->Iterations(1)
                ->Unit(benchmark::kMillisecond);
        }
    }
    return true;
}();

}  // namespace
}  // namespace bench
