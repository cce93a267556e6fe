// ringplan example: fixed partitions (include/ringplan/partitions.hpp) on the command line:
// assign Q partitions to nodes, route keys to partitions, rebalance a map to a new membership.
//
//   partitions assign    [--scheme balanced|clusterkit] --partitions Q --rf R NODES_FILE
//                        [--racks RACKS_FILE]
//   partitions route     [--scheme balanced|clusterkit] --partitions Q [NODES_FILE] < KEYS
//   partitions rebalance [--scheme balanced|clusterkit] --partitions Q --rf R MAP_FILE
//                        NODES_FILE [--failed ID[,ID...]] [--returning ID[,ID...]]
//                        [--racks RACKS_FILE]
//   partitions --help
//
// Protocol (what scripts may rely on):
//
// - Every input line may end in LF or CRLF (the CR is dropped) and holds at most 1 MiB.
// - NODES_FILE: one node id per line; lines whose first non-blank character is '#' and lines of
//   blanks are skipped, blanks around an id are trimmed. A node id is 1 to 1024 bytes with no
//   blank, ',' or control character (the formats below separate ids with blanks and commas),
//   and a file lists each id once.
// - The map (assign's output, rebalance's MAP_FILE, the end of rebalance's output): one line
//   per partition, `partition-<i> <primary> <replica>...`, printed in ascending i with single
//   spaces. Read back, fields are split at spaces and tabs, the lines may come in any order,
//   comments and blank lines are skipped, and each of partition-0 .. partition-<Q-1> appears
//   exactly once (i in decimal without leading zeros).
// - route: `<key>\t<partition>` for every line of KEYS. The key is the line without its LF or
//   CRLF, printed as read: an empty line is the empty key, and since a key may hold tabs the
//   partition is the text after the last tab (a key can not end in CR). balanced hashes the key
//   with XXH3 (ringplan::key_partition<ringplan::Xxh3>), clusterkit with MD5 mod Q as ClusterKit
//   does.
// - rebalance: the events, one per line, in the order to run them (losses, copies and
//   catch-ups, promotions, drops: every drop after every copy):
//       LOST partition-<i> (<reason>)
//       COPY partition-<i> FROM <id>[,<id>...] TO <id> (<reason>)
//       CATCHUP partition-<i> FROM <id>[,<id>...] TO <id> (<reason>)
//       PROMOTE partition-<i> <id> (<reason>)
//       DROP partition-<i> <id> (<reason>)
//   FROM lists every live holder, the planned sender first and then the fallbacks; the reason
//   (join, leave, failure, rejoin or rebalance) is the last field, in parentheses (ids hold no
//   blanks, so the fields split at single spaces). Then `# copies <n> minimum <m> lost <k>`:
//   the COPY events, the fewest copies any balanced map of the new membership needs (the
//   balanced scheme always makes exactly that many; clusterkit may make more, or fewer from a
//   map that was not balanced), and the LOST events. Then the new map. Nodes of the map missing
//   from NODES_FILE leave gracefully (they still send) unless listed in --failed (their data is
//   gone; a failed node that is in NODES_FILE is back empty); --returning names nodes of the
//   map that were down and are back with their data, in NODES_FILE: they keep their
//   partitions and catch up instead of copying.
// - --racks RACKS_FILE (balanced scheme, assign and rebalance): one node per line,
//   `<id> <datacenter> [<rack>]` split at blanks, comments and blank lines as in NODES_FILE;
//   every node of the new membership needs a line, other nodes may have one. The map then
//   puts each partition's replicas on distinct racks whenever the racks allow it
//   (docs/partitions.md, "Racks"); a node without a rack is a rack of its own. assign prints
//   `# rack_shared <n>` (partitions with two replicas in one rack) before the map, and
//   rebalance appends ` rack_shared <n>` to its `# copies` line.
// - Exit status 0 on success. Anything wrong (arguments, input, out of memory):
//   `partitions: <message>` on stderr naming the argument or the file and line, exit status 1,
//   and nothing on stdout. A stdout that can not be written: exit status 2, as every example
//   program, and nothing on stdout but what the failing write let through. route
//   holds its output until KEYS ends: in memory up to 16 MiB, then in a temporary file.
// - Limits: Q up to ringplan::max_partitions (2^24); rf up to 64; Q * min(rf, N) replicas up
//   to 2^26; for clusterkit maps Q * N up to 2^28 (the MD5s it computes). Bigger inputs are
//   refused with a message instead of running for hours or exhausting memory.
// SPDX-License-Identifier: MIT
#include "example_util.hpp"

