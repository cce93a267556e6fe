// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The planner behind diff, plan_leave, plan_crash, plan_join and plan_hint_return: segments of
// the ring with their replica lists before and after, and the moves that turn one into the
// other (docs/design.md, "plans"). Users never name anything here.
#ifndef RINGPLAN_DETAIL_PLANNER_HPP
#define RINGPLAN_DETAIL_PLANNER_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/ring_view.hpp>
#include <ringplan/detail/sources.hpp>
#include <ringplan/error.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

// A plan in shared node indices, before ids are put in.
struct RawMove {
    TokenRange range;
    std::uint32_t from;
    std::uint32_t to;
};

struct RawPlan {
    std::vector<RawMove> moves;
    std::vector<TokenRange> lost;
    std::vector<TokenRange> under;
    // The splittable optimum of the busiest source, when the sources were chosen (not fixed).
    TokenCount optimal_sent;
    bool chose_sources = false;
};

// A stretch of the ring (lo, hi] whose replica lists before and after are the same all along.
struct Segment {
    Token lo = 0;
    Token hi = 0;
    bool first = false;  // it holds the wrap-around range of the ring's first vnode
    std::vector<std::uint32_t> before;
    std::vector<std::uint32_t> after;

    bool empty() const noexcept { return !first && !(lo < hi); }
    template <class F>
    void for_each_range(F&& f) const {
        detail::for_each_range(lo, hi, first, first && lo == hi, f);
    }
};

// Compares replica sets segment by segment and emits moves, choosing sources. Segments come in
// descending token order; consecutive ones with the same lists are merged first, so a plan's
// choices depend on the ring, not on how finely a caller cut it (diff cuts at every vnode of
// both rings, a single-node plan at runs of vnodes: both give the same plan). Each (segment,
// receiver) is a job for the SourceBalancer, which picks the sources once all are known.
class Planner {
public:
    // strict: a node dropping out of the set, if one is up, is the only candidate (Cassandra's
    // strict source); else every up old replica is.
    Planner(std::size_t rf, std::vector<bool> down, std::size_t nodes, bool strict = true)
        : rf_(rf), strict_(strict), down_(std::move(down)), balancer_(nodes) {}

    // The next segment, just counterclockwise of the previous one or elsewhere.
    void add(Token lo, Token hi, bool first, const std::vector<std::uint32_t>& before,
             const std::vector<std::uint32_t>& after) {
        if (!first && !(lo < hi)) {
            return;  // an empty range (equal tokens)
        }
        if (pending_ && !pending_seg_.first && pending_seg_.lo == hi &&
            pending_seg_.before == before && pending_seg_.after == after) {
            pending_seg_.lo = lo;
            pending_seg_.first = first;
            return;
        }
        flush();
        pending_ = true;
        pending_seg_.lo = lo;
        pending_seg_.hi = hi;
        pending_seg_.first = first;
        pending_seg_.before = before;
        pending_seg_.after = after;
    }

    // Sources from the receiver's own site (datacenter) when it has a candidate, as Cassandra's
    // RangeStreamer prefers the local datacenter; site[n] per node index, none for no site.
    void prefer_same_site(std::vector<std::uint32_t> site) { site_ = std::move(site); }

    RawPlan& result() {
        flush();
        balancer_.solve();
        plan_.moves.reserve(plan_.moves.size() + jobs_.size());
        for (std::size_t j = 0; j < jobs_.size(); ++j) {
            const Job& job = jobs_[j];
            for (std::size_t k = 0; k < job.count; ++k) {
                plan_.moves.push_back(RawMove{job.ranges[k], balancer_.source(j), job.to});
            }
        }
        jobs_.clear();
        plan_.optimal_sent = balancer_.optimum();
        plan_.chose_sources = true;
        return plan_;
    }

private:
    // One receiver's copy of one segment (one or, wrapping, two ranges).
    struct Job {
        TokenRange ranges[2];
        std::size_t count;
        std::uint32_t to;
    };

    void flush() {
        if (pending_) {
            pending_ = false;
            segment(pending_seg_);
        }
    }

