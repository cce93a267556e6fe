// The reference model of plans for tests/plan_property_test.cpp: replica sets read off a sorted
// list of (token, node) pairs, and what docs/design.md's "Plans" section says must happen to each
// token, segment by segment. Nothing here shares code with include/ringplan/plan.hpp.
#ifndef RINGPLAN_TESTS_PLAN_MODEL_HPP
#define RINGPLAN_TESTS_PLAN_MODEL_HPP

#include "test_util.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace rp_model {

using ringplan::max_token;
using ringplan::Token;
using ringplan::TokenRange;
using Nodes = std::vector<std::string>;

inline bool has(const Nodes& nodes, const std::string& n) {
    return std::find(nodes.begin(), nodes.end(), n) != nodes.end();
}

// a \ b, in a's order.
inline Nodes minus(const Nodes& a, const Nodes& b) {
    Nodes out;
    for (const auto& n : a) {
        if (!has(b, n)) {
            out.push_back(n);
        }
    }
    return out;
}

inline bool same_set(const Nodes& a, const Nodes& b) {
    return a.size() == b.size() && minus(a, b).empty() && minus(b, a).empty();
}

inline std::string str(const Nodes& nodes) {
    std::string out = "{";
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        out += (i > 0 ? "," : "") + nodes[i];
    }
    return out + "}";
}

inline std::string str(const TokenRange& r) {
    return "[" + std::to_string(r.first) + "," + std::to_string(r.last) + "]";
}

// Sorts ranges and merges those that overlap or touch.
inline std::vector<TokenRange> merged(std::vector<TokenRange> ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<TokenRange> out;
    for (const TokenRange& r : ranges) {
        if (!out.empty() && (out.back().last == max_token || out.back().last + 1 >= r.first)) {
            out.back().last = std::max(out.back().last, r.last);
        } else {
            out.push_back(r);
        }
    }
    return out;
}

// A ring as a sorted list of (token, node); ties are ordered by node id, as docs/design.md says.
struct SortedRing {
    std::vector<std::pair<Token, std::string>> vnodes;
    std::size_t node_count = 0;

    SortedRing() = default;
    explicit SortedRing(const rp_test::NaiveRing<std::string>& naive) : vnodes(naive.vnodes) {
        std::sort(vnodes.begin(), vnodes.end());
        Nodes ids;
        for (const auto& v : vnodes) {
            ids.push_back(v.second);
        }
        std::sort(ids.begin(), ids.end());
        node_count = static_cast<std::size_t>(std::unique(ids.begin(), ids.end()) - ids.begin());
    }

    // The vnode that owns t: the first one with a token >= t, wrapping to the first of all.
    std::size_t owning(Token t) const {
        std::size_t lo = 0, hi = vnodes.size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (vnodes[mid].first < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == vnodes.size() ? 0 : lo;
    }

    // Another replica rule (tests/topology_model.hpp), when set: it ignores rf.
    std::function<Nodes(const SortedRing&, Token)> rule;

    // The first rf distinct nodes clockwise from t's owner, unless a rule is set.
    Nodes replicas(Token t, std::size_t rf) const {
        if (rule) {
            return rule(*this, t);
        }
        Nodes out;
        if (vnodes.empty()) {
            return out;
        }
        const std::size_t want = std::min(rf, node_count);
        std::size_t i = owning(t);
        for (std::size_t step = 0; step < vnodes.size() && out.size() < want; ++step) {
            if (!has(out, vnodes[i].second)) {
                out.push_back(vnodes[i].second);
            }
            i = i + 1 == vnodes.size() ? 0 : i + 1;
        }
        return out;
    }

    std::vector<Token> tokens() const {
        std::vector<Token> out;
        for (const auto& v : vnodes) {
            out.push_back(v.first);
        }
        return out;
    }
};

// What the contract says happens to one token whose replicas are rb before and ra after.
struct Expect {
    Nodes rb, ra;
    Nodes gained;   // ra \ rb: each receives the token exactly once (unless lost)
    Nodes sources;  // the allowed sources of those moves
    bool lost = false;
    bool under = false;
};

inline Expect expect(Nodes rb, Nodes ra, std::size_t rf, const Nodes& down) {
    Expect e;
    e.rb = std::move(rb);
    e.ra = std::move(ra);
    e.under = e.ra.size() < rf;
    if (e.rb.empty() || same_set(e.rb, e.ra)) {
        return e;  // no data yet, or nothing changed
    }
    const Nodes gained = minus(e.ra, e.rb);
    const Nodes up = minus(e.rb, down);
    if (e.ra.empty() || (!gained.empty() && up.empty())) {
        e.lost = true;
        return e;
    }
    e.gained = gained;
    const Nodes dropped_up = minus(minus(e.rb, e.ra), down);
    e.sources = dropped_up.empty() ? up : dropped_up;
    return e;
}

// The segments of the circle between consecutive distinct tokens of both rings: inside one,
// neither replica set changes. `hi` is the segment's last token (its owners are the vnodes at
// or after hi); the first segment wraps, so it can have two ranges.
struct Segment {
    Token hi = 0;
    TokenRange ranges[2];
    std::size_t count = 0;
};

inline std::vector<Segment> segments(const SortedRing& a, const SortedRing& b) {
    std::vector<Token> cuts = a.tokens();
    const std::vector<Token> more = b.tokens();
    cuts.insert(cuts.end(), more.begin(), more.end());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<Segment> out;
    if (cuts.size() <= 1) {
        Segment s;
        s.hi = cuts.empty() ? 0 : cuts[0];
        s.ranges[s.count++] = TokenRange{0, max_token};
        out.push_back(s);
        return out;
    }
    for (std::size_t k = 0; k < cuts.size(); ++k) {
        Segment s;
        s.hi = cuts[k];
        if (k == 0) {
            s.ranges[s.count++] = TokenRange{0, cuts[0]};
            if (cuts.back() != max_token) {
                s.ranges[s.count++] = TokenRange{cuts.back() + 1, max_token};
            }
        } else {
            s.ranges[s.count++] = TokenRange{cuts[k - 1] + 1, cuts[k]};
        }
        out.push_back(s);
    }
    return out;
}

// ---- random memberships ------------------------------------------------------------------

// Tokens worth probing with CoarseHash: its 16 points and their neighbours.
inline Token coarse_point(std::uint64_t k) {
    return k * (max_token / 15);
}

// Generates members with fresh ids and explicit tokens that never repeat within one world.
struct World {
    std::mt19937_64& rng;
    std::set<std::string> ids;
    std::set<Token> used;  // explicit tokens handed out

