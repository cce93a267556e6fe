// examples/partitions as a process: the assign, route and rebalance protocol against the
// library (include/ringplan/partitions.hpp), and every refusal: exit status 1, nothing on
// stdout, a message on stderr that names the argument or the file and line.
#include "catch.hpp"

#include "run_program.hpp"

#include <ringplan/partitions.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/xxh3.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using example_test::ProgramResult;
using example_test::run_program;
using example_test::TempDir;
using Map = ringplan::PartitionMap<std::string>;

const std::string program = RINGPLAN_PARTITIONS_PROGRAM;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string quote(const std::string& path) {
    return "'" + path + "'";
}

ProgramResult run(const std::string& args, const std::string& input = "") {
    return run_program(program, args, input);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> words_of(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string word;
    while (in >> word) {
        out.push_back(word);
    }
    return out;
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

// The map as the program prints it.
std::string map_text(const Map& map) {
    std::string out;
    for (std::size_t p = 0; p < map.partition_count(); ++p) {
        out += "partition-" + std::to_string(p);
        for (const std::string& id : map.replicas_at(static_cast<ringplan::PartitionId>(p))) {
            out += " " + id;
        }
        out += "\n";
    }
    return out;
}

// The partitions of map lines (`partition-<i> id...`), checked to be 0 .. q-1 in order.
std::vector<std::vector<std::string>> parse_map_lines(const std::vector<std::string>& lines,
                                                      std::size_t q) {
    REQUIRE(lines.size() == q);
    std::vector<std::vector<std::string>> lists;
    for (std::size_t p = 0; p < q; ++p) {
        std::vector<std::string> w = words_of(lines[p]);
        REQUIRE(!w.empty());
        CHECK(w[0] == "partition-" + std::to_string(p));
        w.erase(w.begin());
        lists.push_back(w);
    }
    return lists;
}

struct Load {
    std::size_t replicas = 0;
    std::size_t primaries = 0;
};

std::map<std::string, Load> loads_of(const std::vector<std::vector<std::string>>& lists) {
    std::map<std::string, Load> out;
    for (const auto& list : lists) {
        REQUIRE(!list.empty());
        ++out[list[0]].primaries;
        for (const std::string& id : list) {
            ++out[id].replicas;
        }
    }
    return out;
}

// A rebalance's output split into events, the summary line and the map.
struct Rebalance {
    std::vector<std::string> events;
    std::string summary;
    std::vector<std::string> map;
};

Rebalance split_rebalance(const std::string& out) {
    Rebalance r;
    bool after_summary = false;
    for (const std::string& line : lines_of(out)) {
        if (starts_with(line, "# copies ")) {
            CHECK_FALSE(after_summary);
            r.summary = line;
            after_summary = true;
        } else if (after_summary) {
            r.map.push_back(line);
        } else {
            r.events.push_back(line);
        }
    }
    return r;
}

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [&](const std::string& l) { return starts_with(l, prefix); }));
}

// The program's event line for a library event.
std::string event_text(const ringplan::PartitionEvent<std::string>& e) {
    const std::string p = "partition-" + std::to_string(e.partition);
    std::string sources;
    for (const std::string& s : e.sources) {
        sources += (sources.empty() ? "" : ",") + s;
    }
    std::string out;
    switch (e.action) {
        case ringplan::PartitionAction::lost:
            out = "LOST " + p;
            break;
        case ringplan::PartitionAction::copy:
            out = "COPY " + p + " FROM " + sources + " TO " + e.node;
            break;
        case ringplan::PartitionAction::catch_up:
            out = "CATCHUP " + p + " FROM " + sources + " TO " + e.node;
            break;
        case ringplan::PartitionAction::promote:
            out = "PROMOTE " + p + " " + e.node;
            break;
        case ringplan::PartitionAction::drop:
            out = "DROP " + p + " " + e.node;
            break;
    }
    return out + " (" + ringplan::to_string(e.reason) + ")";
}

// A failed command: status 1, nothing on stdout, and `message` on stderr.
void check_refused(const ProgramResult& r, const std::string& message) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "partitions: " + message));
}

const std::vector<std::string> abc = {"a", "b", "c"};
const std::vector<std::string> abcd = {"a", "b", "c", "d"};

}  // namespace

TEST_CASE("partitions assign: 3 nodes, 16 partitions, rf 3", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const ProgramResult r = run("assign --partitions 16 --rf 3 " + quote(nodes));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto lists = parse_map_lines(lines_of(r.out), 16);
    for (const auto& list : lists) {
        CHECK(list.size() == 3);
        CHECK(std::set<std::string>(list.begin(), list.end()).size() == 3);
    }
    const auto loads = loads_of(lists);
    CHECK(loads.size() == 3);
    for (const auto& [id, load] : loads) {
        INFO(id);
        CHECK((id == "a" || id == "b" || id == "c"));
        CHECK(load.replicas == 16);
        CHECK((load.primaries == 5 || load.primaries == 6));
    }
    // The library's map, line for line; the default scheme is balanced.
    CHECK(r.out == map_text(ringplan::assign_partitions(abc, 16, ringplan::Rf{3})));
    CHECK(run("assign --scheme balanced --partitions 16 --rf 3 " + quote(nodes)).out == r.out);
}

