// ringplan example: replay a cluster scenario through the membership state machine
// (include/ringplan/membership.hpp) and print what it decides.
//
//   cluster_sim [options] SCENARIO      (SCENARIO a file, or '-' for stdin)
//   cluster_sim --help
//
// A deterministic discrete-event simulation: the scenario says when node processes crash,
// restart, join, leave or pause; the simulator turns that into the observations a membership
// view would see (heartbeats every --heartbeat-ms with a seeded jitter, join and leave
// requests, the join_done or leave_done --stream-ms after a plan starts streaming, a tick every
// --tick-ms) and prints every decision in time order. docs/membership.md ("cluster_sim")
// describes the formats; --help has the summary.
//
// Protocol (what scripts may rely on):
//
// - Scenario lines end in LF or CRLF and hold at most 4 MiB; fields are separated by blanks; a
//   field starting with '#' begins a comment that runs to the end of the line.
//       nodes <id> <id> ...        first, once: the members at time 0, all up
//       at <t> crash <id>          the process stops: no more heartbeats, its streams stop
//       at <t> restart <id>        a stopped process starts: it heartbeats from <t>; a node that
//                                  is no longer a member (left, removed) asks to join first;
//                                  an interrupted join or leave streams again from <t>
//       at <t> join <id>           join_request, then (if the process was stopped) heartbeats
//       at <t> leave <id>          leave_request; the node streams and then leaves
//       at <t> pause <id> <ms>     no heartbeats in [t, t+ms); then one at t+ms and the
//                                  schedule restarts from there
//       at <t> end                 last: the simulation covers [0, t]
//   Times are whole milliseconds, 0 to 2592000000 (30 days), never going back. A node id is 1
//   to 256 bytes without blanks or control characters; ids a verb names other than join must
//   have appeared on the nodes line or a join line before; at most 10000 ids in all.
// - At equal times: scenario events in file order, then finished streams, then heartbeats in
//   id order, then the tick. Node i's heartbeats fall at p, p + H + j1, p + 2H + j2, ... from
//   the time p it starts (not at p itself when the machine counted the start as a heartbeat:
//   the founders at 0, an accepted join_request), each j uniform in [-J, J] from a splitmix64
//   stream seeded with XXH3(id, --seed): no std:: distribution (they differ between standard
//   libraries), and the output does not depend on the order of the ids on the nodes line.
// - Output lines, in time order:
//       <t> <event> <id> epoch=<e>[ away_ms=<n>][ owned=<f>]
//       <t> plan <kind> epoch=<e> moves=<n> moved=<f> lost=<f>[ copies=<n> catch_ups=<n>]
//       <t> refused <what> <id>: <message>
//       <t> end epoch=<e> <id>=<state> ...
//   away_ms on rejoin; owned on down, rejoin, removed and leaving; copies and catch_ups in
//   partition mode. Fractions have 4 decimals.
// - Exit status 0 on success. Bad options or a bad scenario (or one too big to simulate, or
//   running out of memory): `cluster_sim: <message>` on stderr, naming the option or
//   `<file>:<line>`, exit status 1 and nothing on stdout. A stdout that can not be written:
//   exit status 2, as every example program. A run that takes more than 2 s of wall time
//   reports its progress on stderr every 2 s.
// SPDX-License-Identifier: MIT
#include "example_util.hpp"

#include <ringplan/error.hpp>
#include <ringplan/failure_detector.hpp>
#include <ringplan/membership.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/topology.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using example_util::Failure;
using example_util::UsageFailure;
using example_util::WriteFailure;

using Ms = std::chrono::milliseconds;
using Machine = ringplan::Membership<ringplan::Xxh3, std::string>;
using Change = Machine::Change;

// Limits: nothing a user supplies makes the program run for hours or exhaust memory.
constexpr std::int64_t max_time_ms = std::int64_t{30} * 24 * 3600 * 1000;  // 30 days
constexpr std::int64_t max_interval_ms = std::int64_t{24} * 3600 * 1000;   // 1 day
// The detector's longest duration (2^24 ms, 4.7 hours): the check interval, and twice the
// heartbeat interval (Cassandra's first and longest recorded interval).
constexpr std::int64_t max_detector_ms = ringplan::DetectorOptions::max_duration.count();
constexpr std::size_t max_line_bytes = std::size_t{1} << 22;
constexpr std::size_t max_id_bytes = 256;
constexpr std::size_t max_nodes = 10000;
constexpr std::size_t max_events = 1000000;
constexpr std::size_t max_rf = 64;
constexpr std::uint64_t max_vnodes = 4096;
constexpr std::uint64_t max_partitions = 65536;
// Ring vnodes, or partition replicas, across all ids: what one plan may have to walk.
constexpr std::uint64_t max_placement = std::uint64_t{1} << 20;
constexpr std::uint64_t max_fixed_checks = 10000;
constexpr double max_phi_threshold = 1000;
// Heartbeats (and, with --every-tick, ticks times nodes) in one run: about two minutes.
constexpr std::uint64_t max_work = std::uint64_t{1} << 28;
// The decisions' work in one run, in about nanoseconds (Simulator::report counts it): a
// minute. Only options that make nodes flap on nearly every heartbeat come near it.
constexpr std::uint64_t max_decision_work = std::uint64_t{1} << 36;

const char* const usage_text =
    R"(usage: cluster_sim [options] SCENARIO
       cluster_sim --help

Replays SCENARIO (a file, or '-' for stdin) through ringplan's membership state machine and
prints what it decides, one line per decision, in time order.

Scenario lines (times in milliseconds, 0 to 2592000000; '#' starts a comment):
  nodes <id> <id> ...       first, once: the members at time 0, all up and heartbeating
  at <t> crash <id>         the node's process stops (no heartbeats, no streaming)
  at <t> restart <id>       a stopped process starts again and heartbeats; a node that is no
                            longer a member (left or removed) asks to join first
  at <t> join <id>          the node asks to join, then heartbeats
  at <t> leave <id>         the node asks to leave gracefully, streams, then leaves
  at <t> pause <id> <ms>    a long pause (GC): no heartbeats for <ms>
  at <t> end                last: the simulation runs up to <t>
  rule distinct_nodes <rf> | rule rack_aware <rf> | rule network_topology <dc>=<rf> ...
                            before the 'at' lines, once: the replica rule (ring mode takes
                            any, partition mode distinct_nodes); it replaces --rf
  place <id> <datacenter> [<rack>]
                            before the 'at' lines: where a node sits (a rack or
                            network-topology rule needs every member placed)
