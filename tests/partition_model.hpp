// The contract of a partition change, checked on a simulated store: shared by
// tests/partitions_test.cpp and the partition fuzz target (tests/fuzz/partition_ops.hpp).
#ifndef RINGPLAN_TESTS_PARTITION_MODEL_HPP
#define RINGPLAN_TESTS_PARTITION_MODEL_HPP

#include <ringplan/partitions.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rp_model {

using PartitionMap = ringplan::PartitionMap<std::string>;
using PartitionChange = ringplan::PartitionChange<std::string>;

// "" when every partition has min(rf, N) distinct nodes, primary first, and every node's
// replicas and primaries are the floor or ceil of its unweighted share; else what is wrong.
inline std::string unbalanced(const PartitionMap& m) {
    const std::size_t q = m.partition_count();
    const std::size_t n = m.node_count();
    const std::size_t r = std::min(m.rf().value(), n);
    if (m.replica_count() != r) {
        return "replica count " + std::to_string(m.replica_count()) + ", want " + std::to_string(r);
    }
    for (ringplan::PartitionId p = 0; p < q; ++p) {
        std::vector<std::string> list = m.replicas_at(p);
        if (list.size() != r || list[0] != m.primary_at(p)) {
            return "partition-" + std::to_string(p) + " has a malformed list";
        }
        std::sort(list.begin(), list.end());
        if (std::adjacent_find(list.begin(), list.end()) != list.end()) {
            return "partition-" + std::to_string(p) + " lists a node twice";
        }
    }
    for (const auto& load : m.loads()) {
        if (load.replicas < q * r / n || load.replicas > (q * r + n - 1) / n ||
            load.primaries < q / n || load.primaries > (q + n - 1) / n) {
            return load.node + " holds " + std::to_string(load.replicas) + " replicas and " +
                   std::to_string(load.primaries) + " primaries";
        }
    }
    return "";
}

// Bellman-Ford from a virtual source at distance 0 to every vertex, over the residual graph
// whose edges each_edge(relax) lists as relax(from, to, cost): a negative cycle as its
// vertices in order (cycle[i] -> cycle[i + 1], the last back to the first), or empty.
template <class Edges>
std::vector<std::size_t> negative_cycle(std::size_t v, Edges&& each_edge) {
    std::vector<long> dist(v, 0);
    std::vector<std::size_t> pred(v, v);
    std::size_t last = v;
    for (std::size_t pass = 0; pass < v; ++pass) {
        last = v;
        each_edge([&](std::size_t a, std::size_t b, long c) {
            if (dist[a] + c < dist[b]) {
                dist[b] = dist[a] + c;
                pred[b] = a;
                last = b;
            }
        });
        if (last == v) {
            return {};
        }
    }
    for (std::size_t i = 0; i < v; ++i) {
        last = pred[last];  // walk back into the cycle
    }
    std::vector<std::size_t> cycle{last};
    for (std::size_t x = pred[last]; x != last; x = pred[x]) {
        cycle.push_back(x);
    }
    std::reverse(cycle.begin(), cycle.end());
    return cycle;
}

