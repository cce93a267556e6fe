// ringplan example: vnode tokens from the allocator (include/ringplan/allocate.hpp) or derived
// (random), and the balance of replicated ownership they give (docs/balance.md).
//
//   tokens allocate --nodes N --tokens T --rf R[,R...] [--weights FILE] [--seed-nodes K]
//   tokens random   --nodes N --tokens T
//   tokens stats    --rf R [--weights FILE] FILE
//   tokens --help
//
// Protocol (what scripts may rely on):
//
// - allocate grows a ring of nodes n0 .. n<N-1>, one at a time: the first K (default 1) get
//   evenly spaced tokens (ringplan::evenly_spaced_tokens(T, i, K), whatever their weights),
//   each later one
//   ringplan::allocate_tokens balanced for every R listed, with the weights of WEIGHTS. random
//   gives each node the ring's derived tokens (Ring<>::derived_tokens). Both print one line per
//   node in the order n0 .. n<N-1>: `<id> <token>,<token>,...`, unsigned 64-bit decimal tokens
//   in ascending order, single space.
// - stats reads that format (blank lines and lines whose first non-blank character is '#' are
//   skipped; fields split at spaces and tabs; LF or CRLF) and prints, per node in file order,
//   `<id> <replicated share>` (the share of the ring it holds one of R replicas of, divided by
//   its weight when WEIGHTS gives one; 6 decimals), then `max/mean <x>`, `min/mean <x>` and
//   `stddev/mean <x>` of those values.
// - WEIGHTS: `<id> <weight>` lines, weight 1 to 1000000; the same comments and blank lines. For
//   allocate the ids are among n0 .. n<N-1>; for stats among the file's nodes. A node not listed
//   has weight 1.
// - Limits: N up to 10000, T up to 4096, N * T up to 1048576 vnodes, R from 1 to 16 (at most 4
//   of them), lines up to 1 MiB. Bigger inputs are refused with a message instead of running
//   for hours. allocate reports its progress on stderr when it runs longer than 2 seconds.
// - Exit status 0 on success. Anything wrong (arguments, input, out of memory): `tokens:
//   <message>` on stderr naming the argument or the file and line, exit status 1. A stdout that
//   can not be written: exit status 2, as every example program.
// SPDX-License-Identifier: MIT
#include "example_util.hpp"

#include <ringplan/allocate.hpp>
#include <ringplan/error.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/xxh3.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <new>
#include <sstream>
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
using Ring = ringplan::Ring<>;

constexpr std::size_t max_nodes = 10000;
constexpr std::size_t max_tokens = 4096;
constexpr std::size_t max_vnodes = std::size_t{1} << 20;
constexpr std::size_t max_rf = 16;
constexpr std::size_t max_rfs = 4;
constexpr std::uint64_t max_weight = 1000000;
constexpr std::size_t max_line_bytes = std::size_t{1} << 20;

const char* const usage_text =
    R"(usage: tokens allocate --nodes N --tokens T --rf R[,R...] [--weights FILE] [--seed-nodes K]
       tokens random   --nodes N --tokens T
       tokens stats    --rf R [--weights FILE] FILE
       tokens --help

  allocate  grows a ring of nodes n0 .. n<N-1> one at a time: the first K get evenly spaced
            tokens, each later one tokens from ringplan::allocate_tokens, balancing replicated
            ownership for every R listed. Prints "<id> <token>,<token>,..." per node, tokens
            ascending, unsigned 64-bit decimal.
  random    prints the same for the ring's derived (pseudo-random) tokens.
  stats     reads that format from FILE and prints "<id> <share>" per node, its replicated
            share at rf R (divided by its weight), then "max/mean", "min/mean" and
            "stddev/mean" lines.