Times never go back. Joins and leaves finish (join_done, leave_done with the epoch of the
node's latest plan) --stream-ms after their plan starts streaming.

Output, in time order:
  <t> <event> <id> epoch=<e>[ away_ms=<n>][ owned=<f>]
      event: suspect, down, up, rejoin, removed, join, leaving, left, replan
  <t> plan <kind> epoch=<e> moves=<n> moved=<f> lost=<f>[ copies=<n> catch_ups=<n>]
          [ under=<f>]
      after the change that carries a plan; kind: join, leave, crash, hint_return; under
      (with a rule): the share left with fewer replicas than the rule asks
  <t> refused <what> <id>: <message>
      the machine refused a request (the run goes on), or the process can not do what the
      line says (restart a running node; crash, pause or make a stopped one leave)
  <t> end epoch=<e> <id>=<state> ...
      last: every id the machine knows and its state

Options:
  --detector akka|cassandra|fixed   the failure detector (default akka)
  --threshold X          akka, cassandra: the phi threshold, above 0 and at most 1000
                         (default the detector's); fixed: the number K of missed checks, a
                         whole number from 1 to 10000 (default 3)
  --check-interval-ms I  fixed: how often it checks, 1 to 16777216 (default 5000)
  --remove-after-ms T    how long a node stays down before it is removed, 0 to 2592000000
                         (default 600000)
  --rf R                 the replication factor, 1 to 64 (default 3)
  --vnodes V             ring mode: vnodes per node, 1 to 4096 (default 16)
  --partitions Q         partition mode: Q fixed partitions, 1 to 65536
  --heartbeat-ms H       the heartbeat interval, 1 to 8388608 (default 1000); akka's first
                         estimate of the interval is H, cassandra's first and longest 2 H
  --jitter-ms J          each heartbeat moved by a uniform offset in [-J, J], J at most H/2
                         (default 0)
  --seed S               the jitter's seed, 0 to 18446744073709551615 (default 1)
  --tick-ms T            how often the simulator calls tick, 1 to 86400000 (default 100)
  --stream-ms S          how long a join or leave streams, 0 to 2592000000 (default 1000)
  --every-tick           call tick every --tick-ms even when next_tick() says nothing can
                         change (slower; the output is the same)
  --help                 this text
A value may also follow '=' (--rf=3).

Exit status: 0 on success; 1 for bad options or a bad scenario line (a message naming the
option or <file>:<line> on stderr, nothing on stdout); 2 if stdout can not be written.
)";

// ---------------------------------------------------------------------------------------------
// Options.

struct Options {
    ringplan::DetectorModel detector = ringplan::DetectorModel::akka;
    std::optional<std::string> threshold;  // read once the detector is known
    std::optional<std::int64_t> check_interval_ms;
    std::int64_t remove_after_ms = 600000;
    std::size_t rf = 3;
    std::optional<std::uint32_t> vnodes;
    std::optional<std::size_t> partitions;
    std::int64_t heartbeat_ms = 1000;
    std::int64_t jitter_ms = 0;
    std::uint64_t seed = 1;
    std::int64_t tick_ms = 100;
    std::int64_t stream_ms = 1000;
    bool every_tick = false;
    std::string scenario;
    bool help = false;
};

/// `text` in single quotes for a message: control bytes escaped, cut after 64 bytes (the
/// library's own quoting, so ids read the same in its errors and in this program's).
std::string in_quotes(std::string_view text) {
    std::string out;
    ringplan::detail::append_quoted(out, text);
    return out;
}

/// A whole number from `min` to `max` in decimal, or nothing.
std::optional<std::uint64_t> parse_whole(std::string_view text, std::uint64_t min,
                                         std::uint64_t max) {
    if (text.empty() || text.size() > 20 ||
        text.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return std::nullopt;
        }
        v = v * 10 + digit;
    }
    if (v < min || v > max) {
        return std::nullopt;
    }
    return v;
}