TEST_CASE("partitions assign: balance for other sizes, rf above the node count", "[partitions]") {
    TempDir dir;
    std::string text;
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) {
        ids.push_back("node-" + std::to_string(i));
        text += ids.back() + "\n";
    }
    const std::string nodes = dir.write("nodes", text);
    const ProgramResult r = run("assign --partitions 100 --rf 2 " + quote(nodes));
    REQUIRE(r.exit_code == 0);
    const auto loads = loads_of(parse_map_lines(lines_of(r.out), 100));
    REQUIRE(loads.size() == 7);
    for (const auto& entry : loads) {
        CHECK((entry.second.replicas == 28 || entry.second.replicas == 29));  // 200 / 7
        CHECK((entry.second.primaries == 14 || entry.second.primaries == 15));
    }
    // rf 5 with 3 nodes: every partition on all 3.
    const std::string three = dir.write("three", "x\ny\nz\n");
    const ProgramResult all = run("assign --partitions 4 --rf 5 " + quote(three));
    REQUIRE(all.exit_code == 0);
    for (const auto& list : parse_map_lines(lines_of(all.out), 4)) {
        CHECK(list.size() == 3);
    }
}

TEST_CASE("partitions assign: the clusterkit scheme is the library's", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const ProgramResult r =
        run("assign --scheme clusterkit --partitions 16 --rf 3 " + quote(nodes));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == map_text(ringplan::clusterkit::assign_partitions(abc, 16, ringplan::Rf{3})));
    const std::string five = dir.write("five", "n1\nn2\nn3\nn4\nn5\n");
    const ProgramResult r2 =
        run("assign --scheme=clusterkit --partitions=64 --rf=2 " + quote(five));
    REQUIRE(r2.exit_code == 0);
    CHECK(r2.out ==
          map_text(ringplan::clusterkit::assign_partitions(
              std::vector<std::string>{"n1", "n2", "n3", "n4", "n5"}, 64, ringplan::Rf{2})));
    // Not the balanced map.
    CHECK(r2.out !=
          map_text(ringplan::assign_partitions(
              std::vector<std::string>{"n1", "n2", "n3", "n4", "n5"}, 64, ringplan::Rf{2})));
}

TEST_CASE("partitions route: each key's partition is the library's", "[partitions]") {
    const std::vector<std::string> keys = {
        "", "a", "hello", "user:42", "key with spaces", "tab\there", std::string(1000, 'k')};
    std::string input;
    for (const std::string& k : keys) {
        input += k + "\n";
    }
    for (const std::size_t q :
         {std::size_t{1}, std::size_t{16}, std::size_t{1000}, ringplan::max_partitions}) {
        std::string balanced;
        std::string clusterkit;
        for (const std::string& k : keys) {
            balanced += k + "\tpartition-" +
                        std::to_string(ringplan::key_partition<ringplan::Xxh3>(k, q)) + "\n";
            clusterkit += k + "\tpartition-" +
                          std::to_string(ringplan::clusterkit::key_partition(k, q)) + "\n";
        }
        INFO("Q = " << q);
        const ProgramResult b = run("route --partitions " + std::to_string(q), input);
        CHECK(b.exit_code == 0);
        CHECK(b.err.empty());
        CHECK(b.out == balanced);
        const ProgramResult c =
            run("route --scheme clusterkit --partitions " + std::to_string(q), input);
        CHECK(c.exit_code == 0);
        CHECK(c.out == clusterkit);
    }
    // ClusterKit: the big-endian first 4 bytes of MD5("hello") = 0x5d41402a, mod 16 = 10.
    CHECK(run("route --scheme clusterkit --partitions 16", "hello\n").out ==
          "hello\tpartition-10\n");
}

TEST_CASE("partitions route: CRLF, a last line without LF, a NODES_FILE that is only checked",
          "[partitions]") {
    TempDir dir;
    const ProgramResult lf = run("route --partitions 64", "k1\n\nk2\n");
    REQUIRE(lf.exit_code == 0);
    CHECK(lines_of(lf.out).size() == 3);
    CHECK(starts_with(lines_of(lf.out)[1], "\tpartition-"));  // the empty key
    CHECK(run("route --partitions 64", "k1\r\n\r\nk2").out == lf.out);
    const std::string nodes = dir.write("nodes", "# the cluster\r\na\r\nb\r\n");
    CHECK(run("route --partitions 64 " + quote(nodes), "k1\n\nk2\n").out == lf.out);
    CHECK(run("route --partitions 64", "").out.empty());
    // A NODES_FILE is checked even though route does not need it.
    const std::string dup = dir.write("dup", "a\nb\na\n");
    check_refused(run("route --partitions 64 " + quote(dup), "k\n"),
                  "NODES_FILE line 3: node 'a' already listed on line 1");
}

