// ringplan example: the parts of redis_ring that need no server: the cluster file, numbers, the
// keys and values it writes, and the bucketing of scanned keys into a plan's moves.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_REDIS_RING_LIB_HPP
#define RINGPLAN_EXAMPLES_REDIS_RING_LIB_HPP

#include "example_util.hpp"

#include <ringplan/plan_types.hpp>
#include <ringplan/token.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace redis_ring {

using example_util::Failure;
using example_util::WriteFailure;  // the cluster file or stdout

constexpr std::size_t max_nodes = 256;
constexpr std::size_t max_id_bytes = 256;
constexpr std::size_t max_line_bytes = 4096;

struct Node {
    std::string id;
    std::string host;
    int port = 0;
    bool down = false;

    std::string address() const { return host + ":" + std::to_string(port); }
};

/// The membership: the nodes of the cluster file, in file order.
struct Cluster {
    std::vector<Node> nodes;

    const Node* find(std::string_view id) const {
        for (const Node& n : nodes) {
            if (n.id == id) {
                return &n;
            }
        }
        return nullptr;
    }
    Node* find(std::string_view id) {
        return const_cast<Node*>(static_cast<const Cluster&>(*this).find(id));
    }
};

/// A whole number in [min, max], decimal, no sign or blanks; `what` names it in the message.
inline std::uint64_t parse_number(std::string_view text, const std::string& what, std::uint64_t min,
                                  std::uint64_t max) {
    std::uint64_t value = 0;
    bool ok = !text.empty() && text.size() <= 20;
    for (char c : text) {
        if (!ok || c < '0' || c > '9') {
            ok = false;
            break;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            ok = false;
            break;
        }
        value = value * 10 + digit;
    }
    if (!ok || value < min || value > max) {
        throw Failure("bad " + what + " '" + std::string(text) + "' (a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max) + ")");
    }
    return value;
}

/// "host:port" into `node`; `where` prefixes the message.
inline void parse_address(std::string_view text, Node& node, const std::string& where) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw Failure(where + "bad address '" + std::string(text) + "' (HOST:PORT)");
    }
    node.host = std::string(text.substr(0, colon));
    try {
        node.port = static_cast<int>(parse_number(text.substr(colon + 1), "port", 1, 65535));
    } catch (const Failure& e) {
        throw Failure(where + e.what());
    }
}

/// Splits at spaces and tabs.
inline std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        const std::size_t start = line.find_first_not_of(" \t", i);
        if (start == std::string_view::npos) {
            break;
        }
        std::size_t end = line.find_first_of(" \t", start);
        end = end == std::string_view::npos ? line.size() : end;
        out.push_back(line.substr(start, end - start));
        i = end;
    }
    return out;
}

inline void check_id(std::string_view id, const std::string& where) {
    if (id.empty() || id.size() > max_id_bytes) {
        throw Failure(where + "a node id is 1 to " + std::to_string(max_id_bytes) + " bytes");
    }
    for (char c : id) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            throw Failure(where + "node id with a control character");
        }
    }
}

/// Adds `node` to `cluster`, refusing a repeated id or address.
inline void add_node(Cluster& cluster, Node node, const std::string& where) {
    for (const Node& n : cluster.nodes) {
        if (n.id == node.id) {
            throw Failure(where + "node " + node.id + " is listed twice");
        }
        if (n.host == node.host && n.port == node.port) {
            throw Failure(where + "address " + node.address() + " is already node " + n.id);
        }
    }
    if (cluster.nodes.size() == max_nodes) {
        throw Failure(where + "more than " + std::to_string(max_nodes) + " nodes");
    }
    cluster.nodes.push_back(std::move(node));
}

