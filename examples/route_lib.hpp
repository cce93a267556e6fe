// ringplan example: the logic of `route` (route.cpp), kept here so tests/route_test.cpp can
// drive it without a process.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_ROUTE_LIB_HPP
#define RINGPLAN_EXAMPLES_ROUTE_LIB_HPP

#include "example_util.hpp"

#include <ringplan/cassandra.hpp>
#include <ringplan/ketama.hpp>
#include <ringplan/placement.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <new>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace route {

/// A bad argument or input line; what() is the whole message.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Scheme { ketama, cassandra, standard, nts };

struct Options {
    Scheme scheme = Scheme::standard;
    std::size_t rf = 1;
    std::string nodes_file;
    // --scheme nts: the rf of each datacenter and the order of the replicas.
    std::vector<ringplan::DatacenterRf> datacenter_rfs;
    ringplan::ReplicaOrder order = ringplan::ReplicaOrder::driver;
};

inline const char* usage() {
    return "usage: route --scheme ketama|cassandra|default [--rf N] NODES_FILE < keys\n"
           "       route --scheme nts --rf DC:N[,DC:N...] [--order driver|server] NODES_FILE "
           "< keys";
}

inline bool parse_unsigned(const std::string& s, std::uint64_t max, std::uint64_t& out) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
    if (errno != 0 || v > max) {
        return false;
    }
    out = v;
    return true;
}

inline bool parse_signed64(const std::string& s, std::int64_t& out) {
    const std::size_t digits = s[0] == '-' ? 1 : 0;
    if (s.size() == digits || s.size() > 20 ||
        s.find_first_not_of("0123456789", digits) != std::string::npos) {
        return false;
    }
    errno = 0;
    const long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno != 0) {
        return false;
    }
    out = v;
    return true;
}

/// `--rf` of --scheme nts: `DC:N[,DC:N...]`, each datacenter once, at least one N above 0.
inline std::vector<ringplan::DatacenterRf> parse_datacenter_rfs(const std::string& v) {
    std::vector<ringplan::DatacenterRf> out;
    std::uint64_t total = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = v.find(',', start);
        const std::string item = v.substr(start, comma - start);
        const std::size_t colon = item.find(':');
        std::uint64_t rf = 0;
        if (colon == 0 || colon == std::string::npos ||
            !parse_unsigned(item.substr(colon + 1), 1000000, rf)) {
            throw Failure(std::string("--rf for --scheme nts must be DC:N[,DC:N...] (N a whole "
                                      "number), not '") +
                          v + "'");
        }
        const std::string dc = item.substr(0, colon);
        for (const ringplan::DatacenterRf& d : out) {
            if (d.datacenter == dc) {
                throw Failure(std::string("--rf names datacenter ") + dc + " twice");
            }
        }
        out.push_back({dc, static_cast<std::uint32_t>(rf)});
        total += rf;
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (total == 0) {
        throw Failure(std::string("--rf '") + v + "' gives every datacenter rf 0");
    }
    return out;
}