    void segment(const Segment& s) {
        TokenRange ranges[2];
        std::size_t count = 0;
        s.for_each_range([&](const TokenRange& r) { ranges[count++] = r; });
        const auto& before = s.before;
        const auto& after = s.after;
        if (after.size() < rf_) {
            plan_.under.insert(plan_.under.end(), ranges, ranges + count);
        }
        if (before == after || before.empty()) {
            return;  // unchanged, or no data anywhere yet
        }
        gained_.clear();
        for (std::uint32_t n : after) {
            if (std::find(before.begin(), before.end(), n) == before.end()) {
                gained_.push_back(n);
            }
        }
        if (gained_.empty() && !after.empty()) {
            return;  // replicas only dropped out: nothing to copy
        }
        // Candidates: nodes dropping out of the set first (Cassandra's strict source; the
        // leaving node in a graceful departure), then any other old replica; never a down
        // node. Without strict sources every up old replica is a candidate.
        dropped_.clear();
        others_.clear();
        for (std::uint32_t n : before) {
            if (down_[n]) {
                continue;
            }
            if (!strict_ || std::find(after.begin(), after.end(), n) == after.end()) {
                dropped_.push_back(n);
            } else {
                others_.push_back(n);
            }
        }
        if (after.empty() || (dropped_.empty() && others_.empty())) {
            plan_.lost.insert(plan_.lost.end(), ranges, ranges + count);
            return;
        }
        const std::vector<std::uint32_t>& pool = dropped_.empty() ? others_ : dropped_;
        TokenCount width;
        for (std::size_t k = 0; k < count; ++k) {
            width += TokenCount::width(ranges[k]);
        }
        for (std::uint32_t to : gained_) {
            Job job{{ranges[0], count > 1 ? ranges[1] : ranges[0]}, count, to};
            jobs_.push_back(job);
            const std::vector<std::uint32_t>& own = local(pool, to);
            balancer_.add(width, own.data(), own.size());
        }
    }

    // The candidates of `pool` in the site of `to`, or the whole pool when none is.
    const std::vector<std::uint32_t>& local(const std::vector<std::uint32_t>& pool,
                                            std::uint32_t to) {
        if (site_.empty()) {
            return pool;
        }
        local_.clear();
        for (std::uint32_t n : pool) {
            if (site_[n] == site_[to]) {
                local_.push_back(n);
            }
        }
        return local_.empty() ? pool : local_;
    }

    std::size_t rf_;
    bool strict_;
    std::vector<bool> down_;
    SourceBalancer balancer_;
    std::vector<Job> jobs_;
    std::vector<std::uint32_t> gained_, dropped_, others_, local_;
    std::vector<std::uint32_t> site_;
    bool pending_ = false;
    Segment pending_seg_;
    RawPlan plan_;
};

// The stretches of view w whose first `rf` distinct nodes include `node` (its tokens sorted):
// for each run of node's vnodes, that run and the runs before it, back until node drops out
// of the list. Calls visit(start, hi) for each run, walking counterclockwise from each of
// node's runs: start is the run's first position, hi the token of its last vnode. These are
// exactly the ranges node replicates. Each run costs O(rf + log vnodes), so the walk costs
// the runs it visits, however many vnodes the other nodes have (docs/design.md, "cost").
template <class Visit>
void for_each_replicated_run(const RingView& w, std::uint32_t node,
                             const std::vector<Token>& node_tokens, std::size_t rf, Visit&& visit) {
    DistinctList list;
    for (std::size_t k = 0; k < node_tokens.size();) {
        RingView::Pos p = w.locate(node_tokens[k]);
        while (w.node(p) != node) {
            p = w.next(p);  // equal tokens of smaller ids come first
        }
        const RingView::Pos after = w.run_after(p);
        // The run holds node's tokens k .. k + length - 1 (no hidden vnode inside one run).
        const std::size_t length = (after.i - p.i) + (after.j - p.j);
        k += length;
        visit(p, node_tokens[k - 1]);
        w.replicas(p, rf, list);
        RingView::Pos cur = p;
        const RingView::Pos top = w.first();
        for (std::size_t runs = 0; runs < w.size(); ++runs) {
            const RingView::Pos from = cur == top ? w.end() : cur;
            std::uint32_t n = no_node;
            const RingView::Pos start = w.run_before(from, RingView::Pos{0, 0}, n);
            if (n == node || n == no_node) {
                break;  // another run of node's: it starts its own stretch
            }
            list.push_front(n);
            if (!list.contains(node)) {
                break;
            }
            visit(start, w.token_before(from));
            cur = start;
        }
    }
}

// Puts ids into a raw plan: merges adjacent moves with the same (from, to), sorts everything.
template <class NodeId>
Plan<NodeId> finish(RawPlan raw, const std::vector<const NodeId*>& ids, std::size_t rf) {
    auto& moves = raw.moves;
    std::sort(moves.begin(), moves.end(), [](const RawMove& a, const RawMove& b) {
        if (a.from != b.from)
            return a.from < b.from;
        if (a.to != b.to)
            return a.to < b.to;
        return a.range < b.range;
    });
    std::vector<RawMove> merged;
    for (const RawMove& m : moves) {
        if (!merged.empty() && merged.back().from == m.from && merged.back().to == m.to &&
            merged.back().range.last != max_token &&
            merged.back().range.last + 1 == m.range.first) {
            merged.back().range.last = m.range.last;
        } else {
            merged.push_back(m);
        }
    }
    std::sort(merged.begin(), merged.end(), [](const RawMove& a, const RawMove& b) {
        if (a.range != b.range)
            return a.range < b.range;
        if (a.from != b.from)
            return a.from < b.from;
        return a.to < b.to;
    });
    Plan<NodeId> plan;
    plan.rf = Rf(rf);
    // What the busiest source sends, counted exactly before the moves are merged.
    std::vector<TokenCount> sent(ids.size());
    TokenCount most;
    for (const RawMove& m : moves) {
        sent[m.from] += TokenCount::width(m.range);
        if (most < sent[m.from]) {
            most = sent[m.from];
        }
    }
    plan.max_sent = most.fraction();
    plan.optimal_max_sent = raw.chose_sources ? raw.optimal_sent.fraction() : plan.max_sent;
    plan.moves.reserve(merged.size());
    for (const RawMove& m : merged) {
        plan.moves.push_back(Move<NodeId>{m.range, *ids[m.from], *ids[m.to]});
    }
    sort_merge_ranges(raw.lost);
    sort_merge_ranges(raw.under);
    plan.lost = std::move(raw.lost);
    plan.under_replicated = std::move(raw.under);
    return plan;
}