std::uint64_t option_whole(const std::string& name, const std::string& value, std::uint64_t min,
                           std::uint64_t max) {
    const std::optional<std::uint64_t> v = parse_whole(value, min, max);
    if (!v) {
        throw UsageFailure(name + " must be a whole number from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", not " + in_quotes(value));
    }
    return *v;
}

std::int64_t option_ms(const std::string& name, const std::string& value, std::int64_t min,
                       std::int64_t max) {
    return static_cast<std::int64_t>(option_whole(name, value, static_cast<std::uint64_t>(min),
                                                  static_cast<std::uint64_t>(max)));
}

/// A phi threshold: digits with at most one '.', above 0 and at most max_phi_threshold. No
/// exponents, signs, "inf" or "nan" (strtod would take them).
double phi_threshold(const std::string& value) {
    const bool digits_only = !value.empty() && value.size() <= 32 &&
                             value.find_first_not_of("0123456789.") == std::string::npos &&
                             std::count(value.begin(), value.end(), '.') <= 1 &&
                             value.find_first_of("0123456789") != std::string::npos;
    const double v = digits_only ? std::strtod(value.c_str(), nullptr) : 0;
    if (!digits_only || !(v > 0) || v > max_phi_threshold) {
        throw UsageFailure(
            "--threshold must be a number above 0 and at most 1000 (the phi "
            "threshold), not " +
            in_quotes(value));
    }
    return v;
}

Options parse_args(const std::vector<std::string>& args) {
    Options o;
    for (const std::string& a : args) {
        if (a == "--") {
            break;
        }
        if (a == "--help" || a == "-h") {
            o.help = true;
            return o;
        }
    }
    std::vector<std::string> files;
    std::vector<std::string> seen;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (options_done || a.size() < 2 || a[0] != '-') {
            files.push_back(a);
            continue;
        }
        std::string name = a;
        std::string value;
        const std::size_t eq = a.find('=');
        const bool inline_value = a.compare(0, 2, "--") == 0 && eq != std::string::npos;
        if (inline_value) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        }
        static const char* const known[] = {
            "--detector", "--threshold",  "--check-interval-ms", "--remove-after-ms", "--rf",
            "--vnodes",   "--partitions", "--heartbeat-ms",      "--jitter-ms",       "--seed",
            "--tick-ms",  "--stream-ms",  "--every-tick"};
        if (std::find(std::begin(known), std::end(known), name) == std::end(known)) {
            throw UsageFailure("unknown option " + in_quotes(a));
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            throw UsageFailure(name + " given twice");
        }
        seen.push_back(name);
        if (name == "--every-tick") {
            if (inline_value) {
                throw UsageFailure("--every-tick takes no value");
            }
            o.every_tick = true;
            continue;
        }
        if (!inline_value) {
            if (i + 1 == args.size()) {
                throw UsageFailure(name + " needs a value");
            }
            value = args[++i];
        }
        if (name == "--detector") {
            if (value == "akka") {
                o.detector = ringplan::DetectorModel::akka;
            } else if (value == "cassandra") {
                o.detector = ringplan::DetectorModel::cassandra;
            } else if (value == "fixed") {
                o.detector = ringplan::DetectorModel::fixed;
            } else {
                throw UsageFailure("unknown detector " + in_quotes(value) +
                                   " (--detector is akka, cassandra or fixed)");
            }
        } else if (name == "--threshold") {
            o.threshold = value;
        } else if (name == "--check-interval-ms") {
            o.check_interval_ms = option_ms(name, value, 1, max_detector_ms);
        } else if (name == "--remove-after-ms") {
            o.remove_after_ms = option_ms(name, value, 0, max_time_ms);
        } else if (name == "--rf") {
            o.rf = static_cast<std::size_t>(option_whole(name, value, 1, max_rf));
        } else if (name == "--vnodes") {
            o.vnodes = static_cast<std::uint32_t>(option_whole(name, value, 1, max_vnodes));
        } else if (name == "--partitions") {
            o.partitions = static_cast<std::size_t>(option_whole(name, value, 1, max_partitions));
        } else if (name == "--heartbeat-ms") {
            o.heartbeat_ms = option_ms(name, value, 1, max_detector_ms / 2);
        } else if (name == "--jitter-ms") {
            o.jitter_ms = option_ms(name, value, 0, max_detector_ms / 4);
        } else if (name == "--seed") {
            o.seed = option_whole(name, value, 0, std::numeric_limits<std::uint64_t>::max());
        } else if (name == "--tick-ms") {
            o.tick_ms = option_ms(name, value, 1, max_interval_ms);
        } else {
            o.stream_ms = option_ms(name, value, 0, max_time_ms);
        }
    }
    if (o.vnodes && o.partitions) {
        throw UsageFailure(
            "--vnodes (ring mode) and --partitions (partition mode) exclude each "
            "other");
    }
    if (o.check_interval_ms && o.detector != ringplan::DetectorModel::fixed) {
        throw UsageFailure("--check-interval-ms is an option of --detector fixed only");
    }
    if (2 * o.jitter_ms > o.heartbeat_ms) {
        throw UsageFailure(
            "--jitter-ms " + std::to_string(o.jitter_ms) + " is more than half of --heartbeat-ms " +
            std::to_string(o.heartbeat_ms) + " (heartbeats would overtake each other)");
    }
    if (files.empty()) {
        throw UsageFailure("SCENARIO is required (a file, or '-' for stdin)");
    }
    if (files.size() > 1) {
        throw UsageFailure("unexpected argument " + in_quotes(files[1]));
    }
    o.scenario = files[0];
    return o;
}

/// The machine's options for the command line. Refuses a --threshold that does not fit the
/// detector.
ringplan::MembershipOptions membership_options(const Options& o) {
    ringplan::MembershipOptions m;
    switch (o.detector) {
        case ringplan::DetectorModel::akka:
            m.detector = ringplan::DetectorOptions::akka();
            break;
        case ringplan::DetectorModel::cassandra:
            m.detector = ringplan::DetectorOptions::cassandra();
            break;
        case ringplan::DetectorModel::fixed:
            m.detector = ringplan::DetectorOptions::fixed();
            break;
    }
    if (o.detector == ringplan::DetectorModel::fixed) {
        if (o.threshold) {
            const std::optional<std::uint64_t> k = parse_whole(*o.threshold, 1, max_fixed_checks);
            if (!k) {
                throw UsageFailure(
                    "--threshold with --detector fixed is the number of missed checks, a whole "
                    "number from 1 to " +
                    std::to_string(max_fixed_checks) + ", not " + in_quotes(*o.threshold));
            }
            m.detector.missed_checks = static_cast<std::uint32_t>(*k);
        }
        if (o.check_interval_ms) {
            m.detector.check_interval = Ms(*o.check_interval_ms);
        }
    } else if (o.threshold) {
        m.detector.threshold = phi_threshold(*o.threshold);
    }
    // The detector's estimate before it has samples follows the interval the nodes really
    // use, as each model's defaults do for a 1 s interval: akka's first estimate is the
    // interval; Cassandra records 2 intervals at the first heartbeat and ignores longer gaps.
    if (o.detector == ringplan::DetectorModel::akka) {
        m.detector.first_interval = Ms(o.heartbeat_ms);
    } else if (o.detector == ringplan::DetectorModel::cassandra) {
        m.detector.first_interval = Ms(2 * o.heartbeat_ms);
        m.detector.max_interval = Ms(2 * o.heartbeat_ms);
    }
    m.remove_after = Ms(o.remove_after_ms);
    m.rf = ringplan::Rf{o.rf};
    if (o.partitions) {
        m.partitions = *o.partitions;
    } else if (o.vnodes) {
        m.vnodes = *o.vnodes;
    }
    return m;
}

// ---------------------------------------------------------------------------------------------
// The scenario.

enum class Verb { crash, restart, join, leave, pause };

struct Event {
    std::int64_t at = 0;
    Verb verb = Verb::crash;
    std::uint32_t node = 0;  // index into Scenario::ids
    std::int64_t ms = 0;     // pause: its length
};

struct Scenario {
    std::vector<std::string> ids;         // every id the scenario names, ascending
    std::vector<std::uint32_t> founders;  // the nodes line, as indices into ids
    std::vector<Event> events;            // in file order (times never go back)
    std::int64_t end = 0;
    std::optional<ringplan::ReplicaPolicy> rule;
    ringplan::Topology<std::string> places;
};

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    for (;;) {
        i = line.find_first_not_of(" \t", i);
        if (i == std::string_view::npos || line[i] == '#') {
            return out;
        }
        const std::size_t end = std::min(line.find_first_of(" \t", i), line.size());
        out.push_back(line.substr(i, end - i));
        i = end;
    }
}