inline Options parse_args(const std::vector<std::string>& args) {
    Options o;
    bool have_scheme = false;
    std::string rf_arg;  // read once the scheme is known: its form depends on it
    std::string order_arg;
    bool have_rf = false;
    bool have_order = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--scheme" || a == "--rf" || a == "--order") {
            if (i + 1 == args.size()) {
                throw Failure(a + " needs a value");
            }
            const std::string& v = args[++i];
            if (a == "--scheme") {
                have_scheme = true;
                if (v == "ketama") {
                    o.scheme = Scheme::ketama;
                } else if (v == "cassandra") {
                    o.scheme = Scheme::cassandra;
                } else if (v == "default") {
                    o.scheme = Scheme::standard;
                } else if (v == "nts") {
                    o.scheme = Scheme::nts;
                } else {
                    throw Failure(std::string("unknown scheme '") + v + "'");
                }
            } else if (a == "--rf") {
                rf_arg = v;
                have_rf = true;
            } else {
                order_arg = v;
                have_order = true;
            }
        } else if (!a.empty() && a[0] == '-') {
            throw Failure(std::string("unknown option '") + a + "'");
        } else if (o.nodes_file.empty()) {
            o.nodes_file = a;
        } else {
            throw Failure("more than one NODES_FILE");
        }
    }
    if (!have_scheme) {
        throw Failure("--scheme is required");
    }
    if (o.scheme == Scheme::nts) {
        if (!have_rf) {
            throw Failure("--scheme nts needs --rf DC:N[,DC:N...]");
        }
        o.datacenter_rfs = parse_datacenter_rfs(rf_arg);
        if (order_arg == "server") {
            o.order = ringplan::ReplicaOrder::server;
        } else if (have_order && order_arg != "driver") {
            throw Failure(std::string("--order must be driver or server, not '") + order_arg + "'");
        }
    } else {
        if (have_order) {
            throw Failure("--order is only for --scheme nts");
        }
        std::uint64_t rf = 1;
        if (have_rf && (!parse_unsigned(rf_arg, 1000000, rf) || rf < 1)) {
            throw Failure(std::string("--rf must be a whole number >= 1, not '") + rf_arg + "'");
        }
        o.rf = static_cast<std::size_t>(rf);
    }
    if (o.nodes_file.empty()) {
        throw Failure("NODES_FILE is required");
    }
    return o;
}

/// The fields of one line (split at spaces and tabs), or none for a blank line or a comment
/// (first non-blank character '#').
inline std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    if (example_util::is_blank_or_comment(line)) {
        return out;
    }
    std::istringstream in(line);
    std::string f;
    while (in >> f) {
        out.push_back(f);
    }
    return out;
}

inline Failure line_error(std::size_t n, const std::string& what) {
    return Failure(std::string("line ") + std::to_string(n) + ": " + what);
}

/// Calls `each(line_number, fields)` for every line of `in` that is not blank or a comment; a
/// trailing '\r' (CRLF) is dropped. A read error (not the end of the file) is a Failure.
template <class Each>
void for_each_node_line(std::istream& in, Each each) {
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        example_util::strip_cr(line);
        const auto f = fields(line);
        if (!f.empty()) {
            each(n, f);
        }
    }
    if (in.bad()) {
        throw Failure("could not read NODES_FILE");
    }
}

/// Refuses a name listed on two lines: `names[i]` was read on `lines[i]`. Sorting keeps this
/// O(n log n) for any input (no hash table keyed by user input).
inline void check_unique(const std::vector<std::string>& names,
                         const std::vector<std::size_t>& lines, const char* what) {
    std::vector<std::size_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return names[a] != names[b] ? names[a] < names[b] : lines[a] < lines[b];
    });
    // Report the repeat that comes first in the file.
    std::size_t worst = order.size();
    for (std::size_t i = 1; i < order.size(); ++i) {
        if (names[order[i]] == names[order[i - 1]] &&
            (worst == order.size() || lines[order[i]] < lines[order[worst]])) {
            worst = i;
        }
    }
    if (worst != order.size()) {
        std::string message = what;
        message += std::string(" ") + names[order[worst]] + " already listed on line " +
                   std::to_string(lines[order[worst - 1]]);
        throw line_error(lines[order[worst]], message);
    }
}

// Turns running out of memory while building `what` into a Failure naming it.
template <class Build>
auto building(const std::string& what, Build build) -> decltype(build()) {
    try {
        return build();
    } catch (const std::bad_alloc&) {
        throw Failure(std::string("out of memory building ") + what);
    } catch (const std::length_error&) {
        throw Failure(std::string("out of memory building ") + what);
    } catch (const ringplan::Error& e) {
        throw Failure(std::string("can not build ") + what + ": " + e.what());
    }
}

