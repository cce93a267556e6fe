// ringplan example: the logic of `route` (route.cpp), kept here so tests/route_test.cpp can
// drive it without a process.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_ROUTE_LIB_HPP
#define RINGPLAN_EXAMPLES_ROUTE_LIB_HPP

#include <ringplan/cassandra.hpp>
#include <ringplan/ketama.hpp>
#include <ringplan/ring.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace route {

/// A bad argument or input line; what() is the whole message.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Scheme { ketama, cassandra, standard };

struct Options {
    Scheme scheme = Scheme::standard;
    std::size_t rf = 1;
    std::string nodes_file;
};

inline const char* usage() {
    return "usage: route --scheme ketama|cassandra|default [--rf N] NODES_FILE < keys";
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

inline Options parse_args(const std::vector<std::string>& args) {
    Options o;
    bool have_scheme = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--scheme" || a == "--rf") {
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
                } else {
                    throw Failure("unknown scheme '" + v + "'");
                }
            } else {
                std::uint64_t rf = 0;
                if (!parse_unsigned(v, 1000000, rf) || rf < 1) {
                    throw Failure("--rf must be a whole number >= 1, not '" + v + "'");
                }
                o.rf = static_cast<std::size_t>(rf);
            }
        } else if (!a.empty() && a[0] == '-') {
            throw Failure("unknown option '" + a + "'");
        } else if (o.nodes_file.empty()) {
            o.nodes_file = a;
        } else {
            throw Failure("more than one NODES_FILE");
        }
    }
    if (!have_scheme) {
        throw Failure("--scheme is required");
    }
    if (o.nodes_file.empty()) {
        throw Failure("NODES_FILE is required");
    }
    return o;
}

/// The fields of one line, or none for a blank line or a '#' comment.
inline std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    if (!line.empty() && line[0] == '#') {
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
    return Failure("line " + std::to_string(n) + ": " + what);
}

/// `host[:port] [weight]` per line.
inline ringplan::ketama::KetamaRing read_ketama(std::istream& in) {
    std::vector<ringplan::ketama::Server> servers;
    std::vector<std::size_t> lines;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        const auto f = fields(line);
        if (f.empty()) {
            continue;
        }
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
                throw line_error(n, "bad port '" + f[0].substr(colon + 1) + "'");
            }
            s.port = static_cast<std::uint16_t>(port);
        }
        if (f.size() == 2) {
            std::uint64_t w = 0;
            if (!parse_unsigned(f[1], 0xFFFFFFFFu, w) || w == 0) {
                throw line_error(n, "bad weight '" + f[1] + "' (a whole number >= 1)");
            }
            s.weight = static_cast<std::uint32_t>(w);
        }
        for (std::size_t i = 0; i < servers.size(); ++i) {
            if (servers[i].host == s.host && servers[i].port == s.port) {
                throw line_error(n, "server " + ringplan::ketama::node_id(s) +
                                        " already listed on line " + std::to_string(lines[i]));
            }
        }
        servers.push_back(s);
        lines.push_back(n);
    }
    return ringplan::ketama::build_ring(servers);
}

/// `name token[,token...]` per line, tokens signed as Cassandra prints them.
inline ringplan::cassandra::CassandraRing read_cassandra(std::istream& in) {
    ringplan::cassandra::CassandraRing ring;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        const auto f = fields(line);
        if (f.empty()) {
            continue;
        }
        if (f.size() != 2) {
            throw line_error(n, "expected 'name token[,token...]'");
        }
        std::vector<ringplan::Token> tokens;
        std::size_t start = 0;
        while (true) {
            const std::size_t comma = f[1].find(',', start);
            const std::string t = f[1].substr(start, comma - start);
            std::int64_t v = 0;
            if (!parse_signed64(t, v)) {
                throw line_error(n, "bad token '" + t + "' (a signed 64-bit integer)");
            }
            tokens.push_back(ringplan::cassandra::token_to_unsigned(v));
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        try {
            ring.add_node_with_tokens(f[0], tokens);
        } catch (const ringplan::Error& e) {
            throw line_error(n, e.what());
        }
    }
    return ring;
}

/// `name [vnodes]` per line (default 256 vnodes), XXH3 placement.
inline ringplan::Ring<> read_default(std::istream& in) {
    ringplan::Ring<> ring;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        const auto f = fields(line);
        if (f.empty()) {
            continue;
        }
        if (f.size() > 2) {
            throw line_error(n, "expected 'name [vnodes]'");
        }
        std::uint64_t vnodes = 256;
        if (f.size() == 2 && (!parse_unsigned(f[1], 0xFFFFFFFFu, vnodes) || vnodes == 0)) {
            throw line_error(n, "bad vnode count '" + f[1] + "' (a whole number >= 1)");
        }
        try {
            ring.add_node(f[0], static_cast<std::uint32_t>(vnodes));
        } catch (const ringplan::Error& e) {
            throw line_error(n, e.what());
        }
    }
    return ring;
}

template <class R>
void route_keys(const R& ring, std::size_t rf, std::istream& keys, std::ostream& out) {
    if (ring.empty()) {
        throw Failure("NODES_FILE has no nodes");
    }
    std::string key;
    while (std::getline(keys, key)) {
        out << key << '\t';
        const auto replicas = ring.replicas(key, ringplan::Rf{rf});
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            out << (i == 0 ? "" : ",") << replicas[i];
        }
        out << '\n';
    }
}

/// Reads the nodes, then routes every key line of `keys`. Throws Failure.
inline void run(const Options& o, std::istream& nodes, std::istream& keys, std::ostream& out) {
    switch (o.scheme) {
        case Scheme::ketama:
            route_keys(read_ketama(nodes), o.rf, keys, out);
            break;
        case Scheme::cassandra:
            route_keys(read_cassandra(nodes), o.rf, keys, out);
            break;
        case Scheme::standard:
            route_keys(read_default(nodes), o.rf, keys, out);
            break;
    }
}

}  // namespace route

#endif  // RINGPLAN_EXAMPLES_ROUTE_LIB_HPP
