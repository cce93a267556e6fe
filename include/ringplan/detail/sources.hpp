// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Balanced stream sources (docs/plans.md, "Sources"): each move of a plan is a job of a whole
// range that one of its candidate sources must send. The busiest source is kept within the
// optimum of the splittable problem plus the largest range: a parametric max-flow finds the
// splittable optimum, then the fractional solution is rounded as Lenstra, Shmoys and Tardos
// (1990) round unrelated-machine schedules. Cassandra balances its stream sources with a
// max-flow too (RangeFetchMapCalculator). Everything is in whole tokens, in integers, so the
// same jobs give the same sources on every platform. Users never name anything here.
#ifndef RINGPLAN_DETAIL_SOURCES_HPP
#define RINGPLAN_DETAIL_SOURCES_HPP

#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

// A count of tokens that may exceed 2^64 (a plan moves up to rf whole rings): two 64-bit
// halves, so no compiler extension (__int128) and no floating point decide a choice.
struct TokenCount {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    static TokenCount of(std::uint64_t v) noexcept { return TokenCount{0, v}; }
    // The tokens of a range: last - first + 1, which is 2^64 for the whole ring.
    static TokenCount width(const TokenRange& r) noexcept { return of(r.last - r.first) + of(1); }

    bool zero() const noexcept { return hi == 0 && lo == 0; }
    friend TokenCount operator+(TokenCount a, TokenCount b) noexcept {
        TokenCount r{a.hi + b.hi, a.lo + b.lo};
        if (r.lo < a.lo) {
            ++r.hi;
        }
        return r;
    }
    friend TokenCount operator-(TokenCount a, TokenCount b) noexcept {  // a >= b
        TokenCount r{a.hi - b.hi, a.lo - b.lo};
        if (a.lo < b.lo) {
            --r.hi;
        }
        return r;
    }
    TokenCount& operator+=(TokenCount b) noexcept { return *this = *this + b; }
    TokenCount& operator-=(TokenCount b) noexcept { return *this = *this - b; }
    friend bool operator==(TokenCount a, TokenCount b) noexcept {
        return a.hi == b.hi && a.lo == b.lo;
    }
    friend bool operator!=(TokenCount a, TokenCount b) noexcept { return !(a == b); }
    friend bool operator<(TokenCount a, TokenCount b) noexcept {
        return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
    }
    friend bool operator<=(TokenCount a, TokenCount b) noexcept { return !(b < a); }

    // ceil(this / d) for 0 < d < 2^32, by 32-bit long division.
    TokenCount ceil_div(std::uint64_t d) const noexcept {
        const std::uint64_t limbs[4] = {hi >> 32, hi & 0xffffffffu, lo >> 32, lo & 0xffffffffu};
        std::uint64_t q[4];
        std::uint64_t rem = 0;
        for (int k = 0; k < 4; ++k) {
            const std::uint64_t cur = (rem << 32) | limbs[k];
            q[k] = cur / d;
            rem = cur % d;
        }
        TokenCount r{(q[0] << 32) | q[1], (q[2] << 32) | q[3]};
        return rem == 0 ? r : r + of(1);
    }

    // As a fraction of the ring (2^64 tokens).
    double fraction() const noexcept {
        return static_cast<double>(hi) + static_cast<double>(lo) * 0x1p-64;
    }
};

inline TokenCount count_min(TokenCount a, TokenCount b) noexcept {
    return b < a ? b : a;
}

// Chooses one source per job. Jobs are added in a canonical order (the planner's: descending
// tokens), candidates in a canonical order (nearest replica first); node indices are the
// plan's shared table. The result depends on nothing else.
class SourceBalancer {
public:
    explicit SourceBalancer(std::size_t nodes) : slot_(nodes, none) {}

    // A job of `width` tokens whose candidates are the `count` nodes at `pool` (count > 0).
    void add(TokenCount width, const std::uint32_t* pool, std::size_t count) {
        widths_.push_back(width);
        starts_.push_back(static_cast<std::uint32_t>(candidates_.size()));
        candidates_.insert(candidates_.end(), pool, pool + count);
    }

    std::size_t size() const noexcept { return widths_.size(); }

