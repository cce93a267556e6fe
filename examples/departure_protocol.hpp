// ringplan example: the departure protocol engine (docs/departure.md).
// SPDX-License-Identifier: MIT
//
//     ADD <node> <position>   add a vnode for <node> at <position> (0 .. 2^64-1)
//     KEY <key> <position>    register a key at <position>
//     LEAVE <node>            print where <node>'s keys go, then remove the node
//
// For each LEAVE: one line `MOVE <key> FROM <leaving> TO <new owner>` per registered key the
// leaving node owned, sorted by key (byte-wise). A refused line gets one message on `err`
// naming its line number and changes nothing. examples/departure.cpp is the program around it.
#ifndef RINGPLAN_EXAMPLES_DEPARTURE_PROTOCOL_HPP
#define RINGPLAN_EXAMPLES_DEPARTURE_PROTOCOL_HPP

#include "example_util.hpp"

#include <ringplan/error.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/project.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/token.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <iterator>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace departure {

using ringplan::Token;

/// One run of the protocol: feed it lines in order with handle_line.
///
/// Costs (V = vnodes in the ring, N = nodes, K = registered keys, m = keys moved):
/// The hash tables keyed by input use a randomly seeded XXH3 (example_util::SeededHash), so
/// "expected" holds whatever the input: positions or names chosen to collide under std::hash
/// (the identity for integers) do not pile into one bucket.
///
///  - ADD: O(1) expected. New positions are queued and reach the ring in one bulk call at the
///    next LEAVE.
///  - KEY: O(1) expected; the key is sorted into the position index at the next LEAVE
///    (amortized O(log K) per key over the session).
///  - LEAVE: applying the queued ADDs (one merge, O(V + new log new)), plan_leave (O(N + v log V)
///    for a node with v positions), one binary search per run of the key index per moved range
///    (O(v log^2 K)), sorting the m moved keys by name, and remove_node (O(V)).
class DepartureSession {
public:
    /// `rebuild_threshold`: when at least this many nodes that are already in the ring gained
    /// positions since the last LEAVE, the ring is rebuilt in one bulk call instead of removing
    /// and re-adding each of them (each removal copies the ring). The result is the same either
    /// way; tests use it to force both paths.
    ///
    /// `hash_seed` seeds the hash of the tables keyed by input (positions, node names, keys),
    /// random by default so no input can be made to pile into one bucket.
    explicit DepartureSession(std::size_t rebuild_threshold = 8,
                              std::uint64_t hash_seed = example_util::SeededHash::random_seed())
        : rebuild_threshold_(rebuild_threshold == 0 ? 1 : rebuild_threshold),
          nodes_(0, example_util::SeededHash(hash_seed)),
          positions_(0, example_util::SeededHash(hash_seed)),
          keys_(0, example_util::SeededHash(hash_seed)) {}

    /// Handles the next input line, given without its '\n' (a trailing '\r' is dropped).
    /// Returns false when the line is refused: then one message goes to `err` and nothing
    /// changes. Blank lines and comments are accepted and do nothing.
    bool handle_line(std::string_view line, std::ostream& out, std::ostream& err);

    /// Lines handled so far (the number of the last line).
    std::size_t lines() const noexcept { return line_; }
    /// Lines refused so far.
    std::size_t refused() const noexcept { return refused_; }
    /// What the program exits with: 0 when every line was accepted, 1 otherwise.
    int exit_code() const noexcept { return refused_ == 0 ? 0 : 1; }

    /// Nodes (in the ring or queued) and registered keys.
    std::size_t node_count() const noexcept { return nodes_.size(); }
    std::size_t key_count() const noexcept { return keys_.size(); }