/// Why `id` can not be a node id, or "" if it can.
std::string id_problem(std::string_view id) {
    if (id.size() > max_id_bytes) {
        return "node id " + in_quotes(id) + " is longer than " + std::to_string(max_id_bytes) +
               " bytes";
    }
    for (const char ch : id) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) {
            return "node id " + in_quotes(id) + " holds a control character";
        }
    }
    return "";
}

class ScenarioReader {
public:
    explicit ScenarioReader(std::string name) : name_(std::move(name)) {}

    Scenario read(std::istream& in) {
        std::string line;
        std::size_t n = 0;
        for (;;) {
            const example_util::LineStatus status =
                example_util::read_line(in, line, max_line_bytes);
            if (status == example_util::LineStatus::end) {
                break;
            }
            ++n;
            if (status == example_util::LineStatus::too_long) {
                fail(n, "line longer than " + std::to_string(max_line_bytes) +
                            " bytes (the limit is 4 MiB)");
            }
            const std::vector<std::string_view> fields = fields_of(line);
            if (!fields.empty()) {
                parse(n, fields);
            }
        }
        if (in.bad()) {
            throw Failure("can not read " + name_);
        }
        const std::size_t last = std::max<std::size_t>(n, 1);
        if (nodes_line_ == 0) {
            fail(last, "no 'nodes <id> ...' line (a scenario starts with one)");
        }
        if (end_line_ == 0) {
            fail(last, "no 'at <t> end' line (a scenario ends with one)");
        }
        return finish();
    }

private:
    [[noreturn]] void fail(std::size_t line, const std::string& what) const {
        throw Failure(name_ + ":" + std::to_string(line) + ": " + what);
    }

    void parse(std::size_t n, const std::vector<std::string_view>& f) {
        if (end_line_ != 0) {
            fail(n, "a line after 'at " + std::to_string(end_) + " end' (line " +
                        std::to_string(end_line_) + ")");
        }
        if (f[0] == "nodes") {
            if (nodes_line_ != 0) {
                fail(n, "a second 'nodes' line (the first is line " + std::to_string(nodes_line_) +
                            ")");
            }
            nodes_line_ = n;
            if (f.size() < 2) {
                fail(n, "'nodes' needs at least one node id: nodes <id> <id> ...");
            }
            for (std::size_t k = 1; k < f.size(); ++k) {
                const std::size_t before = first_seen_.size();
                const std::uint32_t id = intern(n, f[k]);
                if (first_seen_.size() == before) {
                    fail(n, "node " + in_quotes(f[k]) + " is listed twice");
                }
                founders_.push_back(id);
            }
            return;
        }
        if (f[0] == "rule" || f[0] == "place") {
            if (last_time_line_ != 0) {
                fail(n, "'" + std::string(f[0]) + "' must come before the 'at' lines");
            }
            f[0] == "rule" ? parse_rule(n, f) : parse_place(n, f);
            return;
        }
        if (f[0] != "at") {
            fail(n, "unknown verb " + in_quotes(f[0]) +
                        " (a line is 'nodes <id> ...', 'rule ...', 'place ...' or 'at <t> <verb> "
                        "...')");
        }
        if (nodes_line_ == 0) {
            fail(n, "'nodes <id> ...' must come first");
        }
        if (f.size() < 3) {
            fail(n, "expected 'at <t> <verb> ...'");
        }
        const std::int64_t t = parse_ms(n, f[1], "time");
        if (t < last_time_) {
            fail(n, "time " + std::to_string(t) + " is before the time of line " +
                        std::to_string(last_time_line_) + " (" + std::to_string(last_time_) +
                        "): times never go back");
        }
        last_time_ = t;
        last_time_line_ = n;
        const std::string_view verb = f[2];
        if (verb == "end") {
            if (f.size() != 3) {
                fail(n, "'end' takes nothing more: at <t> end");
            }
            end_ = t;
            end_line_ = n;
            return;
        }
        Event e;
        e.at = t;
        std::size_t want = 4;
        const char* form = " takes one node id: at <t> ";
        if (verb == "crash") {
            e.verb = Verb::crash;
        } else if (verb == "restart") {
            e.verb = Verb::restart;
        } else if (verb == "join") {
            e.verb = Verb::join;
        } else if (verb == "leave") {
            e.verb = Verb::leave;
        } else if (verb == "pause") {
            e.verb = Verb::pause;
            want = 5;
            form = " takes a node id and a length: at <t> ";
        } else {
            fail(n, "unknown verb " + in_quotes(verb) +
                        " (crash, restart, join, leave, pause or end)");
        }
        if (f.size() != want) {
            fail(n,
                 in_quotes(verb) + form + std::string(verb) + (want == 5 ? " <id> <ms>" : " <id>"));
        }
        if (e.verb == Verb::join) {
            e.node = intern(n, f[3]);
        } else {
            const auto it = index_.find(f[3]);
            if (it == index_.end()) {
                fail(n, "unknown node " + in_quotes(f[3]) +
                            " (not on the nodes line, nor joined on an earlier line)");
            }
            e.node = it->second;
        }
        if (e.verb == Verb::pause) {
            e.ms = parse_ms(n, f[4], "pause length");
            if (e.ms == 0) {
                fail(n, "pause length 0: a pause lasts at least 1 ms");
            }
        }
        if (events_.size() == max_events) {
            fail(n, "more than " + std::to_string(max_events) + " events");
        }
        events_.push_back(e);
    }

