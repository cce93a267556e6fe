// The replica rules (docs/topology.md): Placement against the literal transcriptions of
// tests/topology_model.hpp on random topologies, the rack rule as a property, and bad input.
#include "catch.hpp"
#include "expect_error.hpp"
#include "test_util.hpp"
#include "topology_model.hpp"

#include <ringplan/placement.hpp>
#include <ringplan/topology.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using ringplan::DatacenterRf;
using ringplan::Errc;
using ringplan::Location;
using ringplan::max_token;
using ringplan::ReplicaOrder;
using ringplan::ReplicaPolicy;
using ringplan::Rf;
using ringplan::Token;
using ringplan::Topology;
using rp_test::expect_error;
using rp_test::pick;

namespace {

// A random cluster: datacenters of random sizes, racks of random sizes (some of one node),
// some nodes without a rack, vnodes from the hash policy (CoarseHash makes them collide).
struct Cluster {
    std::vector<std::string> ids;
    Topology<std::string> topology;
    rp_topo::Locations locations;
    rp_topo::Rfs rfs;
    std::vector<DatacenterRf> policy_rfs;
    bool all_racked = true;
};

Cluster random_cluster(std::mt19937_64& rng, bool rackless) {
    Cluster c;
    const std::size_t dcs = 1 + rng() % 4;
    for (std::size_t d = 0; d < dcs; ++d) {
        const std::string dc = "dc" + std::to_string(d);
        const std::size_t racks = 1 + rng() % 5;
        const std::size_t nodes = pick<std::size_t>(rng, {1, 2, 3, 6, 10});
        for (std::size_t n = 0; n < nodes; ++n) {
            const std::string id = dc + "-n" + std::to_string(n);
            // Skewed racks: rack 0 takes about half the nodes.
            std::string rack = "r" + std::to_string(rng() % 2 == 0 ? 0 : rng() % racks);
            if (rackless && rng() % 4 == 0) {
                rack.clear();
                c.all_racked = false;
            }
            c.ids.push_back(id);
            c.topology.set(id, dc, rack);
            c.locations[id] = {dc, rack};
        }
        const int rf = static_cast<int>(pick<std::uint64_t>(rng, {0, 1, 2, 3, 3, 5}));
        c.rfs[dc] = rf;
        c.policy_rfs.push_back(DatacenterRf{dc, static_cast<std::uint32_t>(rf)});
    }
    // A datacenter with an rf and no node.
    if (rng() % 4 == 0) {
        c.rfs["empty"] = 2;
        c.policy_rfs.push_back(DatacenterRf{"empty", 2});
    }
    bool any = false;
    for (const auto& r : c.policy_rfs) {
        any = any || r.rf > 0;
    }
    if (!any) {
        c.rfs["dc0"] = 1;
        c.policy_rfs[0].rf = 1;
    }
    return c;
}

template <class Hash>
rp_topo::Vnodes vnodes_of(const ringplan::Ring<Hash>& ring) {
    rp_topo::Vnodes out;
    for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
        out.emplace_back(ring.vnode_token(i), ring.vnode_node(i));
    }
    return out;
}

std::vector<Token> probes(const rp_topo::Vnodes& vnodes, std::mt19937_64& rng) {
    std::vector<Token> out = {0, 1, max_token};
    for (std::size_t i = 0; i < vnodes.size(); i += 1 + vnodes.size() / 40) {
        out.push_back(vnodes[i].first - 1);
        out.push_back(vnodes[i].first);
        out.push_back(vnodes[i].first + 1);
    }
    for (int i = 0; i < 20; ++i) {
        out.push_back(rng());
    }
    return out;
}