    /// The table of taken node positions (position -> node name); tests check the spread of
    /// its buckets.
    using PositionTable = std::unordered_map<Token, const std::string*, example_util::SeededHash>;
    const PositionTable& position_table() const noexcept { return positions_; }

private:
    struct Node {
        std::vector<Token> positions;  // every position, in ADD order
        bool in_ring = false;          // ring_ holds this node (maybe not all its positions)
        bool queued = false;           // listed in queued_: the ring lags behind `positions`
    };
    // A registered key in the position index. The name lives in keys_ (node-based, so the
    // pointer stays valid when the table rehashes).
    struct Entry {
        Token position;
        const std::string* key;
    };
    struct ByPosition {  // a function object, so std::sort and std::merge inline it
        bool operator()(const Entry& a, const Entry& b) const noexcept {
            return a.position < b.position;
        }
    };

    bool add(std::string_view node, std::string_view position, std::ostream& err);
    bool key(std::string_view name, std::string_view position, std::ostream& err);
    bool leave(std::string_view node, std::ostream& out, std::ostream& err);

    void apply_queued_nodes();
    void index_queued_keys();

    bool parse_position(std::string_view text, Token& position, std::ostream& err);
    bool refuse(std::ostream& err, const std::string& message);

    std::size_t rebuild_threshold_;
    std::size_t line_ = 0;
    std::size_t refused_ = 0;

    ringplan::Ring<> ring_;
    std::unordered_map<std::string, Node, example_util::SeededHash> nodes_;
    PositionTable positions_;                 // position -> node name
    std::vector<const std::string*> queued_;  // nodes with queued positions

    std::unordered_map<std::string, Token, example_util::SeededHash> keys_;  // key -> position
    std::vector<Entry> unindexed_;  // keys registered since the last LEAVE
    // The position index: sorted runs whose sizes at least halve from one run to the next
    // (Bentley and Saxe's logarithmic method), so there are at most log2(K) + 1 of them.
    std::vector<std::vector<Entry>> runs_;
};

/// Reads lines from `in` until its end, handles each; returns the exit code (0, 1; 2 when
/// `out` could not be written, which stops the run). Running out of memory stops the run with a
/// message naming the line, and 1.
inline int run(std::istream& in, std::ostream& out, std::ostream& err);

// ---- implementation ------------------------------------------------------------------------

namespace detail {

inline bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

// User text echoed in a message, cut short if it is long.
inline std::string shown(std::string_view text) {
    constexpr std::size_t limit = 64;
    if (text.size() <= limit) {
        return std::string(text);
    }
    return std::string(text.substr(0, limit)) + "...";
}

}  // namespace detail

inline bool DepartureSession::refuse(std::ostream& err, const std::string& message) {
    ++refused_;
    err << "departure: line " << line_ << ": " << message << '\n';
    return false;
}

inline bool DepartureSession::handle_line(std::string_view line, std::ostream& out,
                                          std::ostream& err) {
    ++line_;
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    // Fields are separated by runs of spaces and tabs; the first four are kept, all counted.
    std::string_view field[4];
    std::size_t count = 0;
    for (std::size_t i = 0; i < line.size();) {
        if (detail::is_blank(line[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < line.size() && !detail::is_blank(line[end])) {
            ++end;
        }
        if (count < 4) {
            field[count] = line.substr(i, end - i);
        }
        ++count;
        i = end;
    }
    if (count == 0 || field[0].front() == '#') {
        return true;  // blank line or comment
    }
    const std::string_view command = field[0];
    const auto arity = [&](std::size_t want, const char* usage) {
        if (count == want + 1) {
            return true;
        }
        refuse(err, std::string(count <= want ? "too few" : "too many") + " arguments: expected '" +
                        usage + "', got " + std::to_string(count - 1) +
                        (count - 1 == 1 ? " argument" : " arguments"));
        return false;
    };
#if RINGPLAN_HAS_EXCEPTIONS
    try {
#endif
        if (command == "ADD") {
            return arity(2, "ADD <node> <position>") && add(field[1], field[2], err);
        }
        if (command == "KEY") {
            return arity(2, "KEY <key> <position>") && key(field[1], field[2], err);
        }
        if (command == "LEAVE") {
            return arity(1, "LEAVE <node>") && leave(field[1], out, err);
        }
#if RINGPLAN_HAS_EXCEPTIONS
    } catch (const ringplan::Error& e) {
        // The checks above should make this unreachable; report rather than abort.
        return refuse(err, std::string("internal error: ") + e.what());
    }
#endif
    return refuse(err, std::string("unknown command '") + detail::shown(command) +
                           "' (expected ADD, KEY or LEAVE: commands are case-sensitive)");
}

inline bool DepartureSession::parse_position(std::string_view text, Token& position,
                                             std::ostream& err) {
    constexpr const char* range = "positions are 0 .. 18446744073709551615";
    const bool sign = text.front() == '-' || text.front() == '+';
    const std::string_view digits = sign ? text.substr(1) : text;
    const bool all_digits =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!all_digits) {
        return refuse(
            err, std::string("position '") + detail::shown(text) + "' is not a decimal number");
    }
    if (text.front() == '-') {
        return refuse(err, std::string("position ") + detail::shown(text) + " is out of range (" +
                               range + ")");
    }
    if (sign) {
        return refuse(err, std::string("position ") + detail::shown(text) +
                               " has a sign; write plain decimal digits (" + range + ")");
    }
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), position);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
        return refuse(err, std::string("position ") + detail::shown(text) + " is out of range (" +
                               range + ")");
    }
    return true;
}