// The fewest full copies any balanced unweighted map of `ch.map`'s members needs from `old`
// (ignoring which replica is primary), found by cancelling negative cycles in the residual graph
// of `ch.map` seen as a min-cost flow: partition -> node edges cost 1 when the node does not
// hold the partition's data (a live old replica, still a member), else 0; lost partitions cost
// nothing. Node -> node edges move a round-up slot from a ceil node to a floor node. A map with
// no negative cycle is optimal (Klein's cycle-cancelling criterion), so this is exact even where
// `minimum_copies`, which counts each node's target alone, is not reachable.
inline std::size_t optimal_copies(const PartitionMap& old, const PartitionChange& ch,
                                  const std::set<std::string>& failed) {
    const PartitionMap& next = ch.map;
    const std::size_t q = next.partition_count();
    const std::size_t n = next.node_count();
    const std::size_t r = next.replica_count();
    std::vector<std::string> ids;
    for (const auto& load : next.loads()) {
        ids.push_back(load.node);
    }
    std::sort(ids.begin(), ids.end());
    const auto index_of = [&](const std::string& id) {
        return static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
    };
    std::vector<std::vector<char>> in(q, std::vector<char>(n, 0)), cost(q, std::vector<char>(n, 1));
    std::vector<std::size_t> load(n, 0);
    for (ringplan::PartitionId p = 0; p < q; ++p) {
        bool live = false;
        for (const std::string& h : old.replicas_at(p)) {
            if (failed.count(h) == 0 && std::binary_search(ids.begin(), ids.end(), h)) {
                cost[p][index_of(h)] = 0;
            }
            live = live || failed.count(h) == 0;
        }
        if (!live) {
            std::fill(cost[p].begin(), cost[p].end(), 0);
        }
        for (const std::string& h : next.replicas_at(p)) {
            in[p][index_of(h)] = 1;
            ++load[index_of(h)];
        }
    }
    const std::size_t floor = q * r / n;
    // Vertices: partitions 0..q-1, then nodes q..q+n-1.
    const std::size_t v = q + n;
    for (;;) {
        const std::vector<std::size_t> cycle = negative_cycle(v, [&](const auto& relax) {
            for (std::size_t p = 0; p < q; ++p) {
                for (std::size_t k = 0; k < n; ++k) {
                    if (in[p][k] != 0) {
                        relax(q + k, p, -long{cost[p][k]});  // take k off p
                    } else {
                        relax(p, q + k, long{cost[p][k]});  // put k on p
                    }
                }
            }
            for (std::size_t a = 0; a < n; ++a) {
                for (std::size_t b = 0; b < n; ++b) {
                    if (load[a] == floor && load[b] > floor) {
                        relax(q + a, q + b, 0);  // a takes b's round-up
                    }
                }
            }
        });
        if (cycle.empty()) {
            break;
        }
        for (std::size_t i = 0; i < cycle.size(); ++i) {
            const std::size_t a = cycle[i], b = cycle[(i + 1) % cycle.size()];
            if (a < q && b >= q) {
                in[a][b - q] = 1;
                ++load[b - q];
            } else if (a >= q && b < q) {
                in[b][a - q] = 0;
                --load[a - q];
            }
        }
    }
    std::size_t copies = 0;
    for (std::size_t p = 0; p < q; ++p) {
        for (std::size_t k = 0; k < n; ++k) {
            copies += in[p][k] != 0 && cost[p][k] != 0 ? 1U : 0U;
        }
    }
    return copies;
}

// optimal_copies for rack-aware maps: the fewest full copies any balanced unweighted map of
// `ch.map`'s members with r distinct racks per partition needs from `old`. `ch.map` must repeat
// no rack (the start of the search). The same cycle cancelling, with a layer of (partition,
// rack) vertices between partitions and nodes, of capacity 1: a partition uses a rack at most
// once, which keeps the problem a plain min-cost flow. `rack[k]` is node k's rack (nodes in
// ascending order), below `racks`.
inline std::size_t optimal_rack_copies(const PartitionMap& old, const PartitionChange& ch,
                                       const std::set<std::string>& failed,
                                       const std::vector<std::size_t>& rack, std::size_t racks) {
    const PartitionMap& next = ch.map;
    const std::size_t q = next.partition_count();
    const std::size_t n = next.node_count();
    // in[p * n + k]: k holds p in the map searched; pays[p * n + k]: 0 if k holds p's data.
    std::vector<char> in(q * n, 0), pays(q * n, 1), used(q * racks, 0);
    std::vector<std::size_t> load(n, 0);
    for (ringplan::PartitionId p = 0; p < q; ++p) {
        bool live = false;
        for (const std::string& h : old.replicas_at(p)) {
            const std::size_t k = next.find_node(h);
            if (failed.count(h) == 0 && k < n) {
                pays[p * n + k] = 0;
            }
            live = live || failed.count(h) == 0;
        }
        for (std::size_t k = 0; k < n && !live; ++k) {
            pays[p * n + k] = 0;
        }
        const std::uint32_t* s = next.replica_indices_at(p);
        for (std::size_t i = 0; i < next.replica_count(); ++i) {
            in[p * n + s[i]] = 1;
            used[p * racks + rack[s[i]]] = 1;
            ++load[s[i]];
        }
    }
    const std::size_t floor = q * next.replica_count() / n;
    // Vertices: partitions, then (partition, rack) pairs, then nodes.
    const auto pair_at = [&](std::size_t p, std::size_t g) { return q + p * racks + g; };
    const std::size_t node0 = q + q * racks;
    const std::size_t v = node0 + n;
    for (;;) {
        const std::vector<std::size_t> cycle = negative_cycle(v, [&](const auto& relax) {
            for (std::size_t p = 0; p < q; ++p) {
                for (std::size_t g = 0; g < racks; ++g) {
                    if (used[p * racks + g] != 0) {
                        relax(pair_at(p, g), p, 0);  // p gives rack g up
                    } else {
                        relax(p, pair_at(p, g), 0);  // p takes rack g
                    }
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const long c = pays[p * n + k];
                    if (in[p * n + k] != 0) {
                        relax(node0 + k, pair_at(p, rack[k]), -c);
                    } else {
                        relax(pair_at(p, rack[k]), node0 + k, c);
                    }
                }
            }
            for (std::size_t a = 0; a < n; ++a) {
                for (std::size_t b = 0; b < n; ++b) {
                    if (load[a] == floor && load[b] > floor) {
                        relax(node0 + a, node0 + b, 0);  // a takes b's round-up
                    }
                }
            }
        });
        if (cycle.empty()) {
            break;
        }
        for (std::size_t i = 0; i < cycle.size(); ++i) {
            const std::size_t a = cycle[i], b = cycle[(i + 1) % cycle.size()];
            if (a < q && b >= q && b < node0) {
                used[b - q] = 1;
            } else if (a >= q && a < node0 && b < q) {
                used[a - q] = 0;
            } else if (a >= q && a < node0 && b >= node0) {
                in[(a - q) / racks * n + (b - node0)] = 1;
                ++load[b - node0];
            } else if (a >= node0 && b >= q && b < node0) {
                in[(b - q) / racks * n + (a - node0)] = 0;
                --load[a - node0];
            }
        }
    }
    std::size_t copies = 0;
    for (std::size_t i = 0; i < q * n; ++i) {
        copies += in[i] != 0 && pays[i] != 0 ? 1U : 0U;
    }
    return copies;
}