Options:
  --nodes N        the node count, 1 to 10000
  --tokens T       vnodes per node, 1 to 4096 (N * T at most 1048576)
  --rf R[,R...]    replication factors, 1 to 16 (allocate: up to 4, balanced together)
  --weights FILE   "<id> <weight>" lines, weight 1 to 1000000; unlisted nodes weigh 1
  --seed-nodes K   allocate: how many first nodes get evenly spaced tokens, 1 to N (default 1;
                   their weights are not used)
  --help           this text
A value may also follow '=' (--rf=3).

Files: lines end in LF or CRLF and hold at most 1 MiB; blank lines and lines whose first
non-blank character is '#' are skipped.
Exit status: 0 on success; 1 on any error, with a message on stderr; 2 when stdout can not be
written. allocate reports progress on stderr when it runs longer than 2 seconds.
)";

enum class Command { allocate, random, stats };

struct Options {
    Command command = Command::allocate;
    std::size_t nodes = 0;
    std::size_t tokens = 0;
    std::size_t seed_nodes = 1;
    std::vector<std::size_t> rfs;
    std::string weights_file;
    std::string file;
    bool help = false;
};

std::string in_quotes(std::string_view text) {
    std::string out;
    ringplan::detail::append_quoted(out, text);
    return out;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    errno = 0;
    const std::string text(s);
    const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
    if (errno != 0) {
        return false;
    }
    out = v;
    return true;
}

std::size_t parse_count(const std::string& option, const std::string& value, std::size_t max) {
    std::uint64_t v = 0;
    if (!parse_u64(value, v) || v < 1 || v > max) {
        throw UsageFailure(option + " must be a whole number from 1 to " + std::to_string(max) +
                           ", not " + in_quotes(value));
    }
    return static_cast<std::size_t>(v);
}

Options parse_args(const std::vector<std::string>& args) {
    Options o;
    for (const std::string& a : args) {
        if (a == "--help" || a == "-h") {
            o.help = true;
            return o;
        }
    }
    if (args.empty()) {
        throw UsageFailure("no command: allocate, random or stats");
    }
    if (args[0] == "allocate") {
        o.command = Command::allocate;
    } else if (args[0] == "random") {
        o.command = Command::random;
    } else if (args[0] == "stats") {
        o.command = Command::stats;
    } else {
        throw UsageFailure("unknown command " + in_quotes(args[0]) +
                           " (the first argument is allocate, random or stats)");
    }
    std::map<std::string, bool> seen;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.size() < 2 || a[0] != '-') {
            if (o.command != Command::stats) {
                throw UsageFailure("unexpected argument " + in_quotes(a));
            }
            if (!o.file.empty()) {
                throw UsageFailure("more than one FILE");
            }
            o.file = a;
            continue;
        }
        std::string name = a;
        std::string value;
        const std::size_t eq = a.find('=');
        const bool inline_value = eq != std::string::npos;
        if (inline_value) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        }
        const bool known = name == "--nodes" || name == "--tokens" || name == "--rf" ||
                           name == "--weights" || name == "--seed-nodes";
        if (!known) {
            throw UsageFailure("unknown option " + in_quotes(a));
        }
        const bool allowed =
            (o.command == Command::allocate) ||
            (o.command == Command::random && (name == "--nodes" || name == "--tokens")) ||
            (o.command == Command::stats && (name == "--rf" || name == "--weights"));
        if (!allowed) {
            throw UsageFailure(name + " is not an option of " + args[0]);
        }
        if (seen[name]) {
            throw UsageFailure(name + " given twice");
        }
        seen[name] = true;
        if (!inline_value) {
            if (i + 1 == args.size()) {
                throw UsageFailure(name + " needs a value");
            }
            value = args[++i];
        }
        if (name == "--nodes") {
            o.nodes = parse_count(name, value, max_nodes);
        } else if (name == "--tokens") {
            o.tokens = parse_count(name, value, max_tokens);
        } else if (name == "--seed-nodes") {
            o.seed_nodes = parse_count(name, value, max_nodes);
        } else if (name == "--weights") {
            if (value.empty()) {
                throw UsageFailure("--weights needs a file name");
            }
            o.weights_file = value;
        } else {
            std::size_t start = 0;
            for (;;) {
                const std::size_t comma = value.find(',', start);
                const std::string one = value.substr(start, comma - start);
                std::uint64_t rf = 0;
                if (!parse_u64(one, rf) || rf < 1 || rf > max_rf) {
                    throw UsageFailure("--rf takes whole numbers from 1 to " +
                                       std::to_string(max_rf) + " separated by ',', not " +
                                       in_quotes(value));
                }
                o.rfs.push_back(static_cast<std::size_t>(rf));
                if (comma == std::string::npos) {
                    break;
                }
                start = comma + 1;
            }
            const std::size_t most = o.command == Command::stats ? 1 : max_rfs;
            if (o.rfs.size() > most) {
                throw UsageFailure("--rf lists " + std::to_string(o.rfs.size()) +
                                   " replication factors; " + args[0] + " takes at most " +
                                   std::to_string(most));
            }
        }
    }
    const auto require = [&](const char* name) {
        if (!seen[name]) {
            throw UsageFailure(std::string(name) + " is required");
        }
    };
    if (o.command == Command::stats) {
        require("--rf");
        if (o.file.empty()) {
            throw UsageFailure("FILE is required");
        }
        return o;
    }
    require("--nodes");
    require("--tokens");
    if (o.command == Command::allocate) {
        require("--rf");
    }
    if (o.nodes * o.tokens > max_vnodes) {
        throw UsageFailure("--nodes " + std::to_string(o.nodes) + " times --tokens " +
                           std::to_string(o.tokens) + " is more than " +
                           std::to_string(max_vnodes) + " vnodes");
    }
    if (o.seed_nodes > o.nodes) {
        throw UsageFailure("--seed-nodes " + std::to_string(o.seed_nodes) +
                           " is more than --nodes " + std::to_string(o.nodes));
    }
    return o;
}