TEST_CASE("partitions rebalance: a fourth node joins 3 nodes, 16 partitions, rf 3",
          "[partitions]") {
    TempDir dir;
    const std::string nodes3 = dir.write("nodes3", "a\nb\nc\n");
    const std::string nodes4 = dir.write("nodes4", "a\nb\nc\nd\n");
    const ProgramResult assigned = run("assign --partitions 16 --rf 3 " + quote(nodes3));
    REQUIRE(assigned.exit_code == 0);
    const std::string map = dir.write("map", assigned.out);
    const ProgramResult r =
        run("rebalance --partitions 16 --rf 3 " + quote(map) + " " + quote(nodes4));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const Rebalance out = split_rebalance(r.out);
    CHECK(out.summary == "# copies 12 minimum 12 lost 0");
    CHECK(count_prefix(out.events, "COPY ") == 12);
    CHECK(count_prefix(out.events, "PROMOTE ") > 0);
    CHECK(count_prefix(out.events, "DROP ") == 12);
    CHECK(count_prefix(out.events, "LOST ") == 0);
    CHECK(count_prefix(out.events, "CATCHUP ") == 0);
    std::size_t last_copy = 0;
    std::size_t first_drop = out.events.size();
    for (std::size_t i = 0; i < out.events.size(); ++i) {
        const std::vector<std::string> w = words_of(out.events[i]);
        INFO(out.events[i]);
        if (w[0] == "COPY") {
            REQUIRE(w.size() == 7);
            CHECK(w[2] == "FROM");
            CHECK(w[4] == "TO");
            CHECK(w[5] == "d");
            CHECK(w[6] == "(join)");
            last_copy = i;
        } else if (w[0] == "DROP") {
            REQUIRE(w.size() == 4);
            CHECK(w[2] != "d");
            first_drop = std::min(first_drop, i);
        } else {
            CHECK(w[0] == "PROMOTE");
            CHECK(w.size() == 4);
        }
    }
    CHECK(last_copy < first_drop);
    const auto lists = parse_map_lines(out.map, 16);
    const auto loads = loads_of(lists);
    REQUIRE(loads.size() == 4);
    for (const auto& entry : loads) {
        INFO(entry.first);
        CHECK(entry.second.replicas == 12);
        CHECK(entry.second.primaries == 4);
    }
    // The library's change, event for event.
    const Map old = Map::from_lists(parse_map_lines(lines_of(assigned.out), 16), ringplan::Rf{3});
    const auto change = ringplan::rebalance_partitions(old, abcd);
    std::vector<std::string> expected;
    for (const auto& e : change.events) {
        expected.push_back(event_text(e));
    }
    CHECK(out.events == expected);
    std::string new_map;
    for (const std::string& line : out.map) {
        new_map += line + "\n";
    }
    CHECK(new_map == map_text(change.map));
}

TEST_CASE("partitions rebalance: the same membership changes nothing", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\nd\ne\n");
    const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
    for (const std::string scheme : {"balanced", "clusterkit"}) {
        INFO(scheme);
        const ProgramResult assigned =
            run("assign --scheme " + scheme + " --partitions 32 --rf 2 " + quote(nodes));
        REQUIRE(assigned.exit_code == 0);
        const std::string map = dir.write("map-" + scheme, assigned.out);
        const ProgramResult r = run("rebalance --scheme " + scheme + " --partitions 32 --rf 2 " +
                                    quote(map) + " " + quote(nodes));
        REQUIRE(r.exit_code == 0);
        // `minimum` is what a balanced map of the membership needs: 0 from a balanced map, and
        // more than the ClusterKit scheme's 0 copies from its unbalanced one.
        const Map old =
            Map::from_lists(parse_map_lines(lines_of(assigned.out), 32), ringplan::Rf{2});
        const auto change = scheme == "balanced"
                                ? ringplan::rebalance_partitions(old, ids)
                                : ringplan::clusterkit::rebalance_partitions(old, ids);
        CHECK(change.events.empty());
        CHECK((scheme == "clusterkit" || change.minimum_copies == 0));
        CHECK(r.out == "# copies 0 minimum " + std::to_string(change.minimum_copies) + " lost 0\n" +
                           assigned.out);
    }
}

