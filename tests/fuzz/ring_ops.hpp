// The ring-operations fuzz target: bytes are read as a program of ring operations (add with a
// vnode count or explicit tokens, remove, lookups, plans with random rf and down sets), run on
// a Ring and on the reference model of tests/plan_model.hpp side by side, and every answer is
// compared. A mismatch aborts with a message (libFuzzer reports it; the replay test fails).
// Used by tests/fuzz/ring_fuzz.cpp (libFuzzer) and tests/fuzz_replay_test.cpp (every run).
#ifndef RINGPLAN_TESTS_FUZZ_RING_OPS_HPP
#define RINGPLAN_TESTS_FUZZ_RING_OPS_HPP

#include "../plan_model.hpp"
#include "../test_util.hpp"

#include <ringplan/ringplan.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace rp_fuzz {

using ringplan::Token;

[[noreturn]] inline void mismatch(const char* what, const std::string& detail) {
    std::fprintf(stderr, "ring_ops mismatch: %s: %s\n", what, detail.c_str());
    std::abort();
}

// Reads the input a byte or a word at a time; past the end it reads zeros.
class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool done() const { return at_ >= size_; }
    std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
    Token token() {
        // Small values, the edges and full 64-bit words, so collisions and wraps are common.
        switch (byte() % 4) {
            case 0:
                return byte();
            case 1:
                return ringplan::max_token - byte();
            case 2:
                return (byte() % 16) * (ringplan::max_token / 15) + byte() % 3 -
                       1;  // CoarseHash's points
            default: {
                Token t = 0;
                for (int i = 0; i < 8; ++i) {
                    t = (t << 8) | byte();
                }
                return t;
            }
        }
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

inline int ring_ops_one_input(const std::uint8_t* data, std::size_t size) {
    using Ring = ringplan::Ring<rp_test::CoarseHash>;
    Reader in(data, size);
    Ring ring;
    std::map<std::string, rp_test::Member> members;
    auto model = [&] {
        std::vector<rp_test::Member> list;
        for (const auto& m : members) {
            list.push_back(m.second);
        }
        return rp_model::SortedRing(rp_test::naive_of<rp_test::CoarseHash>(list));
    };
    for (int step = 0; step < 64 && !in.done(); ++step) {
        const std::string id = "n" + std::to_string(in.byte() % 8);
        const bool member = members.count(id) > 0;
        const Ring before = ring;
        switch (in.byte() % 5) {
            case 0: {                                        // add with derived vnodes
                const std::uint32_t vnodes = in.byte() % 9;  // 0 is an error
                try {
                    ring.add_node(id, vnodes);
                    if (member || vnodes == 0) {
                        mismatch("add_node", "accepted " + id);
                    }
                    rp_test::Member m;
                    m.id = id;
                    m.vnodes = vnodes;
                    members[id] = m;
                } catch (const ringplan::Error&) {
                    if (!member && vnodes > 0) {
                        mismatch("add_node", "refused " + id);
                    }
                    if (ring != before) {
                        mismatch("add_node", "a failed call changed the ring");
                    }
                }
                break;
            }
            case 1: {  // add with explicit tokens
                std::vector<Token> tokens(in.byte() % 4);
                for (Token& t : tokens) {
                    t = in.token();
                }
                try {
                    ring.add_node_with_tokens(id, tokens);
                    rp_test::Member m;
                    m.id = id;
                    m.tokens = tokens;
                    members[id] = m;
                } catch (const ringplan::Error& e) {
                    if (ring != before) {
                        mismatch("add_node_with_tokens", "a failed call changed the ring");
                    }
                    // Refusal must have a reason: a member, no tokens, or a taken token.
                    bool taken = false;
                    for (std::size_t i = 0; i < tokens.size(); ++i) {
                        for (std::size_t v = 0; v < ring.vnode_count(); ++v) {
                            taken = taken || ring.vnode_token(v) == tokens[i];
                        }
                        for (std::size_t j = 0; j < i; ++j) {
                            taken = taken || tokens[j] == tokens[i];
                        }
                    }
                    if (!member && !tokens.empty() && !taken) {
                        mismatch("add_node_with_tokens", std::string("refused: ") + e.what());
                    }
                }
                break;
            }
            case 2: {  // remove
                try {
                    ring.remove_node(id);
                    members.erase(id);
                    if (!member) {
                        mismatch("remove_node", "removed a non-member");
                    }
                } catch (const ringplan::Error&) {
                    if (member || ring != before) {
                        mismatch("remove_node", "refused a member or changed the ring");
                    }
                }
                break;
            }
            case 3: {  // lookups
                const auto m = model();
                if (ring.vnode_count() != m.vnodes.size()) {
                    mismatch("vnode_count", std::to_string(ring.vnode_count()));
                }
                for (int k = 0; k < 4 && !ring.empty(); ++k) {
                    const Token t = in.token();
                    const std::size_t rf = 1 + in.byte() % 4;
                    if (ring.owner_at(t) != m.replicas(t, 1).at(0) ||
                        ring.replicas_at(t, ringplan::Rf{rf}) != m.replicas(t, rf)) {
                        mismatch("lookup", "token " + std::to_string(t));
                    }
                }
                break;
            }
            default: {  // a plan: leave, crash or join, with rf and a down set
                if (ring.empty()) {
                    break;
                }
                ringplan::PlanOptions<std::string> options(ringplan::Rf{1 + in.byte() % 4});
                const std::uint8_t down_mask = in.byte();
                for (const auto& mb : members) {
                    if (down_mask & (1u << (mb.first[1] - '0'))) {
                        options.down.push_back(mb.first);
                    }
                }
                const int kind = in.byte() % 3;
                Ring after = ring;
                std::vector<rp_test::Member> after_members;
                for (const auto& mb : members) {
                    after_members.push_back(mb.second);
                }
                ringplan::Plan<std::string> plan;
                if (kind < 2) {
                    if (!member) {
                        break;
                    }
                    after.remove_node(id);
                    after_members.erase(
                        std::find_if(after_members.begin(), after_members.end(),
                                     [&](const rp_test::Member& x) { return x.id == id; }));
                    plan = kind == 0 ? ringplan::plan_leave(ring, id, options)
                                     : ringplan::plan_crash(ring, id, options);
                    if (kind == 1) {
                        options.down.push_back(id);
                    }
                } else {
                    if (member) {
                        break;
                    }
                    const std::uint32_t vnodes = 1 + in.byte() % 6;
                    after.add_node(id, vnodes);
                    rp_test::Member m;
                    m.id = id;
                    m.vnodes = vnodes;
                    after_members.push_back(m);
                    plan = ringplan::plan_join(ring, id, vnodes, options);
                }
                if (plan.moves != ringplan::diff(ring, after, options).moves) {
                    mismatch("plan", "differs from diff");
                }
                const auto mb = model();
                const rp_model::SortedRing ma(
                    rp_test::naive_of<rp_test::CoarseHash>(after_members));
                for (const auto& seg : rp_model::segments(mb, ma)) {
                    const auto e = rp_model::expect(mb.replicas(seg.hi, options.rf.value()),
                                                    ma.replicas(seg.hi, options.rf.value()),
                                                    options.rf.value(), options.down);
                    const Token t = seg.ranges[0].first;
                    rp_model::Nodes to;
                    for (const auto& mv : plan.moves) {
                        if (mv.range.contains(t)) {
                            to.push_back(mv.to);
                            if (!rp_model::has(e.sources, mv.from)) {
                                mismatch("plan", "bad source " + mv.from);
                            }
                        }
                    }
                    bool lost = false;
                    for (const auto& r : plan.lost) {
                        lost = lost || r.contains(t);
                    }
                    if (!rp_model::same_set(to, e.gained) || to.size() != e.gained.size() ||
                        lost != e.lost) {
                        mismatch("plan", "token " + std::to_string(t));
                    }
                }
                break;
            }
        }
    }
    return 0;
}

}  // namespace rp_fuzz

#endif  // RINGPLAN_TESTS_FUZZ_RING_OPS_HPP
