// The partition scenario of ClusterKit's design notes (github.com/skshohagmiah/clusterkit,
// docs/rebalancing.md): node-1, node-2 and node-3 hold 16 partitions with rf 3; node-4 joins
// (it should take 12 of the 48 replicas, 25%); node-3 is killed and its replicas are rebuilt
// from the survivors; node-3 comes back, as a new, empty node, since it was removed. Each step
// is shown side by side: what ringplan's balanced scheme does (rebalance_partitions) and what
// ClusterKit's recompute-and-notify does (ringplan::clusterkit, whose maps are ClusterKit's,
// with the OnPartitionChange calls ClusterKit would make counted from the two maps).
#include <ringplan/ringplan.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Map = ringplan::PartitionMap<std::string>;
using Change = ringplan::PartitionChange<std::string>;
using Options = ringplan::RebalanceOptions<std::string>;

constexpr std::size_t partition_count = 16;
constexpr std::size_t rf = 3;

// The OnPartitionChange calls ClusterKit makes for a change (hooks.go, detectChanges): for each
// partition, one to the new primary if the primary changed, and one to each new non-primary
// replica that was not a non-primary replica before. The calls to a node that already held the
// partition (a replica promoted to primary, a primary demoted to replica) copy nothing new: they
// are spurious.
struct Notifications {
    std::size_t total = 0;
    std::size_t spurious = 0;
};

Notifications clusterkit_notifications(const Map& before, const Map& after,
                                       const std::vector<std::string>& failed) {
    Notifications out;
    for (std::size_t pi = 0; pi < after.partition_count(); ++pi) {
        const auto p = static_cast<ringplan::PartitionId>(pi);
        const std::vector<std::string> old_list = before.replicas_at(p);
        const std::vector<std::string> new_list = after.replicas_at(p);
        for (std::size_t k = 0; k < new_list.size(); ++k) {
            const std::string& node = new_list[k];
            const bool notified =
                k == 0 ? node != old_list[0]
                       : std::find(old_list.begin() + 1, old_list.end(), node) == old_list.end();
            if (!notified) {
                continue;
            }
            ++out.total;
            const bool dead = std::find(failed.begin(), failed.end(), node) != failed.end();
            if (!dead && before.contains(node) && before.holds(p, node)) {
                ++out.spurious;
            }
        }
    }
    return out;
}

// One scheme's side of a step.
struct Side {
    Map map;
    Change change;          // empty for the first step
    Notifications notices;  // copy notifications: ringplan's copy events, or ClusterKit's calls
};

struct Range {
    std::size_t min = std::numeric_limits<std::size_t>::max();
    std::size_t max = 0;
    void add(std::size_t v) {
        min = std::min(min, v);
        max = std::max(max, v);
    }
    std::string text() const { return std::to_string(min) + "-" + std::to_string(max); }
};

std::size_t copies_to(const Change& change, const std::string& node) {
    return static_cast<std::size_t>(
        std::count_if(change.events.begin(), change.events.end(), [&](const auto& e) {
            return e.action == ringplan::PartitionAction::copy && e.node == node;
        }));
}

void print_row(const char* label, const std::string& balanced, const std::string& clusterkit) {
    std::printf("%-36s %10s %11s\n", label, balanced.c_str(), clusterkit.c_str());
}

void print_step(const std::string& title, const Side& b, const Side& c, bool changed) {
    std::printf("\n== %s ==\n", title.c_str());
    print_row("", "balanced", "clusterkit");
    if (changed) {
        const auto n = [](std::size_t v) { return std::to_string(v); };
        print_row("full copies", n(b.change.copies), n(c.change.copies));
        print_row("copy notifications fired", n(b.notices.total), n(c.notices.total));
        print_row("  spurious (node already held it)", n(b.notices.spurious),
                  n(c.notices.spurious));
        print_row("minimum copies (any balanced map)", n(b.change.minimum_copies),
                  n(c.change.minimum_copies));
        print_row("lost partitions", n(b.change.lost), n(c.change.lost));
    }
    Range br, bp, cr, cp;
    for (const auto& l : b.map.loads()) {
        br.add(l.replicas);
        bp.add(l.primaries);
    }
    for (const auto& l : c.map.loads()) {
        cr.add(l.replicas);
        cp.add(l.primaries);
    }
    print_row("replicas per node (min-max)", br.text(), cr.text());
    print_row("primaries per node (min-max)", bp.text(), cp.text());

    std::printf("\n%-8s %-27s %s\n", "", "---------- balanced -------",
                "--------- clusterkit ------");
    std::printf("%-8s %8s %9s %8s %8s %9s %8s\n", "node", "replicas", "primaries", "copied",
                "replicas", "primaries", "copied");
    const auto bl = b.map.loads();
    const auto cl = c.map.loads();
    for (std::size_t i = 0; i < bl.size(); ++i) {
        const std::string& node = bl[i].node;
        std::printf("%-8s %8zu %9zu %8zu %8zu %9zu %8zu\n", node.c_str(), bl[i].replicas,
                    bl[i].primaries, changed ? copies_to(b.change, node) : 0, cl[i].replicas,
                    cl[i].primaries, changed ? copies_to(c.change, node) : 0);
    }
}