TEST_CASE("partitions rebalance: the map file may be shuffled, commented, CRLF, tabbed",
          "[partitions]") {
    TempDir dir;
    const std::string nodes3 = dir.write("nodes3", "a\nb\nc\n");
    const std::string nodes4 = dir.write("nodes4", "a\nb\nc\nd\n");
    const std::string plain = run("assign --partitions 16 --rf 3 " + quote(nodes3)).out;
    const std::string map = dir.write("map", plain);
    std::vector<std::string> lines = lines_of(plain);
    std::reverse(lines.begin(), lines.end());
    std::string messy = "# the map of 2024-01-01\r\n\r\n";
    for (const std::string& line : lines) {
        std::string tabbed = line;
        std::replace(tabbed.begin(), tabbed.end(), ' ', '\t');
        messy += "  " + tabbed + " \r\n   # comment\n\t\n";
    }
    const std::string messy_map = dir.write("messy", messy);
    const std::string messy_nodes =
        dir.write("messy_nodes", "\t# nodes\r\n  a \r\nb\r\n\nc\nd\t\n");
    const ProgramResult expected =
        run("rebalance --partitions 16 --rf 3 " + quote(map) + " " + quote(nodes4));
    REQUIRE(expected.exit_code == 0);
    const ProgramResult r =
        run("rebalance --partitions 16 --rf 3 " + quote(messy_map) + " " + quote(messy_nodes));
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == expected.out);
}

TEST_CASE("partitions rebalance: a failed node with rf 1 loses its partitions", "[partitions]") {
    TempDir dir;
    const std::string nodes3 = dir.write("nodes3", "a\nb\nc\n");
    const std::string nodes2 = dir.write("nodes2", "a\nb\n");
    const ProgramResult assigned = run("assign --partitions 16 --rf 1 " + quote(nodes3));
    REQUIRE(assigned.exit_code == 0);
    std::size_t held_by_c = 0;
    for (const auto& list : parse_map_lines(lines_of(assigned.out), 16)) {
        held_by_c += list == std::vector<std::string>{"c"} ? 1u : 0u;
    }
    CHECK((held_by_c == 5 || held_by_c == 6));
    const std::string map = dir.write("map", assigned.out);
    const ProgramResult r =
        run("rebalance --partitions 16 --rf 1 " + quote(map) + " " + quote(nodes2) + " --failed c");
    REQUIRE(r.exit_code == 0);
    const Rebalance out = split_rebalance(r.out);
    CHECK(out.events.size() == held_by_c);
    CHECK(count_prefix(out.events, "LOST partition-") == held_by_c);
    for (const std::string& e : out.events) {
        CHECK(words_of(e).size() == 3);
        CHECK(words_of(e).back() == "(failure)");
    }
    CHECK(out.summary == "# copies 0 minimum 0 lost " + std::to_string(held_by_c));
    CHECK(loads_of(parse_map_lines(out.map, 16)).size() == 2);
    // Without --failed, c leaves gracefully: its partitions are copied, nothing is lost.
    const ProgramResult leave =
        run("rebalance --partitions 16 --rf 1 " + quote(map) + " " + quote(nodes2));
    REQUIRE(leave.exit_code == 0);
    const Rebalance graceful = split_rebalance(leave.out);
    CHECK(count_prefix(graceful.events, "LOST ") == 0);
    CHECK(count_prefix(graceful.events, "COPY ") == held_by_c);
    CHECK(contains(leave.out, "FROM c TO "));
    CHECK(contains(leave.out, "(leave)"));
}

TEST_CASE("partitions rebalance: a returning node catches up, a failed one copies",
          "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const ProgramResult assigned = run("assign --partitions 16 --rf 3 " + quote(nodes));
    REQUIRE(assigned.exit_code == 0);
    const std::string map = dir.write("map", assigned.out);
    const ProgramResult back = run("rebalance --partitions 16 --rf 3 " + quote(map) + " " +
                                   quote(nodes) + " --returning c");
    REQUIRE(back.exit_code == 0);
    const Rebalance r = split_rebalance(back.out);
    CHECK(r.events.size() == 16);
    CHECK(count_prefix(r.events, "CATCHUP partition-") == 16);
    for (const std::string& e : r.events) {
        const std::vector<std::string> w = words_of(e);
        REQUIRE(w.size() == 7);
        CHECK(w[5] == "c");
        CHECK(w[6] == "(rejoin)");
        CHECK_FALSE(contains(w[3], "c"));  // c's data is stale: it is no source
    }
    CHECK(r.summary == "# copies 0 minimum 0 lost 0");
    CHECK(r.map == lines_of(assigned.out));
    // Back empty (failed, then listed again): full copies instead.
    const ProgramResult empty =
        run("rebalance --partitions 16 --rf 3 " + quote(map) + " " + quote(nodes) + " --failed c");
    REQUIRE(empty.exit_code == 0);
    const Rebalance e = split_rebalance(empty.out);
    CHECK(count_prefix(e.events, "CATCHUP ") == 0);
    CHECK(count_prefix(e.events, "COPY ") == 16);
    CHECK(e.summary == "# copies 16 minimum 16 lost 0");
    CHECK(contains(empty.out, "TO c (failure)"));
}