// Runs `ch`'s events, in order, on a store laid out by `old` without the failed nodes, and
// returns the first broken rule, or "" when:
//   - the events come as lost, then copies and catch-ups, then promotions, then drops;
//   - lost exactly when the partition has no live holder;
//   - a copy goes to a node of the new list that does not hold the partition, a catch-up to a
//     returning holder; their sources are every live holder from before the step but the
//     receiver, and each holds the data when the event runs;
//   - a promotion names the new primary, which holds the partition by then;
//   - a drop removes a holder the new list does not name, and leaves at least
//     min(holders before, new list size) holders (make-before-break);
//   - afterwards every partition that is not lost is held by exactly its new list, a changed
//     primary was announced, and `copies` and `lost` count the events.
inline std::string check_change(const PartitionMap& old, const PartitionChange& ch,
                                const std::set<std::string>& failed,
                                const std::set<std::string>& returning) {
    using ringplan::PartitionAction;
    const std::size_t q = old.partition_count();
    if (ch.map.partition_count() != q) {
        return "the new map has another partition count";
    }
    std::vector<std::set<std::string>> holders(q);
    for (ringplan::PartitionId p = 0; p < q; ++p) {
        for (const std::string& h : old.replicas_at(p)) {
            if (failed.count(h) == 0) {
                holders[p].insert(h);
            }
        }
    }
    const std::vector<std::set<std::string>> start = holders;
    std::vector<bool> is_lost(q, false);
    std::vector<bool> promoted(q, false);
    int phase = 0;
    std::size_t copies = 0, lost = 0;
    for (const auto& e : ch.events) {
        const std::string where = std::string(ringplan::to_string(e.action)) + " partition-" +
                                  std::to_string(e.partition) + " " + e.node + ": ";
        if (e.partition >= q) {
            return where + "no such partition";
        }
        const int ph = e.action == PartitionAction::lost      ? 0
                       : e.action == PartitionAction::promote ? 2
                       : e.action == PartitionAction::drop    ? 3
                                                              : 1;
        if (ph < phase) {
            return where + "out of order";
        }
        phase = ph;
        auto& h = holders[e.partition];
        const std::vector<std::string> target = ch.map.replicas_at(e.partition);
        const bool in_target = std::find(target.begin(), target.end(), e.node) != target.end();
        switch (e.action) {
            case PartitionAction::lost:
                if (!h.empty()) {
                    return where + "reported lost, but a live node holds it";
                }
                is_lost[e.partition] = true;
                ++lost;
                break;
            case PartitionAction::copy:
            case PartitionAction::catch_up: {
                if (is_lost[e.partition] || !in_target) {
                    return where + "a transfer to a node the new map does not list";
                }
                if (e.action == PartitionAction::copy && h.count(e.node) != 0) {
                    return where + "a copy to a node that holds it";
                }
                if (e.action == PartitionAction::catch_up &&
                    (h.count(e.node) == 0 || returning.count(e.node) == 0)) {
                    return where + "a catch-up to a node that is not a returning holder";
                }
                std::set<std::string> want = start[e.partition];
                want.erase(e.node);
                if (e.sources.empty() || e.sources.size() != want.size() ||
                    std::set<std::string>(e.sources.begin(), e.sources.end()) != want) {
                    return where + "the sources are not every live holder";
                }
                for (const std::string& s : e.sources) {
                    if (h.count(s) == 0) {
                        return where + "source " + s + " lacks the data";
                    }
                }
                h.insert(e.node);
                copies += e.action == PartitionAction::copy ? 1 : 0;
                break;
            }
            case PartitionAction::promote:
                if (h.count(e.node) == 0 || target[0] != e.node) {
                    return where + "a promotion of a node that is not the holding new primary";
                }
                promoted[e.partition] = true;
                break;
            case PartitionAction::drop: {
                if (h.count(e.node) == 0 || in_target) {
                    return where + "a drop of a node that is no holder, or stays";
                }
                h.erase(e.node);
                if (h.size() < std::min(start[e.partition].size(), target.size())) {
                    return where + "fewer holders than before the step";
                }
                break;
            }
        }
    }
    for (ringplan::PartitionId p = 0; p < q; ++p) {
        const std::string where = "partition-" + std::to_string(p) + ": ";
        const std::vector<std::string> target = ch.map.replicas_at(p);
        if (is_lost[p]) {
            if (!holders[p].empty()) {
                return where + "lost, yet held";
            }
            continue;
        }
        if (holders[p] != std::set<std::string>(target.begin(), target.end())) {
            return where + "the events do not yield the new map";
        }
        const std::vector<std::string> was = old.replicas_at(p);
        if ((was[0] != target[0] || failed.count(was[0]) != 0) && !promoted[p]) {
            return where + "the new primary was not announced";
        }
    }
    if (copies != ch.copies || lost != ch.lost) {
        return "the counts do not match the events";
    }
    return "";
}