void print_events(const Change& change) {
    std::printf("\nringplan's events for the join (balanced), in the order to run them:\n");
    for (const auto& e : change.events) {
        std::string from;
        for (std::size_t k = 0; k < e.sources.size(); ++k) {
            from += (k == 0 ? "from " : k == 1 ? " (or " : ", ") + e.sources[k];
        }
        if (e.sources.size() > 1) {
            from += ")";
        }
        std::printf("  %-8s partition %2u  %-7s %-30s %s\n", ringplan::to_string(e.action),
                    e.partition, e.node.c_str(), from.c_str(), ringplan::to_string(e.reason));
    }
}

// One step for both schemes: the balanced rebalance with ringplan's events, and ClusterKit's
// recompute with the notifications ClusterKit would fire.
void step(const std::string& title, Side& b, Side& c, const std::vector<std::string>& nodes,
          const Options& options, bool show_events) {
    Change bc = ringplan::rebalance_partitions(b.map, nodes, options);
    Change cc = ringplan::clusterkit::rebalance_partitions(c.map, nodes, options);
    // ringplan fires one copy event per full copy; count the ones to a node that held the
    // partition all the same (none, by construction).
    Notifications bn;
    for (const auto& e : bc.events) {
        if (e.action == ringplan::PartitionAction::copy) {
            ++bn.total;
            if (b.map.contains(e.node) && b.map.holds(e.partition, e.node)) {
                ++bn.spurious;
            }
        }
    }
    const Notifications cn = clusterkit_notifications(c.map, cc.map, options.failed);
    b = Side{bc.map, std::move(bc), bn};
    c = Side{cc.map, std::move(cc), cn};
    print_step(title, b, c, true);
    if (show_events) {
        print_events(b.change);
    }
}

void run_scenario() {
    const std::vector<std::string> three = {"node-1", "node-2", "node-3"};
    const std::vector<std::string> four = {"node-1", "node-2", "node-3", "node-4"};
    const std::vector<std::string> survivors = {"node-1", "node-2", "node-4"};

    std::printf(
        "ringplan %d.%d.%d: ClusterKit's partition scenario, %zu partitions, rf %zu\n"
        "balanced: ringplan::assign_partitions / rebalance_partitions and their events\n"
        "clusterkit: ClusterKit's MD5 recompute; its OnPartitionChange fires for the new primary\n"
        "  and each new non-primary replica, also when that node already holds the partition\n"
        "  (a replica promoted to primary, a primary demoted to replica): those are spurious\n",
        RINGPLAN_VERSION_MAJOR, RINGPLAN_VERSION_MINOR, RINGPLAN_VERSION_PATCH, partition_count,
        rf);

    Side b{ringplan::assign_partitions(three, partition_count, ringplan::Rf{rf}), {}, {}};
    Side c{
        ringplan::clusterkit::assign_partitions(three, partition_count, ringplan::Rf{rf}), {}, {}};
    print_step("step 0: node-1, node-2 and node-3 start", b, c, false);

    step("step 1: node-4 joins (25% of the 48 replicas, 12, should move to it)", b, c, four, {},
         true);
    Options killed;
    killed.failed = {"node-3"};
    step("step 2: node-3 is killed; its replicas are rebuilt from the survivors", b, c, survivors,
         killed, false);
    step("step 3: node-3 comes back empty (it was removed: a new join)", b, c, four, {}, false);
}

}  // namespace

int main() {
    try {
        run_scenario();
    } catch (const ringplan::Error& e) {
        std::fprintf(stderr, "partition_scenario: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "partition_scenario: out of memory\n");
        return 1;
    } catch (const std::length_error&) {
        std::fprintf(stderr, "partition_scenario: out of memory\n");
        return 1;
    }
    // printf reports nothing: a full disk or a closed pipe shows only here.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        std::fprintf(stderr, "partition_scenario: could not write the output: %s\n",
                     std::strerror(errno));
        return 2;  // as every example program: 2 for an output that could not be written
    }
    return 0;
}