TEST_CASE("partitions --racks: distinct racks, the library's maps, and refusals", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a1\na2\nb1\nb2\nc1\nd1\n");
    // d1 has no rack: a rack of its own. Comments and blank lines as in NODES_FILE.
    const std::string racks = dir.write(
        "racks", "# where they sit\na1 dc a\na2\tdc a\n\nb1 dc b\nb2 dc b\nc1 dc c\nd1 dc\n");
    const ringplan::Topology<std::string> topology{{"a1", {"dc", "a"}}, {"a2", {"dc", "a"}},
                                                   {"b1", {"dc", "b"}}, {"b2", {"dc", "b"}},
                                                   {"c1", {"dc", "c"}}, {"d1", {"dc", ""}}};
    const std::vector<std::string> ids = {"a1", "a2", "b1", "b2", "c1", "d1"};
    const ProgramResult r =
        run("assign --partitions 32 --rf 3 " + quote(nodes) + " --racks " + quote(racks));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const Map map = ringplan::assign_partitions(ids, 32, ringplan::Rf{3}, topology);
    REQUIRE(ringplan::rack_shared_partitions(map, topology) == 0);
    CHECK(r.out == "# rack_shared 0\n" + map_text(map));
    // a2 fails: 5 nodes on 4 racks, and rack b's two nodes must hold more than 32 replicas.
    const std::string map_file = dir.write("map", r.out);
    const std::string after = dir.write("after", "a1\nb1\nb2\nc1\nd1\n");
    const ProgramResult c = run("rebalance --partitions 32 --rf 3 " + quote(map_file) + " " +
                                quote(after) + " --failed a2 --racks=" + quote(racks));
    REQUIRE(c.exit_code == 0);
    ringplan::RebalanceOptions<std::string> how{{"a2"}, {}};
    how.topology = topology;
    const auto change = ringplan::rebalance_partitions(map, {"a1", "b1", "b2", "c1", "d1"}, how);
    CHECK(change.rack_shared > 0);
    CHECK(contains(c.out, "# copies " + std::to_string(change.copies) + " minimum " +
                              std::to_string(change.minimum_copies) + " lost 0 rack_shared " +
                              std::to_string(change.rack_shared) + "\n"));
    CHECK(contains(c.out, map_text(change.map)));
    // Refusals: exit status 1, nothing on stdout, the reason on stderr.
    const std::string n = " " + quote(nodes);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"assign --scheme clusterkit --partitions 8 --rf 3" + n + " --racks " + quote(racks),
         "--racks needs --scheme balanced"},
        {"route --partitions 8 --racks " + quote(racks), "--racks is not an option of route"},
        {"assign --partitions 8 --rf 3" + n + " --racks " + quote(racks) + " --racks " +
             quote(racks),
         "--racks given twice"},
        {"assign --partitions 8 --rf 3" + n + " --racks " + quote(dir.write("r1", "a1 dc a\n")),
         "invalid_topology: node 'a2' is a member but has no location"},
        {"assign --partitions 8 --rf 3" + n + " --racks " +
             quote(dir.write("r2", "a1 dc a\na1 dc b\n")),
         "RACKS_FILE line 2: node 'a1' is listed twice"},
        {"assign --partitions 8 --rf 3" + n + " --racks " + quote(dir.write("r3", "a1\n")),
         "RACKS_FILE line 1: want '<id> <datacenter> [<rack>]', got 1 fields"},
    };
    for (const auto& [args, message] : cases) {
        INFO(args);
        const ProgramResult bad = run(args);
        CHECK(bad.exit_code == 1);
        CHECK(bad.out.empty());
        CHECK(contains(bad.err, message));
    }
}

TEST_CASE("partitions: --help", "[partitions]") {
    for (const char* args : {"--help", "-h", "assign --help", "rebalance --partitions x --help"}) {
        INFO(args);
        const ProgramResult r = run(args);
        CHECK(r.exit_code == 0);
        CHECK(starts_with(r.out, "usage: partitions assign"));
        CHECK(contains(r.out, "COPY partition-<i> FROM <id>[,<id>...] TO <id> (<reason>)"));
        CHECK(r.err.empty());
    }
    // Without a command: the usage pointer on stderr, not the usage on stdout.
    const ProgramResult none = run("");
    check_refused(none, "no command");
    CHECK(contains(none.err, "--help"));
}

