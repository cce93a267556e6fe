// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Plans under a replica rule with failure domains (PlanOptions::policy, ::topology): every
// segment of both rings gets its replica lists from the rule's walk (topology.hpp), and the
// plan reports per datacenter and the ranges whose replicas share a rack (docs/topology.md).
// Users never name anything here.
#ifndef RINGPLAN_DETAIL_DOMAIN_PLAN_HPP
#define RINGPLAN_DETAIL_DOMAIN_PLAN_HPP

#include <ringplan/detail/planner.hpp>
#include <ringplan/detail/ring_view.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

// The node table two rings share: the union of their ids in id order, and where each ring's
// node indices land in it.
template <class NodeId>
struct SharedIds {
    std::vector<const NodeId*> ids;
    std::vector<std::uint32_t> remap_b;
    std::vector<std::uint32_t> remap_a;
};

template <class Hash, class NodeId>
SharedIds<NodeId> shared_ids(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after) {
    SharedIds<NodeId> s;
    const std::size_t nb = before.node_count();
    const std::size_t na = after.node_count();
    s.ids.reserve(nb + na);
    s.remap_b.resize(nb);
    s.remap_a.resize(na);
    for (std::size_t i = 0, j = 0; i < nb || j < na;) {
        const auto k = static_cast<std::uint32_t>(s.ids.size());
        if (j == na || (i < nb && before.node_at(i) < after.node_at(j))) {
            s.remap_b[i] = k;
            s.ids.push_back(&before.node_at(i++));
        } else if (i == nb || after.node_at(j) < before.node_at(i)) {
            s.remap_a[j] = k;
            s.ids.push_back(&after.node_at(j++));
        } else {
            s.remap_b[i++] = k;
            s.remap_a[j] = k;
            s.ids.push_back(&after.node_at(j++));
        }
    }
    return s;
}

// The segments between the distinct tokens of both rings, from the top down: visit(lo, hi,
// first, ib, ia) for each, where ib and ia are the positions of the first vnode >= hi in each
// ring (its vnode count when there is none: the owner wraps to position 0). Cursors only move
// down, so no cut costs a search.
template <class Hash, class NodeId, class Visit>
void for_each_cut(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                  Visit&& visit) {
    const Token* tb = before.vnode_tokens();
    const Token* ta = after.vnode_tokens();
    std::vector<Token> cuts;
    cuts.reserve(before.vnode_count() + after.vnode_count());
    std::merge(tb, tb + before.vnode_count(), ta, ta + after.vnode_count(),
               std::back_inserter(cuts));
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::size_t ib = before.vnode_count();
    std::size_t ia = after.vnode_count();
    for (std::size_t k = cuts.size(); k-- > 0;) {
        const Token hi = cuts[k];
        while (ib > 0 && tb[ib - 1] >= hi) {
            --ib;
        }
        while (ia > 0 && ta[ia - 1] >= hi) {
            --ia;
        }
        visit(cuts[k == 0 ? cuts.size() - 1 : k - 1], hi, k == 0, ib, ia);
    }
}

// One ring under the rule, in shared node indices: its owners and its resolved table, and a
// walk that reuses its scratch space. Lists are deduplicated (the driver's rule can list a
// node twice; a replica set holds it once).
class DomainWalk {
public:
    template <class Hash, class NodeId>
    DomainWalk(const Ring<Hash, NodeId>& ring, const std::vector<std::uint32_t>& remap,
               std::size_t count, const ReplicaPolicy& policy, const Topology<NodeId>* topology) {
        owners_.resize(ring.vnode_count());
        for (std::size_t i = 0; i < owners_.size(); ++i) {
            owners_[i] = remap[ring.vnode_owner(i)];
        }
        table_ = make_domains(policy, topology, count, [&](auto&& f) {
            for (std::size_t i = 0; i < ring.node_count(); ++i) {
                f(remap[i], ring.node_at(i));
            }
        });
        set_driver_order(table_, owners_.data(), owners_.size());
        out_.resize(table_.total_rf);
        racks_.resize(2 * table_.total_rf);
        state_.resize(table_.dc_name.size());
    }

    // The replica list of the range owned by position `pos`.
    const std::vector<std::uint32_t>& at(std::size_t pos) {
        const std::size_t n = walk_replicas(table_, owners_.data(), owners_.size(), pos,
                                            out_.data(), racks_.data(), state_.data());
        list_.assign(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(n));
        list_.erase(unique_in_order(list_.begin(), list_.end()), list_.end());
        return list_;
    }
    const DomainTable& table() const noexcept { return table_; }
    const std::vector<std::uint32_t>& owners() const noexcept { return owners_; }

private:
    std::vector<std::uint32_t> owners_;
    DomainTable table_;
    std::vector<std::uint32_t> out_, racks_, list_;
    std::vector<DcState> state_;
};

// The per-datacenter and rack reports of a plan, segment by segment.
class DomainReports {
public:
    DomainReports(const DomainTable& before, const DomainTable& after, bool per_dc)
        : before_(before), after_(after), per_dc_(per_dc) {
        if (per_dc_) {
            lost_.resize(after.dc_name.size());
            under_.resize(after.dc_name.size());
        }
    }