/// Reads a cluster file: `<id> <host>:<port> [down]` per line, '#' comments, blank lines.
inline Cluster parse_cluster(std::istream& in, const std::string& path) {
    Cluster cluster;
    std::string line;
    for (std::size_t number = 1;; ++number) {
        const std::string where = path + ":" + std::to_string(number) + ": ";
        const example_util::LineStatus status = example_util::read_line(in, line, max_line_bytes);
        if (status == example_util::LineStatus::end) {
            break;
        }
        if (status == example_util::LineStatus::too_long) {
            throw Failure(where + "line longer than " + std::to_string(max_line_bytes) + " bytes");
        }
        if (example_util::is_blank_or_comment(line)) {
            continue;
        }
        const std::vector<std::string_view> f = fields(line);
        if (f.size() < 2 || f.size() > 3 || (f.size() == 3 && f[2] != "down")) {
            throw Failure(where + "expected '<id> <host>:<port>' or '<id> <host>:<port> down'");
        }
        Node node;
        check_id(f[0], where);
        node.id = std::string(f[0]);
        parse_address(f[1], node, where);
        node.down = f.size() == 3;
        add_node(cluster, std::move(node), where);
    }
    if (in.bad()) {
        throw Failure("cannot read cluster file '" + path + "'");
    }
    if (cluster.nodes.empty()) {
        throw Failure(path + ": no nodes");
    }
    return cluster;
}

inline Cluster read_cluster(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Failure("cannot open cluster file '" + path + "'");
    }
    return parse_cluster(in, path);
}

/// Writes the membership to `path` through a temporary file and a rename, so a reader sees
/// the old file or the new one, never half of one.
inline void write_cluster(const std::string& path, const Cluster& cluster) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << "# redis_ring cluster: <id> <host>:<port> [down]\n";
        for (const Node& n : cluster.nodes) {
            out << n.id << ' ' << n.address() << (n.down ? " down" : "") << '\n';
        }
        if (!example_util::flush_ok(out)) {
            std::remove(tmp.c_str());
            throw WriteFailure("cannot write '" + tmp + "'; the cluster file is unchanged");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw WriteFailure("cannot rename '" + tmp + "' to '" + path + "'");
    }
}

/// The key of item i and the value redis_ring stores for it: derived from the key, so verify
/// can check every copy without remembering anything.
inline std::string key_name(std::uint64_t i) {
    return "key:" + std::to_string(i);
}

inline std::string value_of(std::string_view key) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(key.data(), key.size())));
    std::string v = "v:";
    v += key.substr(4);  // the i of "key:<i>"
    v += ':';
    v += hex;
    return v;
}

/// True for "key:<i>" with i a decimal without leading zeros; sets `i`.
inline bool parse_key(std::string_view key, std::uint64_t& i) {
    if (key.size() < 5 || key.size() > 24 || key.substr(0, 4) != "key:" ||
        (key.size() > 5 && key[4] == '0')) {
        return false;
    }
    try {
        i = parse_number(key.substr(4), "key", 0, std::numeric_limits<std::uint64_t>::max());
    } catch (const Failure&) {
        return false;
    }
    return true;
}

/// The moves of one source, cut into disjoint token segments, each with the moves whose range
/// covers it: a key's moves are a binary search away. Ranges of one source may overlap (one
/// range sent to two nodes), hence segments rather than the ranges themselves.
class MoveBuckets {
public:
    /// `indices`: indices into `moves`, all with the same source.
    template <class NodeId>
    MoveBuckets(const std::vector<ringplan::Move<NodeId>>& moves,
                const std::vector<std::size_t>& indices) {
        std::vector<ringplan::Token> cuts;
        for (std::size_t m : indices) {
            cuts.push_back(moves[m].range.first);
            if (moves[m].range.last != std::numeric_limits<ringplan::Token>::max()) {
                cuts.push_back(moves[m].range.last + 1);
            }
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        starts_ = cuts;
        moves_.resize(starts_.size());
        for (std::size_t m : indices) {
            const ringplan::TokenRange r = moves[m].range;
            auto it = std::lower_bound(starts_.begin(), starts_.end(), r.first);
            for (; it != starts_.end() && *it <= r.last; ++it) {
                moves_[static_cast<std::size_t>(it - starts_.begin())].push_back(m);
            }
        }
    }

    /// The moves whose range holds `t` (empty if none).
    const std::vector<std::size_t>& at(ringplan::Token t) const {
        auto it = std::upper_bound(starts_.begin(), starts_.end(), t);
        if (it == starts_.begin()) {
            return none_;
        }
        return moves_[static_cast<std::size_t>(it - starts_.begin()) - 1];
    }

private:
    std::vector<ringplan::Token> starts_;          // segment i is [starts_[i], starts_[i+1])
    std::vector<std::vector<std::size_t>> moves_;  // the moves covering segment i
    std::vector<std::size_t> none_;
};

}  // namespace redis_ring

#endif  // RINGPLAN_EXAMPLES_REDIS_RING_LIB_HPP
