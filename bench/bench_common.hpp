// Shared by the benchmark programs: the ring shapes, the rings under test (built once and cached
// across benchmarks), the probes, and the baselines a user without ringplan would write.
#ifndef RINGPLAN_BENCH_COMMON_HPP
#define RINGPLAN_BENCH_COMMON_HPP

#include <ringplan/ringplan.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bench {

using ringplan::Token;
using Ring = ringplan::Ring<>;

/// A ring of `nodes` nodes "node-<i>" with `vnodes` vnodes each.
struct Shape {
    std::size_t nodes;
    std::uint32_t vnodes;

    std::size_t total() const { return nodes * vnodes; }
    /// "40x256", as in plan_leave/ringplan/40x256/rf3.
    std::string label() const { return std::to_string(nodes) + "x" + std::to_string(vnodes); }
    bool operator<(const Shape& o) const {
        return nodes != o.nodes ? nodes < o.nodes : vnodes < o.vnodes;
    }
};

/// The ring that stands for a nominal size in the lookup and build rows: 256 vnodes per node,
/// except 4 x 250 for 10^3. 10^6 is 3900 x 256 = 998,400 vnodes.
inline Shape shape_for(std::size_t nominal) {
    switch (nominal) {
        case 1000:
            return {4, 250};
        case 10000:
            return {40, 256};
        case 100000:
            return {400, 256};
        case 1000000:
            return {3900, 256};
        default:
            return {std::max<std::size_t>(1, nominal / 256), 256};
    }
}

constexpr std::size_t lookup_sizes[] = {1000, 10000, 100000, 1000000};
/// The plan rows: 10^4, 10^5 and 10^6 vnodes at 256 vnodes per node.
constexpr std::size_t plan_sizes[] = {10000, 100000, 1000000};

inline std::vector<std::string> node_ids(std::size_t nodes) {
    std::vector<std::string> ids;
    ids.reserve(nodes);
    for (std::size_t i = 0; i < nodes; ++i) {
        ids.push_back("node-" + std::to_string(i));
    }
    return ids;
}

/// The node that leaves (or crashes) in the plan rows.
inline std::string leaving_node(const Shape& s) {
    return "node-" + std::to_string(s.nodes / 2);
}

/// Lookup probes: random tokens (as if keys were already hashed, so hashing is not measured),
/// a power of two of them so the benchmarks index with a mask. 2^16 by default; the environment
/// variable RINGPLAN_BENCH_PROBE_BITS (10 to 24) changes it. 2^16 probes touch about half the
/// cache lines of a 10^6-vnode ring, 2^20 nearly all (docs/performance.md).
inline const std::vector<Token>& probes() {
    static const std::vector<Token> p = [] {
        unsigned bits = 16;
        if (const char* env = std::getenv("RINGPLAN_BENCH_PROBE_BITS")) {
            bits = static_cast<unsigned>(std::clamp(std::atoi(env), 10, 24));
        }
        std::mt19937_64 rng(42);
        std::vector<Token> v(std::size_t{1} << bits);
        for (Token& t : v) {
            t = rng();
        }
        return v;
    }();
    return p;
}

/// Bytes of heap in use (glibc), to measure what a std::map ring really costs. 0 if unknown.
inline std::size_t heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}

/// max / mean of the nodes' shares of the ring, from (token, node index) pairs in token order.
template <class ForEachVnode>
double spread_of(std::size_t nodes, ForEachVnode for_each_vnode) {
    std::vector<double> share(nodes, 0.0);
    bool first = true;
    Token prev = 0;
    std::uint32_t first_node = 0;
    Token first_token = 0;
    for_each_vnode([&](Token t, std::uint32_t node) {
        if (first) {
            first = false;
            first_node = node;
            first_token = t;
        } else {
            share[node] += static_cast<double>(t - prev);
        }
        prev = t;
    });
    share[first_node] += static_cast<double>(first_token - prev);  // wraps around 2^64
    const double total = 18446744073709551616.0;
    double max = 0;
    for (double s : share) {
        max = std::max(max, s / total);
    }
    return max * static_cast<double>(nodes);
}

inline double spread_of(const Ring& ring) {
    double max = 0;
    for (const auto& entry : ring.ownership()) {
        max = std::max(max, entry.second);
    }
    return max * static_cast<double>(ring.node_count());
}

// ---- baselines ----------------------------------------------------------------------------------

