// Cassandra's NetworkTopologyStrategy: Placement in driver order against golden vectors from the
// DataStax Python driver 3.25 (tests/data/compat/nts.txt, made by nts_reference.py), and in
// server order against a transcription of Cassandra 4's Java code written out below. The live
// cross-check against the installed driver is tests/compat/nts_live.py.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"

#include <ringplan/cassandra.hpp>
#include <ringplan/placement.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cassandra = ringplan::cassandra;
using ringplan::DatacenterRf;
using ringplan::ReplicaOrder;
using ringplan::ReplicaPolicy;
using Placement = ringplan::Placement<cassandra::Murmur3Hash, std::string>;
using Names = std::vector<std::string>;

namespace {

Names split_names(const std::string& field) {
    Names out;
    if (field == "-") {
        return out;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = field.find(',', start);
        out.push_back(field.substr(start, comma - start));
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

// Cassandra 4.x, org.apache.cassandra.locator.NetworkTopologyStrategy, written out line by line
// over plain maps and sets (a location is the pair (datacenter, rack); "no rack" is the rack
// name ""): calculateNaturalReplicas and its DatacenterEndpoints.
class ServerModel {
public:
    ServerModel(const std::vector<cassandra::Node>& nodes, const std::vector<DatacenterRf>& rfs) {
        for (const cassandra::Node& n : nodes) {
            for (std::int64_t t : n.tokens) {
                token_to_endpoint_[t] = n.name;  // TokenMetadata's sorted tokens
            }
            location_[n.name] = {n.datacenter, n.rack};
            all_endpoints_[n.datacenter].insert(n.name);  // Topology.getDatacenterEndpoints
            racks_[n.datacenter].insert(n.rack);          // Topology.getDatacenterRacks
        }
        for (const DatacenterRf& d : rfs) {
            datacenters_[d.datacenter] = static_cast<int>(d.rf);
        }
    }

    Names calculate_natural_replicas(std::int64_t search_token) const {
        Names replicas;  // EndpointsForRange.Builder: insertion order, no repeats
        std::set<std::pair<std::string, std::string>> seen_racks;
        int dcs_to_fill = 0;
        std::map<std::string, DatacenterEndpoints> dcs;
        for (const auto& en : datacenters_) {
            const std::string& dc = en.first;
            const int rf = en.second;
            const int node_count = size_or_zero(all_endpoints_, dc);
            if (rf <= 0 || node_count <= 0) {
                continue;
            }
            dcs.emplace(dc, DatacenterEndpoints(rf, size_or_zero(racks_, dc), node_count, &replicas,
                                                &seen_racks));
            ++dcs_to_fill;
        }
        // TokenMetadata.ringIterator(sortedTokens, searchToken, false): from the first token >=
        // searchToken, once round the ring.
        auto it = token_to_endpoint_.lower_bound(search_token);
        for (std::size_t i = 0; dcs_to_fill > 0 && i < token_to_endpoint_.size(); ++i) {
            if (it == token_to_endpoint_.end()) {
                it = token_to_endpoint_.begin();
            }
            const std::string& ep = it->second;
            ++it;
            const auto& location = location_.at(ep);
            const auto dc_endpoints = dcs.find(location.first);
            if (dc_endpoints != dcs.end() &&
                dc_endpoints->second.add_endpoint_and_check_if_done(ep, location)) {
                --dcs_to_fill;
            }
        }
        return replicas;
    }

private:
    struct DatacenterEndpoints {
        Names* replicas;
        std::set<std::pair<std::string, std::string>>* racks;
        int rf_left;
        int acceptable_rack_repeats;

        DatacenterEndpoints(int rf, int rack_count, int node_count, Names* replicas_,
                            std::set<std::pair<std::string, std::string>>* racks_)
            : replicas(replicas_),
              racks(racks_),
              rf_left(std::min(rf, node_count)),
              acceptable_rack_repeats(rf - rack_count) {}

        bool add_endpoint_and_check_if_done(const std::string& ep,
                                            const std::pair<std::string, std::string>& location) {
            if (done()) {
                return false;
            }
            if (std::find(replicas->begin(), replicas->end(), ep) != replicas->end()) {
                return false;  // Cannot repeat a node.
            }
            if (racks->insert(location).second) {
                --rf_left;  // New rack.
                replicas->push_back(ep);
                return done();
            }
            if (acceptable_rack_repeats <= 0) {
                return false;  // There must be rfLeft distinct racks left.
            }
            replicas->push_back(ep);
            --acceptable_rack_repeats;
            --rf_left;
            return done();
        }
        bool done() const { return rf_left == 0; }
    };

    template <class Map>
    static int size_or_zero(const Map& m, const std::string& dc) {
        const auto it = m.find(dc);
        return it == m.end() ? 0 : static_cast<int>(it->second.size());
    }

    std::map<std::int64_t, std::string> token_to_endpoint_;
    std::map<std::string, std::pair<std::string, std::string>> location_;
    std::map<std::string, std::set<std::string>> all_endpoints_;
    std::map<std::string, std::set<std::string>> racks_;
    std::map<std::string, int> datacenters_;
};

struct GoldenCluster {
    std::string name;
    std::vector<cassandra::Node> nodes;
    std::vector<DatacenterRf> rfs;
    // A key ('-' for an exact token line), its token and the driver's replicas.
    struct Lookup {
        std::string key;
        bool exact = false;
        std::int64_t token = 0;
        Names replicas;
    };
    std::vector<Lookup> lookups;
};

std::vector<GoldenCluster> read_clusters() {
    std::vector<GoldenCluster> out;
    for (const auto& row : rp_test::read_golden("compat/nts.txt")) {
        if (row[0][0] == '#') {
            continue;
        }
        if (row[0] == "cluster") {
            REQUIRE(row.size() == 2);
            out.emplace_back();
            out.back().name = row[1];
            continue;
        }
        REQUIRE(!out.empty());
        GoldenCluster& c = out.back();
        if (row[0] == "rf") {
            for (std::size_t i = 1; i < row.size(); ++i) {
                const std::size_t colon = row[i].find(':');
                REQUIRE(colon != std::string::npos);
                c.rfs.push_back({row[i].substr(0, colon),
                                 static_cast<std::uint32_t>(std::stoul(row[i].substr(colon + 1)))});
            }
        } else if (row[0] == "node") {
            REQUIRE(row.size() == 5);
            cassandra::Node n{row[1], {}, row[2], row[3] == "-" ? "" : row[3]};
            for (const std::string& t : split_names(row[4])) {
                n.tokens.push_back(std::stoll(t));
            }
            c.nodes.push_back(std::move(n));
        } else if (row[0] == "key") {
            REQUIRE(row.size() == 4);
            const auto bytes = rp_test::from_hex(row[1]);
            c.lookups.push_back({std::string(bytes.begin(), bytes.end()), false, std::stoll(row[2]),
                                 split_names(row[3])});
        } else {
            REQUIRE(row[0] == "token");
            REQUIRE(row.size() == 3);
            c.lookups.push_back({std::string(), true, std::stoll(row[1]), split_names(row[2])});
        }
    }
    return out;
}

// The replicas of `list` that are in datacenter `dc`.
Names in_dc(const Names& list, const std::string& dc, const ringplan::Topology<>& topology) {
    Names out;
    for (const std::string& n : list) {
        if (topology.at(n).datacenter == dc) {
            out.push_back(n);
        }
    }
    return out;
}

bool all_racked(const std::string& dc, const ringplan::Topology<>& topology) {
    return std::all_of(topology.begin(), topology.end(), [&](const auto& e) {
        return e.second.datacenter != dc || !e.second.rack.empty();
    });
}

bool has_repeat(Names list) {
    std::sort(list.begin(), list.end());
    return std::adjacent_find(list.begin(), list.end()) != list.end();
}

}  // namespace

TEST_CASE("NetworkTopologyStrategy matches the DataStax driver and Cassandra's server code",
          "[compat][cassandra][nts][golden]") {
    const auto clusters = read_clusters();
    REQUIRE(clusters.size() >= 70);
    std::size_t lookups = 0;
    std::size_t exact = 0;
    std::size_t repeats = 0;     // driver lists that name a host twice
    std::size_t set_checks = 0;  // (lookup, datacenter) pairs whose sets were compared
    std::size_t differ = 0;      // of those, where the driver has fewer hosts
    std::size_t order_differs = 0;
    for (const GoldenCluster& c : clusters) {
        INFO("cluster " << c.name);
        const auto ring = cassandra::build_ring(c.nodes);
        const auto topology = cassandra::build_topology(c.nodes);
        const Placement driver(ring, topology,
                               ReplicaPolicy::network_topology(c.rfs, ReplicaOrder::driver));
        const Placement server(ring, topology,
                               ReplicaPolicy::network_topology(c.rfs, ReplicaOrder::server));
        const ServerModel model(c.nodes, c.rfs);
        for (const auto& l : c.lookups) {
            INFO("token " << l.token);
            const ringplan::Token t = cassandra::token_to_unsigned(l.token);
            if (l.exact) {
                ++exact;  // a node's own token: the range that node's token ends
            } else {
                REQUIRE(cassandra::key_token(l.key) == l.token);
                REQUIRE(driver.replicas(l.key) == l.replicas);
            }
            REQUIRE(driver.replicas_at(t) == l.replicas);
            const Names server_list = server.replicas_at(t);
            REQUIRE(server_list == model.calculate_natural_replicas(l.token));
            ++lookups;
            repeats += has_repeat(l.replicas) ? 1u : 0u;
            order_differs += server_list != l.replicas ? 1u : 0u;
            // Per datacenter whose nodes all have racks: the driver's hosts are some of the
            // server's, and all of them unless the driver names a host twice (a host skipped at
            // two of its tokens before every rack had a replica is then added twice).
            for (const DatacenterRf& d : c.rfs) {
                if (!all_racked(d.datacenter, topology)) {
                    continue;
                }
                Names mine = in_dc(l.replicas, d.datacenter, topology);
                Names theirs = in_dc(server_list, d.datacenter, topology);
                const bool repeated = has_repeat(mine);
                std::sort(mine.begin(), mine.end());
                mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
                std::sort(theirs.begin(), theirs.end());
                CHECK(std::includes(theirs.begin(), theirs.end(), mine.begin(), mine.end()));
                if (!repeated) {
                    CHECK(mine == theirs);
                } else {
                    differ += mine.size() < theirs.size() ? 1u : 0u;
                }
                ++set_checks;
            }
        }
    }
    // nts.txt as made: 3288 lookups (458 on node tokens), 5120 datacenter sets compared, 90
    // driver lists naming a host twice (30 sets smaller than the server's), 1891 lists whose
    // order differs between driver and server.
    CHECK(lookups >= 3000);
    CHECK(exact >= 400);
    CHECK(set_checks >= 5000);
    CHECK(repeats >= 80);
    CHECK(differ >= 25);
    CHECK(order_differs >= 1000);
}

TEST_CASE("NetworkTopologyStrategy: the driver places nothing in a datacenter without racks",
          "[compat][cassandra][nts]") {
    // The driver counts only hosts with a rack (hosts_this_dc), so with none it stops at once;
    // the server takes "no rack" as one rack.
    const std::vector<cassandra::Node> nodes = {
        {"a1", {-100}, "dc1", ""}, {"a2", {100}, "dc1", ""}, {"b1", {0}, "dc2", "r1"}};
    const auto ring = cassandra::build_ring(nodes);
    const auto topology = cassandra::build_topology(nodes);
    const std::vector<DatacenterRf> rfs = {{"dc1", 2}, {"dc2", 1}};
    const Placement driver(ring, topology,
                           ReplicaPolicy::network_topology(rfs, ReplicaOrder::driver));
    const Placement server(ring, topology,
                           ReplicaPolicy::network_topology(rfs, ReplicaOrder::server));
    CHECK(driver.replicas_at(cassandra::token_to_unsigned(-100)) == Names{"b1"});
    CHECK(server.replicas_at(cassandra::token_to_unsigned(-100)) == Names{"a1", "b1", "a2"});
}

TEST_CASE("cassandra::build_topology", "[compat][cassandra][nts]") {
    const auto topology =
        cassandra::build_topology({{"a", {1}, "dc1", "r1"}, {"b", {2, 3}, "dc2", ""}});
    REQUIRE(topology.size() == 2);
    CHECK(topology.at("a") == ringplan::Location{"dc1", "r1"});
    CHECK(topology.at("b") == ringplan::Location{"dc2", ""});
    const auto code = [](const std::vector<cassandra::Node>& nodes) {
        return rp_test::error_code([&] { (void)cassandra::build_topology(nodes); });
    };
    CHECK(code({{"a", {1}, "dc1", "r1"}, {"a", {2}, "dc1", "r1"}}) ==
          ringplan::Errc::invalid_topology);
    CHECK(code({{"a", {1}}}) == ringplan::Errc::invalid_topology);  // no datacenter
}
