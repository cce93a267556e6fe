// The ringplan demo: a 10-node cluster with 256 vnodes per node. Prints each node's share of
// the ring and the spread (max/mean), then the owner and replicas of a few keys.
#include <ringplan/ringplan.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

int main() {
    constexpr int node_count = 10;
    constexpr std::uint32_t vnodes = 256;
    constexpr std::size_t rf = 3;

    std::vector<std::string> ids;
    for (int i = 0; i < node_count; ++i) {
        ids.push_back("node-" + std::to_string(i));
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
        const auto replicas = ring.replicas(key, rf);
        std::string list;
        for (const auto& r : replicas) {
            list += (list.empty() ? "" : ", ") + r;
        }
        std::printf("%-16s %-20llu %-8s %s\n", key,
                    static_cast<unsigned long long>(ringplan::Ring<>::key_token(key)),
                    ring.owner(key).c_str(), list.c_str());
    }
    std::printf(
        "\nsuccessor of the vnode owning \"user:1001\": %s (takes its range if %s leaves)\n",
        ring.successor("user:1001").c_str(), ring.owner("user:1001").c_str());
    return 0;
}