inline bool DepartureSession::add(std::string_view node, std::string_view position_text,
                                  std::ostream& err) {
    Token position = 0;
    if (!parse_position(position_text, position, err)) {
        return false;
    }
    const auto taken = positions_.find(position);
    if (taken != positions_.end()) {
        return refuse(err, std::string("position ") + std::to_string(position) +
                               " is already taken by node " + detail::shown(*taken->second));
    }
    const auto [it, inserted] = nodes_.try_emplace(std::string(node));
    (void)inserted;
    Node& entry = it->second;
    entry.positions.push_back(position);
    positions_.emplace(position, &it->first);
    if (!entry.queued) {
        entry.queued = true;
        queued_.push_back(&it->first);
    }
    return true;
}

inline bool DepartureSession::key(std::string_view name, std::string_view position_text,
                                  std::ostream& err) {
    Token position = 0;
    if (!parse_position(position_text, position, err)) {
        return false;
    }
    const auto [it, inserted] = keys_.try_emplace(std::string(name), position);
    if (!inserted) {
        return refuse(err, std::string("key ") + detail::shown(name) +
                               " is already registered (at position " + std::to_string(it->second) +
                               ")");
    }
    unindexed_.push_back(Entry{position, &it->first});
    return true;
}

// Brings the ring up to date with the queued ADDs, in one bulk add.
inline void DepartureSession::apply_queued_nodes() {
    if (queued_.empty()) {
        return;
    }
    std::size_t grown = 0;  // members that gained positions
    for (const std::string* name : queued_) {
        if (nodes_.at(*name).in_ring) {
            ++grown;
        }
    }
    std::vector<std::pair<std::string, std::vector<Token>>> batch;
    if (grown >= rebuild_threshold_) {
        // Many members changed: one fresh bulk build beats a copy of the ring per removal.
        batch.reserve(nodes_.size());
        for (const auto& [name, node] : nodes_) {
            batch.emplace_back(name, node.positions);
        }
        ringplan::Ring<> fresh;
        fresh.add_nodes_with_tokens(batch.begin(), batch.end());
        ring_ = std::move(fresh);
    } else {
        // The ring has no "add tokens to a member": take the grown members out, then add them
        // back with all their positions, together with the new nodes.
        batch.reserve(queued_.size());
        for (const std::string* name : queued_) {
            const Node& node = nodes_.at(*name);
            if (node.in_ring) {
                ring_.remove_node(*name);
            }
            batch.emplace_back(*name, node.positions);
        }
        ring_.add_nodes_with_tokens(batch.begin(), batch.end());
    }
    for (const std::string* name : queued_) {
        Node& node = nodes_.at(*name);
        node.in_ring = true;
        node.queued = false;
    }
    queued_.clear();
}

