// examples/tokens as a process: allocate and random print what the library computes, stats
// agrees with replicated_share, and bad input is refused with a message and exit status 1.
#include "catch.hpp"

#include "run_program.hpp"

#include <ringplan/allocate.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/xxh3.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using example_test::ProgramResult;
using example_test::run_program;
using example_test::TempDir;
using ringplan::Token;
using Nodes = std::vector<std::pair<std::string, std::vector<Token>>>;

const std::string program = RINGPLAN_TOKENS_PROGRAM;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Parses "<id> <token>,<token>,..." lines, checking the format as it goes.
Nodes parse_nodes(const std::string& out) {
    Nodes nodes;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        const std::size_t space = line.find(' ');
        REQUIRE(space != std::string::npos);
        REQUIRE(line.find(' ', space + 1) == std::string::npos);
        std::vector<Token> tokens;
        std::istringstream list(line.substr(space + 1));
        for (std::string t; std::getline(list, t, ',');) {
            REQUIRE_FALSE(t.empty());
            REQUIRE(t.find_first_not_of("0123456789") == std::string::npos);
            tokens.push_back(std::strtoull(t.c_str(), nullptr, 10));
        }
        nodes.emplace_back(line.substr(0, space), tokens);
    }
    return nodes;
}

// The value after "<label> " on the line that starts with it, or -1.
double value_of(const std::string& out, const std::string& label) {
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(label + " ", 0) == 0) {
            return std::strtod(line.c_str() + label.size() + 1, nullptr);
        }
    }
    return -1;
}

ProgramResult run(const std::string& args) {
    return run_program(program, args, "");
}

}  // namespace

TEST_CASE("tokens allocate prints the library's allocation, node by node", "[tokens]") {
    const ProgramResult r = run("allocate --nodes 12 --tokens 8 --rf 1,3 --seed-nodes 2");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const Nodes nodes = parse_nodes(r.out);
    REQUIRE(nodes.size() == 12);
    ringplan::Ring<> ring;
    ringplan::AllocateOptions<std::string> options;
    options.rfs = {ringplan::Rf{1}, ringplan::Rf{3}};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string id = "n" + std::to_string(i);
        CHECK(nodes[i].first == id);
        const auto expected =
            i < 2 ? ringplan::evenly_spaced_tokens(8, static_cast<std::uint32_t>(i), 2)
                  : ringplan::allocate_tokens(ring, id, 8, options);
        CHECK(nodes[i].second == expected);
        ring.add_node_with_tokens(id, expected);
    }
}

TEST_CASE("tokens random prints the ring's derived tokens", "[tokens]") {
    const ProgramResult r = run("random --nodes 3 --tokens 5");
    REQUIRE(r.exit_code == 0);
    const Nodes nodes = parse_nodes(r.out);
    REQUIRE(nodes.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(nodes[i].first == "n" + std::to_string(i));
        CHECK(nodes[i].second == ringplan::Ring<>::derived_tokens(nodes[i].first, 5));
    }
}

TEST_CASE("tokens stats agrees with replicated_share", "[tokens]") {
    TempDir dir;
    const ProgramResult made = run("random --nodes 20 --tokens 4");
    REQUIRE(made.exit_code == 0);
    // A comment, a blank line and a CRLF line are read as the format allows.
    const std::string file = dir.write("ring", "# from tokens random\n\n" + made.out + "\r\n");
    const ProgramResult r = run("stats --rf 3 '" + file + "'");
    REQUIRE(r.exit_code == 0);
    const Nodes nodes = parse_nodes(made.out);
    ringplan::Ring<> ring;
    ring.add_nodes_with_tokens(nodes.begin(), nodes.end());
    double sum = 0, most = 0, least = 1;
    for (const auto& node : nodes) {
        const double share = ringplan::replicated_share(ring, node.first, ringplan::Rf{3});
        CHECK(value_of(r.out, node.first) == Approx(share).margin(1e-6));
        sum += share;
        most = std::max(most, share);
        least = std::min(least, share);
    }
    CHECK(sum == Approx(3.0));
    CHECK(value_of(r.out, "max/mean") == Approx(most / (sum / 20)).margin(1e-4));
    CHECK(value_of(r.out, "min/mean") == Approx(least / (sum / 20)).margin(1e-4));
    CHECK(value_of(r.out, "stddev/mean") > 0.05);  // random tokens, 4 each: far from even
}