std::ifstream open_file(const std::string& what, const std::string& path) {
    // An ifstream opens a directory and then reads nothing: say what it is instead.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw Failure(what + " " + path + " is a directory, not a file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Failure("can not open " + what + " " + path + ": " + std::strerror(errno));
    }
    return in;
}

/// Calls `each(line_number, fields)` for every line of `path` that is not blank or a comment.
template <class Each>
void for_each_line(const std::string& path, Each each) {
    std::ifstream in = open_file("file", path);
    std::string line;
    for (std::size_t n = 1;; ++n) {
        const auto status = example_util::read_line(in, line, max_line_bytes);
        if (status == example_util::LineStatus::end) {
            break;
        }
        if (status == example_util::LineStatus::too_long) {
            throw Failure(path + " line " + std::to_string(n) + ": longer than 1 MiB");
        }
        if (example_util::is_blank_or_comment(line)) {
            continue;
        }
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string word; fields >> word;) {
            f.push_back(word);
        }
        each(n, f);
    }
    if (in.bad()) {
        throw Failure("error reading " + path);
    }
}

Failure line_failure(const std::string& path, std::size_t line, const std::string& what) {
    return Failure(path + " line " + std::to_string(line) + ": " + what);
}

/// The weights file: id -> weight. `known(id)` says whether the id may be named.
template <class Known>
std::map<std::string, std::uint32_t> read_weights(const std::string& path, Known known,
                                                  const std::string& which) {
    std::map<std::string, std::uint32_t> out;
    std::map<std::string, std::size_t> line_of;
    for_each_line(path, [&](std::size_t n, const std::vector<std::string>& f) {
        if (f.size() != 2) {
            throw line_failure(
                path, n, "expected \"<id> <weight>\", got " + std::to_string(f.size()) + " fields");
        }
        std::uint64_t w = 0;
        if (!parse_u64(f[1], w) || w < 1 || w > max_weight) {
            throw line_failure(path, n,
                               "weight " + in_quotes(f[1]) + " is not a whole number from 1 to " +
                                   std::to_string(max_weight));
        }
        if (!known(f[0])) {
            throw line_failure(path, n, "unknown node " + in_quotes(f[0]) + " (" + which + ")");
        }
        const auto it = line_of.find(f[0]);
        if (it != line_of.end()) {
            throw line_failure(path, n,
                               "node " + in_quotes(f[0]) + " is already weighed on line " +
                                   std::to_string(it->second));
        }
        line_of[f[0]] = n;
        out[f[0]] = static_cast<std::uint32_t>(w);
    });
    return out;
}