    /// rule distinct_nodes <rf> | rule rack_aware <rf> | rule network_topology <dc>=<rf> ...
    void parse_rule(std::size_t n, const std::vector<std::string_view>& f) {
        if (rule_line_ != 0) {
            fail(n, "a second 'rule' line (the first is line " + std::to_string(rule_line_) + ")");
        }
        rule_line_ = n;
        const auto rf_of = [&](std::string_view text, std::uint64_t min) {
            const std::optional<std::uint64_t> v = parse_whole(text, min, max_rf);
            if (!v) {
                fail(n, "rf " + in_quotes(text) + " is not a whole number from " +
                            std::to_string(min) + " to " + std::to_string(max_rf));
            }
            return static_cast<std::uint32_t>(*v);
        };
        try {
            if ((f.size() == 3) && (f[1] == "distinct_nodes" || f[1] == "rack_aware")) {
                const ringplan::Rf rf{rf_of(f[2], 1)};
                rule_ = f[1] == "rack_aware" ? ringplan::ReplicaPolicy::rack_aware(rf)
                                             : ringplan::ReplicaPolicy::distinct_nodes(rf);
                return;
            }
            if (f.size() >= 3 && f[1] == "network_topology") {
                std::vector<ringplan::DatacenterRf> rfs;
                for (std::size_t k = 2; k < f.size(); ++k) {
                    const std::size_t eq = f[k].find('=');
                    if (eq == std::string_view::npos || eq == 0) {
                        fail(n, "expected <datacenter>=<rf>, got " + in_quotes(f[k]));
                    }
                    rfs.push_back({std::string(f[k].substr(0, eq)), rf_of(f[k].substr(eq + 1), 0)});
                }
                rule_ = ringplan::ReplicaPolicy::network_topology(std::move(rfs));
                return;
            }
        } catch (const ringplan::Error& e) {
            fail(n, e.what());
        }
        fail(n,
             "expected 'rule distinct_nodes <rf>', 'rule rack_aware <rf>' or "
             "'rule network_topology <dc>=<rf> ...'");
    }

    /// place <id> <datacenter> [<rack>]
    void parse_place(std::size_t n, const std::vector<std::string_view>& f) {
        if (f.size() != 3 && f.size() != 4) {
            fail(n, "expected 'place <id> <datacenter> [<rack>]'");
        }
        const std::string problem = id_problem(f[1]);
        if (!problem.empty()) {
            fail(n, problem);
        }
        if (places_.find(f[1]) != nullptr) {
            fail(n, "node " + in_quotes(f[1]) + " is placed twice");
        }
        places_.set(std::string(f[1]), std::string(f[2]),
                    f.size() == 4 ? std::string(f[3]) : std::string());
    }

    /// A time or length in milliseconds: a whole number from 0 to max_time_ms.
    std::int64_t parse_ms(std::size_t n, std::string_view text, const char* what) const {
        if (!text.empty() && text[0] == '-') {
            fail(n, std::string(what) + " " + in_quotes(text) + " is negative");
        }
        const std::optional<std::uint64_t> v =
            parse_whole(text, 0, static_cast<std::uint64_t>(max_time_ms));
        if (!v) {
            const bool digits = !text.empty() && text.size() <= 20 &&
                                text.find_first_not_of("0123456789") == std::string_view::npos;
            fail(n, std::string(what) + " " + in_quotes(text) +
                        (digits ? " is beyond the limit of " + std::to_string(max_time_ms) +
                                      " ms (30 days)"
                                : " is not a whole number of milliseconds"));
        }
        return static_cast<std::int64_t>(*v);
    }

    /// The index of `id` in first-seen order, adding it if new.
    std::uint32_t intern(std::size_t n, std::string_view id) {
        const auto it = index_.find(id);
        if (it != index_.end()) {
            return it->second;
        }
        const std::string problem = id_problem(id);
        if (!problem.empty()) {
            fail(n, problem);
        }
        if (first_seen_.size() == max_nodes) {
            fail(n, "more than " + std::to_string(max_nodes) + " node ids");
        }
        const auto index = static_cast<std::uint32_t>(first_seen_.size());
        first_seen_.emplace_back(id);
        index_.emplace(first_seen_.back(), index);
        return index;
    }

    /// Renumbers the ids in ascending order, so equal-time heartbeats go in id order whatever
    /// the order of the nodes line.
    Scenario finish() {
        Scenario s;
        std::vector<std::uint32_t> order(first_seen_.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = static_cast<std::uint32_t>(i);
        }
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            return first_seen_[a] < first_seen_[b];
        });
        std::vector<std::uint32_t> rank(order.size());
        for (std::size_t r = 0; r < order.size(); ++r) {
            rank[order[r]] = static_cast<std::uint32_t>(r);
            s.ids.push_back(first_seen_[order[r]]);
        }
        for (const std::uint32_t f : founders_) {
            s.founders.push_back(rank[f]);
        }
        std::sort(s.founders.begin(), s.founders.end());
        s.events = std::move(events_);
        for (Event& e : s.events) {
            e.node = rank[e.node];
        }
        s.end = end_;
        s.rule = rule_;
        s.places = std::move(places_);
        return s;
    }

    std::string name_;
    std::vector<std::string> first_seen_;
    std::map<std::string, std::uint32_t, std::less<>> index_;
    std::vector<std::uint32_t> founders_;
    std::vector<Event> events_;
    std::size_t nodes_line_ = 0;
    std::size_t end_line_ = 0;
    std::int64_t end_ = 0;
    std::int64_t last_time_ = 0;
    std::size_t last_time_line_ = 0;
    std::size_t rule_line_ = 0;
    std::optional<ringplan::ReplicaPolicy> rule_;
    ringplan::Topology<std::string> places_;
};

Scenario read_scenario(const std::string& path) {
    if (path == "-") {
        return ScenarioReader("<stdin>").read(std::cin);
    }
    // An ifstream opens a directory and then reads nothing: say what it is instead.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw Failure("SCENARIO " + path + " is a directory, not a file");
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Failure("can not open SCENARIO " + path + ": " +
                      (errno != 0 ? std::strerror(errno) : "unknown error"));
    }
    return ScenarioReader(path).read(in);
}