TEST_CASE("tokens allocate and stats with weights", "[tokens]") {
    TempDir dir;
    const std::string weights = dir.write("weights", "# heavy ones\nn3 2\nn7 3\n");
    const ProgramResult made =
        run("allocate --nodes 30 --tokens 8 --rf 3 --weights '" + weights + "'");
    REQUIRE(made.exit_code == 0);
    const std::string file = dir.write("ring", made.out);
    const ProgramResult weighed = run("stats --rf=3 --weights '" + weights + "' '" + file + "'");
    REQUIRE(weighed.exit_code == 0);
    CHECK(value_of(weighed.out, "max/mean") <= 1.0 + 4.0 / 24);
    const ProgramResult plain = run("stats --rf 3 '" + file + "'");
    CHECK(value_of(plain.out, "n7") > 2.5 * value_of(plain.out, "n8"));
    CHECK(value_of(plain.out, "n3") == Approx(2 * value_of(weighed.out, "n3")).margin(2e-6));
}

TEST_CASE("tokens refuses bad input with a message and exit status 1", "[tokens]") {
    TempDir dir;
    const auto refused = [&](const std::string& args, const std::string& message) {
        const ProgramResult r = run(args);
        INFO(args << "\n" << r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(r.err.rfind("tokens: ", 0) == 0);
        CHECK(contains(r.err, message));
    };
    refused("", "no command");
    refused("shuffle --nodes 3", "unknown command 'shuffle'");
    refused("allocate --nodes 0 --tokens 4 --rf 3",
            "--nodes must be a whole number from 1 to 10000, not '0'");
    refused("allocate --nodes 10001 --tokens 4 --rf 3",
            "--nodes must be a whole number from 1 to 10000");
    refused("allocate --nodes 5 --tokens 4097 --rf 3",
            "--tokens must be a whole number from 1 to 4096");
    refused("allocate --nodes 10000 --tokens 4096 --rf 3", "is more than 1048576 vnodes");
    refused("allocate --nodes 5 --tokens 4 --rf 0", "--rf takes whole numbers from 1 to 16");
    refused("allocate --nodes 5 --tokens 4 --rf 1,2,3,4,5", "takes at most 4");
    refused("allocate --nodes 5 --tokens 4", "--rf is required");
    refused("allocate --nodes 5 --tokens 4 --rf 3 --seed-nodes 6",
            "--seed-nodes 6 is more than --nodes 5");
    refused("random --nodes 5 --tokens 4 --rf 3", "--rf is not an option of random");
    refused("stats --rf 3", "FILE is required");
    refused("stats --rf 3,1 x", "stats takes at most 1");
    refused("stats --rf 3 '" + dir.file("missing") + "'", "can not open file");
    refused("stats --rf 3 '" + dir.path() + "'", "is a directory");
    const std::string bad_token = dir.write("bad_token", "a 1,2\nb 3,x4\n");
    refused("stats --rf 1 '" + bad_token + "'", "bad_token line 2: bad token 'x4'");
    const std::string twice = dir.write("twice", "a 1,2\n# c\nb 3,2\n");
    refused("stats --rf 1 '" + twice + "'", "twice line 3: token 2 is also on line 1");
    const std::string dup = dir.write("dup", "a 1\na 2\n");
    refused("stats --rf 1 '" + dup + "'", "dup line 2: node 'a' is already on line 1");
    const std::string fields = dir.write("fields", "a 1 2\n");
    refused("stats --rf 1 '" + fields + "'", "fields line 1: expected");
    const std::string empty = dir.write("empty", "# nothing\n");
    refused("stats --rf 1 '" + empty + "'", "holds no node");
    const std::string weights = dir.write("weights", "n1 2\nn9 1\n");
    refused("allocate --nodes 5 --tokens 4 --rf 3 --weights '" + weights + "'",
            "weights line 2: unknown node 'n9' (nodes are n0 .. n4)");
    const std::string zero = dir.write("zero", "n1 0\n");
    refused("allocate --nodes 5 --tokens 4 --rf 3 --weights '" + zero + "'",
            "zero line 1: weight '0' is not a whole number from 1 to 1000000");
    const std::string again = dir.write("again", "n1 2\nn1 3\n");
    refused("allocate --nodes 5 --tokens 4 --rf 3 --weights '" + again + "'",
            "again line 2: node 'n1' is already weighed on line 1");
}

TEST_CASE("tokens: a stdout that can not be written is exit status 2", "[tokens]") {
    const ProgramResult r =
        run_program(program, "allocate --nodes 3 --tokens 4 --rf 3", "", "/dev/full");
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "tokens: could not write the output"));
}

TEST_CASE("tokens --help names the limits", "[tokens]") {
    const ProgramResult r = run("--help");
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "1 to 10000"));
    CHECK(contains(r.out, "N * T at most 1048576"));
}