std::string str(const std::vector<std::string>& nodes) {
    std::string out;
    for (const auto& n : nodes) {
        out += (out.empty() ? "" : ",") + n;
    }
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("Placement agrees with the transcriptions of Cassandra and the driver",
                   "[topology]", ringplan::Xxh3, rp_test::CoarseHash) {
    std::mt19937_64 rng(1717);
    std::size_t checked = 0;
    for (int round = 0; round < 120; ++round) {
        const Cluster c = random_cluster(rng, round % 3 == 0);
        ringplan::Ring<TestType> ring;
        ring.add_nodes(c.ids, static_cast<std::uint32_t>(pick<std::uint64_t>(rng, {1, 4, 16})));
        const rp_topo::Vnodes vnodes = vnodes_of(ring);
        const auto server = ringplan::Placement<TestType, std::string>(
            ring, c.topology, ReplicaPolicy::network_topology(c.policy_rfs, ReplicaOrder::server));
        const auto driver = ringplan::Placement<TestType, std::string>(
            ring, c.topology, ReplicaPolicy::network_topology(c.policy_rfs, ReplicaOrder::driver));
        const int rf = 1 + static_cast<int>(rng() % 4);
        const auto racks = ringplan::Placement<TestType, std::string>(
            ring, c.topology, ReplicaPolicy::rack_aware(Rf(rf)));
        const auto distinct = ringplan::Placement<TestType, std::string>(
            ring, c.topology, ReplicaPolicy::distinct_nodes(Rf(rf)));
        for (Token t : probes(vnodes, rng)) {
            INFO("round " << round << " token " << t);
            const auto want_server = rp_topo::nts_server(vnodes, c.locations, c.rfs, t);
            const auto want_driver = rp_topo::nts_driver(vnodes, c.locations, c.rfs, t);
            CHECK(str(server.replicas_at(t)) == str(want_server));
            CHECK(str(driver.replicas_at(t)) == str(want_driver));
            CHECK(str(racks.replicas_at(t)) ==
                  str(rp_topo::rack_aware(vnodes, c.locations, rf, t)));
            CHECK(distinct.replicas_at(t) == ring.replicas_at(t, Rf(rf)));
            // The allocation-free form lists the same nodes.
            std::vector<const std::string*> out(server.max_replicas());
            const std::size_t n = server.replicas_at(t, out.data());
            std::vector<std::string> got;
            for (std::size_t k = 0; k < n; ++k) {
                got.push_back(*out[k]);
            }
            CHECK(got == want_server);
            ++checked;
        }
    }
    CHECK(checked > 3000);
}

TEST_CASE("the network-topology rule keeps its promises on random clusters", "[topology]") {
    std::mt19937_64 rng(2024);
    for (int round = 0; round < 200; ++round) {
        const bool rackless = round % 2 == 0;
        const Cluster c = random_cluster(rng, rackless);
        ringplan::Ring<> ring;
        const auto vnodes = static_cast<std::uint32_t>(pick<std::uint64_t>(rng, {1, 8, 32}));
        ring.add_nodes(c.ids, vnodes);
        const ringplan::Placement<ringplan::Xxh3, std::string> server(
            ring, c.topology, ReplicaPolicy::network_topology(c.policy_rfs, ReplicaOrder::server));
        const ringplan::Placement<ringplan::Xxh3, std::string> driver(
            ring, c.topology, ReplicaPolicy::network_topology(c.policy_rfs, ReplicaOrder::driver));
        // Nodes and racks per datacenter ("" counts as one rack, as the server's rule has it).
        std::map<std::string, std::set<std::string>> nodes_in, racks_in;
        for (const auto& id : c.ids) {
            const auto& l = c.locations.at(id);
            nodes_in[l.first].insert(id);
            racks_in[l.first].insert(l.second);
        }
        for (int k = 0; k < 30; ++k) {
            const Token t = rng();
            INFO("round " << round << " token " << t);
            const auto list = server.replicas_at(t);
            std::set<std::string> distinct_nodes(list.begin(), list.end());
            CHECK(distinct_nodes.size() == list.size());
            std::map<std::string, std::size_t> per_dc;
            std::map<std::string, std::set<std::string>> racks_used;
            for (const auto& n : list) {
                const auto& l = c.locations.at(n);
                ++per_dc[l.first];
                racks_used[l.first].insert(l.second);
            }
            for (const auto& [dc, rf] : c.rfs) {
                const std::size_t nodes = nodes_in[dc].size();
                const std::size_t want = std::min<std::size_t>(static_cast<std::size_t>(rf), nodes);
                CHECK(per_dc[dc] == want);
                // Distinct racks while racks remain: min(replicas there, racks there).
                CHECK(racks_used[dc].size() == std::min(want, racks_in[dc].size()));
            }
            if (c.all_racked && vnodes == 1) {
                // The driver lists the same set, datacenter by datacenter. (With several
                // tokens a node it skipped twice is listed twice, and another node not at all:
                // the driver's own lists, which the transcription test pins.)
                auto d = driver.replicas_at(t);
                auto s = list;
                std::sort(d.begin(), d.end());
                std::sort(s.begin(), s.end());
                CHECK(d == s);
            }
        }
    }
}

TEST_CASE("the driver's quirks: a datacenter whose nodes have no rack gets no replica",
          "[topology]") {
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b", "c", "x", "y"}, 8);
    Topology<std::string> topology{{"a", {"dc1", ""}},
                                   {"b", {"dc1", ""}},
                                   {"c", {"dc1", ""}},
                                   {"x", {"dc2", "r1"}},
                                   {"y", {"dc2", "r2"}}};
    const auto rfs = std::vector<DatacenterRf>{{"dc1", 2}, {"dc2", 2}};
    const ringplan::Placement<ringplan::Xxh3, std::string> driver(
        ring, topology, ReplicaPolicy::network_topology(rfs, ReplicaOrder::driver));
    const ringplan::Placement<ringplan::Xxh3, std::string> server(
        ring, topology, ReplicaPolicy::network_topology(rfs, ReplicaOrder::server));
    for (const std::string key : {"k1", "k2", "k3", "k4"}) {
        auto d = driver.replicas(key);
        std::sort(d.begin(), d.end());
        CHECK(d == std::vector<std::string>{"x", "y"});  // hosts_this_dc is 0 for dc1
        CHECK(server.replicas(key).size() == 4);         // the server counts "" as a rack
    }
}

TEST_CASE("topologies and replica policies refuse bad input", "[topology]") {
    Topology<std::string> t;
    expect_error([&] { t.set("a", "", "r1"); }, Errc::invalid_topology, "'a' needs a datacenter");
    CHECK(t.empty());
    expect_error(
        [&] {
            Topology<std::string>{{"a", {"dc1", "r1"}}, {"a", {"dc2", "r1"}}};
        },
        Errc::invalid_topology, "'a' is listed twice");
    expect_error(
        [] {
            (void)ReplicaPolicy::network_topology({{"dc1", 1}, {"dc1", 2}});
        },
        Errc::invalid_topology, "'dc1' is given two replication factors");
    expect_error(
        [] {
            (void)ReplicaPolicy::network_topology({{"", 1}});
        },
        Errc::invalid_topology, "empty");
    expect_error(
        [] {
            (void)ReplicaPolicy::network_topology({{"dc1", 0}});
        },
        Errc::invalid_rf, "at least 1");
    expect_error([] { (void)ReplicaPolicy::network_topology({}); }, Errc::invalid_rf);

    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b"}, 4);
    t.set("a", "dc1", "r1");
    expect_error(
        [&] {
            (void)ringplan::Placement<ringplan::Xxh3, std::string>(
                ring, t, ReplicaPolicy::rack_aware(Rf{2}));
        },
        Errc::invalid_topology, "node 'b' is in the ring but has no location");
    // The distinct-node rule needs no topology.
    const ringplan::Placement<ringplan::Xxh3, std::string> plain(
        ring, Topology<std::string>{}, ReplicaPolicy::distinct_nodes(Rf{2}));
    CHECK(plain.replicas("k") == ring.replicas("k", Rf{2}));
    const ringplan::Ring<> empty;
    const ringplan::Placement<ringplan::Xxh3, std::string> none(
        empty, t, ReplicaPolicy::network_topology({{"dc1", 1}}));
    expect_error([&] { (void)none.replicas("k"); }, Errc::empty_ring);
}

TEST_CASE("Topology is a sorted map with heterogeneous lookup", "[topology]") {
    Topology<std::string> t{{"b", {"dc1", "r2"}}, {"a", {"dc1", "r1"}}, {"c", {"dc2", ""}}};
    CHECK(t.size() == 3);
    CHECK(t.begin()->first == "a");
    CHECK(t.at(std::string_view("c")) == Location{"dc2", ""});
    CHECK(t.find("zz") == nullptr);
    expect_error([&] { (void)t.at("zz"); }, Errc::unknown_node, "no location");
    CHECK(t.nodes_in("dc1") == std::vector<std::string>{"a", "b"});
    CHECK(t.nodes_in("dc1", "r2") == std::vector<std::string>{"b"});
    t.set("a", "dc2", "r9");
    CHECK(t.at("a").datacenter == "dc2");
    CHECK(t.erase("a"));
    CHECK_FALSE(t.erase("a"));
    CHECK(t.size() == 2);
    const auto p = ReplicaPolicy::network_topology({{"dc2", 2}, {"dc1", 3}});
    CHECK(p.total_rf() == 5);
    CHECK(p.rf_of("dc1") == 3);
    CHECK(p.rf_of("dc9") == 0);
    CHECK(p.datacenter_rfs().front().datacenter == "dc1");
    CHECK(p == ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}}));
    CHECK(p != ReplicaPolicy::network_topology({{"dc1", 3}, {"dc2", 2}}, ReplicaOrder::driver));
}