    // Solves; afterwards source(j) is job j's source and optimum() the splittable optimum
    // (rounded up to a whole token).
    void solve() {
        const std::size_t m = widths_.size();
        starts_.push_back(static_cast<std::uint32_t>(candidates_.size()));
        source_.assign(m, none);
        if (m == 0) {
            return;
        }
        // The candidates, numbered by node index: the same jobs number them the same way.
        for (std::uint32_t n : candidates_) {
            slot_[n] = 0;
        }
        for (std::size_t n = 0; n < slot_.size(); ++n) {
            if (slot_[n] != none) {
                slot_[n] = static_cast<std::uint32_t>(nodes_.size());
                nodes_.push_back(static_cast<std::uint32_t>(n));
            }
        }
        if (forced()) {
            return;
        }
        build_graph();
        max_flow_parametric();
        round();
        polish();
    }

    std::uint32_t source(std::size_t job) const noexcept { return source_[job]; }
    TokenCount optimum() const noexcept { return lambda_; }

private:
    static constexpr std::uint32_t none = ~std::uint32_t{0};
    static constexpr TokenCount infinite() noexcept {
        return TokenCount{std::uint64_t{1} << 62, 0};
    }

    // Every job with one candidate (a strict leave, most joins): nothing to choose, and the
    // busiest load is the optimum. Saves building a network for the common plans.
    bool forced() {
        const std::size_t m = widths_.size();
        for (std::size_t j = 0; j < m; ++j) {
            if (starts_[j + 1] - starts_[j] != 1) {
                return false;
            }
        }
        std::vector<TokenCount> load(nodes_.size());
        for (std::size_t j = 0; j < m; ++j) {
            source_[j] = candidates_[starts_[j]];
            TokenCount& l = load[slot_[source_[j]]];
            l += widths_[j];
            if (lambda_ < l) {
                lambda_ = l;
            }
        }
        return true;
    }

    // ---- the flow network: source -> job (its width) -> candidates (unbounded) -> sink (λ)

    std::uint32_t vertex_of_job(std::size_t j) const noexcept {
        return static_cast<std::uint32_t>(1 + j);
    }
    std::uint32_t vertex_of_node(std::size_t k) const noexcept {
        return static_cast<std::uint32_t>(1 + widths_.size() + k);
    }
    std::uint32_t sink() const noexcept {
        return static_cast<std::uint32_t>(1 + widths_.size() + nodes_.size());
    }

    void edge(std::uint32_t from, std::uint32_t to, TokenCount cap) {
        tails_.push_back(from);
        heads_.push_back(to);
        cap_.push_back(cap);
        tails_.push_back(to);
        heads_.push_back(from);
        cap_.push_back(TokenCount{});
    }