#include <ringplan/error.hpp>
#include <ringplan/partitions.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
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

constexpr std::size_t max_line_bytes = std::size_t{1} << 20;
constexpr std::size_t max_id_bytes = 1024;
constexpr std::size_t max_rf = 64;
constexpr std::uint64_t max_replicas = std::uint64_t{1} << 26;
constexpr std::uint64_t max_clusterkit_hashes = std::uint64_t{1} << 28;

const char* const usage_text =
    R"(usage: partitions assign    [--scheme balanced|clusterkit] --partitions Q --rf R NODES_FILE
                            [--racks RACKS_FILE]
       partitions route     [--scheme balanced|clusterkit] --partitions Q [NODES_FILE] < KEYS
       partitions rebalance [--scheme balanced|clusterkit] --partitions Q --rf R MAP_FILE
                            NODES_FILE [--failed ID[,ID...]] [--returning ID[,ID...]]
                            [--racks RACKS_FILE]
       partitions --help

Fixed partitions: the key space cut into Q partitions, partition-0 .. partition-<Q-1>, each
held by min(R, N) distinct nodes of the N, the first its primary.

  assign     prints the map of the nodes in NODES_FILE, one line per partition in ascending
             order: "partition-<i> <primary> <replica>...", single spaces.
  route      prints "<key><TAB>partition-<i>" for every line of KEYS; the key is the line
             without its LF or CRLF, so an empty line is the empty key. NODES_FILE, if given,
             is only checked.
  rebalance  reads the current map from MAP_FILE (assign's format, lines in any order) and
             the new membership from NODES_FILE, and prints the events that take a store from
             the old map to the new one, in the order to run them:
               LOST partition-<i> (<reason>)
               COPY partition-<i> FROM <id>[,<id>...] TO <id> (<reason>)
               CATCHUP partition-<i> FROM <id>[,<id>...] TO <id> (<reason>)
               PROMOTE partition-<i> <id> (<reason>)
               DROP partition-<i> <id> (<reason>)
             FROM lists every live holder, the planned sender first; <reason> is join, leave,
             failure, rejoin or rebalance. Then "# copies <n> minimum <m> lost <k>" and the
             new map in assign's format. Nodes of the map missing from NODES_FILE leave
             gracefully unless listed in --failed.

Options:
  --scheme balanced    ringplan's balanced map, keys hashed with XXH3 (the default)
  --scheme clusterkit  ClusterKit's map and key routing (MD5), bit for bit
  --partitions Q       the partition count, 1 to 16777216
  --rf R               the replication factor, 1 to 64
  --failed ID,...      rebalance: nodes of the map whose data is gone (one also in NODES_FILE
                       is back empty); may be repeated
  --returning ID,...   rebalance: nodes of the map, in NODES_FILE, that were down and are back
                       with their data (they catch up instead of copying); may be repeated
  --racks RACKS_FILE   assign, rebalance (balanced): "<id> <datacenter> [<rack>]" per line;
                       each partition's replicas go to distinct racks when the racks allow it,
                       and the output counts the partitions that repeat one (rack_shared)
  --help               this text
A value may also follow '=' (--rf=3); '--' ends the options.

Files: NODES_FILE holds one node id per line. In NODES_FILE and MAP_FILE a line whose first
non-blank character is '#' is a comment and blank lines are skipped. A node id is 1 to 1024
bytes with no blank, ',' or control character. Lines (keys too) end in LF or CRLF and hold at
most 1 MiB.
Limits: Q * min(R, N) at most 67108864 replicas; clusterkit maps Q * N at most 268435456.

Exit status: 0 on success; 1 on any error (bad arguments or input, out of memory, a stdout
that can not be written), with a message on stderr and nothing on stdout. route holds its
output until KEYS ends (beyond 16 MiB in a temporary file).
)";

enum class Command { assign, route, rebalance };
enum class Scheme { balanced, clusterkit };

struct Options {
    Command command = Command::assign;
    Scheme scheme = Scheme::balanced;
    std::size_t q = 0;
    std::size_t rf = 0;
    std::vector<std::string> files;
    std::vector<std::string> failed;
    std::vector<std::string> returning;
    std::string racks;  // RACKS_FILE, or empty
    bool help = false;
};