    explicit World(std::mt19937_64& r) : rng(r) {}

    std::string fresh_id() {
        for (;;) {
            std::string id = "n";  // appended: GCC 12 -O3 -Wrestrict misfires on "n" + string
            id += std::to_string(rng() % 100000);
            if (ids.insert(id).second) {
                return id;
            }
        }
    }

    // A token from a mix of edges, CoarseHash points' neighbours and random values, not in
    // `avoid` and not handed out before.
    Token fresh_token(const std::set<Token>& avoid) {
        for (;;) {
            const Token point = coarse_point(rng() % 16);
            const Token pick[] = {0,         max_token, 1,     max_token - 1,
                                  point - 1, point + 1, rng(), rng()};
            const Token t = pick[rng() % 8];
            if (avoid.count(t) == 0 && used.insert(t).second) {
                return t;
            }
        }
    }

    std::vector<Token> fresh_tokens(std::size_t count, const std::set<Token>& avoid = {}) {
        std::vector<Token> out;
        while (out.size() < count) {
            out.push_back(fresh_token(avoid));
        }
        return out;
    }

    rp_test::Member member(std::uint32_t max_vnodes, bool explicit_tokens) {
        rp_test::Member m;
        m.id = fresh_id();
        const auto count = static_cast<std::uint32_t>(1 + rng() % max_vnodes);
        if (explicit_tokens) {
            m.tokens = fresh_tokens(count);
        } else {
            m.vnodes = count;
        }
        return m;
    }

    // 1..max_nodes members, each derived or (when allowed, half the time) explicit.
    std::vector<rp_test::Member> members(std::size_t max_nodes, std::uint32_t max_vnodes,
                                         bool explicit_tokens) {
        const std::size_t n = 1 + rng() % max_nodes;
        std::vector<rp_test::Member> out;
        for (std::size_t k = 0; k < n; ++k) {
            out.push_back(member(max_vnodes, explicit_tokens && rng() % 2 == 0));
        }
        return out;
    }
};

// Builds a ring: explicit-token members first (an explicit token may not land on an existing
// vnode, while derived tokens may coincide with anything), each group in the given order.
template <class Hash>
ringplan::Ring<Hash> build(std::vector<rp_test::Member> members) {
    std::stable_partition(members.begin(), members.end(),
                          [](const rp_test::Member& m) { return m.vnodes == 0; });
    ringplan::Ring<Hash> ring;
    for (const auto& m : members) {
        rp_test::add_member(ring, m);
    }
    return ring;
}

template <class Hash>
SortedRing model_of(const std::vector<rp_test::Member>& members) {
    return SortedRing(rp_test::naive_of<Hash>(members));
}

inline std::string describe(const std::vector<rp_test::Member>& members) {
    std::ostringstream out;
    for (const auto& m : members) {
        out << m.id;
        if (m.vnodes > 0) {
            out << "x" << m.vnodes;
        } else {
            out << "@{";
            for (std::size_t i = 0; i < m.tokens.size(); ++i) {
                out << (i > 0 ? "," : "") << m.tokens[i];
            }
            out << "}";
        }
        out << " ";
    }
    return out.str();
}

}  // namespace rp_model

#endif  // RINGPLAN_TESTS_PLAN_MODEL_HPP