/// Refuses scenarios that would run for hours: too many heartbeats (or ticks), or rings and
/// maps too big to plan over and over.
void check_size(const Options& o, const Scenario& s) {
    const std::uint64_t nodes = s.ids.size();
    const auto end = static_cast<std::uint64_t>(s.end);
    const std::uint64_t beats = nodes * (end / static_cast<std::uint64_t>(o.heartbeat_ms) + 1);
    const std::uint64_t ticks =
        o.every_tick ? (end / static_cast<std::uint64_t>(o.tick_ms) + 1) * nodes : 0;
    if (beats + ticks > max_work) {
        throw Failure(o.scenario + ": " + std::to_string(nodes) + " nodes over " +
                      std::to_string(end) + " ms make about " + std::to_string(beats) +
                      " heartbeats" +
                      (o.every_tick ? " and " + std::to_string(ticks) + " node checks in ticks"
                                    : std::string()) +
                      "; this program simulates at most " + std::to_string(max_work) +
                      " (raise --heartbeat-ms" + (o.every_tick ? " or --tick-ms" : "") +
                      ", or shorten the scenario)");
    }
    if (o.partitions) {
        const std::uint64_t replicas = *o.partitions * std::min<std::uint64_t>(o.rf, nodes);
        if (replicas > max_placement) {
            throw Failure("--partitions " + std::to_string(*o.partitions) + " with --rf " +
                          std::to_string(o.rf) + " and " + std::to_string(nodes) + " nodes makes " +
                          std::to_string(replicas) + " replicas; this program handles at most " +
                          std::to_string(max_placement));
        }
    } else {
        const std::uint64_t vnodes = std::uint64_t{o.vnodes.value_or(16)} * nodes;
        if (vnodes > max_placement) {
            throw Failure("--vnodes " + std::to_string(o.vnodes.value_or(16)) + " with " +
                          std::to_string(nodes) + " nodes makes " + std::to_string(vnodes) +
                          " vnodes; this program handles at most " + std::to_string(max_placement));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Collects output lines and writes them in chunks; a failed write is a WriteFailure.
class Writer {
public:
    Writer() { buf_.reserve(chunk + 4096); }

    std::string& text() { return buf_; }
    void end_line() {
        buf_ += '\n';
        if (buf_.size() >= chunk) {
            drain();
        }
    }
    void finish() {
        drain();
        if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
            fail();
        }
    }

private:
    static constexpr std::size_t chunk = std::size_t{1} << 16;

    [[noreturn]] static void fail() {
        throw WriteFailure(std::string("could not write the output: ") + std::strerror(errno));
    }
    void drain() {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size()) {
            fail();
        }
        buf_.clear();
    }

    std::string buf_;
};

std::string fraction(double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.4f", v);
    return text;
}

// ---------------------------------------------------------------------------------------------
// The simulation.

/// splitmix64 (Steele, Lea and Flood): fixed outputs on every platform, unlike std::
/// distributions.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed = 0) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    /// Uniform in [-j, j], exactly: draws below 2^64 mod (2j + 1) are rejected.
    std::int64_t offset(std::int64_t j) noexcept {
        if (j == 0) {
            return 0;
        }
        const auto n = static_cast<std::uint64_t>(2 * j + 1);
        const std::uint64_t reject_below = (0 - n) % n;
        std::uint64_t r = next();
        while (r < reject_below) {
            r = next();
        }
        return static_cast<std::int64_t>(r % n) - j;
    }

private:
    std::uint64_t state_;
};

/// The simulator's view of one node's process (the machine keeps the membership view).
struct Process {
    SplitMix64 jitter;
    bool running = false;
    // Scheduled heartbeats and stream completions carry the generation they were made in; a
    // crash, pause or restart bumps it, and the stale entries are dropped when they come up.
    std::uint32_t beat_generation = 0;
    std::uint32_t stream_generation = 0;
    bool streaming = false;        // a join_done or leave_done of stream_generation is pending
    std::int64_t phase = 0;        // when the current heartbeat schedule started
    std::uint64_t beat = 0;        // the index of the next heartbeat in it
    std::uint64_t plan_epoch = 0;  // the epoch of the latest join or leave plan for the node
};

struct Beat {
    std::int64_t at;
    std::uint32_t node;
    std::uint32_t generation;
    // A min-heap in (time, id) order.
    bool operator>(const Beat& b) const { return at != b.at ? at > b.at : node > b.node; }
};

struct Done {
    std::int64_t at;
    std::uint32_t node;
    std::uint32_t generation;
    bool join;  // join_done, else leave_done
};

constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

class Simulator {
public:
    Simulator(const Options& o, const Scenario& s, const ringplan::MembershipOptions& m,
              Writer& out)
        : o_(o), s_(s), out_(out), procs_(s.ids.size()) {
        std::vector<std::string> founders;
        for (const std::uint32_t f : s.founders) {
            founders.push_back(s.ids[f]);
        }
        try {
            ringplan::MembershipOptions with_rule = m;
            with_rule.policy = s.rule;
            machine_.emplace(founders, Ms(0), with_rule, s.places);
        } catch (const ringplan::Error& e) {
            throw Failure(
                std::string("the options and the scenario do not make a membership machine: ") +
                e.what());
        }
        const std::uint64_t nodes = s.ids.size();
        // Measured: deciding copies about 1 us of state per node; a partition plan costs
        // about 256 ns per replica of the map, a ring plan far less per vnode.
        change_units_ = 1024 * nodes;
        plan_units_ = o.partitions ? 256 * *o.partitions * std::min<std::uint64_t>(o.rf, nodes)
                                   : 16 * std::uint64_t{o.vnodes.value_or(16)} * nodes;
        for (std::size_t i = 0; i < procs_.size(); ++i) {
            procs_[i].jitter =
                SplitMix64(XXH3_64bits_withSeed(s.ids[i].data(), s.ids[i].size(), o.seed));
        }
        for (const std::uint32_t f : s.founders) {
            start(f, 0, false);
        }
    }