/// `text` in single quotes for a message: control bytes, quotes and backslashes escaped, cut
/// after 64 bytes, so a message stays one short line whatever the input holds. The library's
/// own quoting, so ids read the same in its errors and in this program's.
std::string in_quotes(std::string_view text) {
    std::string out;
    ringplan::detail::append_quoted(out, text);
    return out;
}

std::string partition_name(std::size_t p) {
    return "partition-" + std::to_string(p);
}

Failure line_failure(const char* file, std::size_t line, const std::string& what) {
    return Failure(std::string(file) + " line " + std::to_string(line) + ": " + what);
}

// ---------------------------------------------------------------------------------------------
// Arguments.

/// A whole number from 1 to `max`, or a UsageFailure naming the option.
std::size_t parse_count(const std::string& option, const std::string& value, std::size_t max,
                        const char* note) {
    const auto bad = [&] {
        return UsageFailure(option + " must be a whole number from 1 to " + std::to_string(max) +
                            note + ", not " + in_quotes(value));
    };
    if (value.empty() || value.size() > 20 ||
        value.find_first_not_of("0123456789") != std::string::npos) {
        throw bad();
    }
    errno = 0;
    const unsigned long long v = std::strtoull(value.c_str(), nullptr, 10);
    if (errno != 0 || v < 1 || v > max) {
        throw bad();
    }
    return static_cast<std::size_t>(v);
}

/// Why `id` can not be a node id, or "" if it can.
std::string id_problem(std::string_view id) {
    if (id.empty()) {
        return "empty node id";
    }
    if (id.size() > max_id_bytes) {
        return "node id " + in_quotes(id) + " is longer than " + std::to_string(max_id_bytes) +
               " bytes";
    }
    if (id[0] == '#') {
        return "node id " + in_quotes(id) +
               " starts with '#' (a comment must be on a line of its own)";
    }
    for (const char ch : id) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == ' ' || c == '\t') {
            return "node id " + in_quotes(id) + " holds a blank";
        }
        if (c == ',') {
            return "node id " + in_quotes(id) +
                   " holds a ',' (events and options separate node ids with ',')";
        }
        if (c < 0x20 || c == 0x7F) {
            return "node id " + in_quotes(id) + " holds a control character";
        }
    }
    return "";
}