namespace {

// The preference list of the model: the rule's list, then for each down home a fallback
// straight from the documented rule (docs/topology.md, "Preference lists").
std::vector<std::pair<std::string, std::string>> model_preference(
    const rp_topo::Vnodes& ring, const rp_topo::Locations& loc,
    const std::vector<std::string>& homes, Token t, const std::set<std::string>& down) {
    std::vector<std::pair<std::string, std::string>> out;  // (node, hint or "")
    for (const auto& h : homes) {
        if (down.count(h) == 0) {
            out.emplace_back(h, "");
        }
    }
    const auto taken = [&](const std::string& n) {
        return rp_topo::contains(homes, n) ||
               std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.first == n; });
    };
    const std::size_t start = rp_topo::first_index(ring, t);
    for (const auto& h : homes) {
        if (down.count(h) == 0) {
            continue;
        }
        std::string rack_mate, dc_mate;
        for (std::size_t k = 0; k < ring.size(); ++k) {
            const std::string& n = ring[(start + k) % ring.size()].second;
            if (taken(n) || down.count(n) > 0 || loc.at(n).first != loc.at(h).first) {
                continue;
            }
            if (loc.at(n).second == loc.at(h).second && rack_mate.empty()) {
                rack_mate = n;
            }
            if (dc_mate.empty()) {
                dc_mate = n;
            }
        }
        const std::string f = rack_mate.empty() ? dc_mate : rack_mate;
        if (!f.empty()) {
            out.emplace_back(f, h);
        }
    }
    return out;
}