TEST_CASE("partitions: bad arguments are refused, naming the argument", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const std::string n = " " + quote(nodes);
    const std::string map = dir.write("map", run("assign --partitions 16 --rf 3" + n).out);
    const std::string m = " " + quote(map);
    const std::string q_range =
        "--partitions must be a whole number from 1 to 16777216 (ringplan::max_partitions), not ";
    const std::string rf_range = "--rf must be a whole number from 1 to 64, not ";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"frobnicate --partitions 16", "unknown command 'frobnicate'"},
        {"assign --scheme modulo --partitions 16 --rf 3" + n, "unknown scheme 'modulo'"},
        {"route --scheme=ketama --partitions 16", "unknown scheme 'ketama'"},
        {"assign --partitions 16 --rf 3 --frobnicate" + n, "unknown option '--frobnicate'"},
        {"assign -x --partitions 16 --rf 3" + n, "unknown option '-x'"},
        {"assign --rf 3" + n + " --partitions", "--partitions needs a value"},
        {"assign --partitions 16" + n + " --rf", "--rf needs a value"},
        {"rebalance --partitions 16 --rf 3" + m + n + " --failed", "--failed needs a value"},
        {"assign --scheme", "--scheme needs a value"},
        {"assign --partitions abc --rf 3" + n, q_range + "'abc'"},
        {"assign --partitions 0 --rf 3" + n, q_range + "'0'"},
        {"assign --partitions -16 --rf 3" + n, q_range + "'-16'"},
        {"assign --partitions 16.5 --rf 3" + n, q_range + "'16.5'"},
        {"assign --partitions 16777217 --rf 3" + n, q_range + "'16777217'"},
        {"route --partitions 99999999999999999999999", q_range + "'99999999999999999999999'"},
        {"assign --partitions= --rf 3" + n, q_range + "''"},
        {"assign --partitions 16 --rf x" + n, rf_range + "'x'"},
        {"assign --partitions 16 --rf 0" + n, rf_range + "'0'"},
        {"assign --partitions 16 --rf -3" + n, rf_range + "'-3'"},
        {"assign --partitions 16 --rf 65" + n, rf_range + "'65'"},
        {"assign --partitions 16 --partitions 16 --rf 3" + n, "--partitions given twice"},
        {"assign --rf 3" + n, "--partitions Q is required"},
        {"assign --partitions 16" + n, "--rf R is required"},
        {"assign --partitions 16 --rf 3", "NODES_FILE is required"},
        {"assign --partitions 16 --rf 3" + n + n, "unexpected argument"},
        {"route --partitions 16 --rf 3", "--rf is not an option of route"},
        {"assign --partitions 16 --rf 3 --failed a" + n, "--failed is an option of rebalance only"},
        {"rebalance --partitions 16 --rf 3", "MAP_FILE and NODES_FILE are required"},
        {"rebalance --partitions 16 --rf 3" + m, "NODES_FILE is required"},
        {"rebalance --partitions 16 --rf 3" + m + n + " --failed a,,b",
         "--failed 'a,,b': empty node id"},
        {"rebalance --partitions 16 --rf 3" + m + n + " --returning ''",
         "--returning '': empty node id"},
    };
    for (const auto& [args, message] : cases) {
        INFO(args);
        const ProgramResult r = run(args, "k\n");
        check_refused(r, message);
        CHECK(contains(r.err, "--help"));
    }
}

