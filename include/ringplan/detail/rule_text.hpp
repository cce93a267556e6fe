// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The text lines of a replica rule and a topology, shared by the stateful values that keep
// them (the migration runner, the membership machine). Each value's docs list the lines:
//   rule none | rule distinct_nodes <rf> | rule rack_aware <rf>
//   rule network_topology <server|driver> <n> <datacenter> <rf> ... (n pairs, by name)
//   locations <n>, then per node (ascending): location <id> <datacenter> <rack>
// Names are percent-encoded as string ids are (an empty rack is a lone "%").
#ifndef RINGPLAN_DETAIL_RULE_TEXT_HPP
#define RINGPLAN_DETAIL_RULE_TEXT_HPP

#include <ringplan/detail/text.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

inline const char* rule_kind_name(ReplicaPolicy::Kind k) noexcept {
    switch (k) {
        case ReplicaPolicy::Kind::distinct_nodes:
            return "distinct_nodes";
        case ReplicaPolicy::Kind::rack_aware:
            return "rack_aware";
        case ReplicaPolicy::Kind::network_topology:
            return "network_topology";
    }
    return "unknown";
}

// "rule ..." without a trailing newline; "rule none" for no rule.
inline void write_rule(std::string& out, const std::optional<ReplicaPolicy>& rule) {
    out += "rule ";
    if (!rule) {
        out += "none";
        return;
    }
    const ReplicaPolicy& policy = *rule;
    out += rule_kind_name(policy.kind());
    if (policy.kind() != ReplicaPolicy::Kind::network_topology) {
        out += ' ';
        write_u64(out, policy.total_rf().value());
        return;
    }
    out += policy.order() == ReplicaOrder::server ? " server " : " driver ";
    const std::vector<DatacenterRf> rfs = policy.datacenter_rfs();
    write_u64(out, rfs.size());
    for (const DatacenterRf& d : rfs) {
        out += ' ';
        write_id(out, d.datacenter);
        out += ' ';
        write_u64(out, d.rf);
    }
}

// "locations <n>" and one "location" line per node, each after a newline (none at the end).
template <class NodeId>
void write_locations(std::string& out, const Topology<NodeId>& topology) {
    out += "locations ";
    write_u64(out, topology.size());
    for (const auto& [id, where] : topology) {
        out += "\nlocation ";
        write_id(out, id);
        out += ' ';
        write_id(out, where.datacenter);
        out += ' ';
        write_id(out, where.rack);
    }
}

// The next line's tokens; it must start with `keyword`.
inline std::vector<std::string_view> rule_line(TextReader& in, const char* keyword) {
    in.expect_line(std::string("a '") + keyword + "' line");
    std::vector<std::string_view> t = in.tokens();
    if (t[0] != keyword) {
        in.fail(std::string("expected a '") + keyword + "' line, got '" + std::string(t[0]) + "'");
    }
    return t;
}

inline std::uint32_t rule_rf(const TextReader& in, std::string_view token) {
    const auto v = read_u64(token);
    if (!v || *v > 0xFFFFFFFFu) {
        in.fail("a replication factor must be a number up to 4294967295, got '" +
                std::string(token) + "'");
    }
    return static_cast<std::uint32_t>(*v);
}

inline std::string rule_name(const TextReader& in, std::string_view token, const char* what) {
    const auto name = read_id<std::string>(token);
    if (!name) {
        in.fail(std::string("'") + std::string(token) + "' is not a " + what + " name");
    }
    return *name;
}

// Reads write_rule's line. Every error is a parse_error naming the line.
inline std::optional<ReplicaPolicy> read_rule(TextReader& in) {
    const std::vector<std::string_view> t = rule_line(in, "rule");
    if (t.size() < 2) {
        in.fail("'rule' needs a kind");
    }
    if (t[1] == "none") {
        if (t.size() != 2) {
            in.fail("'rule none' takes no field");
        }
        return std::nullopt;
    }
    if (t[1] == "distinct_nodes" || t[1] == "rack_aware") {
        if (t.size() != 3) {
            in.fail("'rule " + std::string(t[1]) + "' takes 1 field, the rf");
        }
        const std::uint32_t rf = rule_rf(in, t[2]);
        if (rf == 0) {
            in.fail("a replication factor must be at least 1");
        }
        return t[1] == "rack_aware" ? ReplicaPolicy::rack_aware(Rf(rf))
                                    : ReplicaPolicy::distinct_nodes(Rf(rf));
    }
    if (t[1] != "network_topology") {
        in.fail("unknown rule '" + std::string(t[1]) +
                "' (none, distinct_nodes, rack_aware or network_topology)");
    }
    if (t.size() < 4 || (t[2] != "server" && t[2] != "driver")) {
        in.fail("'rule network_topology' takes the order (server or driver) and a count");
    }
    const auto n = read_u64(t[3]);
    if (!n || *n != (t.size() - 4) / 2 || (t.size() - 4) % 2 != 0) {
        in.fail("'rule network_topology' must list as many datacenter and rf pairs as counted");
    }
    std::vector<DatacenterRf> rfs;
    std::uint64_t total = 0;
    for (std::size_t k = 4; k < t.size(); k += 2) {
        DatacenterRf d{rule_name(in, t[k], "datacenter"), rule_rf(in, t[k + 1])};
        if (d.datacenter.empty() || (!rfs.empty() && !(rfs.back().datacenter < d.datacenter))) {
            in.fail("the datacenters must be named, sorted and distinct");
        }
        total += d.rf;
        rfs.push_back(std::move(d));
    }
    if (total == 0 || total > 0xFFFFFFFFu) {
        in.fail("the datacenters' rfs must sum to between 1 and 4294967295");
    }
    return ReplicaPolicy::network_topology(
        std::move(rfs), t[2] == "server" ? ReplicaOrder::server : ReplicaOrder::driver);
}

// Reads write_locations's lines.
template <class NodeId>
Topology<NodeId> read_locations(TextReader& in) {
    const std::vector<std::string_view> head = rule_line(in, "locations");
    const auto n = head.size() == 2 ? read_u64(head[1]) : std::nullopt;
    if (!n) {
        in.fail("'locations' takes 1 field, the count");
    }
    Topology<NodeId> out;
    std::optional<NodeId> last;
    for (std::uint64_t i = 0; i < *n; ++i) {
        const std::vector<std::string_view> t = rule_line(in, "location");
        if (t.size() != 4) {
            in.fail("'location' takes 3 fields: the node, its datacenter and its rack");
        }
        const auto id = read_id<NodeId>(t[1]);
        if (!id) {
            in.fail("'" + std::string(t[1]) + "' is not a node id");
        }
        if (last && !(*last < *id)) {
            in.fail("node " + describe(*id) + " is out of order or repeated");
        }
        Location where{rule_name(in, t[2], "datacenter"), rule_name(in, t[3], "rack")};
        if (where.datacenter.empty()) {
            in.fail("node " + describe(*id) + " needs a datacenter");
        }
        out.set(*id, std::move(where));
        last = *id;
    }
    return out;
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_RULE_TEXT_HPP