/// Splits an --failed or --returning value at ',' and appends the ids to `out`.
void parse_id_list(const std::string& option, const std::string& value,
                   std::vector<std::string>& out) {
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = value.find(',', start);
        const std::string id = value.substr(start, comma - start);
        const std::string problem = id_problem(id);
        if (!problem.empty()) {
            throw UsageFailure(option + " " + in_quotes(value) + ": " + problem);
        }
        out.push_back(id);
        if (comma == std::string::npos) {
            return;
        }
        start = comma + 1;
    }
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
    if (args.empty()) {
        throw UsageFailure("no command: assign, route or rebalance");
    }
    const std::string& command = args[0];
    if (command == "assign") {
        o.command = Command::assign;
    } else if (command == "route") {
        o.command = Command::route;
    } else if (command == "rebalance") {
        o.command = Command::rebalance;
    } else {
        throw UsageFailure("unknown command " + in_quotes(command) +
                           " (the first argument is assign, route or rebalance)");
    }
    bool have_scheme = false;
    bool have_q = false;
    bool have_rf = false;
    bool options_done = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (options_done || a.size() < 2 || a[0] != '-') {
            o.files.push_back(a);
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
        if (name != "--scheme" && name != "--partitions" && name != "--rf" && name != "--failed" &&
            name != "--returning" && name != "--racks") {
            throw UsageFailure("unknown option " + in_quotes(a));
        }
        if ((name == "--rf" || name == "--racks") && o.command == Command::route) {
            throw UsageFailure(name + " is not an option of route");
        }
        if ((name == "--failed" || name == "--returning") && o.command != Command::rebalance) {
            throw UsageFailure(name + " is an option of rebalance only");
        }
        if (!inline_value) {
            if (i + 1 == args.size()) {
                throw UsageFailure(name + " needs a value");
            }
            value = args[++i];
        }
        if (name == "--scheme") {
            if (have_scheme) {
                throw UsageFailure("--scheme given twice");
            }
            have_scheme = true;
            if (value == "balanced") {
                o.scheme = Scheme::balanced;
            } else if (value == "clusterkit") {
                o.scheme = Scheme::clusterkit;
            } else {
                throw UsageFailure("unknown scheme " + in_quotes(value) +
                                   " (--scheme is balanced or clusterkit)");
            }
        } else if (name == "--partitions") {
            if (have_q) {
                throw UsageFailure("--partitions given twice");
            }
            have_q = true;
            o.q = parse_count(name, value, ringplan::max_partitions, " (ringplan::max_partitions)");
        } else if (name == "--racks") {
            if (!o.racks.empty()) {
                throw UsageFailure("--racks given twice");
            }
            if (value.empty()) {
                throw UsageFailure("--racks needs a file");
            }
            o.racks = value;
        } else if (name == "--rf") {
            if (have_rf) {
                throw UsageFailure("--rf given twice");
            }
            have_rf = true;
            o.rf = parse_count(name, value, max_rf, "");
        } else {
            parse_id_list(name, value, name == "--failed" ? o.failed : o.returning);
        }
    }
    if (!have_q) {
        throw UsageFailure("--partitions Q is required");
    }
    if (!have_rf && o.command != Command::route) {
        throw UsageFailure("--rf R is required");
    }
    if (!o.racks.empty() && o.scheme == Scheme::clusterkit) {
        throw UsageFailure("--racks needs --scheme balanced (ClusterKit's map has no racks)");
    }
    const std::size_t want = o.command == Command::rebalance ? 2 : 1;
    if (o.files.size() > want) {
        throw UsageFailure("unexpected argument " + in_quotes(o.files[want]));
    }
    if (o.files.size() < want && o.command != Command::route) {
        throw UsageFailure(o.command == Command::assign ? "NODES_FILE is required"
                           : o.files.empty()            ? "MAP_FILE and NODES_FILE are required"
                                                        : "NODES_FILE is required");
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// Input files.

std::ifstream open_file(const char* role, const std::string& path) {
    // An ifstream opens a directory and then reads nothing: say what it is instead.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw Failure(std::string(role) + " " + path + " is a directory, not a file");
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Failure(std::string("can not open ") + role + " " + path + ": " +
                      (errno != 0 ? std::strerror(errno) : "unknown error"));
    }
    return in;
}

/// Calls `each(line_number, line)` for every line of `in` that is not blank or a comment, the
/// CR of a CRLF dropped; a line longer than max_line_bytes is an error naming it.
template <class Each>
void for_each_line(std::istream& in, const char* role, Each each) {
    std::string line;
    for (std::size_t n = 1;; ++n) {
        const example_util::LineStatus status = example_util::read_line(in, line, max_line_bytes);
        if (status == example_util::LineStatus::end) {
            return;
        }
        if (status == example_util::LineStatus::too_long) {
            throw line_failure(role, n,
                               "line longer than " + std::to_string(max_line_bytes) +
                                   " bytes (the limit is 1 MiB)");
        }
        if (!example_util::is_blank_or_comment(line)) {
            each(n, std::string_view(line));
        }
    }
}

std::string_view trim(std::string_view s) {
    const std::size_t first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

/// The node ids of a NODES_FILE in file order, checked: each a valid id, listed once, at least
/// one.
std::vector<std::string> read_nodes(const std::string& path) {
    std::ifstream in = open_file("NODES_FILE", path);
    std::vector<std::string> ids;
    std::vector<std::size_t> lines;
    for_each_line(in, "NODES_FILE", [&](std::size_t n, std::string_view line) {
        const std::string_view id = trim(line);
        std::string problem = id_problem(id);
        if (!problem.empty()) {
            if (id.find_first_of(" \t") != std::string_view::npos) {
                problem += ": one node id per line";
            }
            throw line_failure("NODES_FILE", n, problem);
        }
        ids.emplace_back(id);
        lines.push_back(n);
    });
    if (ids.empty()) {
        throw Failure("NODES_FILE " + path + " has no nodes");
    }
    // A repeat: sort (id, line) and report the one that comes first in the file. Sorting keeps
    // this O(n log n) for any input.
    std::vector<std::size_t> order(ids.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return ids[a] != ids[b] ? ids[a] < ids[b] : a < b;
    });
    std::size_t worst = order.size();
    for (std::size_t i = 1; i < order.size(); ++i) {
        if (ids[order[i]] == ids[order[i - 1]] &&
            (worst == order.size() || order[i] < order[worst])) {
            worst = i;
        }
    }
    if (worst != order.size()) {
        throw line_failure("NODES_FILE", lines[order[worst]],
                           "node " + in_quotes(ids[order[worst]]) + " already listed on line " +
                               std::to_string(lines[order[worst - 1]]));
    }
    return ids;
}