TEST_CASE("partitions: bad files are refused, naming the file and line", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const std::string nodes4 = dir.write("nodes4", "a\nb\nc\nd\n");
    const std::string map_text3 = run("assign --partitions 16 --rf 3 " + quote(nodes)).out;
    REQUIRE(lines_of(map_text3).size() == 16);
    const std::string map = dir.write("map", map_text3);
    // The map with line `line` (from 1) replaced, in a file of its own.
    int edits = 0;
    const auto map_with = [&](std::size_t line, const std::string& text) {
        std::vector<std::string> lines = lines_of(map_text3);
        lines[line - 1] = text;
        std::string out;
        for (const std::string& l : lines) {
            out += l + "\n";
        }
        return dir.write("map-edit-" + std::to_string(++edits), out);
    };
    const auto third = words_of(lines_of(map_text3)[3]);  // partition-3 and its nodes
    const std::string partition3 = third[1] + " " + third[2] + " " + third[3];
    const auto rebalance = [&](const std::string& map_file, const std::string& nodes_file,
                               const std::string& more = "") {
        return run("rebalance --partitions 16 --rf 3 " + quote(map_file) + " " + quote(nodes_file) +
                   more);
    };
    const auto assign = [&](const std::string& nodes_file) {
        return run("assign --partitions 16 --rf 3 " + quote(nodes_file));
    };

    SECTION("missing files, directories, paths through a file") {
        const std::string missing = dir.file("missing");
        check_refused(assign(missing),
                      "can not open NODES_FILE " + missing + ": No such file or directory");
        check_refused(rebalance(missing, nodes),
                      "can not open MAP_FILE " + missing + ": No such file or directory");
        check_refused(run("route --partitions 16 " + quote(missing), "k\n"),
                      "can not open NODES_FILE " + missing);
        check_refused(assign(dir.path()), "NODES_FILE " + dir.path() + " is a directory");
        check_refused(rebalance(dir.path(), nodes), "MAP_FILE " + dir.path() + " is a directory");
        check_refused(rebalance(map, dir.path()), "NODES_FILE " + dir.path() + " is a directory");
        check_refused(assign(nodes + "/x"),
                      "can not open NODES_FILE " + nodes + "/x: Not a directory");
    }
    SECTION("a file that can not be read") {
        const std::string secret = dir.write("secret", "a\n");
        REQUIRE(chmod(secret.c_str(), 0) == 0);
        if (geteuid() != 0) {
            check_refused(assign(secret),
                          "can not open NODES_FILE " + secret + ": Permission denied");
        } else {
            // root reads anything: the mode is ignored and the file is a valid node list.
            CHECK(assign(secret).exit_code == 0);
        }
    }
    SECTION("NODES_FILE") {
        check_refused(assign(dir.write("dup", "a\nb\n# c\n\nb\na\n")),
                      "NODES_FILE line 5: node 'b' already listed on line 2");
        check_refused(assign(dir.write("dup2", "  a\r\na\t\n")),
                      "NODES_FILE line 2: node 'a' already listed on line 1");
        check_refused(assign(dir.write("empty", "")),
                      "NODES_FILE " + dir.file("empty") + " has no nodes");
        check_refused(assign(dir.write("comments", "# only\n \t\n  # comments\r\n")),
                      "NODES_FILE " + dir.file("comments") + " has no nodes");
        check_refused(assign(dir.write("blank", "a\nb c\n")),
                      "NODES_FILE line 2: node id 'b c' holds a blank: one node id per line");
        check_refused(assign(dir.write("comma", "a,b\n")),
                      "NODES_FILE line 1: node id 'a,b' holds a ','");
        check_refused(assign(dir.write("control", "a\n\x01x\n")),
                      "NODES_FILE line 2: node id '\\x01x' holds a control character");
        check_refused(assign(dir.write("long_id", std::string(1025, 'n') + "\n")),
                      "NODES_FILE line 1: node id 'nnnn");
        check_refused(assign(dir.write("long_line", "a\n" + std::string(2 << 20, ' ') + "\n")),
                      "NODES_FILE line 2: line longer than 1048576 bytes");
        check_refused(rebalance(map, dir.write("dup3", "a\nb\na\n")),
                      "NODES_FILE line 3: node 'a' already listed on line 1");
    }
    SECTION("MAP_FILE") {
        check_refused(rebalance(map_with(2, "part-1 a b c"), nodes4),
                      "MAP_FILE line 2: expected 'partition-<i> <node>...', not 'part-1'");
        check_refused(rebalance(map_with(2, "partition-01 a b c"), nodes4),
                      "MAP_FILE line 2: expected 'partition-<i> <node>...', not 'partition-01'");
        check_refused(rebalance(map_with(2, "partition-x a b c"), nodes4),
                      "MAP_FILE line 2: expected 'partition-<i> <node>...', not 'partition-x'");
        check_refused(rebalance(map_with(2, "a b c"), nodes4),
                      "MAP_FILE line 2: expected 'partition-<i> <node>...', not 'a'");
        check_refused(rebalance(map_with(2, "partition-16 a b c"), nodes4),
                      "MAP_FILE line 2: 'partition-16' is not below --partitions 16");
        check_refused(rebalance(map_with(2, "partition-99999999999999999999 a b c"), nodes4),
                      "MAP_FILE line 2: 'partition-99999999999999999999' is not below");
        check_refused(rebalance(map_with(9, "partition-3 " + partition3), nodes4),
                      "MAP_FILE line 9: partition-3 listed twice (first on line 4)");
        const std::string without5 = map_with(6, "# partition-5 was here");
        check_refused(
            rebalance(without5, nodes4),
            "MAP_FILE " + without5 + ": partition-5 is missing (1 of 16 partitions missing)");
        check_refused(rebalance(dir.write("empty_map", "# nothing\n"), nodes4),
                      "MAP_FILE " + dir.file("empty_map") + " has no partitions");
        check_refused(rebalance(map_with(4, "partition-3"), nodes4),
                      "MAP_FILE line 4: partition-3 lists no nodes");
        check_refused(rebalance(map_with(4, "partition-3 a b c d"), nodes4),
                      "MAP_FILE line 4: partition-3 lists 4 nodes, more than --rf 3");
        check_refused(rebalance(map_with(4, "partition-3 " + partition3 + " # note"), nodes4),
                      "MAP_FILE line 4: node id '#' starts with '#'");
        check_refused(rebalance(map_with(4, "partition-3 a,b c"), nodes4),
                      "MAP_FILE line 4: node id 'a,b' holds a ','");
        // Lists that do not fit rf: from_lists' invalid_map error, with the file name.
        const std::string short_list = map_with(4, "partition-3 " + third[1] + " " + third[2]);
        check_refused(rebalance(short_list, nodes4),
                      "MAP_FILE " + short_list +
                          ": ringplan: invalid_map: partition 3 lists 2 nodes; with rf 3 and 3 "
                          "nodes it needs 3");
        const std::string twice = map_with(4, "partition-3 a b a");
        check_refused(rebalance(twice, nodes4),
                      "MAP_FILE " + twice +
                          ": ringplan: invalid_map: partition 3 lists node 'a' "
                          "twice");
        check_refused(run("rebalance --partitions 16 --rf 2 " + quote(map) + " " + quote(nodes4)),
                      "MAP_FILE line 1: partition-0 lists 3 nodes, more than --rf 2");
        check_refused(run("rebalance --partitions 8 --rf 3 " + quote(map) + " " + quote(nodes4)),
                      "MAP_FILE line 9: 'partition-8' is not below --partitions 8");
        check_refused(rebalance(dir.write("long_map", std::string(3 << 20, 'p') + "\n"), nodes4),
                      "MAP_FILE line 1: line longer than 1048576 bytes");
    }
    SECTION("--failed and --returning") {
        check_refused(rebalance(map, nodes4, " --failed x"),
                      "--failed: node 'x' is not in MAP_FILE");
        check_refused(rebalance(map, nodes4, " --failed a --failed d"),
                      "--failed: node 'd' is not in MAP_FILE");
        check_refused(rebalance(map, nodes4, " --returning x"),
                      "--returning: node 'x' is not in MAP_FILE");
        check_refused(rebalance(map, nodes4, " --returning a,d"),
                      "--returning: node 'd' is not in MAP_FILE");
        check_refused(rebalance(map, dir.write("ab", "a\nb\n"), " --returning c"),
                      "--returning: node 'c' is not in NODES_FILE");
        check_refused(rebalance(map, nodes4, " --returning c --failed b,c"),
                      "node 'c' is both --failed and --returning");
    }
}