/// The textbook ring: an ordered map from vnode token to node id; a lookup is lower_bound, and
/// past the last vnode it wraps to the first.
class MapRing {
public:
    void add_nodes(const std::vector<std::string>& ids, std::uint32_t vnodes) {
        for (const std::string& id : ids) {
            for (std::uint32_t v = 0; v < vnodes; ++v) {
                map_.emplace(ringplan::vnode_token(id, v), id);
            }
        }
    }
    const std::string& owner_at(Token t) const {
        auto it = map_.lower_bound(t);
        if (it == map_.end()) {
            it = map_.begin();
        }
        return it->second;
    }
    std::size_t vnode_count() const { return map_.size(); }
    double spread(std::size_t nodes) const {
        std::unordered_map<std::string, std::uint32_t> index;
        return spread_of(nodes, [&](auto&& visit) {
            for (const auto& [token, id] : map_) {
                const auto it = index.emplace(id, static_cast<std::uint32_t>(index.size())).first;
                visit(token, it->second);
            }
        });
    }

private:
    std::map<Token, std::string> map_;
};

/// The bisect ring of ketama and Envoy's RingHashLoadBalancer, written well: the vnode tokens
/// sorted in one array (8 bytes each, so a binary search reads dense cache lines), a parallel
/// array of node indices, a node table, and std::lower_bound. Equal tokens are ordered by node
/// id, as in ringplan, so both give the same owner for every token.
class SortedVectorRing {
public:
    void add_nodes(const std::vector<std::string>& ids, std::uint32_t vnodes) {
        nodes_ = ids;
        std::sort(nodes_.begin(), nodes_.end());
        std::vector<std::pair<Token, std::uint32_t>> points;
        points.reserve(nodes_.size() * vnodes);
        for (std::size_t n = 0; n < nodes_.size(); ++n) {
            for (std::uint32_t v = 0; v < vnodes; ++v) {
                points.emplace_back(ringplan::vnode_token(nodes_[n], v),
                                    static_cast<std::uint32_t>(n));
            }
        }
        std::sort(points.begin(), points.end());
        tokens_.resize(points.size());
        owners_.resize(points.size());
        for (std::size_t i = 0; i < points.size(); ++i) {
            tokens_[i] = points[i].first;
            owners_[i] = points[i].second;
        }
    }

    /// The same ring as `ring` (its tokens and owners), optionally without one node's vnodes;
    /// node indices are ring's, so two copies of one ring compare owners by index.
    static SortedVectorRing copy_of(const Ring& ring, const std::string* without = nullptr) {
        SortedVectorRing r;
        r.nodes_ = ring.nodes();
        for (std::size_t i = 0; i < ring.vnode_count(); ++i) {
            const std::string& id = ring.vnode_node(i);
            if (without != nullptr && id == *without) {
                continue;
            }
            r.tokens_.push_back(ring.vnode_token(i));
            r.owners_.push_back(static_cast<std::uint32_t>(
                std::lower_bound(r.nodes_.begin(), r.nodes_.end(), id) - r.nodes_.begin()));
        }
        return r;
    }

    std::size_t vnode_at(Token t) const {
        const auto i = static_cast<std::size_t>(
            std::lower_bound(tokens_.begin(), tokens_.end(), t) - tokens_.begin());
        return i == tokens_.size() ? 0 : i;
    }
    std::uint32_t owner_index(Token t) const { return owners_[vnode_at(t)]; }
    const std::string& owner_at(Token t) const { return nodes_[owner_index(t)]; }

    /// The first min(rf, nodes) distinct nodes clockwise from t's owner, into out[0..]; returns
    /// how many. No allocation: `out` holds at least rf entries.
    std::size_t replicas_at(Token t, std::size_t rf, std::uint32_t* out) const {
        const std::size_t want = std::min(rf, distinct_nodes_);
        const std::size_t n = tokens_.size();
        std::size_t found = 0;
        for (std::size_t i = vnode_at(t), step = 0; step < n && found < want; ++step) {
            const std::uint32_t o = owners_[i];
            if (std::find(out, out + found, o) == out + found) {
                out[found++] = o;
            }
            if (++i == n) {
                i = 0;
            }
        }
        return found;
    }
    void count_nodes() {
        std::vector<bool> seen(nodes_.size(), false);
        distinct_nodes_ = 0;
        for (std::uint32_t o : owners_) {
            if (!seen[o]) {
                seen[o] = true;
                ++distinct_nodes_;
            }
        }
    }