/// The locations of a RACKS_FILE: `<id> <datacenter> [<rack>]` per line, each id once.
ringplan::Topology<std::string> read_racks(const std::string& path) {
    std::ifstream in = open_file("RACKS_FILE", path);
    ringplan::Topology<std::string> topology;
    for_each_line(in, "RACKS_FILE", [&](std::size_t n, std::string_view line) {
        std::vector<std::string> fields;
        for (std::size_t at = 0;;) {
            at = line.find_first_not_of(" \t", at);
            if (at == std::string_view::npos) {
                break;
            }
            const std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
            fields.emplace_back(line.substr(at, end - at));
            at = end;
        }
        if (fields.size() < 2 || fields.size() > 3) {
            throw line_failure("RACKS_FILE", n,
                               "want '<id> <datacenter> [<rack>]', got " +
                                   std::to_string(fields.size()) + " fields");
        }
        const std::string problem = id_problem(fields[0]);
        if (!problem.empty()) {
            throw line_failure("RACKS_FILE", n, problem);
        }
        if (topology.find(fields[0]) != nullptr) {
            throw line_failure("RACKS_FILE", n,
                               "node " + in_quotes(fields[0]) + " is listed twice");
        }
        topology.set(fields[0], fields[1], fields.size() == 3 ? fields[2] : std::string());
    });
    return topology;
}

/// The fields of a map line, split at spaces and tabs.
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    for (;;) {
        i = line.find_first_not_of(" \t", i);
        if (i == std::string_view::npos) {
            return out;
        }
        const std::size_t end = std::min(line.find_first_of(" \t", i), line.size());
        out.push_back(line.substr(i, end - i));
        i = end;
    }
}

/// The partition a map line names: `partition-<i>`, i in decimal without leading zeros and
/// below q.
std::size_t parse_partition(std::string_view field, std::size_t q, std::size_t line) {
    constexpr std::string_view prefix = "partition-";
    const std::string_view digits =
        field.substr(0, prefix.size()) == prefix ? field.substr(prefix.size()) : std::string_view();
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos ||
        (digits.size() > 1 && digits[0] == '0')) {
        throw line_failure("MAP_FILE", line,
                           "expected 'partition-<i> <node>...', not " + in_quotes(field));
    }
    std::size_t p = 0;
    for (const char c : digits) {
        p = p * 10 + static_cast<std::size_t>(c - '0');
        if (p >= q) {
            throw line_failure(
                "MAP_FILE", line,
                in_quotes(field) + " is not below --partitions " + std::to_string(q));
        }
    }
    return p;
}