void print_node(std::ostream& out, const std::string& id, const std::vector<ringplan::Token>& t) {
    out << id << ' ';
    for (std::size_t i = 0; i < t.size(); ++i) {
        out << (i == 0 ? "" : ",") << t[i];
    }
    out << '\n';
}

std::string node_name(std::size_t i) {
    return "n" + std::to_string(i);
}

int run_allocate(const Options& o, std::ostream& out) {
    std::map<std::string, std::uint32_t> weights;
    if (!o.weights_file.empty()) {
        weights = read_weights(
            o.weights_file,
            [&](const std::string& id) {
                std::uint64_t i = 0;
                return id.size() > 1 && id[0] == 'n' && (id == "n0" || id[1] != '0') &&
                       parse_u64(std::string_view(id).substr(1), i) && i < o.nodes;
            },
            "nodes are n0 .. n" + std::to_string(o.nodes - 1));
    }
    ringplan::AllocateOptions<std::string> options;
    options.rfs.clear();
    for (std::size_t rf : o.rfs) {
        options.rfs.push_back(ringplan::Rf{rf});
    }
    options.weights.assign(weights.begin(), weights.end());
    const auto tokens = static_cast<std::uint32_t>(o.tokens);
    Ring ring;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    for (std::size_t i = 0; i < o.nodes; ++i) {
        const std::string id = node_name(i);
        std::vector<ringplan::Token> mine;
        if (i < o.seed_nodes) {
            mine = ringplan::evenly_spaced_tokens(tokens, static_cast<std::uint32_t>(i),
                                                  static_cast<std::uint32_t>(o.seed_nodes));
        } else {
            const auto w = weights.find(id);
            options.weight = w == weights.end() ? 1 : w->second;
            mine = ringplan::allocate_tokens(ring, id, tokens, options);
        }
        ring.add_node_with_tokens(id, mine);
        print_node(out, id, mine);
        const auto now = std::chrono::steady_clock::now();
        if (now - last > std::chrono::seconds(2)) {
            last = now;
            std::cerr << "tokens: allocated " << i + 1 << " of " << o.nodes << " nodes\n";
        }
    }
    return 0;
}

int run_random(const Options& o, std::ostream& out) {
    for (std::size_t i = 0; i < o.nodes; ++i) {
        const std::string id = node_name(i);
        print_node(out, id, Ring::derived_tokens(id, static_cast<std::uint32_t>(o.tokens)));
    }
    return 0;
}

