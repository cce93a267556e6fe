// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Plans onto concrete keys: which keys move, from whom, to whom, and which are lost. Needs only
// the plan, never a ring (docs/plans.md#projection).
#ifndef RINGPLAN_PROJECT_HPP
#define RINGPLAN_PROJECT_HPP

#include <ringplan/detail/projection.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// The moves of keys given as tokens: one KeyMove (key index, token, move index) for every
/// move whose range holds a key's token, sorted by token, then input index, then move (in the
/// moves' (from, to) order). `tokens` is any contiguous range of Token (std::vector,
/// std::array, std::span, a C array). When the tokens come sorted, nothing is sorted and keys
/// outside every move are never visited. Costs O(moves log moves) to index the moves, then O(1)
/// expected per key and a radix sort of the moved keys; memory O(moves + moved keys).
template <class NodeId, class Tokens>
[[nodiscard]] std::vector<KeyMove> project_tokens(const Plan<NodeId>& plan, const Tokens& tokens) {
    const Token* t = std::data(tokens);
    const std::size_t n = std::size(tokens);
    static_assert(std::is_same<std::remove_cv_t<std::remove_pointer_t<decltype(t)>>, Token>::value,
                  "project_tokens needs a contiguous range of ringplan::Token");
    return detail::project_impl(
        plan.moves, n, [&](std::size_t i) { return t[i]; }, std::is_sorted(t, t + n));
}

/// project_tokens over a braced list: `project_tokens(plan, {5, 300})`.
template <class NodeId>
[[nodiscard]] std::vector<KeyMove> project_tokens(const Plan<NodeId>& plan,
                                                  std::initializer_list<Token> tokens) {
    return project_tokens(plan, std::vector<Token>(tokens));
}

/// project_tokens for keys: hashes each key with the ring's policy `Hash` (the Hash of the
/// Ring the plan was computed on), then projects, in one pass: `project_keys<Xxh3>(plan, keys)`.
/// `keys` is any contiguous range of keys (strings, string_views, integers, user types with a
/// ByteRepr).
template <class Hash, class NodeId, class Keys>
[[nodiscard]] std::vector<KeyMove> project_keys(const Plan<NodeId>& plan, const Keys& keys) {
    const auto* k = std::data(keys);
    return detail::project_impl(
        plan.moves, std::size(keys), [&](std::size_t i) { return key_token<Hash>(k[i]); }, false);
}

/// The indices of the keys (given as tokens, any contiguous range) that fall in the plan's
/// lost ranges, ascending.
template <class NodeId, class Tokens>
[[nodiscard]] std::vector<std::size_t> lost_tokens(const Plan<NodeId>& plan, const Tokens& tokens) {
    const Token* t = std::data(tokens);
    const std::size_t n = std::size(tokens);
    if (plan.lost.empty() || n == 0) {
        return {};
    }
    if (2 * plan.lost.size() + 2 < 0xFFFFFFFFu) {
        return detail::lost_with<std::uint32_t>(plan.lost, t, n);
    }
    return detail::lost_with<std::size_t>(plan.lost, t, n);
}

/// lost_tokens over a braced list.
template <class NodeId>
[[nodiscard]] std::vector<std::size_t> lost_tokens(const Plan<NodeId>& plan,
                                                   std::initializer_list<Token> tokens) {
    return lost_tokens(plan, std::vector<Token>(tokens));
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_PROJECT_HPP