// ---- racks (tests/partition_racks_test.cpp and the fuzz target) ------------------------------

// A node's rack as the rule sees it: its (datacenter, rack), or the node alone without a rack.
inline std::string rack_key(const ringplan::Topology<std::string>& t, const std::string& node) {
    const ringplan::Location& l = t.at(node);
    return l.rack.empty() ? "#" + node : l.datacenter + "/" + l.rack;
}

// Over partitions of `m`: the rack excess (r less the distinct racks a partition has) and the
// partitions with a repeated rack.
inline std::pair<std::size_t, std::size_t> rack_repeats(const PartitionMap& m,
                                                        const ringplan::Topology<std::string>& t) {
    std::size_t excess = 0, shared = 0;
    for (ringplan::PartitionId p = 0; p < m.partition_count(); ++p) {
        std::set<std::string> racks;
        for (const std::string& n : m.replicas_at(p)) {
            racks.insert(rack_key(t, n));
        }
        excess += m.replica_count() - racks.size();
        shared += racks.size() < m.replica_count() ? 1u : 0u;
    }
    return {excess, shared};
}
inline std::size_t rack_excess(const PartitionMap& m, const ringplan::Topology<std::string>& t) {
    return rack_repeats(m, t).first;
}
inline std::size_t shared_partitions(const PartitionMap& m,
                                     const ringplan::Topology<std::string>& t) {
    return rack_repeats(m, t).second;
}

// Each member's rack as a number (in order of first sight by id), for optimal_rack_copies;
// `racks` receives their count.
inline std::vector<std::size_t> rack_numbers(const PartitionMap& m,
                                             const ringplan::Topology<std::string>& t,
                                             std::size_t& racks) {
    std::map<std::string, std::size_t> index;
    std::vector<std::size_t> rack;
    for (const std::string& node : m.nodes()) {
        rack.push_back(index.emplace(rack_key(t, node), index.size()).first->second);
    }
    racks = index.size();
    return rack;
}

// The least rack excess of any balanced unweighted map of `nodes` (0: the racks allow r
// distinct racks per partition). Each node holds floor(Q r / N), `extra` of them one more; a
// rack of s nodes holds s floor(Q r / N) plus its round-ups, and any rack holding T > Q
// replicas repeats in T - Q of them. Round-ups go to racks with room first. Zero is also
// enough: a 0/1 partition x rack matrix with rows r and columns at most Q always exists.
inline std::size_t least_excess(const std::vector<std::string>& nodes,
                                const ringplan::Topology<std::string>& t, std::size_t q,
                                std::size_t rf) {
    const std::size_t n = nodes.size();
    const std::size_t r = std::min(rf, n);
    const std::size_t floor = q * r / n;
    const std::size_t extra = q * r % n;
    std::map<std::string, std::size_t> size;
    for (const std::string& node : nodes) {
        ++size[rack_key(t, node)];
    }
    std::size_t excess = 0, room = 0;
    for (const auto& [rack, s] : size) {
        const std::size_t base = s * floor;
        excess += base > q ? base - q : 0;
        room += extra == 0 ? 0 : std::min(s, base < q ? q - base : 0);
    }
    return excess + (extra > room ? extra - room : 0);
}

}  // namespace rp_model

#endif  // RINGPLAN_TESTS_PARTITION_MODEL_HPP
