// examples/partition_scenario as a process: the figures of ClusterKit's scenario that ringplan's
// balanced scheme guarantees (a join of a fourth node to 3 x 16 partitions at rf 3 copies exactly
// its 12 replicas and leaves every node 12), ClusterKit's figures for the same steps (its maps
// are MD5 of fixed names, so they are fixed too), and the exit codes.
#include "catch.hpp"

#include "run_program.hpp"

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace {

using example_test::ProgramResult;
using example_test::run_program;

// The lines of `out` from the "== <title>" line whose title starts with `title` up to the next
// "== " line.
std::vector<std::string> section(const std::string& out, const std::string& title) {
    std::istringstream in(out);
    std::vector<std::string> lines;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("== ", 0) == 0) {
            inside = line.rfind("== " + title, 0) == 0;
            continue;
        }
        if (inside) {
            lines.push_back(line);
        }
    }
    return lines;
}

// The numbers after `label` on the section's line that starts with `label` and a space.
std::vector<std::size_t> row(const std::vector<std::string>& lines, const std::string& label) {
    for (const std::string& line : lines) {
        if (line.rfind(label + " ", 0) == 0) {
            std::istringstream in(line.substr(label.size()));
            std::vector<std::size_t> out;
            for (std::size_t v; in >> v;) {
                out.push_back(v);
            }
            return out;
        }
    }
    return {};
}

std::size_t count_starting(const std::vector<std::string>& lines, const std::string& prefix) {
    std::size_t n = 0;
    for (const std::string& line : lines) {
        n += line.rfind(prefix, 0) == 0 ? 1u : 0u;
    }
    return n;
}

// Columns of a node row: balanced replicas, primaries, copied; clusterkit the same.
enum Column : std::size_t { b_replicas, b_primaries, b_copied, c_replicas, c_primaries, c_copied };

}  // namespace

TEST_CASE("partition_scenario: ringplan's join copies node-4's 12 replicas and nothing else",
          "[partitions]") {
    const ProgramResult r = run_program(RINGPLAN_PARTITION_SCENARIO_PROGRAM, "", "");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());

    const auto join = section(r.out, "step 1:");
    REQUIRE_FALSE(join.empty());
    CHECK(row(join, "full copies") == std::vector<std::size_t>{12, 10});
    CHECK(row(join, "minimum copies (any balanced map)") == std::vector<std::size_t>{12, 12});
    CHECK(row(join, "lost partitions") == std::vector<std::size_t>{0, 0});
    // ringplan fires one copy event per copy; ClusterKit also tells the 3 primaries that node-4
    // demotes to copy partitions they hold.
    CHECK(row(join, "copy notifications fired") == std::vector<std::size_t>{12, 13});
    CHECK(row(join, "  spurious (node already held it)") == std::vector<std::size_t>{0, 3});
    for (const char* node : {"node-1", "node-2", "node-3", "node-4"}) {
        const auto loads = row(join, node);
        REQUIRE(loads.size() == 6);
        CHECK(loads[b_replicas] == 12);
        CHECK(loads[b_primaries] == 4);
    }
    CHECK(row(join, "node-4")[b_copied] == 12);
    CHECK(row(join, "node-4")[c_copied] == 10);
    CHECK(row(join, "node-4")[c_replicas] == 10);
    // The listed events: 12 copies to node-4, 4 promotions to it, 12 drops.
    CHECK(count_starting(join, "  copy     partition") == 12);
    CHECK(count_starting(join, "  promote  partition") == 4);
    CHECK(count_starting(join, "  drop     partition") == 12);

    const auto kill = section(r.out, "step 2:");
    CHECK(row(kill, "full copies") == std::vector<std::size_t>{12, 13});
    CHECK(row(kill, "lost partitions") == std::vector<std::size_t>{0, 0});
    CHECK(row(kill, "node-3").empty());  // removed
    for (const char* node : {"node-1", "node-2", "node-4"}) {
        CHECK(row(kill, node)[b_replicas] == 16);
        CHECK(row(kill, node)[c_replicas] == 16);
    }

    const auto back = section(r.out, "step 3:");
    CHECK(row(back, "full copies") == std::vector<std::size_t>{12, 13});
    CHECK(row(back, "node-3")[b_copied] == 12);
    for (const char* node : {"node-1", "node-2", "node-3", "node-4"}) {
        CHECK(row(back, node)[b_replicas] == 12);
    }
}

TEST_CASE("partition_scenario: a stdout that can not be written is an error", "[partitions]") {
    const ProgramResult r = run_program(RINGPLAN_PARTITION_SCENARIO_PROGRAM, "", "", "/dev/full");
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("partition_scenario: could not write the output: ", 0) == 0);
}
