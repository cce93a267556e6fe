// The ringplan demo: a 10-node cluster with 256 vnodes per node. Prints each node's share of
// the ring and the spread (max/mean), the owner and replicas of a few keys, then the plans for a
// graceful leave and a crash: what moves, from whom, to whom, and what is lost; and the leave
// plan throttled into waves (8 streams out of the leaving node, 2 into each receiver).
#include <ringplan/ringplan.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Plan = ringplan::Plan<std::string>;

// One plan: the moved fraction against the optimum, what each node sends and receives, what is
// lost, and how many of `keys` move.
void print_plan(const char* title, const Plan& plan, double optimum,
                const std::vector<std::string>& keys) {
    std::printf("\n== %s ==\n", title);
    if (plan.moves.empty()) {
        std::printf("no moves: no surviving replica to copy from\n");
    } else {
        std::printf("%zu moves; moved %.2f%% of the ring, optimum %.2f%% (ratio %.3f)\n",
                    plan.moves.size(), plan.moved_fraction() * 100, optimum * 100,
                    plan.moved_fraction() / optimum);
        std::printf("%-8s %9s %9s\n", "node", "sends", "receives");
        for (const auto& t : plan.traffic()) {
            std::printf("%-8s %8.2f%% %8.2f%%\n", t.node.c_str(), t.sent * 100, t.received * 100);
        }
    }
    std::vector<ringplan::Token> tokens;
    for (const auto& k : keys) {
        tokens.push_back(ringplan::Ring<>::key_token(k));
    }
    const std::size_t moved = ringplan::project_tokens(plan, tokens).size();
    std::printf("of %zu keys, %zu key copies move", keys.size(), moved);
    if (plan.lost.empty()) {
        std::printf("; nothing is lost\n");
    } else {
        std::printf("; LOST: %zu ranges, %.2f%% of the ring, %zu keys (no surviving replica)\n",
                    plan.lost.size(), plan.lost_fraction() * 100,
                    ringplan::lost_tokens(plan, tokens).size());
    }
    if (!plan.under_replicated.empty()) {
        std::printf("under-replicated: %zu ranges\n", plan.under_replicated.size());
    }
}

// The waves of a throttled schedule: how many, against the lower bound, and the first few.
void print_schedule(const Plan& plan, const ringplan::ScheduleLimits& limits) {
    const auto s = ringplan::schedule(plan, limits);
    std::printf(
        "throttled to %zu sends and %zu receives per node at once: %zu waves "
        "(lower bound %zu)\n",
        limits.max_send, limits.max_recv, s.waves.size(), s.lower_bound);
    std::printf("%-6s %6s %9s\n", "wave", "moves", "ring");
    for (std::size_t w = 0; w < s.waves.size(); ++w) {
        if (w == 3 && s.waves.size() > 4) {
            std::printf("...\n");
            w = s.waves.size() - 1;
        }
        double fraction = 0;
        for (const auto& m : s.waves[w]) {
            fraction += m.range.fraction();
        }
        std::printf("%-6zu %6zu %8.2f%%\n", w + 1, s.waves[w].size(), fraction * 100);
    }
}

// The whole demo; main() adds the checks on memory and on the output.
void run_demo() {
    constexpr int node_count = 10;
    constexpr std::uint32_t vnodes = 256;
    constexpr std::size_t rf = 3;

    std::vector<std::string> ids;
    for (int i = 0; i < node_count; ++i) {
        ids.push_back(std::string("node-") + std::to_string(i));
    }
    ringplan::Ring<> ring;  // XXH3-64 placement, std::string node ids
    ring.add_nodes(ids, vnodes);

    std::printf("ringplan %d.%d.%d demo: %zu nodes x %u vnodes = %zu vnodes, hash %s\n\n",
                RINGPLAN_VERSION_MAJOR, RINGPLAN_VERSION_MINOR, RINGPLAN_VERSION_PATCH,
                ring.node_count(), vnodes, ring.vnode_count(), ringplan::Xxh3::name);

    std::printf("%-8s %7s %8s  %s\n", "node", "vnodes", "share", "(ideal 10.00%)");
    double max_share = 0;
    double min_share = 1;
    double sum = 0;
    for (const auto& [id, share] : ring.ownership()) {
        const int bar = static_cast<int>(share * 400 + 0.5);
        std::printf("%-8s %7zu %7.2f%%  %s\n", id.c_str(), ring.vnode_count(id), share * 100,
                    std::string(static_cast<std::size_t>(bar), '#').c_str());
        max_share = std::max(max_share, share);
        min_share = std::min(min_share, share);
        sum += share;
    }
    const double mean = sum / static_cast<double>(ring.node_count());
    std::printf("\nspread: max/mean = %.3f, min/mean = %.3f (1.000 is perfectly even)\n\n",
                max_share / mean, min_share / mean);

    std::printf("%-16s %-20s %-8s %s\n", "key", "token", "owner", "replicas (rf=3)");
    for (const char* key :
         {"user:1001", "user:1002", "cart:77", "session:af09", "img/cat.png", "order:2026-11-21"}) {
        const auto replicas = ring.replicas(key, ringplan::Rf{rf});
        std::string list;
        for (const auto& r : replicas) {
            if (!list.empty()) {
                list += ", ";
            }
            list += r;
        }
        std::printf("%-16s %-20llu %-8s %s\n", key,
                    static_cast<unsigned long long>(ringplan::Ring<>::key_token(key)),
                    ring.owner(key).c_str(), list.c_str());
    }
    std::printf(
        "\nsuccessor of the vnode owning \"user:1001\": %s (takes its range if %s leaves)\n",
        ring.successor("user:1001").c_str(), ring.owner("user:1001").c_str());

    // Plans for node-3 leaving. The optimum is node-3's replicated share: every range it holds
    // a copy of must gain one new replica, and nothing else has to move.
    std::vector<std::string> keys;
    for (int i = 0; i < 100000; ++i) {
        keys.push_back(std::string("key:") + std::to_string(i));
    }
    const std::string gone = "node-3";
    const Plan leave = ringplan::plan_leave(ring, gone, ringplan::Rf{rf});
    print_plan("plan_leave(node-3), rf = 3: node-3 streams its ranges, then goes", leave,
               ringplan::replicated_share(ring, gone, ringplan::Rf{rf}), keys);
    // node-3 sends everything: let it run 8 streams, each receiver 2.
    print_schedule(leave, ringplan::ScheduleLimits{8, 2, std::nullopt});
    print_plan("plan_crash(node-3), rf = 3: rebuilt from the surviving replicas",
               ringplan::plan_crash(ring, gone, ringplan::Rf{rf}),
               ringplan::replicated_share(ring, gone, ringplan::Rf{rf}), keys);
    print_plan("plan_crash(node-3), rf = 1: the only copy is gone",
               ringplan::plan_crash(ring, gone, ringplan::Rf{1}),
               ringplan::replicated_share(ring, gone, ringplan::Rf{1}), keys);
}

}  // namespace

int main() {
    try {
        run_demo();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "demo: out of memory building the ring and its plans\n");
        return 1;
    } catch (const std::length_error&) {
        std::fprintf(stderr, "demo: out of memory building the ring and its plans\n");
        return 1;
    }
    // printf reports nothing: a full disk or a closed pipe shows only here.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        std::fprintf(stderr, "demo: could not write the output: %s\n", std::strerror(errno));
        return 2;
    }
    return 0;
}