/// The map in MAP_FILE, for Q partitions and replication factor rf.
ringplan::PartitionMap<std::string> read_map(const std::string& path, std::size_t q,
                                             std::size_t rf) {
    std::ifstream in = open_file("MAP_FILE", path);
    std::vector<std::vector<std::string>> lists(q);
    std::vector<std::size_t> line_of(q, 0);  // 0: not seen yet
    std::uint64_t replicas = 0;
    std::size_t seen = 0;
    for_each_line(in, "MAP_FILE", [&](std::size_t n, std::string_view line) {
        const std::vector<std::string_view> fields = fields_of(line);
        const std::size_t p = parse_partition(fields[0], q, n);
        if (line_of[p] != 0) {
            throw line_failure("MAP_FILE", n,
                               partition_name(p) + " listed twice (first on line " +
                                   std::to_string(line_of[p]) + ")");
        }
        const std::size_t count = fields.size() - 1;
        if (count == 0) {
            throw line_failure("MAP_FILE", n, partition_name(p) + " lists no nodes");
        }
        for (std::size_t k = 1; k < fields.size(); ++k) {
            const std::string problem = id_problem(fields[k]);
            if (!problem.empty()) {
                throw line_failure("MAP_FILE", n, problem);
            }
        }
        // A list longer than rf never fits (from_lists would say so, in time quadratic in it).
        if (count > rf) {
            throw line_failure("MAP_FILE", n,
                               partition_name(p) + " lists " + std::to_string(count) +
                                   " nodes, more than --rf " + std::to_string(rf));
        }
        replicas += count;
        if (replicas > max_replicas) {
            throw line_failure("MAP_FILE", n,
                               "more than " + std::to_string(max_replicas) +
                                   " replicas in all (the most this program handles)");
        }
        lists[p].assign(fields.begin() + 1, fields.end());
        line_of[p] = n;
        ++seen;
    });
    if (seen == 0) {
        throw Failure("MAP_FILE " + path + " has no partitions");
    }
    if (seen < q) {
        const auto missing = static_cast<std::size_t>(
            std::find(line_of.begin(), line_of.end(), std::size_t{0}) - line_of.begin());
        throw Failure("MAP_FILE " + path + ": " + partition_name(missing) + " is missing (" +
                      std::to_string(q - seen) + " of " + std::to_string(q) +
                      " partitions missing)");
    }
    try {
        return ringplan::PartitionMap<std::string>::from_lists(std::move(lists), ringplan::Rf{rf});
    } catch (const ringplan::Error& e) {
        throw Failure("MAP_FILE " + path + ": " + e.what());
    }
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Collects output lines and writes them in chunks; a failed write is a Failure.
class Writer {
public:
    explicit Writer(std::ostream& out) : out_(out) { buf_.reserve(chunk + 4096); }

    std::string& text() { return buf_; }
    void end_line() {
        buf_ += '\n';
        if (buf_.size() >= chunk) {
            drain();
        }
    }
    void finish() {
        drain();
        if (!example_util::flush_ok(out_)) {
            throw WriteFailure("could not write the output");
        }
    }

private:
    static constexpr std::size_t chunk = std::size_t{1} << 16;

    void drain() {
        if (!buf_.empty() && !out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()))) {
            throw WriteFailure("could not write the output");
        }
        buf_.clear();
    }

    std::ostream& out_;
    std::string buf_;
};

void write_map(Writer& w, const ringplan::PartitionMap<std::string>& map) {
    const std::size_t r = map.replica_count();
    for (std::size_t p = 0; p < map.partition_count(); ++p) {
        std::string& s = w.text();
        s += "partition-";
        s += std::to_string(p);
        const std::uint32_t* replicas =
            map.replica_indices_at(static_cast<ringplan::PartitionId>(p));
        for (std::size_t k = 0; k < r; ++k) {
            s += ' ';
            s += map.node_at(replicas[k]);
        }
        w.end_line();
    }
}

void write_event(Writer& w, const ringplan::PartitionEvent<std::string>& e) {
    using ringplan::PartitionAction;
    std::string& s = w.text();
    const auto from_to = [&] {
        s += " FROM ";
        for (std::size_t i = 0; i < e.sources.size(); ++i) {
            if (i > 0) {
                s += ',';
            }
            s += e.sources[i];
        }
        s += " TO ";
        s += e.node;
    };
    switch (e.action) {
        case PartitionAction::lost:
            s += "LOST " + partition_name(e.partition);
            break;
        case PartitionAction::copy:
            s += "COPY " + partition_name(e.partition);
            from_to();
            break;
        case PartitionAction::catch_up:
            s += "CATCHUP " + partition_name(e.partition);
            from_to();
            break;
        case PartitionAction::promote:
            s += "PROMOTE " + partition_name(e.partition) + " " + e.node;
            break;
        case PartitionAction::drop:
            s += "DROP " + partition_name(e.partition) + " " + e.node;
            break;
    }
    s += " (";
    s += ringplan::to_string(e.reason);
    s += ')';
    w.end_line();
}

// ---------------------------------------------------------------------------------------------
// Commands. `doing` says what is under way, for an out-of-memory message.