int run_stats(const Options& o, std::ostream& out) {
    // The nodes in file order; every token with its line, to name both lines of a collision.
    std::vector<std::pair<std::string, std::vector<ringplan::Token>>> nodes;
    std::map<std::string, std::size_t> line_of;
    std::vector<std::pair<ringplan::Token, std::size_t>> all;
    std::size_t vnodes = 0;
    for_each_line(o.file, [&](std::size_t n, const std::vector<std::string>& f) {
        if (f.size() != 2) {
            throw line_failure(o.file, n,
                               "expected \"<id> <token>,<token>,...\", got " +
                                   std::to_string(f.size()) + " fields");
        }
        const auto it = line_of.find(f[0]);
        if (it != line_of.end()) {
            throw line_failure(
                o.file, n,
                "node " + in_quotes(f[0]) + " is already on line " + std::to_string(it->second));
        }
        if (nodes.size() == max_nodes) {
            throw line_failure(o.file, n, "more than " + std::to_string(max_nodes) + " nodes");
        }
        line_of[f[0]] = n;
        std::vector<ringplan::Token> tokens;
        std::size_t begin = 0;
        for (;;) {
            const std::size_t comma = f[1].find(',', begin);
            const std::string_view one = std::string_view(f[1]).substr(
                begin, comma == std::string::npos ? std::string::npos : comma - begin);
            std::uint64_t t = 0;
            if (!parse_u64(one, t)) {
                throw line_failure(
                    o.file, n,
                    "bad token " + in_quotes(one) + " (an unsigned 64-bit decimal number)");
            }
            if (++vnodes > max_vnodes) {
                throw line_failure(o.file, n,
                                   "more than " + std::to_string(max_vnodes) + " tokens");
            }
            tokens.push_back(t);
            all.emplace_back(t, n);
            if (comma == std::string::npos) {
                break;
            }
            begin = comma + 1;
        }
        nodes.emplace_back(f[0], std::move(tokens));
    });
    if (nodes.empty()) {
        throw Failure(o.file + " holds no node");
    }
    std::sort(all.begin(), all.end());
    for (std::size_t i = 1; i < all.size(); ++i) {
        if (all[i].first == all[i - 1].first) {
            throw line_failure(o.file, all[i].second,
                               "token " + std::to_string(all[i].first) +
                                   (all[i].second == all[i - 1].second
                                        ? std::string(" is listed twice")
                                        : " is also on line " + std::to_string(all[i - 1].second)));
        }
    }
    std::map<std::string, std::uint32_t> weights;
    if (!o.weights_file.empty()) {
        weights = read_weights(
            o.weights_file, [&](const std::string& id) { return line_of.count(id) > 0; },
            "not in " + o.file);
    }
    Ring ring;
    ring.add_nodes_with_tokens(nodes.begin(), nodes.end());
    const ringplan::Rf rf{o.rfs[0]};
    std::vector<double> values;
    char buf[64];
    for (const auto& node : nodes) {
        const auto w = weights.find(node.first);
        const double weight = w == weights.end() ? 1.0 : static_cast<double>(w->second);
        values.push_back(ringplan::replicated_share(ring, node.first, rf) / weight);
        std::snprintf(buf, sizeof buf, "%.6f", values.back());
        out << node.first << ' ' << buf << '\n';
    }
    double sum = 0, squares = 0;
    for (double v : values) {
        sum += v;
        squares += v * v;
    }
    const double n = static_cast<double>(values.size());
    const double mean = sum / n;
    const double stddev = std::sqrt(std::max(0.0, squares / n - mean * mean));
    std::snprintf(buf, sizeof buf, "%.4f", *std::max_element(values.begin(), values.end()) / mean);
    out << "max/mean " << buf << '\n';
    std::snprintf(buf, sizeof buf, "%.4f", *std::min_element(values.begin(), values.end()) / mean);
    out << "min/mean " << buf << '\n';
    std::snprintf(buf, sizeof buf, "%.4f", stddev / mean);
    out << "stddev/mean " << buf << '\n';
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    const char* doing = "reading the arguments";
    try {
        const Options o = parse_args(std::vector<std::string>(argv + 1, argv + argc));
        if (o.help) {
            std::cout << usage_text;
        } else if (o.command == Command::allocate) {
            doing = "allocating tokens";
            run_allocate(o, std::cout);
        } else if (o.command == Command::random) {
            doing = "deriving tokens";
            run_random(o, std::cout);
        } else {
            doing = "reading the tokens";
            run_stats(o, std::cout);
        }
        if (!example_util::flush_ok(std::cout)) {
            throw WriteFailure("could not write the output");
        }
        return 0;
    } catch (...) {
        return example_util::report_failure("tokens", doing);
    }
}