// Flags the nodes of `down` in the shared table; a down node in neither ring is an error.
template <class NodeId>
std::vector<bool> down_flags(const std::vector<NodeId>& down,
                             const std::vector<const NodeId*>& ids) {
    std::vector<bool> flags(ids.size(), false);
    for (const NodeId& d : down) {
        auto it = std::lower_bound(ids.begin(), ids.end(), &d,
                                   [](const NodeId* a, const NodeId* b) { return *a < *b; });
        if (it == ids.end() || d < **it) {
            raise(Errc::unknown_node,
                  "down node " + describe(d) + " is not in the ring the plan is for");
        }
        flags[static_cast<std::size_t>(it - ids.begin())] = true;
    }
    return flags;
}

// The replica lists of two views (the rings before and after) for the segment that ends at a
// token, kept by backward sweeps: moving to a smaller token puts the nodes crossed in front
// (O(rf) a run), restarting walks forward from the token.
class SweptLists {
public:
    SweptLists(const RingView& before, const RingView& after, std::size_t rf)
        : before_(before), after_(after), rf_(rf) {}

    void at(Token hi, bool restart) { at(before_.owner_pos(hi), after_.owner_pos(hi), restart); }

    // As at(hi), for callers that know where hi lands in each view (owner_pos).
    void at(RingView::Pos qb, RingView::Pos qa, bool restart) {
        if (restart) {
            before_.replicas(qb, rf_, lb_);
            after_.replicas(qa, rf_, la_);
        } else {
            before_.sweep_back(pb_, qb, lb_);
            after_.sweep_back(pa_, qa, la_);
        }
        pb_ = qb;
        pa_ = qa;
    }
    const std::vector<std::uint32_t>& before() const noexcept { return lb_.nodes(); }
    const std::vector<std::uint32_t>& after() const noexcept { return la_.nodes(); }

private:
    const RingView& before_;
    const RingView& after_;
    std::size_t rf_;
    DistinctList lb_, la_;
    RingView::Pos pb_, pa_;
};

// The segments of one departure or arrival, in descending token order: `w` is the view that
// holds the node (before a departure, after an arrival). Each of the node's runs starts a
// stretch with forward walks; the runs before it come from the backward sweep.
inline void plan_node_segments(const RingView& w, std::uint32_t node,
                               const std::vector<Token>& node_tokens, std::size_t rf,
                               const RingView& before, const RingView& after, Planner& planner) {
    struct Group {
        Token lo;
        Token hi;
        bool first;
        std::size_t at;  // its lists: before in [at, at + nb), after in [at + nb, at + nb + na)
        std::size_t nb;
        std::size_t na;
    };
    std::vector<Group> groups;
    std::vector<std::uint32_t> lists;
    SweptLists swept(before, after, rf);
    const RingView::Pos top = w.first();
    // Where a run of w lands in each view, without a search: every vnode of a run has the same
    // lists, so w's own position serves; the other view lacks only the node's vnodes (hidden)
    // or has no extra ones, so the base index serves, past the node's run if it is hidden.
    const auto in = [&](const RingView& v, RingView::Pos p) {
        if (&v == &w) {
            return p;
        }
        const RingView::Pos q = v.normalize(RingView::Pos{p.i, 0});
        return q.i == v.base_size ? v.first() : q;
    };
    for_each_replicated_run(w, node, node_tokens, rf, [&](RingView::Pos start, Token hi) {
        swept.at(in(before, start), in(after, start), w.node(start) == node);
        const Token lo = w.token_before(start);
        if (start != top && !(lo < hi)) {
            return;  // an empty range (equal tokens)
        }
        groups.push_back(
            Group{lo, hi, start == top, lists.size(), swept.before().size(), swept.after().size()});
        lists.insert(lists.end(), swept.before().begin(), swept.before().end());
        lists.insert(lists.end(), swept.after().begin(), swept.after().end());
    });
    std::sort(groups.begin(), groups.end(),
              [](const Group& a, const Group& b) { return a.hi > b.hi; });
    std::vector<std::uint32_t> b, a;
    for (const Group& g : groups) {
        const auto* l = lists.data() + g.at;
        b.assign(l, l + g.nb);
        a.assign(l + g.nb, l + g.nb + g.na);
        planner.add(g.lo, g.hi, g.first, b, a);
    }
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_PLANNER_HPP