/// `host[:port] [weight]` per line.
inline ringplan::ketama::KetamaRing read_ketama(std::istream& in) {
    std::vector<ringplan::ketama::Server> servers;
    std::vector<std::string> ids;
    std::vector<std::size_t> lines;
    for_each_node_line(in, [&](std::size_t n, const std::vector<std::string>& f) {
        if (f.size() > 2) {
            throw line_error(n, "expected 'host[:port] [weight]'");
        }
        ringplan::ketama::Server s;
        const std::size_t colon = f[0].rfind(':');
        s.host = f[0].substr(0, colon);
        if (s.host.empty()) {
            throw line_error(n, "empty host name");
        }
        if (colon != std::string::npos) {
            std::uint64_t port = 0;
            if (!parse_unsigned(f[0].substr(colon + 1), 65535, port) || port == 0) {
                throw line_error(n, std::string("bad port '") + f[0].substr(colon + 1) + "'");
            }
            s.port = static_cast<std::uint16_t>(port);
        }
        if (f.size() == 2) {
            std::uint64_t w = 0;
            if (!parse_unsigned(f[1], 0xFFFFFFFFu, w) || w == 0) {
                throw line_error(n, std::string("bad weight '") + f[1] + "' (a whole number >= 1)");
            }
            s.weight = static_cast<std::uint32_t>(w);
        }
        ids.push_back(ringplan::ketama::node_id(s));
        servers.push_back(std::move(s));
        lines.push_back(n);
    });
    check_unique(ids, lines, "server");
    return building(
        std::string("the ketama ring of ") + std::to_string(servers.size()) + " servers",
        [&] { return ringplan::ketama::build_ring(servers); });
}

/// The rack field of --scheme nts that means "no rack".
constexpr const char* no_rack = "-";

/// Cassandra nodes, as the lines they were read from.
struct CassandraNodes {
    std::vector<ringplan::cassandra::Node> nodes;
    std::vector<std::size_t> lines;
    std::size_t tokens = 0;  // in all
};

/// `name token[,token...]` per line (with `located`: `name datacenter rack token[,token...]`,
/// rack `-` for none), tokens signed as Cassandra prints them. Refuses a node listed twice and
/// a token held twice.
inline CassandraNodes read_cassandra_nodes(std::istream& in, bool located) {
    CassandraNodes c;
    std::vector<ringplan::cassandra::Node>& nodes = c.nodes;
    std::vector<std::size_t>& lines = c.lines;
    std::vector<std::string> names;
    std::size_t& total = c.tokens;
    for_each_node_line(in, [&](std::size_t n, const std::vector<std::string>& f) {
        if (f.size() != (located ? 4u : 2u)) {
            throw line_error(n, located ? "expected 'name datacenter rack token[,token...]' "
                                          "(rack - for none)"
                                        : "expected 'name token[,token...]'");
        }
        ringplan::cassandra::Node node{f[0], {}};
        if (located) {
            if (f[1] == no_rack) {
                throw line_error(n, "no datacenter ('-' means no rack, and only as the rack)");
            }
            node.datacenter = f[1];
            node.rack = f[2] == no_rack ? std::string() : f[2];
        }
        const std::string& list = f.back();
        std::size_t start = 0;
        while (true) {
            const std::size_t comma = list.find(',', start);
            const std::string t = list.substr(start, comma - start);
            std::int64_t v = 0;
            if (!parse_signed64(t, v)) {
                throw line_error(n, std::string("bad token '") + t + "' (a signed 64-bit integer)");
            }
            node.tokens.push_back(v);
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        total += node.tokens.size();
        names.push_back(f[0]);
        nodes.push_back(std::move(node));
        lines.push_back(n);
    });
    check_unique(names, lines, "node");
    // A token held twice: sort (token, line) and report the repeat that comes first in the file.
    std::vector<std::pair<std::int64_t, std::size_t>> tokens;  // token, index into nodes
    tokens.reserve(total);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (std::int64_t t : nodes[i].tokens) {
            tokens.emplace_back(t, i);
        }
    }
    std::sort(tokens.begin(), tokens.end());
    std::size_t worst = tokens.size();
    for (std::size_t i = 1; i < tokens.size(); ++i) {
        if (tokens[i].first == tokens[i - 1].first &&
            (worst == tokens.size() || tokens[i].second < tokens[worst].second)) {
            worst = i;
        }
    }
    if (worst != tokens.size()) {
        const auto& first = nodes[tokens[worst - 1].second];
        const auto& again = nodes[tokens[worst].second];
        throw line_error(
            lines[tokens[worst].second],
            std::string("token ") + std::to_string(tokens[worst].first) +
                (&first == &again
                     ? " is listed twice"
                     : std::string(" is already held by node ") + first.name + " (line " +
                           std::to_string(lines[tokens[worst - 1].second]) + ")"));
    }
    return c;
}