/// Refuses maps this program will not build: more than max_replicas replicas, or a ClusterKit
/// map that needs more than max_clusterkit_hashes MD5s.
void check_size(const Options& o, std::size_t nodes) {
    const std::uint64_t replicas = std::uint64_t{o.q} * std::min(o.rf, nodes);
    if (replicas > max_replicas) {
        throw Failure("--partitions " + std::to_string(o.q) + " with --rf " + std::to_string(o.rf) +
                      " and " + std::to_string(nodes) + " nodes makes " + std::to_string(replicas) +
                      " replicas; this program handles at most " + std::to_string(max_replicas));
    }
    const std::uint64_t hashes = std::uint64_t{o.q} * nodes;
    if (o.scheme == Scheme::clusterkit && hashes > max_clusterkit_hashes) {
        throw Failure("--scheme clusterkit with --partitions " + std::to_string(o.q) + " and " +
                      std::to_string(nodes) + " nodes hashes " + std::to_string(hashes) +
                      " names; this program does at most " + std::to_string(max_clusterkit_hashes));
    }
}

int assign(const Options& o, std::ostream& out, const char*& doing) {
    doing = "reading NODES_FILE";
    const std::vector<std::string> nodes = read_nodes(o.files[0]);
    check_size(o, nodes.size());
    doing = "reading RACKS_FILE";
    const ringplan::Topology<std::string> topology =
        o.racks.empty() ? ringplan::Topology<std::string>() : read_racks(o.racks);
    doing = "computing the map";
    const ringplan::PartitionMap<std::string> map =
        o.scheme == Scheme::clusterkit
            ? ringplan::clusterkit::assign_partitions(nodes, o.q, ringplan::Rf{o.rf})
        : o.racks.empty() ? ringplan::assign_partitions(nodes, o.q, ringplan::Rf{o.rf})
                          : ringplan::assign_partitions(nodes, o.q, ringplan::Rf{o.rf}, topology);
    doing = "writing the output";
    Writer w(out);
    if (!o.racks.empty()) {
        w.text() +=
            "# rack_shared " + std::to_string(ringplan::rack_shared_partitions(map, topology));
        w.end_line();
    }
    write_map(w, map);
    w.finish();
    return 0;
}

/// Output held back until a command has succeeded: in memory up to `memory_bytes`, beyond
/// that in an anonymous temporary file, so a long run of keys costs disk, not memory.
class HeldOutput {
public:
    static constexpr std::size_t memory_bytes = std::size_t{16} << 20;

    // One reservation: a line (a key of at most max_line_bytes and its partition) never makes
    // the buffer grow past memory_bytes by doubling.
    HeldOutput() { buf_.reserve(memory_bytes + max_line_bytes + 64); }
    HeldOutput(const HeldOutput&) = delete;
    HeldOutput& operator=(const HeldOutput&) = delete;
    ~HeldOutput() {
        if (spill_ != nullptr) {
            std::fclose(spill_);
        }
    }

    std::string& text() { return buf_; }
    /// Moves the text to the temporary file once it holds memory_bytes.
    void end_line() {
        if (buf_.size() < memory_bytes) {
            return;
        }
        if (spill_ == nullptr) {
            errno = 0;
            spill_ = std::tmpfile();
            if (spill_ == nullptr) {
                throw Failure(std::string("can not create a temporary file for the output: ") +
                              std::strerror(errno));
            }
        }
        if (std::fwrite(buf_.data(), 1, buf_.size(), spill_) != buf_.size()) {
            throw Failure(std::string("can not write the output to a temporary file: ") +
                          std::strerror(errno));
        }
        buf_.clear();
    }
    /// Writes everything to `out`.
    void release(std::ostream& out) {
        if (spill_ != nullptr) {
            if (std::fflush(spill_) != 0 || std::fseek(spill_, 0, SEEK_SET) != 0) {
                throw Failure(std::string("can not read the output back from a temporary "
                                          "file: ") +
                              std::strerror(errno));
            }
            std::vector<char> chunk(std::size_t{1} << 16);
            for (;;) {
                const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), spill_);
                if (n == 0) {
                    break;
                }
                if (!out.write(chunk.data(), static_cast<std::streamsize>(n))) {
                    throw WriteFailure("could not write the output");
                }
            }
            if (std::ferror(spill_) != 0) {
                throw Failure("can not read the output back from a temporary file");
            }
        }
        if (!out.write(buf_.data(), static_cast<std::streamsize>(buf_.size())) ||
            !example_util::flush_ok(out)) {
            throw WriteFailure("could not write the output");
        }
    }

private:
    std::string buf_;
    std::FILE* spill_ = nullptr;
};