// The share of the ring vnode i owns: (previous token, its token], the first wrapping.
double owned_fraction(const rp_topo::Vnodes& vnodes, std::size_t i) {
    const Token hi = vnodes[i].first;
    const Token lo = vnodes[i == 0 ? vnodes.size() - 1 : i - 1].first;
    if (i > 0) {
        return lo < hi ? ringplan::TokenRange{lo + 1, hi}.fraction() : 0.0;
    }
    if (lo == hi) {
        return 1.0;  // one token: the whole ring
    }
    return ringplan::TokenRange{0, hi}.fraction() +
           (lo == max_token ? 0.0 : ringplan::TokenRange{lo + 1, max_token}.fraction());
}

}  // namespace

TEST_CASE("preference lists and replicated shares follow the rule", "[topology]") {
    std::mt19937_64 rng(4242);
    for (int round = 0; round < 60; ++round) {
        const Cluster c = random_cluster(rng, false);
        ringplan::Ring<> ring;
        ring.add_nodes(c.ids, static_cast<std::uint32_t>(pick<std::uint64_t>(rng, {1, 4, 16})));
        const rp_topo::Vnodes vnodes = vnodes_of(ring);
        const auto policy = ReplicaPolicy::network_topology(c.policy_rfs);
        const ringplan::Placement<ringplan::Xxh3, std::string> nts(ring, c.topology, policy);
        std::set<std::string> down;
        for (const auto& id : c.ids) {
            if (rng() % 3 == 0) {
                down.insert(id);
            }
        }
        const auto is_up = [&](const std::string& n) { return down.count(n) == 0; };
        for (int k = 0; k < 20; ++k) {
            const Token t = rng();
            INFO("round " << round << " token " << t);
            const auto got = nts.preference_list_at(t, is_up);
            const auto want = model_preference(vnodes, c.locations, nts.replicas_at(t), t, down);
            REQUIRE(got.size() == want.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].node == want[i].first);
                CHECK(got[i].hint.value_or("") == want[i].second);
            }
        }
        // Without racks and datacenters the rule's list is Dynamo's.
        const std::size_t rf = 1 + rng() % 4;
        const ringplan::Placement<ringplan::Xxh3, std::string> plain(
            ring, Topology<std::string>{}, ReplicaPolicy::distinct_nodes(Rf(rf)));
        for (int k = 0; k < 20; ++k) {
            const Token t = rng();
            CHECK(plain.preference_list_at(t, is_up) ==
                  ringplan::preference_list_at(ring, t, Rf(rf), is_up));
        }
        CHECK(plain.replicated_share(c.ids[0]) ==
              Approx(ringplan::replicated_share(ring, c.ids[0], Rf(rf))).margin(1e-12));
        // The share a node replicates: the segments whose rule list holds it.
        const std::string node = c.ids[rng() % c.ids.size()];
        double share = 0;
        for (std::size_t i = 0; i < vnodes.size(); ++i) {
            if (rp_topo::contains(nts.replicas_at(vnodes[i].first), node)) {
                share += owned_fraction(vnodes, i);
            }
        }
        CHECK(nts.replicated_share(node) == Approx(share).margin(1e-12));
    }
}