inline ringplan::cassandra::CassandraRing build_cassandra(const CassandraNodes& c) {
    return building(std::string("the cassandra ring of ") + std::to_string(c.tokens) + " tokens",
                    [&] { return ringplan::cassandra::build_ring(c.nodes); });
}

/// How the default ring is built from its nodes, in as few bulk calls as possible: with the
/// derived tokens in one add_nodes_with_tokens call. That refuses equal tokens, which derived
/// tokens may have (ties are ordered by node id); then the nodes go in with add_nodes, one
/// call per distinct vnode count. RingT is a Ring (tests count the calls).
template <class RingT = ringplan::Ring<>>
RingT build_default(const std::vector<std::string>& names,
                    const std::vector<std::uint32_t>& counts) {
    using Hash = typename RingT::hash_policy;
    RingT ring;
    {
        std::vector<std::pair<std::string, std::vector<ringplan::Token>>> nodes(names.size());
        std::vector<ringplan::Token> all;
        for (std::size_t i = 0; i < names.size(); ++i) {
            nodes[i].first = names[i];
            nodes[i].second.resize(counts[i]);
            for (std::uint32_t v = 0; v < counts[i]; ++v) {
                nodes[i].second[v] = ringplan::vnode_token<Hash>(names[i], v);
            }
        }
        std::size_t total = 0;
        for (const auto& n : nodes) {
            total += n.second.size();
        }
        all.reserve(total);
        for (const auto& n : nodes) {
            all.insert(all.end(), n.second.begin(), n.second.end());
        }
        std::sort(all.begin(), all.end());
        if (std::adjacent_find(all.begin(), all.end()) == all.end()) {
            ring.add_nodes_with_tokens(nodes.begin(), nodes.end());
            return ring;
        }
    }
    std::vector<std::size_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return counts[a] < counts[b]; });
    for (std::size_t i = 0; i < order.size();) {
        std::vector<std::string> group;
        const std::uint32_t count = counts[order[i]];
        for (; i < order.size() && counts[order[i]] == count; ++i) {
            group.push_back(names[order[i]]);
        }
        ring.add_nodes(group, count);
    }
    return ring;
}

/// `name [vnodes]` per line (default 256 vnodes), XXH3 placement.
inline ringplan::Ring<> read_default(std::istream& in) {
    std::vector<std::string> names;
    std::vector<std::uint32_t> counts;
    std::vector<std::size_t> lines;
    std::uint64_t total = 0;
    std::size_t largest = 0;  // index of the node with the most vnodes
    for_each_node_line(in, [&](std::size_t n, const std::vector<std::string>& f) {
        if (f.size() > 2) {
            throw line_error(n, "expected 'name [vnodes]'");
        }
        std::uint64_t vnodes = 256;
        if (f.size() == 2 && (!parse_unsigned(f[1], 0xFFFFFFFFu, vnodes) || vnodes == 0)) {
            throw line_error(n,
                             std::string("bad vnode count '") + f[1] + "' (a whole number >= 1)");
        }
        total += vnodes;
        if (total > ringplan::Ring<>::max_vnodes()) {
            throw line_error(n, std::string("too many vnodes: ") + std::to_string(total) +
                                    " in all, a ring holds at most " +
                                    std::to_string(ringplan::Ring<>::max_vnodes()));
        }
        if (counts.empty() || vnodes > counts[largest]) {
            largest = counts.size();
        }
        names.push_back(f[0]);
        counts.push_back(static_cast<std::uint32_t>(vnodes));
        lines.push_back(n);
    });
    check_unique(names, lines, "node");
    if (names.empty()) {
        return ringplan::Ring<>();
    }
    const std::string what = std::string("the default ring of ") + std::to_string(total) +
                             " vnodes (the largest node: line " + std::to_string(lines[largest]) +
                             ", " + names[largest] + " with " + std::to_string(counts[largest]) +
                             " vnodes)";
    return building(what, [&] { return build_default(names, counts); });
}

