// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Runs of vnodes: maximal blocks of consecutive vnodes (in token order) owned by one node.
// Users never name anything here.
#ifndef RINGPLAN_DETAIL_RUNS_HPP
#define RINGPLAN_DETAIL_RUNS_HPP

#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

/// Where the run of a vnode begins and ends, in O(log runs): a replica walk skips a whole run in
/// one step, so a walk costs the number of runs it crosses, not the number of vnodes. Without it
/// a ring of one node with 1 vnode beside one with 40,000 makes every walk from the big node's
/// vnodes cross 40,000 of them (docs/design.md, "cost").
///
/// Only runs of at least `long_run` vnodes are stored; shorter ones are found by looking at the
/// neighbours. On a ring whose nodes have similar vnode counts such runs are rare (a run of k
/// vnodes of one of N nodes has probability about N^-(k-1)), so the table is nearly empty; on a
/// skewed ring it holds at most vnodes / long_run entries. Runs never wrap: position 0 always
/// starts one and the last position always ends one.
class RunIndex {
public:
    static constexpr std::size_t long_run = 16;

    void build(const std::uint32_t* owners, std::size_t n) {
        std::vector<Run> runs;
        for (std::size_t b = 0; b < n;) {
            std::size_t e = b + 1;
            while (e < n && owners[e] == owners[b]) {
                ++e;
            }
            if (e - b >= long_run) {
                runs.push_back(Run{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)});
            }
            b = e;
        }
        runs.shrink_to_fit();
        runs_.swap(runs);
    }

    /// The position just past the run holding position i (n if the run ends the array).
    std::size_t end(const std::uint32_t* owners, std::size_t n, std::size_t i) const noexcept {
        const std::uint32_t o = owners[i];
        for (std::size_t k = i + 1; k < n && k <= i + long_run; ++k) {
            if (owners[k] != o) {
                return k;
            }
        }
        if (i + long_run >= n) {
            return n;
        }
        return containing(i).end;  // long_run + 1 equal owners: a stored run
    }

    /// The first position of the run holding position i.
    std::size_t begin(const std::uint32_t* owners, std::size_t i) const noexcept {
        const std::uint32_t o = owners[i];
        for (std::size_t k = i; k > 0 && k + long_run > i; --k) {
            if (owners[k - 1] != o) {
                return k;
            }
        }
        if (i < long_run) {
            return 0;
        }
        return containing(i).begin;
    }

    std::size_t bytes() const noexcept { return runs_.capacity() * sizeof(Run); }
    void swap(RunIndex& other) noexcept { runs_.swap(other.runs_); }

private:
    struct Run {
        std::uint32_t begin;
        std::uint32_t end;
    };

    Run containing(std::size_t i) const noexcept {
        const auto it = std::upper_bound(runs_.begin(), runs_.end(), i,
                                         [](std::size_t x, const Run& r) { return x < r.begin; });
        return *(it - 1);  // the caller saw more than long_run equal owners around i
    }

    std::vector<Run> runs_;  // sorted, disjoint
};

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_RUNS_HPP