// Sorts the keys registered since the last LEAVE into the position index.
inline void DepartureSession::index_queued_keys() {
    if (unindexed_.empty()) {
        return;
    }
    std::sort(unindexed_.begin(), unindexed_.end(), ByPosition());
    runs_.push_back(std::move(unindexed_));
    unindexed_.clear();
    // Keep each run at least twice the size of the next: every key takes part in O(log K)
    // merges over the session, and a lookup searches O(log K) runs.
    while (runs_.size() >= 2 && runs_[runs_.size() - 2].size() < 2 * runs_.back().size()) {
        std::vector<Entry>& a = runs_[runs_.size() - 2];
        std::vector<Entry>& b = runs_.back();
        std::vector<Entry> merged;
        merged.reserve(a.size() + b.size());
        std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(merged),
                   ByPosition());
        a.swap(merged);
        runs_.pop_back();
    }
}

inline bool DepartureSession::leave(std::string_view node_name, std::ostream& out,
                                    std::ostream& err) {
    const auto it = nodes_.find(std::string(node_name));
    if (it == nodes_.end()) {
        return refuse(err, std::string("LEAVE of unknown node ") + detail::shown(node_name));
    }
    const std::string& leaving = it->first;
    if (nodes_.size() == 1) {
        return refuse(err, std::string("node ") + detail::shown(leaving) +
                               " is the last node: its keys would have nowhere to go");
    }
    apply_queued_nodes();
    const auto plan = ringplan::plan_leave(ring_, leaving, ringplan::Rf{1});
    if (!plan.lost.empty()) {
        return refuse(err, std::string("node ") + detail::shown(leaving) +
                               " can not leave without losing keys");
    }

    // The keys inside the moved ranges, from the position index, in position order.
    index_queued_keys();
    std::vector<Entry> candidates;
    for (const auto& move : plan.moves) {
        for (const std::vector<Entry>& run : runs_) {
            auto k = std::lower_bound(run.begin(), run.end(), move.range.first,
                                      [](const Entry& e, Token t) { return e.position < t; });
            for (; k != run.end() && k->position <= move.range.last; ++k) {
                candidates.push_back(*k);
            }
        }
    }
    std::sort(candidates.begin(), candidates.end(), ByPosition());
    std::vector<Token> tokens(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        tokens[i] = candidates[i].position;
    }
    // Sorted tokens: project_tokens takes its no-sort path.
    const auto key_moves = ringplan::project_tokens(plan, tokens);

    std::vector<std::pair<const std::string*, const std::string*>> rows;  // key, new owner
    rows.reserve(key_moves.size());
    for (const auto& km : key_moves) {
        rows.emplace_back(candidates[km.index].key, &plan.moves[km.move].to);
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    std::string text;
    for (const auto& [key_name, to] : rows) {
        text += "MOVE ";
        text += *key_name;
        text += " FROM ";
        text += leaving;
        text += " TO ";
        text += *to;
        text += '\n';
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));

    ring_.remove_node(leaving);
    for (Token position : it->second.positions) {
        positions_.erase(position);
    }
    nodes_.erase(it);
    return true;
}

inline int run(std::istream& in, std::ostream& out, std::ostream& err) {
    DepartureSession session;
    std::string line;
    // Stop at the first failed write: the rest of the output could not get through either.
    while (out && std::getline(in, line)) {
#if RINGPLAN_HAS_EXCEPTIONS
        try {
            session.handle_line(line, out, err);
        } catch (const std::bad_alloc&) {
            err << "departure: line " << session.lines()
                << ": out of memory building the ring and the key index\n";
            return 1;
        } catch (const std::length_error&) {
            err << "departure: line " << session.lines()
                << ": out of memory building the ring and the key index\n";
            return 1;
        }
#else
        session.handle_line(line, out, err);
#endif
    }
    if (!example_util::flush_ok(out)) {
        err << "departure: could not write the output\n";
        return 2;
    }
    return session.exit_code();
}

}  // namespace departure

#endif  // RINGPLAN_EXAMPLES_DEPARTURE_PROTOCOL_HPP