TEST_CASE("the hint return plan under a rule hands back what the fallbacks held", "[topology]") {
    std::mt19937_64 rng(77);
    for (int round = 0; round < 40; ++round) {
        const Cluster c = random_cluster(rng, false);
        ringplan::Ring<> ring;
        ring.add_nodes(c.ids, static_cast<std::uint32_t>(pick<std::uint64_t>(rng, {1, 4, 16})));
        const auto policy = ReplicaPolicy::network_topology(c.policy_rfs);
        const ringplan::Placement<ringplan::Xxh3, std::string> nts(ring, c.topology, policy);
        const std::string back = c.ids[rng() % c.ids.size()];
        ringplan::PlanOptions<std::string> options;
        options.policy = policy;
        options.topology = c.topology;
        for (const auto& id : c.ids) {
            if (id != back && rng() % 4 == 0) {
                options.down.push_back(id);
            }
        }
        const auto plan = ringplan::plan_hint_return(ring, back, options);
        const auto is_up = [&](const std::string& n) {
            return n != back &&
                   std::find(options.down.begin(), options.down.end(), n) == options.down.end();
        };
        INFO("round " << round << " returning " << back);
        // Every vnode's token: the move that covers it comes from the fallback of `back`.
        for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
            const Token t = ring.vnode_token(i);
            std::string from;
            for (const auto& e : nts.preference_list_at(t, is_up)) {
                if (e.hint && *e.hint == back) {
                    from = e.node;
                }
            }
            std::string got;
            for (const auto& m : plan.moves) {
                if (m.range.contains(t)) {
                    CHECK(m.to == back);
                    got = m.from;
                }
            }
            const bool home = rp_topo::contains(nts.replicas_at(t), back);
            CHECK(got == (home ? from : std::string()));
            bool under = false;
            for (const auto& r : plan.under_replicated) {
                under = under || r.contains(t);
            }
            CHECK(under == (home && from.empty()));
        }
    }
}