    std::size_t vnode_count() const { return tokens_.size(); }
    std::size_t memory_usage() const {
        return tokens_.capacity() * sizeof(Token) + owners_.capacity() * sizeof(std::uint32_t) +
               nodes_.capacity() * sizeof(std::string);
    }
    double spread() const {
        return spread_of(nodes_.size(), [&](auto&& visit) {
            for (std::size_t i = 0; i < tokens_.size(); ++i) {
                visit(tokens_[i], owners_[i]);
            }
        });
    }

private:
    std::vector<Token> tokens_;
    std::vector<std::uint32_t> owners_;
    std::vector<std::string> nodes_;
    std::size_t distinct_nodes_ = 0;
};

/// Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash
/// Algorithm", 2014, figure 1): no ring and no memory, but only numbered buckets, no weights
/// and no removal of an arbitrary node. The no-ring reference point.
inline std::uint32_t jump_consistent_hash(std::uint64_t key, std::uint32_t buckets) {
    std::int64_t b = -1;
    std::int64_t j = 0;
    while (j < static_cast<std::int64_t>(buckets)) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = static_cast<std::int64_t>(
            static_cast<double>(b + 1) *
            (static_cast<double>(std::int64_t{1} << 31) / static_cast<double>((key >> 33) + 1)));
    }
    return static_cast<std::uint32_t>(b);
}

class JumpTable {
public:
    explicit JumpTable(std::vector<std::string> ids) : nodes_(std::move(ids)) {}
    const std::string& owner_at(Token t) const {
        return nodes_[jump_consistent_hash(t, static_cast<std::uint32_t>(nodes_.size()))];
    }
    std::size_t memory_usage() const { return nodes_.capacity() * sizeof(std::string); }

private:
    std::vector<std::string> nodes_;
};

// ---- cached instances ---------------------------------------------------------------------------
// Built on first use, inside a benchmark function but before its timed loop, and kept for the
// whole run: a filtered run (the smoke test) builds only what it runs.

inline const Ring& ring_of(const Shape& s) {
    static std::map<Shape, std::unique_ptr<Ring>> cache;
    auto& slot = cache[s];
    if (!slot) {
        slot = std::make_unique<Ring>();
        slot->add_nodes(node_ids(s.nodes), s.vnodes);
    }
    return *slot;
}

/// ring_of(s) without leaving_node(s).
inline const Ring& ring_without(const Shape& s) {
    static std::map<Shape, std::unique_ptr<Ring>> cache;
    auto& slot = cache[s];
    if (!slot) {
        slot = std::make_unique<Ring>(ring_of(s));
        slot->remove_node(leaving_node(s));
    }
    return *slot;
}

struct CachedMap {
    MapRing ring;
    std::size_t heap_bytes = 0;  // measured with mallinfo2; 0 where unavailable
};

inline const CachedMap& map_of(const Shape& s) {
    static std::map<Shape, std::unique_ptr<CachedMap>> cache;
    auto& slot = cache[s];
    if (!slot) {
        slot = std::make_unique<CachedMap>();
        const std::vector<std::string> ids = node_ids(s.nodes);
        const std::size_t before = heap_in_use();
        slot->ring.add_nodes(ids, s.vnodes);
        const std::size_t after = heap_in_use();
        slot->heap_bytes = after > before ? after - before : 0;
    }
    return *slot;
}

inline const SortedVectorRing& sorted_of(const Shape& s) {
    static std::map<Shape, std::unique_ptr<SortedVectorRing>> cache;
    auto& slot = cache[s];
    if (!slot) {
        slot = std::make_unique<SortedVectorRing>();
        slot->add_nodes(node_ids(s.nodes), s.vnodes);
        slot->count_nodes();
    }
    return *slot;
}

inline const JumpTable& jump_of(const Shape& s) {
    static std::map<Shape, std::unique_ptr<JumpTable>> cache;
    auto& slot = cache[s];
    if (!slot) {
        slot = std::make_unique<JumpTable>(node_ids(s.nodes));
    }
    return *slot;
}

inline std::int64_t to_i64(std::size_t n) {
    return static_cast<std::int64_t>(n);
}

}  // namespace bench

#endif  // RINGPLAN_BENCH_COMMON_HPP