TEST_CASE("partitions route: a key line over 1 MiB fails the run, naming the line",
          "[partitions]") {
    const std::string mib(std::size_t{1} << 20, 'k');
    // Exactly 1 MiB is a key (also with CRLF); one byte more is refused, and the keys before it
    // are not printed.
    const ProgramResult ok = run("route --partitions 16", "a\n" + mib + "\r\nb\n");
    CHECK(ok.exit_code == 0);
    CHECK(lines_of(ok.out).size() == 3);
    const ProgramResult r = run("route --partitions 16", "a\n" + mib + "\n" + mib + "k\nb\n");
    check_refused(r, "key line 3: longer than 1048576 bytes (the limit is 1 MiB)");
}

TEST_CASE("partitions route: a long run of keys is held in a temporary file, not in memory",
          "[partitions]") {
    // 60 MB of keys in 50 MB of address space: held in memory, the output would not fit.
    std::string input;
    std::string expected;
    for (int i = 0; i < 80; ++i) {
        const std::string key = std::to_string(i) + std::string(750000, 'k');
        input += key + "\n";
        expected += key + "\tpartition-" +
                    std::to_string(ringplan::key_partition<ringplan::Xxh3>(key, 1000)) + "\n";
    }
    const ProgramResult r =
        run_program(program, "route --partitions 1000", input, "", "ulimit -v 50000;");
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.size() == expected.size());
    const bool same = r.out == expected;  // not CHECK(r.out == ...): Catch would print 60 MB
    CHECK(same);
}

TEST_CASE("partitions: maps too big to build are refused up front", "[partitions]") {
    TempDir dir;
    const std::string five = dir.write("five", "a\nb\nc\nd\ne\n");
    check_refused(run("assign --partitions 16777216 --rf 5 " + quote(five)),
                  "--partitions 16777216 with --rf 5 and 5 nodes makes 83886080 replicas; this "
                  "program handles at most 67108864");
    std::string many;
    for (int i = 0; i < 17; ++i) {
        many += "node-" + std::to_string(i) + "\n";
    }
    check_refused(run("assign --scheme clusterkit --partitions 16777216 --rf 1 " +
                      quote(dir.write("many", many))),
                  "--scheme clusterkit with --partitions 16777216 and 17 nodes hashes 285212672 "
                  "names; this program does at most 268435456");
}

TEST_CASE("partitions: a stdout that can not be written is an error", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    const std::string nodes4 = dir.write("nodes4", "a\nb\nc\nd\n");
    const std::string map =
        dir.write("map", run("assign --partitions 16 --rf 3 " + quote(nodes)).out);
    for (const std::string& args :
         {"assign --partitions 16 --rf 3 " + quote(nodes), std::string("route --partitions 16"),
          "rebalance --partitions 16 --rf 3 " + quote(map) + " " + quote(nodes4),
          std::string("--help")}) {
        INFO(args);
        const ProgramResult r = run_program(program, args, "k1\nk2\n", "/dev/full");
        CHECK(r.exit_code == 2);  // as every example program
        CHECK(r.err == "partitions: could not write the output\n");
    }
}

TEST_CASE("partitions: running out of memory is reported, not a crash", "[partitions]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a\nb\nc\n");
    // 2^24 partitions need far more than 200 MB of address space.
    const ProgramResult r =
        run_program(program, "assign --partitions 16777216 --rf 3 " + quote(nodes), "", "",
                    "ulimit -v 200000;");
    check_refused(r, "out of memory computing the map");
}