int route(const Options& o, std::istream& keys, std::ostream& out, const char*& doing) {
    if (!o.files.empty()) {
        doing = "reading NODES_FILE";
        (void)read_nodes(o.files[0]);
    }
    doing = "routing the keys";
    HeldOutput held;
    std::string key;
    for (std::size_t n = 1;; ++n) {
        const example_util::LineStatus status = example_util::read_line(keys, key, max_line_bytes);
        if (status == example_util::LineStatus::end) {
            break;
        }
        if (status == example_util::LineStatus::too_long) {
            throw Failure("key line " + std::to_string(n) + ": longer than " +
                          std::to_string(max_line_bytes) + " bytes (the limit is 1 MiB)");
        }
        const ringplan::PartitionId p = o.scheme == Scheme::balanced
                                            ? ringplan::key_partition<ringplan::Xxh3>(key, o.q)
                                            : ringplan::clusterkit::key_partition(key, o.q);
        std::string& text = held.text();
        text += key;
        text += "\tpartition-";
        text += std::to_string(p);
        text += '\n';
        held.end_line();
    }
    doing = "writing the output";
    held.release(out);
    return 0;
}

bool contains(const std::vector<std::string>& sorted, const std::string& id) {
    return std::binary_search(sorted.begin(), sorted.end(), id);
}

int rebalance(const Options& o, std::ostream& out, const char*& doing) {
    doing = "reading MAP_FILE";
    const ringplan::PartitionMap<std::string> map = read_map(o.files[0], o.q, o.rf);
    doing = "reading NODES_FILE";
    const std::vector<std::string> nodes = read_nodes(o.files[1]);
    std::vector<std::string> sorted = nodes;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> failed = o.failed;
    std::sort(failed.begin(), failed.end());
    failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
    for (const std::string& id : failed) {
        if (!map.contains(id)) {
            throw Failure("--failed: node " + in_quotes(id) + " is not in MAP_FILE " + o.files[0]);
        }
    }
    std::vector<std::string> returning = o.returning;
    std::sort(returning.begin(), returning.end());
    returning.erase(std::unique(returning.begin(), returning.end()), returning.end());
    for (const std::string& id : returning) {
        if (!map.contains(id)) {
            throw Failure("--returning: node " + in_quotes(id) + " is not in MAP_FILE " +
                          o.files[0]);
        }
        if (!contains(sorted, id)) {
            throw Failure("--returning: node " + in_quotes(id) + " is not in NODES_FILE " +
                          o.files[1]);
        }
        if (contains(failed, id)) {
            throw Failure("node " + in_quotes(id) + " is both --failed and --returning");
        }
    }
    check_size(o, nodes.size());
    doing = "computing the rebalance";
    ringplan::RebalanceOptions<std::string> options{std::move(failed), std::move(returning)};
    if (!o.racks.empty()) {
        doing = "reading RACKS_FILE";
        options.topology = read_racks(o.racks);
        doing = "computing the rebalance";
    }
    const ringplan::PartitionChange<std::string> change =
        o.scheme == Scheme::balanced
            ? ringplan::rebalance_partitions(map, nodes, options)
            : ringplan::clusterkit::rebalance_partitions(map, nodes, options);
    doing = "writing the output";
    Writer w(out);
    for (const auto& e : change.events) {
        write_event(w, e);
    }
    w.text() += "# copies " + std::to_string(change.copies) + " minimum " +
                std::to_string(change.minimum_copies) + " lost " + std::to_string(change.lost);
    if (!o.racks.empty()) {
        w.text() += " rack_shared " + std::to_string(change.rack_shared);
    }
    w.end_line();
    write_map(w, change.map);
    w.finish();
    return 0;
}

int run(const Options& o, std::istream& in, std::ostream& out, const char*& doing) {
    switch (o.command) {
        case Command::assign:
            return assign(o, out, doing);
        case Command::route:
            return route(o, in, out, doing);
        case Command::rebalance:
            break;
    }
    return rebalance(o, out, doing);
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    const char* doing = "reading the arguments";
    try {
        const Options o = parse_args(std::vector<std::string>(argv + 1, argv + argc));
        if (o.help) {
            std::cout << usage_text;
            if (!example_util::flush_ok(std::cout)) {
                throw WriteFailure("could not write the output");
            }
            return 0;
        }
        return run(o, std::cin, std::cout, doing);
    } catch (...) {
        return example_util::report_failure("partitions", doing);
    }
}
