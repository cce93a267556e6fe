// Shared helpers for the ringplan tests: a naive reference ring, hash policies that force
// collisions and edge tokens, and golden-file reading.
#ifndef RINGPLAN_TESTS_TEST_UTIL_HPP
#define RINGPLAN_TESTS_TEST_UTIL_HPP

#include <ringplan/ringplan.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rp_test {

using ringplan::Token;

// Places everything on 16 tokens spread from 0 to 2^64-1 (both ends included), so vnodes of
// different nodes collide often and the edges of the token space are always in play.
struct CoarseHash {
    static constexpr const char* name = "coarse";
    static Token hash(const void* data, std::size_t size) noexcept {
        const Token h = ringplan::Xxh3::hash(data, size);
        return (h % 16) * (ringplan::max_token / 15);
    }
};

// The reference model: a plain list of (token, node) scanned linearly, straight from the
// definitions in docs/design.md, with no sorting or searching shared with the library.
template <class NodeId = std::string>
struct NaiveRing {
    std::vector<std::pair<Token, NodeId>> vnodes;

    // The vnode that owns t: the smallest token >= t (ties: smallest node id), else the
    // smallest token of all (wrap).
    std::size_t owning_vnode(Token t) const {
        std::size_t best = vnodes.size();
        for (std::size_t i = 0; i < vnodes.size(); ++i) {
            if (vnodes[i].first >= t && (best == vnodes.size() || vnodes[i] < vnodes[best])) {
                best = i;
            }
        }
        if (best != vnodes.size()) {
            return best;
        }
        for (std::size_t i = 0; i < vnodes.size(); ++i) {
            if (best == vnodes.size() || vnodes[i] < vnodes[best]) {
                best = i;
            }
        }
        return best;
    }

    NodeId owner(Token t) const { return vnodes.at(owning_vnode(t)).second; }

    // Clockwise order starting at the owning vnode, one vnode at a time.
    std::vector<std::size_t> clockwise(Token t) const {
        std::vector<std::size_t> order;
        std::size_t cur = owning_vnode(t);
        for (std::size_t step = 0; step < vnodes.size(); ++step) {
            order.push_back(cur);
            // The next vnode: the smallest (token, id) strictly greater than the current one,
            // else the smallest overall.
            std::size_t next = vnodes.size();
            for (std::size_t i = 0; i < vnodes.size(); ++i) {
                if (vnodes[cur] < vnodes[i] &&
                    (next == vnodes.size() || vnodes[i] < vnodes[next])) {
                    next = i;
                }
            }
            if (next == vnodes.size()) {
                for (std::size_t i = 0; i < vnodes.size(); ++i) {
                    if (next == vnodes.size() || vnodes[i] < vnodes[next]) {
                        next = i;
                    }
                }
            }
            cur = next;
        }
        return order;
    }

    std::vector<NodeId> replicas(Token t, std::size_t rf) const {
        std::vector<NodeId> out;
        for (std::size_t i : clockwise(t)) {
            if (out.size() < rf &&
                std::find(out.begin(), out.end(), vnodes[i].second) == out.end()) {
                out.push_back(vnodes[i].second);
            }
        }
        return out;
    }
};

// A random membership: node ids "n<k>" with random vnode counts, or explicit tokens.
struct Member {
    std::string id;
    std::uint32_t vnodes = 0;   // derived tokens when > 0
    std::vector<Token> tokens;  // explicit tokens otherwise
};

inline std::vector<Member> random_members(std::mt19937_64& rng, std::size_t max_nodes,
                                          std::uint32_t max_vnodes, bool explicit_tokens) {
    const std::size_t n = 1 + rng() % max_nodes;
    std::vector<Member> out;
    std::vector<Token> used;
    for (std::size_t k = 0; k < n; ++k) {
        Member m;
        m.id = "n";  // appended: GCC 12 -O3 -Wrestrict misfires on "n" + string
        m.id += std::to_string(rng() % 1000000);
        bool dup = false;
        for (const Member& o : out) {
            dup = dup || o.id == m.id;
        }
        if (dup) {
            continue;
        }
        const auto count = static_cast<std::uint32_t>(1 + rng() % max_vnodes);
        if (explicit_tokens && rng() % 2 == 0) {
            while (m.tokens.size() < count) {
                // Mix edge tokens in with random ones.
                const Token pick[] = {0, ringplan::max_token, 1, ringplan::max_token - 1, rng()};
                const Token t = pick[rng() % 5];
                if (std::find(used.begin(), used.end(), t) == used.end()) {
                    used.push_back(t);
                    m.tokens.push_back(t);
                }
            }
        } else {
            m.vnodes = count;
        }
        out.push_back(std::move(m));
    }
    return out;
}

template <class Ring>
void add_member(Ring& ring, const Member& m) {
    if (m.vnodes > 0) {
        ring.add_node(m.id, m.vnodes);
    } else {
        ring.add_node_with_tokens(m.id, m.tokens);
    }
}

template <class T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& from) {
    return from[rng() % from.size()];
}

inline std::vector<std::string> ids_of(const std::vector<Member>& members) {
    std::vector<std::string> out;
    for (const auto& m : members) {
        out.push_back(m.id);
    }
    return out;
}

// A random subset of `ids`: each is down with a percentage picked from `percents`.
inline std::vector<std::string> random_down(std::mt19937_64& rng,
                                            const std::vector<std::string>& ids,
                                            const std::vector<std::uint64_t>& percents) {
    const std::uint64_t percent = pick(rng, percents);
    std::vector<std::string> out;
    for (const auto& id : ids) {
        if (rng() % 100 < percent) {
            out.push_back(id);
        }
    }
    return out;
}

// The reference model of a ring: every vnode the ring reports, re-derived from the members.
template <class Hash>
NaiveRing<std::string> naive_of(const std::vector<Member>& members) {
    NaiveRing<std::string> naive;
    for (const Member& m : members) {
        if (m.vnodes > 0) {
            for (std::uint32_t v = 0; v < m.vnodes; ++v) {
                naive.vnodes.emplace_back(ringplan::vnode_token<Hash>(m.id, v), m.id);
            }
        } else {
            for (Token t : m.tokens) {
                naive.vnodes.emplace_back(t, m.id);
            }
        }
    }
    return naive;
}

inline std::vector<unsigned char> from_hex(const std::string& hex) {
    std::vector<unsigned char> out;
    if (hex == "-") {
        return out;
    }
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<unsigned char>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

inline std::vector<std::vector<std::string>> read_golden(const std::string& name) {
    const std::string path = std::string(RINGPLAN_TEST_DATA_DIR) + "/" + name;
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot open golden file " + path);
    }
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> row;
        std::string f;
        while (fields >> f) {
            row.push_back(f);
        }
        if (!row.empty()) {
            rows.push_back(row);
        }
    }
    return rows;
}

}  // namespace rp_test

#endif  // RINGPLAN_TESTS_TEST_UTIL_HPP