    void run() {
        const auto wall_start = std::chrono::steady_clock::now();
        auto wall_report = wall_start;
        std::size_t next_event = 0;
        for (std::uint64_t slot = 1;; ++slot) {
            std::int64_t observed = never;  // the next observation
            if (next_event < s_.events.size()) {
                observed = s_.events[next_event].at;
            }
            if (!dones_.empty()) {
                observed = std::min(observed, dones_.front().at);
            }
            if (!beats_.empty()) {
                observed = std::min(observed, beats_.top().at);
            }
            const std::int64_t tick = next_tick_time();
            const std::int64_t t = std::min(observed, tick);
            if (t > s_.end) {
                break;
            }
            now_ = t;
            while (next_event < s_.events.size() && s_.events[next_event].at == t) {
                event(s_.events[next_event++]);
            }
            while (!dones_.empty() && dones_.front().at == t) {
                const Done d = dones_.front();
                dones_.pop_front();
                done(d);
            }
            while (!beats_.empty() && beats_.top().at == t) {
                const Beat b = beats_.top();
                beats_.pop();
                beat(b);
            }
            if (tick == t) {
                last_tick_ = t;
                bound_.reset();
                report(machine_->tick(Ms(t)));
            }
            if (decision_work_ > max_decision_work) {
                out_.finish();
                throw Failure("stopped at " + std::to_string(t) +
                              " ms: the decisions so far took more than " +
                              std::to_string(max_decision_work) +
                              " units of work, and the run would take hours (nodes flap on "
                              "nearly every heartbeat: raise --threshold or "
                              "--check-interval-ms)");
            }
            if ((slot & 0xFFFF) == 0) {
                const auto wall = std::chrono::steady_clock::now();
                if (wall - wall_start >= std::chrono::seconds(2) &&
                    wall - wall_report >= std::chrono::seconds(2)) {
                    wall_report = wall;
                    std::fprintf(stderr, "cluster_sim: simulated %lld of %lld ms (%d%%)\n",
                                 static_cast<long long>(t), static_cast<long long>(s_.end),
                                 static_cast<int>(s_.end == 0 ? 100 : t * 100 / s_.end));
                }
            }
        }
        std::string& line = out_.text();
        line += std::to_string(s_.end) + " end epoch=" + std::to_string(machine_->epoch());
        for (const std::string& id : s_.ids) {
            if (machine_->known(id)) {
                line += ' ' + id + '=' + ringplan::to_string(machine_->state(id));
            }
        }
        out_.end_line();
    }

private:
    /// When the simulator ticks next: at the first multiple of --tick-ms (never going back)
    /// at or after the bound below which no tick can decide anything; every multiple with
    /// --every-tick. Skipping the others changes no output.
    std::int64_t next_tick_time() {
        const std::int64_t from = std::max(last_tick_ + 1, now_);
        std::int64_t lo = from;
        if (!o_.every_tick) {
            if (!bound_) {
                const std::optional<Ms> next = machine_->next_tick();
                bound_ = next ? next->count() : never;
            }
            lo = std::max(from, *bound_);
        }
        if (lo > s_.end) {
            return never;
        }
        return (lo + o_.tick_ms - 1) / o_.tick_ms * o_.tick_ms;
    }

    /// A heartbeat of `id` that changed nothing: only its own detector deadlines moved, so the
    /// bound stays valid once lowered to the first time it can be suspected. next_tick() walks
    /// every member; a simulator can not ask it after each heartbeat.
    void heartbeat_changed_nothing(const std::string& id) {
        if (!bound_) {
            return;
        }
        const std::optional<Ms> suspect = machine_->detector().suspected_at(id);
        if (suspect) {
            bound_ = std::min(*bound_, suspect->count());
        }
    }

    std::uint32_t index_of(const std::string& id) const {
        const auto it = std::lower_bound(s_.ids.begin(), s_.ids.end(), id);
        return static_cast<std::uint32_t>(it - s_.ids.begin());
    }

    /// Prints the changes and acts on them as the nodes would: a join or leave plan streams
    /// for --stream-ms; a node that has left stops.
    void report(const std::vector<Change>& changes) {
        for (const Change& c : changes) {
            print(c);
            // What the decision cost: the machine copies its state (a record and a detector
            // history per node) to decide, and a plan walks the ring or the map.
            decision_work_ += change_units_;
            if (c.plan_kind != ringplan::PlanKind::none) {
                decision_work_ += plan_units_;
            }
            const std::uint32_t i = index_of(c.node);
            if (i == s_.ids.size() || s_.ids[i] != c.node) {
                continue;  // not an id of the scenario: nothing to drive
            }
            Process& p = procs_[i];
            switch (c.kind) {
                case ringplan::ChangeKind::join:
                case ringplan::ChangeKind::leaving:
                    p.plan_epoch = c.epoch;
                    stream(i, c.kind == ringplan::ChangeKind::join);
                    break;
                case ringplan::ChangeKind::replan:
                    p.plan_epoch = c.epoch;
                    break;
                case ringplan::ChangeKind::left:
                    p.running = false;
                    ++p.beat_generation;
                    break;
                default:
                    break;
            }
        }
    }

    void print(const Change& c) {
        std::string& line = out_.text();
        line += std::to_string(c.at.count());
        line += ' ';
        line += ringplan::to_string(c.kind);
        line += ' ';
        line += c.node;
        line += " epoch=" + std::to_string(c.epoch);
        if (c.kind == ringplan::ChangeKind::rejoin) {
            line += " away_ms=" + std::to_string(c.away.count());
        }
        if (c.kind == ringplan::ChangeKind::down || c.kind == ringplan::ChangeKind::rejoin ||
            c.kind == ringplan::ChangeKind::removed || c.kind == ringplan::ChangeKind::leaving) {
            line += " owned=" + fraction(c.owned);
        }
        out_.end_line();
        if (c.plan_kind == ringplan::PlanKind::none) {
            return;
        }
        const ringplan::PlanSummary sum = c.summary();
        std::string& plan = out_.text();
        plan += std::to_string(c.at.count()) + " plan " + ringplan::to_string(c.plan_kind) +
                " epoch=" + std::to_string(c.epoch) + " moves=" + std::to_string(sum.moves) +
                " moved=" + fraction(sum.moved) + " lost=" + fraction(sum.lost);
        if (o_.partitions) {
            const auto catch_ups = std::count_if(
                c.partitions.events.begin(), c.partitions.events.end(),
                [](const auto& e) { return e.action == ringplan::PartitionAction::catch_up; });
            plan += " copies=" + std::to_string(c.partitions.copies) +
                    " catch_ups=" + std::to_string(catch_ups);
        }
        if (s_.rule) {
            plan += " under=" + fraction(sum.under_replicated);
        }
        out_.end_line();
    }

    void refused(const char* what, std::uint32_t node, const std::string& message) {
        out_.text() +=
            std::to_string(now_) + " refused " + what + ' ' + s_.ids[node] + ": " + message;
        out_.end_line();
    }

    /// Calls the machine; prints its changes, or its refusal. Says whether it accepted.
    template <class Call>
    bool request(const char* what, std::uint32_t node, Call call) {
        bound_.reset();  // anything may have moved: ask next_tick() again
        std::vector<Change> changes;
        try {
            changes = call();
        } catch (const ringplan::Error& e) {
            refused(what, node, e.what());
            return false;
        }
        report(changes);
        return true;
    }

