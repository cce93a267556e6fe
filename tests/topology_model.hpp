// The reference model of the replica rules (docs/topology.md), for tests/topology_test.cpp and
// tests/plan_property_test.cpp: literal transcriptions, shared with nothing in include/.
//   nts_server: Cassandra 4.x NetworkTopologyStrategy.calculateNaturalReplicas and
//     DatacenterEndpoints.addEndpointAndCheckIfDone (Java), with maps and sets as there.
//   nts_driver: the DataStax Python driver 3.25's NetworkTopologyStrategy
//     .make_token_replica_map for one token (Python), dicts and sets as there.
#ifndef RINGPLAN_TESTS_TOPOLOGY_MODEL_HPP
#define RINGPLAN_TESTS_TOPOLOGY_MODEL_HPP

#include <ringplan/token.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rp_topo {

using ringplan::Token;
using Nodes = std::vector<std::string>;
using Vnodes = std::vector<std::pair<Token, std::string>>;  // sorted by (token, id)
// node -> (datacenter, rack); "" is no rack.
using Locations = std::map<std::string, std::pair<std::string, std::string>>;
using Rfs = std::map<std::string, int>;

inline bool contains(const Nodes& nodes, const std::string& n) {
    return std::find(nodes.begin(), nodes.end(), n) != nodes.end();
}

// firstTokenIndex: the first vnode with a token >= t, wrapping to 0 (bisect_left).
inline std::size_t first_index(const Vnodes& ring, Token t) {
    std::size_t i = 0;
    while (i < ring.size() && ring[i].first < t) {
        ++i;
    }
    return i == ring.size() ? 0 : i;
}

inline Nodes nts_server(const Vnodes& ring, const Locations& loc, const Rfs& rfs, Token search) {
    // allEndpoints and racks come from the ring's members (TokenMetadata's normal endpoints).
    std::map<std::string, std::set<std::string>> all_endpoints;
    std::map<std::string, std::map<std::string, std::set<std::string>>> racks;
    for (const auto& v : ring) {
        const auto& l = loc.at(v.second);
        all_endpoints[l.first].insert(v.second);
        racks[l.first][l.second].insert(v.second);
    }
    struct DatacenterEndpoints {
        int rf_left;
        int acceptable_rack_repeats;
    };
    Nodes replicas;
    std::set<std::pair<std::string, std::string>> seen_racks;
    std::map<std::string, DatacenterEndpoints> dcs;
    int dcs_to_fill = 0;
    for (const auto& en : rfs) {
        const int rf = en.second;
        const int node_count = static_cast<int>(all_endpoints[en.first].size());
        if (rf <= 0 || node_count <= 0) {
            continue;
        }
        dcs[en.first] = DatacenterEndpoints{std::min(rf, node_count),
                                            rf - static_cast<int>(racks[en.first].size())};
        ++dcs_to_fill;
    }
    if (ring.empty()) {
        return replicas;
    }
    const std::size_t start = first_index(ring, search);
    for (std::size_t k = 0; k < ring.size() && dcs_to_fill > 0; ++k) {
        const std::string& ep = ring[(start + k) % ring.size()].second;
        const auto& location = loc.at(ep);
        auto it = dcs.find(location.first);
        if (it == dcs.end()) {
            continue;
        }
        DatacenterEndpoints& e = it->second;
        // addEndpointAndCheckIfDone
        if (e.rf_left <= 0) {
            continue;  // done(): false
        }
        if (contains(replicas, ep)) {
            continue;
        }
        if (seen_racks.insert(location).second) {
            --e.rf_left;
            replicas.push_back(ep);
            if (e.rf_left <= 0) {
                --dcs_to_fill;
            }
            continue;
        }
        if (e.acceptable_rack_repeats <= 0) {
            continue;
        }
        replicas.push_back(ep);
        --e.acceptable_rack_repeats;
        --e.rf_left;
        if (e.rf_left <= 0) {
            --dcs_to_fill;
        }
    }
    return replicas;
}

// One token's list from make_token_replica_map; a rack of "" is the driver's None. The
// driver's per-datacenter token offsets and its dict order (first appearance in the ring).
inline Nodes nts_driver(const Vnodes& ring, const Locations& loc, const Rfs& rfs, Token search) {
    std::map<std::string, int> dc_rf_map;
    for (const auto& en : rfs) {
        if (en.second > 0) {
            dc_rf_map[en.first] = en.second;
        }
    }
    std::vector<std::string> dc_order;  // dc_to_token_offset's keys, in insertion order
    std::map<std::string, std::vector<std::size_t>> dc_to_token_offset;
    std::map<std::string, std::set<std::string>> dc_racks, hosts_per_dc;
    for (std::size_t i = 0; i < ring.size(); ++i) {
        const auto& host = loc.at(ring[i].second);
        if (dc_to_token_offset.find(host.first) == dc_to_token_offset.end()) {
            dc_order.push_back(host.first);
        }
        dc_to_token_offset[host.first].push_back(i);
        if (!host.first.empty() && !host.second.empty()) {
            dc_racks[host.first].insert(host.second);
            hosts_per_dc[host.first].insert(ring[i].second);
        }
    }
    Nodes replicas;
    if (ring.empty()) {
        return replicas;
    }
    // The driver computes the list of ring[i]; a key's token maps to i by bisect_left.
    const std::size_t i = first_index(ring, search);
    for (const std::string& dc : dc_order) {
        if (dc_rf_map.find(dc) == dc_rf_map.end()) {
            continue;
        }
        const auto& token_offsets = dc_to_token_offset[dc];
        std::size_t index = 0;
        const std::size_t num_tokens = token_offsets.size();
        while (index < num_tokens && token_offsets[index] < i) {
            ++index;
        }
        int replicas_remaining = dc_rf_map[dc];
        std::size_t replicas_this_dc = 0;
        Nodes skipped_hosts;
        std::set<std::string> racks_placed;  // "" stands for None
        const std::size_t racks_this_dc = dc_racks[dc].size();
        const std::size_t hosts_this_dc = hosts_per_dc[dc].size();
        for (std::size_t toi = index; toi < index + num_tokens; ++toi) {
            const std::size_t token_offset_index = toi >= num_tokens ? toi - num_tokens : toi;
            const std::string& host = ring[token_offsets[token_offset_index]].second;
            const std::string& rack = loc.at(host).second;
            if (replicas_remaining == 0 || replicas_this_dc == hosts_this_dc) {
                break;
            }
            if (contains(replicas, host)) {
                continue;
            }
            if (racks_placed.count(rack) > 0 && racks_placed.size() < racks_this_dc) {
                skipped_hosts.push_back(host);
                continue;
            }
            replicas.push_back(host);
            ++replicas_this_dc;
            --replicas_remaining;
            racks_placed.insert(rack);
            if (racks_placed.size() == racks_this_dc) {
                for (const std::string& h : skipped_hosts) {
                    if (replicas_remaining == 0) {
                        break;
                    }
                    replicas.push_back(h);
                    --replicas_remaining;
                }
                skipped_hosts.clear();
            }
        }
    }
    return replicas;
}

// The rack-aware rule: the server's rule with one datacenter holding every node, racks told
// apart by (datacenter, rack).
inline Nodes rack_aware(const Vnodes& ring, const Locations& loc, int rf, Token search) {
    Locations one;
    for (const auto& l : loc) {
        one[l.first] = {"*", l.second.first + '\x1f' + l.second.second};
    }
    return nts_server(ring, one, Rfs{{"*", rf}}, search);
}

}  // namespace rp_topo

#endif  // RINGPLAN_TESTS_TOPOLOGY_MODEL_HPP
