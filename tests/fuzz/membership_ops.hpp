// The membership fuzz target: bytes are read as machine options (detector model, remove_after,
// ring or partition mode) and a program of observations (heartbeats, join and leave requests,
// finished streams with current or stale epochs, ticks) at growing times. After every step the
// machine's invariants are checked: a refused observation changed nothing, epochs never go back,
// the owners are exactly the up, suspect, down and leaving members, at most one join or leave
// streams. Every few steps the text form must read back equal, and a damaged copy of it must be
// read back or refused with a ringplan::Error, never crash. A violation aborts with a message
// (libFuzzer reports it; the replay test fails). Used by tests/fuzz/membership_fuzz.cpp
// (libFuzzer) and tests/fuzz_replay_test.cpp (every run).
#ifndef RINGPLAN_TESTS_FUZZ_MEMBERSHIP_OPS_HPP
#define RINGPLAN_TESTS_FUZZ_MEMBERSHIP_OPS_HPP

#include <ringplan/membership.hpp>
#include <ringplan/xxh3.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace rp_fuzz {

[[noreturn]] inline void membership_mismatch(const std::string& detail) {
    std::fprintf(stderr, "membership_ops mismatch: %s\n", detail.c_str());
    std::abort();
}

inline void check_membership_invariants(const ringplan::Membership<>& m) {
    using ringplan::NodeState;
    std::vector<std::string> owners;
    std::size_t moving = 0;
    const auto flight = m.in_flight();
    for (const auto& [id, s] : m.states()) {
        if (s == NodeState::up || s == NodeState::suspect || s == NodeState::down ||
            s == NodeState::leaving) {
            owners.push_back(id);
        }
        if (s == NodeState::joining || s == NodeState::leaving) {
            ++moving;
            if (!flight || flight->first != id) {
                membership_mismatch("node '" + id + "' moves but is not the node in flight");
            }
        }
        if (m.detector().monitors(id) != (s != NodeState::left && s != NodeState::removed)) {
            membership_mismatch("node '" + id + "' is " + ringplan::to_string(s) +
                                " and its monitoring disagrees");
        }
    }
    if (moving != (flight ? 1u : 0u)) {
        membership_mismatch("a node in flight that is neither joining nor leaving");
    }
    const auto& layout = m.options().partitions != 0 ? m.partition_map().nodes() : m.ring().nodes();
    if (layout != owners) {
        membership_mismatch("the layout's nodes are not the owners");
    }
}

inline int membership_ops_one_input(const std::uint8_t* data, std::size_t size) {
    using namespace std::chrono;
    std::size_t at = 0;
    const auto byte = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };
    ringplan::MembershipOptions o;
    switch (byte() % 3) {
        case 0:
            o.detector = ringplan::DetectorOptions::akka();
            break;
        case 1:
            o.detector = ringplan::DetectorOptions::cassandra();
            break;
        default:
            o.detector = ringplan::DetectorOptions::fixed();
    }
    o.remove_after = milliseconds(std::int64_t{byte() % 8} * 5000);
    o.rf = ringplan::Rf{1u + byte() % 4};
    o.vnodes = 1u + byte() % 8;
    o.partitions = byte() % 2 == 0 ? 0 : 1u + byte() % 32;
    const std::vector<std::string> pool = {"a", "b", "c", "d", "e", "f", "g", "h"};
    std::vector<std::string> founders;
    for (std::size_t i = 0, n = byte() % 5; i < n; ++i) {
        founders.push_back(pool[i]);
    }
    ringplan::Membership<> m(founders, milliseconds(0), o);
    milliseconds now(0);
    std::uint64_t last_epoch = m.epoch();
    for (int step = 0; step < 200 && at < size; ++step) {
        const std::uint8_t op = byte();
        now += milliseconds(std::int64_t{byte()} * 97);
        const std::string& id = pool[byte() % pool.size()];
        const ringplan::Membership<> before = m;
        std::vector<ringplan::Membership<>::Change> changes;
        try {
            switch (op % 7) {
                case 0:
                case 1:
                    changes = m.heartbeat(id, now);
                    break;
                case 2:
                    changes = m.join_request(id, now);
                    break;
                case 3:
                    changes = m.leave_request(id, now);
                    break;
                case 4: {
                    const auto f = m.in_flight();
                    const std::uint64_t e = m.epoch() - (op >> 7);  // sometimes stale
                    if (f && f->second == ringplan::PlanKind::join) {
                        changes = m.join_done(f->first, e, now);
                    } else if (f) {
                        changes = m.leave_done(f->first, e, now);
                    }
                    break;
                }
                case 5:
                    changes = m.tick(now - milliseconds(op >> 6));  // sometimes backwards
                    break;
                default:
                    changes = m.tick(now);
            }
        } catch (const ringplan::Error&) {
            if (!(m == before)) {
                membership_mismatch("a refused observation changed the machine");
            }
            continue;
        }
        for (const auto& c : changes) {
            if (c.epoch < last_epoch || c.epoch > m.epoch()) {
                membership_mismatch("change epochs out of order");
            }
            last_epoch = c.epoch;
        }
        check_membership_invariants(m);
        if (step % 16 == 15) {
            const std::string text = m.to_text();
            if (!(ringplan::Membership<>::from_text(text) == m)) {
                membership_mismatch("the text form did not read back equal:\n" + text);
            }
            std::string damaged = text;
            for (int k = 0; k < 3; ++k) {
                damaged[byte() * 131u % damaged.size()] = static_cast<char>(byte());
            }
            try {
                check_membership_invariants(ringplan::Membership<>::from_text(damaged));
            } catch (const ringplan::Error&) {
            }
        }
    }
    return 0;
}

}  // namespace rp_fuzz

#endif  // RINGPLAN_TESTS_FUZZ_MEMBERSHIP_OPS_HPP