    /// The process starts (or resumes after a pause) at `t` and heartbeats every
    /// --heartbeat-ms from then: at `t` too unless the machine already took the start for a
    /// heartbeat (founders, an accepted join_request), which would teach the detector an
    /// interval of 0.
    void start(std::uint32_t node, std::int64_t t, bool beat_now) {
        Process& p = procs_[node];
        p.running = true;
        ++p.beat_generation;
        p.phase = t;
        p.beat = 0;
        if (beat_now) {
            beats_.push(Beat{t, node, p.beat_generation});
        } else {
            schedule_next(node);
        }
    }

    /// Schedules the process's next heartbeat of its current schedule, if it falls in the run.
    void schedule_next(std::uint32_t node) {
        Process& p = procs_[node];
        ++p.beat;
        const std::int64_t next = p.phase + static_cast<std::int64_t>(p.beat) * o_.heartbeat_ms +
                                  p.jitter.offset(o_.jitter_ms);
        if (next <= s_.end) {
            beats_.push(Beat{next, node, p.beat_generation});
        }
    }

    /// The node's plan starts streaming: its done comes --stream-ms from now.
    void stream(std::uint32_t node, bool join) {
        Process& p = procs_[node];
        ++p.stream_generation;
        p.streaming = true;
        dones_.push_back(Done{now_ + o_.stream_ms, node, p.stream_generation, join});
    }

    void event(const Event& e) {
        Process& p = procs_[e.node];
        const std::string& id = s_.ids[e.node];
        const Ms t(now_);
        switch (e.verb) {
            case Verb::crash:
                if (!p.running) {
                    refused("crash", e.node, "the process is not running");
                    return;
                }
                p.running = false;
                ++p.beat_generation;
                ++p.stream_generation;
                p.streaming = false;
                return;
            case Verb::pause:
                if (!p.running) {
                    refused("pause", e.node, "the process is not running");
                    return;
                }
                ++p.beat_generation;
                if (now_ + e.ms <= s_.end) {
                    start(e.node, now_ + e.ms, true);
                }
                return;
            case Verb::leave:
                if (!p.running) {
                    refused("leave", e.node, "the process is not running");
                    return;
                }
                request("leave", e.node, [&] { return machine_->leave_request(id, t); });
                return;
            case Verb::join:
                if (request("join", e.node, [&] { return machine_->join_request(id, t); }) &&
                    !p.running) {
                    start(e.node, now_, false);
                }
                return;
            case Verb::restart:
                break;
        }
        if (p.running) {
            refused("restart", e.node, "the process is running (crash it first)");
            return;
        }
        // A restarted process that is no longer a member asks to join, as it would on boot;
        // a member just heartbeats (from a down member, that is a rejoin).
        bool joined = false;
        if (!machine_->known(id) || machine_->state(id) == ringplan::NodeState::left ||
            machine_->state(id) == ringplan::NodeState::removed) {
            joined = request("join", e.node, [&] { return machine_->join_request(id, t); });
        }
        start(e.node, now_, !joined);
        // A join or leave the crash interrupted streams again from the start.
        if (!p.streaming && machine_->known(id)) {
            const ringplan::NodeState state = machine_->state(id);
            if (state == ringplan::NodeState::joining || state == ringplan::NodeState::leaving) {
                stream(e.node, state == ringplan::NodeState::joining);
            }
        }
    }

    void done(const Done& d) {
        Process& p = procs_[d.node];
        if (d.generation != p.stream_generation) {
            return;  // a crash interrupted the stream, or a newer plan replaced it
        }
        p.streaming = false;
        const std::string& id = s_.ids[d.node];
        const Ms t(now_);
        if (d.join) {
            request("join_done", d.node, [&] { return machine_->join_done(id, p.plan_epoch, t); });
        } else {
            request("leave_done", d.node,
                    [&] { return machine_->leave_done(id, p.plan_epoch, t); });
        }
    }

    void beat(const Beat& b) {
        Process& p = procs_[b.node];
        if (b.generation != p.beat_generation) {
            return;
        }
        const std::string& id = s_.ids[b.node];
        std::vector<Change> changes;
        try {
            changes = machine_->heartbeat(id, Ms(now_));
        } catch (const ringplan::Error& e) {
            bound_.reset();
            refused("heartbeat", b.node, e.what());
        }
        if (changes.empty()) {
            heartbeat_changed_nothing(id);
        } else {
            bound_.reset();
            report(changes);
        }
        if (b.generation == p.beat_generation) {  // else its changes stopped the process
            schedule_next(b.node);
        }
    }

    const Options& o_;
    const Scenario& s_;
    Writer& out_;
    std::optional<Machine> machine_;
    std::vector<Process> procs_;
    std::priority_queue<Beat, std::vector<Beat>, std::greater<>> beats_;
    std::deque<Done> dones_;  // in time order: each is now + --stream-ms
    std::int64_t now_ = 0;
    std::int64_t last_tick_ = -1;
    std::uint64_t decision_work_ = 0;
    std::uint64_t change_units_ = 0;  // a decision: the machine's state copied
    std::uint64_t plan_units_ = 0;    // a plan: the ring or the map walked
    // No tick before this time can decide anything: next_tick(), lowered by each heartbeat
    // since; empty when it must be asked again.
    std::optional<std::int64_t> bound_;
};

int run(const Options& o, const char*& doing) {
    const ringplan::MembershipOptions m = membership_options(o);
    doing = "reading the scenario";
    const Scenario s = read_scenario(o.scenario);
    check_size(o, s);
    doing = "simulating";
    Writer out;
    Simulator sim(o, s, m, out);
    sim.run();
    doing = "writing the output";
    out.finish();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    const char* doing = "reading the arguments";
    try {
        const Options o = parse_args(std::vector<std::string>(argv + 1, argv + argc));
        if (o.help) {
            if (std::fputs(usage_text, stdout) < 0 || std::fflush(stdout) != 0 ||
                std::ferror(stdout) != 0) {
                throw WriteFailure(std::string("could not write the output: ") +
                                   std::strerror(errno));
            }
            return 0;
        }
        return run(o, doing);
    } catch (...) {
        return example_util::report_failure("cluster_sim", doing);
    }
}