    void build_graph() {
        const std::size_t m = widths_.size();
        TokenCount total;
        for (std::size_t j = 0; j < m; ++j) {
            edge(0, vertex_of_job(j), widths_[j]);
            total += widths_[j];
        }
        for (std::size_t j = 0; j < m; ++j) {
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                edge(vertex_of_job(j), vertex_of_node(slot_[candidates_[c]]), infinite());
            }
        }
        // A lower bound of the optimum: the whole demand spread over every candidate, and each
        // job spread over its own candidates. The closer, the fewer rounds of flow.
        lambda_ = total.ceil_div(nodes_.size());
        for (std::size_t j = 0; j < m; ++j) {
            const TokenCount share = widths_[j].ceil_div(starts_[j + 1] - starts_[j]);
            if (lambda_ < share) {
                lambda_ = share;
            }
        }
        demand_ = total;
        const TokenCount peeled = peel(total);
        if (lambda_ < peeled) {
            lambda_ = peeled;
        }
        first_sink_edge_ = static_cast<std::uint32_t>(heads_.size());
        for (std::size_t k = 0; k < nodes_.size(); ++k) {
            edge(vertex_of_node(k), sink(), lambda_);
        }
        // Adjacency in insertion order (a counting sort): the order decides ties.
        const std::size_t vertices = std::size_t{sink()} + 1;
        first_.assign(vertices + 1, 0);
        for (std::uint32_t t : tails_) {
            ++first_[t + 1];
        }
        for (std::size_t v = 0; v < vertices; ++v) {
            first_[v + 1] += first_[v];
        }
        adjacency_.resize(tails_.size());
        std::vector<std::uint32_t> fill(first_.begin(), first_.end() - 1);
        for (std::size_t e = 0; e < tails_.size(); ++e) {
            adjacency_[fill[tails_[e]]++] = static_cast<std::uint32_t>(e);
        }
    }

    // A lower bound by peeling (Charikar's greedy for dense subgraphs): drop the candidate
    // whose jobs weigh least, with its jobs, and keep the best w(jobs left) / |candidates
    // left|. Every such ratio is at most the optimum (those jobs can only go to those nodes),
    // and it is often the optimum itself, which saves whole rounds of flow.
    TokenCount peel(TokenCount total) const {
        const std::size_t m = widths_.size();
        const std::size_t k_count = nodes_.size();
        std::vector<std::uint32_t> first(k_count + 1, 0), jobs(candidates_.size());
        for (std::uint32_t n : candidates_) {
            ++first[slot_[n] + 1];
        }
        for (std::size_t k = 0; k < k_count; ++k) {
            first[k + 1] += first[k];
        }
        std::vector<std::uint32_t> fill(first.begin(), first.end() - 1);
        std::vector<TokenCount> weight(k_count);
        for (std::size_t j = 0; j < m; ++j) {
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                const std::uint32_t k = slot_[candidates_[c]];
                jobs[fill[k]++] = static_cast<std::uint32_t>(j);
                weight[k] += widths_[j];
            }
        }
        using Entry = std::pair<TokenCount, std::uint32_t>;
        const auto later = [](const Entry& a, const Entry& b) {
            return b.first < a.first || (a.first == b.first && b.second < a.second);
        };
        std::priority_queue<Entry, std::vector<Entry>, decltype(later)> queue(later);
        for (std::size_t k = 0; k < k_count; ++k) {
            queue.push(Entry{weight[k], static_cast<std::uint32_t>(k)});
        }
        std::vector<bool> gone_node(k_count, false), gone_job(m, false);
        TokenCount left = total;
        TokenCount best;
        for (std::size_t count = k_count; count > 1;) {
            const Entry e = queue.top();
            queue.pop();
            if (gone_node[e.second] || e.first != weight[e.second]) {
                continue;  // stale
            }
            gone_node[e.second] = true;
            --count;
            for (std::uint32_t a = first[e.second]; a < first[e.second + 1]; ++a) {
                const std::uint32_t j = jobs[a];
                if (gone_job[j]) {
                    continue;
                }
                gone_job[j] = true;
                left -= widths_[j];
                for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                    const std::uint32_t k = slot_[candidates_[c]];
                    if (!gone_node[k]) {
                        weight[k] -= widths_[j];
                        queue.push(Entry{weight[k], k});
                    }
                }
            }
            const TokenCount ratio = left.ceil_div(count);
            if (best < ratio) {
                best = ratio;
            }
        }
        return best;
    }

    // Levels from the source over edges with room; true when the sink is reached.
    bool levels() {
        level_.assign(first_.size() - 1, none);
        queue_.clear();
        level_[0] = 0;
        queue_.push_back(0);
        const std::uint32_t t = sink();
        for (std::size_t q = 0; q < queue_.size(); ++q) {
            const std::uint32_t v = queue_[q];
            if (level_[t] != none && level_[v] >= level_[t]) {
                break;  // nothing further is on a shortest path
            }
            for (std::uint32_t a = first_[v]; a < first_[v + 1]; ++a) {
                const std::uint32_t e = adjacency_[a];
                if (!cap_[e].zero() && level_[heads_[e]] == none) {
                    level_[heads_[e]] = level_[v] + 1;
                    queue_.push_back(heads_[e]);
                }
            }
        }
        return level_[t] != none;
    }

    // Dinic's blocking flows, iteratively (paths may be long); returns the flow added.
    TokenCount dinic() {
        TokenCount added;
        const std::uint32_t t = sink();
        while (levels()) {
            std::vector<std::uint32_t> next(first_.begin(), first_.end() - 1);
            path_.clear();
            std::uint32_t v = 0;
            for (;;) {
                if (v == t) {
                    TokenCount f = cap_[path_.front()];
                    for (std::uint32_t e : path_) {
                        f = count_min(f, cap_[e]);
                    }
                    for (std::uint32_t e : path_) {
                        cap_[e] -= f;
                        cap_[e ^ 1u] += f;
                    }
                    added += f;
                    std::size_t k = 0;
                    while (!cap_[path_[k]].zero()) {
                        ++k;
                    }
                    path_.resize(k);  // back to the tail of the first saturated edge
                    v = k == 0 ? 0 : heads_[path_[k - 1]];
                    continue;
                }
                bool advanced = false;
                for (; next[v] < first_[v + 1]; ++next[v]) {
                    const std::uint32_t e = adjacency_[next[v]];
                    const std::uint32_t w = heads_[e];
                    if (!cap_[e].zero() && level_[w] != none && level_[w] == level_[v] + 1) {
                        path_.push_back(e);
                        v = w;
                        advanced = true;
                        break;
                    }
                }
                if (!advanced) {
                    if (v == 0) {
                        break;
                    }
                    level_[v] = none;  // a dead end for this phase
                    const std::uint32_t e = path_.back();
                    path_.pop_back();
                    v = tails_[e];
                    ++next[v];
                }
            }
        }
        return added;
    }

    // A first flow, greedily: each job, in order, to the candidates with the most room left.
    // It routes most of the demand, so the max-flow only has to repair what it could not.
    TokenCount warm_start() {
        const std::size_t m = widths_.size();
        const auto push = [&](std::size_t e, TokenCount f) {
            cap_[e] -= f;
            cap_[e ^ 1u] += f;
        };
        TokenCount routed;
        for (std::size_t j = 0; j < m; ++j) {
            TokenCount left = widths_[j];
            while (!left.zero()) {
                std::uint32_t best = none;
                TokenCount room;
                for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                    const TokenCount r = cap_[first_sink_edge_ + 2 * slot_[candidates_[c]]];
                    if (room < r) {
                        best = c;
                        room = r;
                    }
                }
                if (best == none) {
                    break;
                }
                const TokenCount f = count_min(left, room);
                push(2 * j, f);
                push(2 * (m + best), f);
                push(first_sink_edge_ + 2 * slot_[candidates_[best]], f);
                left -= f;
                routed += f;
            }
        }
        return routed;
    }

    // The least whole λ that routes every job: Dinkelbach's iteration on the densest set
    // (a cut's jobs A, their candidates T: λ = ceil(w(A) / |T|) never passes the optimum, and
    // a cut below the demand shows a denser set). Each round keeps the flow found so far.
    void max_flow_parametric() {
        TokenCount flow = warm_start();
        for (;;) {
            flow += dinic();
            if (flow == demand_) {
                return;
            }
            // level_ holds what the last search reached: the source side of a minimum cut.
            TokenCount dense;
            std::size_t reached = 0;
            for (std::size_t j = 0; j < widths_.size(); ++j) {
                if (level_[vertex_of_job(j)] != none) {
                    dense += widths_[j];
                }
            }
            for (std::size_t k = 0; k < nodes_.size(); ++k) {
                reached += level_[vertex_of_node(k)] != none ? 1u : 0u;
            }
            const TokenCount next = dense.ceil_div(reached == 0 ? 1 : reached);
            if (reached == 0 || next <= lambda_) {
                return;  // unreachable with candidates in every pool; never loops
            }
            const TokenCount raise = next - lambda_;
            for (std::size_t k = 0; k < nodes_.size(); ++k) {
                cap_[first_sink_edge_ + 2 * k] += raise;
            }
            lambda_ = next;
        }
    }

    // ---- rounding (Lenstra, Shmoys and Tardos): a forest support, then one split job each

    // The flow of job j to its c-th candidate.
    TokenCount& x(std::size_t c) noexcept { return cap_[flow_edge_[c] ^ 1u]; }

    void round() {
        const std::size_t m = widths_.size();
        // The edge of each (job, candidate): the job edges come first, then these in order.
        flow_edge_.resize(candidates_.size());
        for (std::size_t c = 0; c < candidates_.size(); ++c) {
            flow_edge_[c] = static_cast<std::uint32_t>(2 * (m + c));
        }
        std::vector<std::uint32_t> split;
        for (std::size_t j = 0; j < m; ++j) {
            std::size_t positive = 0;
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                if (!x(c).zero()) {
                    ++positive;
                    source_[j] = candidates_[c];
                }
            }
            if (positive > 1) {
                split.push_back(static_cast<std::uint32_t>(j));
            }
        }
        if (split.empty()) {
            return;
        }
        cancel_cycles(split);
        assign_split(split);
    }

    // The support of the split jobs as a bipartite graph: node k's (job, candidate) entries.
    void split_graph(const std::vector<std::uint32_t>& split) {
        node_first_.assign(nodes_.size() + 1, 0);
        for (std::uint32_t j : split) {
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                ++node_first_[slot_[candidates_[c]] + 1];
            }
        }
        for (std::size_t k = 0; k < nodes_.size(); ++k) {
            node_first_[k + 1] += node_first_[k];
        }
        node_entries_.resize(node_first_.back());
        std::vector<std::uint32_t> fill(node_first_.begin(), node_first_.end() - 1);
        for (std::uint32_t j : split) {
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                node_entries_[fill[slot_[candidates_[c]]]++] = c;
            }
        }
        job_of_.resize(candidates_.size());
        for (std::size_t j = 0; j < m_jobs(); ++j) {
            for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                job_of_[c] = static_cast<std::uint32_t>(j);
            }
        }
    }
    std::size_t m_jobs() const noexcept { return widths_.size(); }

    // Moves flow around cycles of the support until it is a forest: alternately adding and
    // taking δ along a cycle keeps every job's total and every node's load, and the smallest
    // flow taken goes to zero, so each round removes an edge.
    void cancel_cycles(const std::vector<std::uint32_t>& split) {
        split_graph(split);
        // Vertices: jobs 0..m-1, nodes m..m+K-1. parent_[v] is the candidate entry it was
        // reached by (none for a root). A cycle only touches its own tree: after a
        // cancellation just that tree is searched again.
        const std::size_t m = widths_.size();
        parent_.assign(m + nodes_.size(), none);
        state_.assign(m + nodes_.size(), 0);  // 0 unseen, 1 on the path, 2 done
        for (std::size_t root = 0; root < nodes_.size(); ++root) {
            const auto r = static_cast<std::uint32_t>(m + root);
            while (state_[r] == 0 && cancel_one_cycle(r)) {
                for (std::uint32_t v : visited_) {
                    state_[v] = 0;
                    parent_[v] = none;
                }
            }
        }
    }

    // A depth-first search of the support from node vertex r; cancels the first cycle met.
    bool cancel_one_cycle(std::uint32_t r) {
        const std::size_t m = widths_.size();
        std::vector<std::pair<std::uint32_t, std::uint32_t>> stack;  // (vertex, next entry)
        visited_.assign(1, r);
        {
            state_[r] = 1;
            stack.assign(1, {r, 0});
            while (!stack.empty()) {
                const std::uint32_t v = stack.back().first;
                std::uint32_t& it = stack.back().second;
                // The support entries of v, in order: a node's candidate entries, or a job's.
                std::uint32_t entry = none;
                std::uint32_t w = none;
                while (entry == none) {
                    std::uint32_t c;
                    if (v >= m) {
                        const std::size_t k = v - m;
                        if (node_first_[k] + it >= node_first_[k + 1]) {
                            break;
                        }
                        c = node_entries_[node_first_[k] + it++];
                        w = job_of_[c];
                    } else {
                        if (starts_[v] + it >= starts_[v + 1]) {
                            break;
                        }
                        c = starts_[v] + it++;
                        w = static_cast<std::uint32_t>(m + slot_[candidates_[c]]);
                    }
                    if (x(c).zero() || c == parent_[v] || (w < m && !is_split(w))) {
                        continue;
                    }
                    entry = c;
                }
                if (entry == none) {
                    state_[v] = 2;
                    stack.pop_back();
                    continue;
                }
                if (state_[w] == 1) {
                    cancel(v, w, entry);
                    return true;
                }
                if (state_[w] == 0) {
                    state_[w] = 1;
                    visited_.push_back(w);
                    parent_[w] = entry;
                    stack.push_back({w, 0});
                }
            }
        }
        return false;
    }

    bool is_split(std::uint32_t j) {
        std::size_t positive = 0;
        for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
            positive += x(c).zero() ? 0u : 1u;
        }
        return positive > 1;
    }

    // The cycle: entry (v, w), then the tree path from v back up to w.
    void cancel(std::uint32_t v, std::uint32_t w, std::uint32_t entry) {
        const std::size_t m = widths_.size();
        cycle_.assign(1, entry);
        for (std::uint32_t u = v; u != w;) {
            const std::uint32_t c = parent_[u];
            cycle_.push_back(c);
            // The other end of entry c, seen from u.
            u = u < m ? static_cast<std::uint32_t>(m + slot_[candidates_[c]]) : job_of_[c];
        }
        // Alternate +δ, -δ around the (even) cycle; δ is the least flow on a "-" entry.
        TokenCount delta = x(cycle_[1]);
        for (std::size_t i = 1; i < cycle_.size(); i += 2) {
            delta = count_min(delta, x(cycle_[i]));
        }
        for (std::size_t i = 0; i < cycle_.size(); ++i) {
            if (i % 2 == 0) {
                x(cycle_[i]) += delta;
            } else {
                x(cycle_[i]) -= delta;
            }
        }
    }

    // With a forest support every split job has two or more nodes, so each tree, hung from a
    // node, gives each split job a child node of its own: the job goes there, and no node
    // gets two split jobs. A node's load is then its whole jobs (at most λ, since its split
    // shares took at least a token) plus one job: at most the optimum plus the largest job.
    void assign_split(const std::vector<std::uint32_t>& split) {
        const std::size_t m = widths_.size();
        std::vector<std::uint32_t> still;
        for (std::uint32_t j : split) {
            if (is_split(j)) {
                still.push_back(j);
            } else {
                for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                    if (!x(c).zero()) {
                        source_[j] = candidates_[c];
                    }
                }
            }
        }
        std::vector<bool> seen_job(m, false), seen_node(nodes_.size(), false);
        std::vector<std::uint32_t> queue;
        for (std::size_t root = 0; root < nodes_.size(); ++root) {
            if (seen_node[root]) {
                continue;
            }
            seen_node[root] = true;
            queue.assign(1, static_cast<std::uint32_t>(root));
            for (std::size_t q = 0; q < queue.size(); ++q) {
                const std::uint32_t k = queue[q];
                for (std::uint32_t a = node_first_[k]; a < node_first_[k + 1]; ++a) {
                    const std::uint32_t c = node_entries_[a];
                    const std::uint32_t j = job_of_[c];
                    if (x(c).zero() || seen_job[j] || !is_split(j)) {
                        continue;
                    }
                    seen_job[j] = true;
                    bool given = false;
                    for (std::uint32_t d = starts_[j]; d < starts_[j + 1]; ++d) {
                        const std::uint32_t child = slot_[candidates_[d]];
                        if (d == c || x(d).zero() || seen_node[child]) {
                            continue;
                        }
                        seen_node[child] = true;
                        queue.push_back(child);
                        if (!given) {
                            source_[j] = candidates_[d];
                            given = true;
                        }
                    }
                }
            }
        }
    }

    // Moves single jobs off the busiest source while that lowers the busiest load: the
    // rounding's bound is a worst case, and with few large ranges a move or two often gets
    // closer to the optimum. It only ever lowers the maximum, so the bound still holds; a few
    // rounds of O(jobs) each keep it linear.
    void polish() {
        const std::size_t m = widths_.size();
        std::vector<TokenCount> load(nodes_.size());
        for (std::size_t j = 0; j < m; ++j) {
            load[slot_[source_[j]]] += widths_[j];
        }
        for (int round = 0; round < 32; ++round) {
            std::size_t k = 0;  // the busiest, the first of equals
            for (std::size_t i = 1; i < load.size(); ++i) {
                if (load[k] < load[i]) {
                    k = i;
                }
            }
            const TokenCount most = load[k];
            std::size_t best_job = m;
            std::uint32_t best_to = none;
            TokenCount best_load;
            for (std::size_t j = 0; j < m; ++j) {
                if (slot_[source_[j]] != k) {
                    continue;
                }
                for (std::uint32_t c = starts_[j]; c < starts_[j + 1]; ++c) {
                    const std::uint32_t to = slot_[candidates_[c]];
                    const TokenCount after = load[to] + widths_[j];
                    if (to != k && after < most && (best_to == none || after < best_load)) {
                        best_job = j;
                        best_to = to;
                        best_load = after;
                    }
                }
            }
            if (best_to == none) {
                return;
            }
            load[k] -= widths_[best_job];
            load[best_to] = best_load;
            source_[best_job] = nodes_[best_to];
        }
    }

    std::vector<TokenCount> widths_;
    std::vector<std::uint32_t> starts_, candidates_;
    std::vector<std::uint32_t> slot_;   // node index -> candidate number, or none
    std::vector<std::uint32_t> nodes_;  // candidate number -> node index
    std::vector<std::uint32_t> source_;
    TokenCount lambda_, demand_;
    // The network, edges in pairs (e, e ^ 1).
    std::vector<std::uint32_t> tails_, heads_, first_, adjacency_, level_, queue_, path_;
    std::vector<TokenCount> cap_;
    std::uint32_t first_sink_edge_ = 0;
    // The rounding.
    std::vector<std::uint32_t> flow_edge_, node_first_, node_entries_, job_of_, parent_, cycle_;
    std::vector<unsigned char> state_;
    std::vector<std::uint32_t> visited_;
};

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_SOURCES_HPP