/// A Cassandra ring and its NetworkTopologyStrategy replicas, routed as a ring is by route_keys.
struct NtsRoute {
    const ringplan::cassandra::CassandraRing& ring;
    const ringplan::Placement<ringplan::cassandra::Murmur3Hash, std::string>& placement;

    bool empty() const { return ring.empty(); }
    std::vector<std::string> replicas(const std::string& key, ringplan::Rf) const {
        return placement.replicas(key);
    }
};

/// The longest key libmemcached accepts: MEMCACHED_MAX_KEY (251) - 1. Longer keys fail with
/// MEMCACHED_KEY_TOO_BIG, so routing them would name a server no client would use.
constexpr std::size_t ketama_max_key = 250;

/// Routes every line of `keys` (a trailing '\r' dropped). A key that can not be routed gets a
/// message on `err` naming its line; the others are still routed. Returns 0, or 1 if a key was
/// refused, or 2 if `out` could not be written (which stops the run).
template <class R>
int route_keys(const R& ring, std::size_t rf, std::size_t max_key, std::istream& keys,
               std::ostream& out, std::ostream& err) {
    if (ring.empty()) {
        throw Failure("NODES_FILE has no nodes");
    }
    int status = 0;
    std::string key;
    std::string row;
    for (std::size_t n = 1; std::getline(keys, key); ++n) {
        example_util::strip_cr(key);
        if (key.size() > max_key) {
            err << "route: key line " << n << ": key of " << key.size()
                << " bytes is longer than the " << max_key
                << " bytes libmemcached accepts (MEMCACHED_KEY_TOO_BIG)\n";
            status = 1;
            continue;
        }
        row = key;
        row += '\t';
        const auto replicas = ring.replicas(key, ringplan::Rf{rf});
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            if (i > 0) {
                row += ',';
            }
            row += replicas[i];
        }
        row += '\n';
        if (!out.write(row.data(), static_cast<std::streamsize>(row.size()))) {
            break;
        }
    }
    if (!example_util::flush_ok(out)) {
        err << "route: could not write the output\n";
        return 2;
    }
    return status;
}

/// `name datacenter rack token[,token...]` per line, routed with NetworkTopologyStrategy.
inline int route_nts(const Options& o, std::istream& nodes, std::istream& keys, std::ostream& out,
                     std::ostream& err) {
    const CassandraNodes c = read_cassandra_nodes(nodes, true);
    const auto ring = build_cassandra(c);
    const auto topology =
        building("the topology", [&] { return ringplan::cassandra::build_topology(c.nodes); });
    const auto placement = building("the NetworkTopologyStrategy placement", [&] {
        return ringplan::Placement<ringplan::cassandra::Murmur3Hash, std::string>(
            ring, topology, ringplan::ReplicaPolicy::network_topology(o.datacenter_rfs, o.order));
    });
    return route_keys(NtsRoute{ring, placement}, 1, static_cast<std::size_t>(-1), keys, out, err);
}

/// Reads the nodes, then routes every key line of `keys`; per-key problems go to `err`.
/// Returns the exit code (route_keys). Throws Failure for a bad node file.
inline int run(const Options& o, std::istream& nodes, std::istream& keys, std::ostream& out,
               std::ostream& err) {
    constexpr std::size_t any_length = static_cast<std::size_t>(-1);
    switch (o.scheme) {
        case Scheme::ketama:
            return route_keys(read_ketama(nodes), o.rf, ketama_max_key, keys, out, err);
        case Scheme::cassandra:
            return route_keys(build_cassandra(read_cassandra_nodes(nodes, false)), o.rf, any_length,
                              keys, out, err);
        case Scheme::nts:
            return route_nts(o, nodes, keys, out, err);
        case Scheme::standard:
            break;
    }
    return route_keys(read_default(nodes), o.rf, any_length, keys, out, err);
}

}  // namespace route

#endif  // RINGPLAN_EXAMPLES_ROUTE_LIB_HPP