    void segment(const TokenRange* ranges, std::size_t count, const std::vector<std::uint32_t>& lb,
                 const std::vector<std::uint32_t>& la, const std::vector<bool>& down) {
        if (shares_rack(la)) {
            rack_shared_.insert(rack_shared_.end(), ranges, ranges + count);
        }
        if (!per_dc_) {
            return;
        }
        for (std::size_t d = 0; d < after_.dc_name.size(); ++d) {
            if (after_.dc_rf[d] == 0) {
                continue;
            }
            std::size_t kept = 0;
            bool gained = false;
            for (std::uint32_t n : la) {
                if (after_.dc[n] == d) {
                    ++kept;
                    gained = gained || std::find(lb.begin(), lb.end(), n) == lb.end();
                }
            }
            bool had = false;
            bool up = false;
            for (std::uint32_t n : lb) {
                if (before_.dc[n] == d) {
                    had = true;
                    up = up || !down[n];
                }
            }
            if (kept < after_.dc_rf[d]) {
                under_[d].insert(under_[d].end(), ranges, ranges + count);
            }
            if ((gained || (had && kept == 0)) && !up && !lb.empty()) {
                lost_[d].insert(lost_[d].end(), ranges, ranges + count);
            }
        }
    }

    template <class NodeId>
    void finish(Plan<NodeId>& plan) {
        sort_merge_ranges(rack_shared_);
        plan.rack_shared = std::move(rack_shared_);
        for (std::size_t d = 0; d < lost_.size(); ++d) {
            if (after_.dc_rf[d] == 0) {
                continue;
            }
            sort_merge_ranges(lost_[d]);
            sort_merge_ranges(under_[d]);
            plan.datacenters.push_back(
                DatacenterRanges{after_.dc_name[d], std::move(lost_[d]), std::move(under_[d])});
        }
    }

private:
    // Two replicas in one rack of a datacenter that holds more racks than the replicas there
    // use: a placement without the repeat exists.
    bool shares_rack(const std::vector<std::uint32_t>& la) const {
        for (std::size_t x = 0; x < la.size(); ++x) {
            const std::uint32_t d = after_.dc[la[x]];
            std::size_t replicas = 0;
            std::size_t racks = 0;
            for (std::size_t y = 0; y < la.size(); ++y) {
                if (after_.dc[la[y]] != d) {
                    continue;
                }
                ++replicas;
                bool first = true;
                for (std::size_t z = 0; z < y; ++z) {
                    first = first &&
                            !(after_.dc[la[z]] == d && after_.rack[la[z]] == after_.rack[la[y]]);
                }
                racks += first ? 1u : 0u;
            }
            if (d != DomainTable::none &&
                racks < std::min<std::size_t>(replicas, after_.dc_racks[d])) {
                return true;
            }
        }
        return false;
    }

    const DomainTable& before_;
    const DomainTable& after_;
    bool per_dc_;
    std::vector<std::vector<TokenRange>> lost_, under_;
    std::vector<TokenRange> rack_shared_;
};

// The plan from `before` to `after` under options.policy and options.topology, with `crashed`
// (shared indices) counted as down too. Cuts the ring at every token of both rings and walks
// the rule at each cut: O((vnodes of both) x walk), the walk being as long as the rule needs
// to fill every datacenter (about rf x datacenters runs on mixed rings).
template <class Hash, class NodeId>
Plan<NodeId> domain_plan(const Ring<Hash, NodeId>& before, const Ring<Hash, NodeId>& after,
                         const PlanOptions<NodeId>& options, const std::vector<NodeId>& crashed) {
    const ReplicaPolicy policy =
        options.policy ? *options.policy : ReplicaPolicy::distinct_nodes(options.rf);
    const Topology<NodeId>* topology =
        options.topology.empty() && !policy.needs_topology() ? nullptr : &options.topology;
    const SharedIds<NodeId> shared = shared_ids(before, after);
    const std::size_t count = shared.ids.size();
    std::vector<bool> down = down_flags(options.down, shared.ids);
    const std::vector<bool> gone = down_flags(crashed, shared.ids);
    for (std::size_t i = 0; i < count; ++i) {
        down[i] = down[i] || gone[i];
    }
    DomainWalk wb(before, shared.remap_b, count, policy, topology);
    DomainWalk wa(after, shared.remap_a, count, policy, topology);
    const std::size_t rf = wa.table().total_rf;
    Planner planner(rf, down, count, options.strict_sources);
    const bool per_dc = policy.kind() == ReplicaPolicy::Kind::network_topology;
    if (per_dc) {
        // Every node of both rings has a location here; a node's site is its datacenter.
        std::vector<std::uint32_t> site(count, DomainTable::none);
        for (std::size_t i = 0; i < count; ++i) {
            site[i] = wb.table().dc[i] != DomainTable::none ? wb.table().dc[i] : wa.table().dc[i];
        }
        planner.prefer_same_site(std::move(site));
    }
    DomainReports reports(wb.table(), wa.table(), per_dc);

    const std::vector<std::uint32_t> none;
    std::vector<std::uint32_t> lb;
    const std::size_t nb = before.vnode_count();
    const std::size_t na = after.vnode_count();
    for_each_cut(
        before, after, [&](Token lo, Token hi, bool first, std::size_t ib, std::size_t ia) {
            // The owner of hi: the first vnode >= hi, wrapping to position 0.
            if (nb > 0) {
                lb = wb.at(ib == nb ? 0 : ib);
            } else {
                lb.clear();
            }
            const std::vector<std::uint32_t>& la = na > 0 ? wa.at(ia == na ? 0 : ia) : none;
            TokenRange ranges[2];
            std::size_t n = 0;
            for_each_range(lo, hi, first, first && lo == hi,
                           [&](const TokenRange& r) { ranges[n++] = r; });
            if (n > 0) {
                reports.segment(ranges, n, lb, la, down);
            }
            planner.add(lo, hi, first, lb, la);
        });
    RawPlan& raw = planner.result();
    if (after.vnode_count() == 0) {
        raw.under.assign(1, TokenRange{0, max_token});
    }
    Plan<NodeId> plan = finish(std::move(raw), shared.ids, rf);
    reports.finish(plan);
    return plan;
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_DOMAIN_PLAN_HPP
