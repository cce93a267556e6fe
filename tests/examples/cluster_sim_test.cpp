// examples/cluster_sim as a process: ClusterKit's three scenarios (a join, a kill, the killed
// node back before and after its removal) through the membership state machine, flapping, GC
// pauses, graceful leaves and replans, with each detector model in ring and partition mode; a
// long steady run with jitter; determinism; and every refusal (exit status 1 naming the line or
// the option, 2 for a stdout that can not be written). The tests assert the lines that matter
// (event, node, time, epoch), not whole outputs.
#include "catch.hpp"

#include "run_program.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using example_test::ProgramResult;
using example_test::run_program;
using example_test::TempDir;

const std::string program = RINGPLAN_CLUSTER_SIM_PROGRAM;
const std::string data_dir = std::string(RINGPLAN_EXAMPLE_TEST_DATA_DIR) + "/cluster_sim/";

const char* const partition_mode = "--partitions 16 --rf 3";
const char* const ring_mode = "--vnodes 16 --rf 3";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// One output line: `<t> <event> <subject> key=value...`. The subject is the node for a
/// decision, the plan kind for a plan, what was refused for a refusal, and empty for the end
/// line (whose fields are the epoch and id=state).
struct Line {
    std::int64_t t = -1;
    std::string event;
    std::string subject;
    std::map<std::string, std::string> fields;
    std::string text;

    std::int64_t num(const std::string& key) const {
        const auto it = fields.find(key);
        REQUIRE(it != fields.end());
        return std::stoll(it->second);
    }
    std::string field(const std::string& key) const {
        const auto it = fields.find(key);
        return it == fields.end() ? "" : it->second;
    }
};

std::vector<Line> parse(const std::string& out) {
    std::vector<Line> lines;
    std::istringstream in(out);
    for (std::string text; std::getline(in, text);) {
        std::istringstream words(text);
        Line l;
        l.text = text;
        std::string t;
        words >> t >> l.event;
        l.t = std::stoll(t);
        std::string w;
        if (l.event != "end" && words >> w) {
            l.subject = w;
        }
        while (words >> w) {
            const std::size_t eq = w.find('=');
            if (eq != std::string::npos) {
                l.fields[w.substr(0, eq)] = w.substr(eq + 1);
            }
        }
        lines.push_back(l);
    }
    return lines;
}

/// `err` without the progress lines a run longer than 2 s writes (a slow machine, a Debug
/// build).
std::string without_progress(const std::string& err) {
    std::string out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("cluster_sim: simulated ", 0) != 0) {
            out += line + "\n";
        }
    }
    return out;
}

/// A run of the program that must succeed; its lines, checked for what every output holds:
/// times never go back, epochs never go back, a plan line follows a decision of the same time
/// and epoch, and the last line is the end line.
std::vector<Line> run_ok(const std::string& args, const std::string& scenario_file,
                         std::string* raw = nullptr) {
    const ProgramResult r = run_program(program, args + " '" + data_dir + scenario_file + "'", "");
    INFO(args << " " << scenario_file << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(without_progress(r.err).empty());
    const std::vector<Line> lines = parse(r.out);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.back().event == "end");
    std::int64_t epoch = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        INFO(lines[i].text);
        if (i > 0) {
            CHECK(lines[i].t >= lines[i - 1].t);
        }
        if (lines[i].fields.count("epoch") != 0) {
            CHECK(lines[i].num("epoch") >= epoch);
            epoch = lines[i].num("epoch");
        }
        if (lines[i].event == "plan") {
            REQUIRE(i > 0);
            CHECK(lines[i - 1].t == lines[i].t);
            CHECK(lines[i - 1].field("epoch") == lines[i].field("epoch"));
        }
    }
    if (raw != nullptr) {
        *raw = r.out;
    }
    return lines;
}

std::vector<Line> select(const std::vector<Line>& lines, const std::string& event,
                         const std::string& subject = "") {
    std::vector<Line> out;
    for (const Line& l : lines) {
        if (l.event == event && (subject.empty() || l.subject == subject)) {
            out.push_back(l);
        }
    }
    return out;
}

/// The line after the first line equal to `of` (a plan follows its change).
Line after(const std::vector<Line>& lines, const Line& of) {
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        if (lines[i].text == of.text) {
            return lines[i + 1];
        }
    }
    FAIL("no line after " << of.text);
    return {};
}

std::string state_at_end(const std::vector<Line>& lines, const std::string& node) {
    return lines.back().field(node);
}

/// A scenario given on stdin; the result as is.
ProgramResult run_stdin(const std::string& args, const std::string& scenario) {
    return run_program(program, args + " -", scenario);
}

}  // namespace

TEST_CASE("cluster_sim: ClusterKit 1: node-4 joins, streams its plan, then is up",
          "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        INFO(mode);
        const std::vector<Line> lines = run_ok(mode, "clusterkit_join.scn");
        const auto joins = select(lines, "join", "node-4");
        REQUIRE(joins.size() == 1);
        CHECK(joins[0].t == 10000);
        CHECK(joins[0].num("epoch") == 2);
        const Line plan = after(lines, joins[0]);
        CHECK(plan.event == "plan");
        CHECK(plan.subject == "join");
        CHECK(plan.num("moves") > 0);
        CHECK(plan.field("lost") == "0.0000");
        if (mode == partition_mode) {
            // A quarter of the 48 replicas, 12 full copies, all to node-4.
            CHECK(plan.num("copies") == 12);
            CHECK(plan.num("moves") == 12);
            CHECK(plan.field("moved") == "0.7500");
            CHECK(plan.num("catch_ups") == 0);
        }
        const auto ups = select(lines, "up", "node-4");
        REQUIRE(ups.size() == 1);
        CHECK(ups[0].t == 11000);  // --stream-ms 1000 after the join
        CHECK(ups[0].num("epoch") > 2);
        CHECK(select(lines, "suspect").empty());
        CHECK(select(lines, "down").empty());
        CHECK(select(lines, "refused").empty());
        CHECK(state_at_end(lines, "node-4") == "up");
        CHECK(lines.back().num("epoch") == ups[0].num("epoch"));
    }
}

TEST_CASE(
    "cluster_sim: ClusterKit 2: a killed node is suspected, down after 3 missed checks, "
    "removed after --remove-after-ms with a crash plan",
    "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        for (const std::int64_t tick : {100, 1000}) {
            INFO(mode << " --tick-ms " << tick);
            const std::vector<Line> lines =
                run_ok(std::string(mode) + " --detector fixed --remove-after-ms 60000 --tick-ms " +
                           std::to_string(tick),
                       "clusterkit_kill.scn");
            const std::int64_t last_heartbeat = 20000;
            const auto downs = select(lines, "down", "node-2");
            REQUIRE(downs.size() == 1);
            const std::int64_t down = downs[0].t;
            // 3 missed checks every 5 s: 15 s after its last heartbeat, at the next tick.
            CHECK(down >= last_heartbeat + 15000);
            CHECK(down <= last_heartbeat + 15000 + tick);
            CHECK(downs[0].num("epoch") == 2);
            CHECK(downs[0].field("owned") == "1.0000");  // rf 3 of 3 nodes: it holds everything
            const auto suspects = select(lines, "suspect", "node-2");
            REQUIRE(suspects.size() == 1);
            CHECK(suspects[0].t > last_heartbeat);
            CHECK(suspects[0].t < down);
            const auto removed = select(lines, "removed", "node-2");
            REQUIRE(removed.size() == 1);
            CHECK(removed[0].t >= down + 60000);
            CHECK(removed[0].t <= down + 60000 + tick);
            CHECK(removed[0].num("epoch") == 3);
            const Line plan = after(lines, removed[0]);
            CHECK(plan.event == "plan");
            CHECK(plan.subject == "crash");
            CHECK(plan.num("epoch") == 3);
            CHECK(plan.field("lost") == "0.0000");  // rf 3: two copies of everything survive
            CHECK(select(lines, "up").empty());
            CHECK(select(lines, "rejoin").empty());
            CHECK(select(lines, "plan").size() == 1);
            CHECK(state_at_end(lines, "node-2") == "removed");
            CHECK(state_at_end(lines, "node-1") == "up");
        }
    }
}

TEST_CASE("cluster_sim: a down node is not removed before --remove-after-ms", "[cluster_sim]") {
    // The library's default, 10 minutes, is beyond the scenario's end.
    const std::vector<Line> lines =
        run_ok(std::string(partition_mode) + " --detector fixed", "clusterkit_kill.scn");
    CHECK(select(lines, "down", "node-2").size() == 1);
    CHECK(select(lines, "removed").empty());
    CHECK(select(lines, "plan").empty());
    CHECK(state_at_end(lines, "node-2") == "down");
}

TEST_CASE(
    "cluster_sim: ClusterKit 3: the killed node restarts before its removal: a rejoin "
    "with a hint return, never a second member",
    "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        INFO(mode);
        const std::vector<Line> lines =
            run_ok(std::string(mode) + " --detector fixed --remove-after-ms 60000",
                   "clusterkit_restart_before.scn");
        const auto downs = select(lines, "down", "node-2");
        REQUIRE(downs.size() == 1);
        const auto rejoins = select(lines, "rejoin", "node-2");
        REQUIRE(rejoins.size() == 1);
        CHECK(rejoins[0].t == 50000);
        CHECK(rejoins[0].num("away_ms") == 50000 - 20000);  // since its last heartbeat
        CHECK(rejoins[0].num("epoch") == downs[0].num("epoch") + 1);
        CHECK(rejoins[0].field("owned") == "1.0000");
        const Line plan = after(lines, rejoins[0]);
        CHECK(plan.event == "plan");
        CHECK(plan.subject == "hint_return");
        CHECK(plan.field("lost") == "0.0000");
        if (mode == partition_mode) {
            // It kept its data: its 16 partitions catch up, nothing is copied in full.
            CHECK(plan.num("catch_ups") == 16);
            CHECK(plan.num("copies") == 0);
        }
        CHECK(select(lines, "join").empty());
        CHECK(select(lines, "removed").empty());
        CHECK(select(lines, "refused").empty());
        CHECK(state_at_end(lines, "node-2") == "up");
    }
}

TEST_CASE(
    "cluster_sim: ClusterKit 3: the killed node restarts after its removal: a new join "
    "with a join plan",
    "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        INFO(mode);
        const std::vector<Line> lines =
            run_ok(std::string(mode) + " --detector fixed --remove-after-ms 60000",
                   "clusterkit_restart_after.scn");
        const auto removed = select(lines, "removed", "node-2");
        REQUIRE(removed.size() == 1);
        CHECK(removed[0].t < 150000);
        const auto joins = select(lines, "join", "node-2");
        REQUIRE(joins.size() == 1);
        CHECK(joins[0].t == 150000);
        CHECK(joins[0].num("epoch") == removed[0].num("epoch") + 1);
        const Line plan = after(lines, joins[0]);
        CHECK(plan.event == "plan");
        CHECK(plan.subject == "join");
        CHECK(plan.num("moves") > 0);
        if (mode == partition_mode) {
            CHECK(plan.num("copies") == 16);  // back empty: a full copy of its share
            CHECK(plan.num("catch_ups") == 0);
        }
        const auto ups = select(lines, "up", "node-2");
        REQUIRE(ups.size() == 1);
        CHECK(ups[0].t == 151000);
        CHECK(select(lines, "rejoin").empty());
        CHECK(state_at_end(lines, "node-2") == "up");
    }
}

TEST_CASE("cluster_sim: flapping inside --remove-after-ms: downs and rejoins, nothing removed",
          "[cluster_sim]") {
    for (const char* detector : {"akka", "cassandra", "fixed"}) {
        for (const char* mode : {partition_mode, ring_mode}) {
            INFO(detector << " " << mode);
            const std::vector<Line> lines =
                run_ok(std::string(mode) + " --detector " + detector, "flapping.scn");
            const auto downs = select(lines, "down", "node-2");
            const auto rejoins = select(lines, "rejoin", "node-2");
            REQUIRE(downs.size() == 3);
            REQUIRE(rejoins.size() == 3);
            const std::int64_t restarts[] = {40000, 90000, 140000};
            const std::int64_t crashes[] = {10500, 60500, 110500};
            for (std::size_t k = 0; k < 3; ++k) {
                CHECK(downs[k].t > crashes[k]);
                CHECK(downs[k].t < restarts[k]);
                CHECK(rejoins[k].t == restarts[k]);
                CHECK(rejoins[k].num("away_ms") == restarts[k] - (crashes[k] - 500));
                CHECK(rejoins[k].num("epoch") > downs[k].num("epoch"));
                CHECK(after(lines, rejoins[k]).subject == "hint_return");
            }
            CHECK(select(lines, "removed").empty());
            CHECK(select(lines, "plan", "crash").empty());
            CHECK(select(lines, "join").empty());
            CHECK(select(lines, "down").size() == 3);  // nobody else
            CHECK(state_at_end(lines, "node-2") == "up");
        }
    }
}

TEST_CASE("cluster_sim: a short GC pause goes unnoticed, a long one is a down and a rejoin",
          "[cluster_sim]") {
    for (const char* detector : {"akka", "cassandra", "fixed"}) {
        for (const char* mode : {partition_mode, ring_mode}) {
            INFO(detector << " " << mode);
            const std::vector<Line> lines =
                run_ok(std::string(mode) + " --detector " + detector, "gc_pause.scn");
            for (const Line& l : lines) {
                INFO(l.text);
                CHECK_FALSE((l.t >= 20500 && l.t < 100500 && l.event != "end"));
            }
            const auto suspects = select(lines, "suspect", "node-3");
            const auto downs = select(lines, "down", "node-3");
            const auto rejoins = select(lines, "rejoin", "node-3");
            REQUIRE(suspects.size() == 1);
            REQUIRE(downs.size() == 1);
            REQUIRE(rejoins.size() == 1);
            CHECK(suspects[0].t > 100500);
            CHECK(suspects[0].t <= downs[0].t);
            CHECK(downs[0].t < 160500);
            // It resumes at 160500 with a heartbeat; its last one was at 100000.
            CHECK(rejoins[0].t == 160500);
            CHECK(rejoins[0].num("away_ms") == 60500);
            CHECK(select(lines, "removed").empty());
            CHECK(state_at_end(lines, "node-3") == "up");
        }
    }
}

TEST_CASE("cluster_sim: a graceful leave streams its plan, then the node has left",
          "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        for (const std::int64_t stream : {1000, 5000}) {
            INFO(mode << " --stream-ms " << stream);
            const std::vector<Line> lines =
                run_ok(std::string(mode) + " --stream-ms " + std::to_string(stream), "leave.scn");
            const auto leaving = select(lines, "leaving", "node-3");
            REQUIRE(leaving.size() == 1);
            CHECK(leaving[0].t == 10000);
            CHECK(leaving[0].num("epoch") == 2);
            const Line plan = after(lines, leaving[0]);
            CHECK(plan.event == "plan");
            CHECK(plan.subject == "leave");
            CHECK(plan.num("moves") > 0);
            CHECK(plan.field("lost") == "0.0000");
            const auto left = select(lines, "left", "node-3");
            REQUIRE(left.size() == 1);
            CHECK(left[0].t == 10000 + stream);
            CHECK(left[0].num("epoch") > 2);
            // Gone: its silence afterwards is no suspicion.
            CHECK(select(lines, "suspect").empty());
            CHECK(select(lines, "down").empty());
            CHECK(select(lines, "refused").empty());
            CHECK(state_at_end(lines, "node-3") == "left");
        }
    }
}

TEST_CASE("cluster_sim: a join whose plan is re-issued completes with the new epoch",
          "[cluster_sim]") {
    for (const char* mode : {partition_mode, ring_mode}) {
        INFO(mode);
        const std::vector<Line> lines =
            run_ok(std::string(mode) + " --detector fixed --stream-ms 30000", "replan.scn");
        const auto joins = select(lines, "join", "node-4");
        REQUIRE(joins.size() == 1);
        const auto downs = select(lines, "down", "node-1");
        REQUIRE(downs.size() == 1);
        CHECK(downs[0].t > 10500);
        CHECK(downs[0].t < 40000);
        const auto replans = select(lines, "replan", "node-4");
        REQUIRE_FALSE(replans.empty());
        CHECK(replans.back().num("epoch") > joins[0].num("epoch"));
        CHECK(replans.back().t < 40000);
        // The done goes with the newest plan's epoch: accepted.
        CHECK(select(lines, "refused").empty());
        const auto ups = select(lines, "up", "node-4");
        REQUIRE(ups.size() == 1);
        CHECK(ups[0].t == 40000);
        CHECK(ups[0].num("epoch") > replans.back().num("epoch"));
        CHECK(state_at_end(lines, "node-4") == "up");
    }
}

TEST_CASE("cluster_sim: refusals are printed and the run goes on", "[cluster_sim]") {
    const ProgramResult r = run_stdin("--detector fixed", R"(nodes node-1 node-2 node-3
at 1000 join node-1
at 2000 join node-4
at 2500 join node-5
at 3000 crash node-2
at 3500 crash node-2
at 4000 pause node-2 100
at 4500 leave node-2
at 5000 restart node-1
at 6000 join node-5
at 60000 end
)");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const std::vector<Line> lines = parse(r.out);
    const auto refused = select(lines, "refused");
    REQUIRE(refused.size() == 6);
    // A member asks to join: the machine's duplicate_node.
    CHECK(refused[0].t == 1000);
    CHECK(refused[0].subject == "join");
    CHECK(contains(refused[0].text, "refused join node-1: ringplan: duplicate_node: "));
    // One join streams at a time: node-5 waits for node-4's.
    CHECK(contains(refused[1].text, "2500 refused join node-5: ringplan: invalid_transition: "));
    // What the process can not do.
    CHECK(refused[2].text == "3500 refused crash node-2: the process is not running");
    CHECK(refused[3].text == "4000 refused pause node-2: the process is not running");
    CHECK(refused[4].text == "4500 refused leave node-2: the process is not running");
    CHECK(refused[5].text ==
          "5000 refused restart node-1: the process is running (crash it first)");
    // The run went on: node-4 joined, then node-5 (once node-4's stream was done).
    CHECK(select(lines, "up", "node-4").size() == 1);
    CHECK(select(lines, "join", "node-5").size() == 1);
    CHECK(select(lines, "up", "node-5").size() == 1);
    CHECK(select(lines, "down", "node-2").size() == 1);
}

TEST_CASE("cluster_sim: steady heartbeats with jitter over hours: no suspicion at all",
          "[cluster_sim]") {
    for (const char* detector : {"akka", "cassandra", "fixed"}) {
        INFO(detector);
        const std::vector<Line> lines = run_ok(
            std::string("--detector ") + detector + " --jitter-ms 400 --seed 7", "steady.scn");
        // Nothing but the end line, every node up.
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].t == 21600000);
        CHECK(lines[0].num("epoch") == 1);
        CHECK(lines[0].fields.size() == 21);
        for (const auto& [key, value] : lines[0].fields) {
            if (key != "epoch") {
                CHECK(value == "up");
            }
        }
    }
}

TEST_CASE(
    "cluster_sim: deterministic: the same seed gives the same output, whatever the order "
    "of the nodes line",
    "[cluster_sim]") {
    const std::string args = "--detector akka --jitter-ms 300 --seed 42";
    std::string first;
    std::string again;
    run_ok(args, "flapping.scn", &first);
    run_ok(args, "flapping.scn", &again);
    CHECK(first == again);

    TempDir dir;
    const std::string permuted = dir.write(
        "flapping_permuted.scn",
        "nodes node-4 node-2 node-1 node-3\nat 10500 crash node-2\nat 40000 restart node-2\n"
        "at 60500 crash node-2\nat 90000 restart node-2\nat 110500 crash node-2\n"
        "at 140000 restart node-2\nat 300000 end\n");
    const ProgramResult r = run_program(program, args + " '" + permuted + "'", "");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == first);

    // The seed matters: the jitter moves node-2's last heartbeat before each crash.
    std::string other;
    run_ok("--detector akka --jitter-ms 300 --seed 43", "flapping.scn", &other);
    CHECK(other != first);
}

TEST_CASE("cluster_sim: ticks skipped by next_tick() change nothing", "[cluster_sim]") {
    for (const char* detector : {"akka", "cassandra", "fixed"}) {
        for (const char* scenario : {"gc_pause.scn", "clusterkit_restart_after.scn"}) {
            INFO(detector << " " << scenario);
            const std::string args = std::string("--detector ") + detector +
                                     " --remove-after-ms 60000 --jitter-ms 200 " + ring_mode;
            std::string skipping;
            std::string every;
            run_ok(args, scenario, &skipping);
            run_ok(args + " --every-tick", scenario, &every);
            CHECK(skipping == every);
        }
    }
}

TEST_CASE("cluster_sim: blank lines, comments and CRLF line ends are fine; '-' reads stdin",
          "[cluster_sim]") {
    const ProgramResult r =
        run_stdin("--detector fixed",
                  "# a scenario\r\n\r\n   \t\r\nnodes a b c   # three\r\n# crash one\r\n"
                  "at 5000 crash b\r\nat 60000 end # done\r\n");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const std::vector<Line> lines = parse(r.out);
    CHECK(select(lines, "down", "b").size() == 1);
    CHECK(lines.back().text == "60000 end epoch=2 a=up b=down c=up");
}

TEST_CASE(
    "cluster_sim: bad scenario lines: exit status 1, the file and line named, nothing on "
    "stdout",
    "[cluster_sim]") {
    struct Bad {
        std::string scenario;
        int line;
        const char* message;
    };
    const std::string long_id(257, 'x');
    const std::string many_ids = [] {
        std::string s = "nodes";
        for (int i = 0; i <= 10000; ++i) {
            s += " n" + std::to_string(i);
        }
        return s + "\nat 10 end\n";
    }();
    const std::vector<Bad> cases = {
        {"nodes a b\nat 5 frob a\nat 10 end\n", 2, "unknown verb 'frob'"},
        {"nodes a b\nwhen 5 crash a\nat 10 end\n", 2, "unknown verb 'when'"},
        {"nodes a b\nat 5 crash\nat 10 end\n", 2, "'crash' takes one node id"},
        {"nodes a b\nat 5 restart a b\nat 10 end\n", 2, "'restart' takes one node id"},
        {"nodes a b\nat 5 join\nat 10 end\n", 2, "'join' takes one node id"},
        {"nodes a b\nat 5 leave\nat 10 end\n", 2, "'leave' takes one node id"},
        {"nodes a b\nat 5 pause a\nat 10 end\n", 2, "'pause' takes a node id and a length"},
        {"nodes a b\nat 10 end now\n", 2, "'end' takes nothing more"},
        {"nodes a b\nat 5\nat 10 end\n", 2, "expected 'at <t> <verb> ...'"},
        {"nodes\nat 10 end\n", 1, "'nodes' needs at least one node id"},
        {"nodes a b\nat five crash a\nat 10 end\n", 2, "time 'five' is not a whole number"},
        {"nodes a b\nat 1.5 crash a\nat 10 end\n", 2, "time '1.5' is not a whole number"},
        {"nodes a b\nat -5 crash a\nat 10 end\n", 2, "time '-5' is negative"},
        {"nodes a b\nat 2592000001 end\n", 2, "beyond the limit"},
        {"nodes a b\nat 99999999999999999999999 end\n", 2, "is not a whole number"},
        {"nodes a b\nat 5 pause a x\nat 10 end\n", 2, "pause length 'x' is not a whole number"},
        {"nodes a b\nat 5 pause a 0\nat 10 end\n", 2, "pause length 0"},
        {"nodes a b\nat 10 crash a\n# gap\nat 5 restart a\nat 20 end\n", 4,
         "time 5 is before the time of line 2 (10)"},
        {"nodes a b\nat 5 crash z\nat 10 end\n", 2, "unknown node 'z'"},
        {"nodes a b\nat 5 restart z\nat 10 end\n", 2, "unknown node 'z'"},
        {"nodes a b\nat 5 pause z 100\nat 10 end\n", 2, "unknown node 'z'"},
        {"nodes a b\nat 5 leave z\nat 10 end\n", 2, "unknown node 'z'"},
        {"nodes a b\nat 5 crash c\nat 6 join c\nat 10 end\n", 2, "unknown node 'c'"},
        {"nodes a b a\nat 10 end\n", 1, "node 'a' is listed twice"},
        {"# first\nat 5 crash a\nnodes a\nat 10 end\n", 2, "'nodes <id> ...' must come first"},
        {"nodes a\nnodes b\nat 10 end\n", 2, "a second 'nodes' line (the first is line 1)"},
        {"nodes a\nat 10 end\nat 11 crash a\n", 3, "a line after 'at 10 end' (line 2)"},
        {"nodes a\nat 10 end\n\nat 10 end\n", 4, "a line after 'at 10 end' (line 2)"},
        {"nodes a\nat 5 crash a\n", 2, "no 'at <t> end' line"},
        {"", 1, "no 'nodes <id> ...' line"},
        {"# only a comment\n", 1, "no 'nodes <id> ...' line"},
        {"nodes a " + long_id + "\nat 10 end\n", 1, "is longer than 256 bytes"},
        {"nodes a b\x01\nat 10 end\n", 1, "holds a control character"},
        {many_ids, 1, "more than 10000 node ids"},
    };
    for (const Bad& c : cases) {
        INFO(c.scenario);
        const ProgramResult r = run_stdin("", c.scenario);
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(r.err.rfind("cluster_sim: <stdin>:" + std::to_string(c.line) + ": ", 0) == 0);
        CHECK(contains(r.err, c.message));
    }

    // A file is named by its path.
    TempDir dir;
    const std::string path = dir.write("bad.scn", "nodes a b\n\nat 5 crash q\nat 10 end\n");
    const ProgramResult r = run_program(program, "'" + path + "'", "");
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "cluster_sim: " + path +
                       ":3: unknown node 'q' (not on the nodes line, nor "
                       "joined on an earlier line)\n");
}

TEST_CASE("cluster_sim: bad options: exit status 1 naming the option, nothing on stdout",
          "[cluster_sim]") {
    const std::string scenario = "'" + data_dir + "leave.scn'";
    struct Bad {
        std::string args;
        const char* message;
    };
    const std::vector<Bad> cases = {
        {"--detector bogus " + scenario, "unknown detector 'bogus'"},
        {"--threshold 0 " + scenario, "--threshold"},
        {"--threshold -1 " + scenario, "--threshold"},
        {"--threshold abc " + scenario, "--threshold"},
        {"--threshold nan " + scenario, "--threshold"},
        {"--threshold inf " + scenario, "--threshold"},
        {"--threshold 1e3 " + scenario, "--threshold"},
        {"--threshold 1000.5 " + scenario, "--threshold"},
        {"--detector fixed --threshold 2.5 " + scenario, "--threshold"},
        {"--detector fixed --threshold 0 " + scenario, "--threshold"},
        {"--threshold=3 --detector cassandra --threshold 4 " + scenario, "--threshold given twice"},
        {"--detector fixed --check-interval-ms 0 " + scenario, "--check-interval-ms"},
        {"--check-interval-ms 1000 " + scenario, "--check-interval-ms"},
        {"--remove-after-ms x " + scenario, "--remove-after-ms"},
        {"--remove-after-ms 2592000001 " + scenario, "--remove-after-ms"},
        {"--rf 0 " + scenario, "--rf"},
        {"--rf 65 " + scenario, "--rf"},
        {"--vnodes 0 " + scenario, "--vnodes"},
        {"--vnodes 4097 " + scenario, "--vnodes"},
        {"--partitions 0 " + scenario, "--partitions"},
        {"--partitions 65537 " + scenario, "--partitions"},
        {"--vnodes 8 --partitions 16 " + scenario, "--vnodes"},
        {"--heartbeat-ms 0 " + scenario, "--heartbeat-ms"},
        {"--jitter-ms 501 " + scenario, "--jitter-ms"},
        {"--heartbeat-ms 100 --jitter-ms 51 " + scenario, "--jitter-ms"},
        {"--seed -1 " + scenario, "--seed"},
        {"--seed 18446744073709551616 " + scenario, "--seed"},
        {"--tick-ms 0 " + scenario, "--tick-ms"},
        {"--stream-ms abc " + scenario, "--stream-ms"},
        {"--every-tick=1 " + scenario, "--every-tick"},
        {"--frob " + scenario, "unknown option '--frob'"},
        {scenario + " --rf", "--rf needs a value"},
        {"", "SCENARIO is required"},
        {scenario + " " + scenario, "unexpected argument"},
    };
    for (const Bad& c : cases) {
        INFO(c.args);
        const ProgramResult r = run_program(program, c.args, "");
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(contains(r.err, c.message));
        CHECK(contains(r.err, "(cluster_sim --help shows the usage)"));
    }
}

TEST_CASE("cluster_sim: a scenario file that is missing or a directory", "[cluster_sim]") {
    TempDir dir;
    ProgramResult r = run_program(program, "'" + dir.file("nope.scn") + "'", "");
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "can not open SCENARIO"));
    r = run_program(program, "'" + dir.path() + "'", "");
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "is a directory"));
}

TEST_CASE("cluster_sim: runs too big to simulate are refused up front", "[cluster_sim]") {
    SECTION("too many heartbeats") {
        const ProgramResult r =
            run_stdin("--heartbeat-ms 1", "nodes a b c d e f g h i j\nat 2592000000 end\n");
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "heartbeats; this program simulates at most"));
        CHECK(contains(r.err, "--heartbeat-ms"));
    }
    SECTION("too many ticks with --every-tick") {
        const ProgramResult r = run_stdin("--every-tick --tick-ms 1 --heartbeat-ms 8388608",
                                          "nodes a b c d e f g h i j\nat 2592000000 end\n");
        CHECK(r.exit_code == 1);
        CHECK(contains(r.err, "--tick-ms"));
    }
    SECTION("a ring too big to plan over") {
        std::string nodes = "nodes";
        for (int i = 0; i < 300; ++i) {
            nodes += " n" + std::to_string(i);
        }
        const ProgramResult r = run_stdin("--vnodes 4096", nodes + "\nat 10 end\n");
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "--vnodes 4096 with 300 nodes"));
    }
}

TEST_CASE("cluster_sim: a stdout that can not be written is exit status 2", "[cluster_sim]") {
    const ProgramResult r =
        run_program(program, "'" + data_dir + "clusterkit_join.scn'", "", "/dev/full");
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("cluster_sim: could not write the output", 0) == 0);
    const ProgramResult help = run_program(program, "--help", "", "/dev/full");
    CHECK(help.exit_code == 2);
}

TEST_CASE("cluster_sim: --help", "[cluster_sim]") {
    const ProgramResult r = run_program(program, "--help", "");
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("usage: cluster_sim [options] SCENARIO", 0) == 0);
    for (const char* option :
         {"--detector", "--threshold", "--check-interval-ms", "--remove-after-ms", "--rf",
          "--vnodes", "--partitions", "--heartbeat-ms", "--jitter-ms", "--seed", "--tick-ms",
          "--stream-ms", "--every-tick"}) {
        CHECK(contains(r.out, option));
    }
}

TEST_CASE("cluster_sim: a network-topology rule places the nodes and plans by it",
          "[cluster_sim][topology]") {
    const std::string placed = R"(rule network_topology dc1=2 dc2=2
place a dc1 r1
place b dc1 r2
place c dc1 r3
place d dc2 r1
place e dc2 r2
place f dc2 r3
nodes a b c d e
)";
    const ProgramResult r =
        run_stdin("--detector fixed --remove-after-ms 20000 --vnodes 8", placed + R"(at 1000 join f
at 5000 join g
at 10000 leave e
at 20000 crash d
at 90000 end
)");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::vector<Line> lines = parse(r.out);
    for (const Line& plan : select(lines, "plan")) {
        CHECK(plan.fields.count("under") == 1);  // every plan line says it under a rule
    }
    // f joins dc2; g has no place, which the rule needs.
    const auto join = select(lines, "join", "f");
    REQUIRE(join.size() == 1);
    CHECK(after(lines, join[0]).field("under") == "0.0000");
    const auto refused = select(lines, "refused", "join");
    REQUIRE(refused.size() == 1);
    CHECK(contains(refused[0].text,
                   "5000 refused join g: ringplan: invalid_topology: node 'g' "
                   "has no location, and the network_topology rule needs one"));
    // e leaves: d and f keep dc2's 2 replicas. d's removal leaves dc2 one node for an rf of 2:
    // everything is under-replicated, though 4 nodes remain for a total rf of 4.
    const auto leaving = select(lines, "leaving", "e");
    REQUIRE(leaving.size() == 1);
    CHECK(after(lines, leaving[0]).field("under") == "0.0000");
    CHECK(leaving[0].field("owned") != "1.0000");  // dc2 had 3 nodes for 2 replicas
    const auto removed = select(lines, "removed", "d");
    REQUIRE(removed.size() == 1);
    const Line crash_plan = after(lines, removed[0]);
    CHECK(crash_plan.subject == "crash");
    CHECK(crash_plan.field("under") == "1.0000");
    CHECK(crash_plan.field("lost") == "0.0000");
    CHECK(removed[0].field("owned") == "1.0000");  // one of dc2's last two: every range

    // Without a rule the same run prints no under field.
    const ProgramResult plain = run_stdin("--detector fixed", "nodes a b c\nat 1000 end\n");
    REQUIRE(plain.exit_code == 0);
    CHECK_FALSE(contains(plain.out, "under="));
}

TEST_CASE("cluster_sim: bad rule and place lines: exit status 1 naming the line",
          "[cluster_sim][topology]") {
    const struct {
        const char* args;
        const char* scenario;
        const char* message;
    } cases[] = {
        {"", "rule network_topology dc1\nnodes a\nat 1 end\n",
         "<stdin>:1: expected <datacenter>=<rf>, got 'dc1'"},
        {"", "rule rack_aware 0\nnodes a\nat 1 end\n",
         "<stdin>:1: rf '0' is not a whole number from 1 to 64"},
        {"", "rule nearby 2\nnodes a\nat 1 end\n", "<stdin>:1: expected 'rule distinct_nodes"},
        {"", "rule rack_aware 2\nrule rack_aware 3\nnodes a\nat 1 end\n",
         "<stdin>:2: a second 'rule' line (the first is line 1)"},
        {"", "nodes a\nat 1 crash a\nplace a dc1 r1\nat 2 end\n",
         "<stdin>:3: 'place' must come before the 'at' lines"},
        {"", "place a dc1 r1\nplace a dc2 r1\nnodes a\nat 1 end\n",
         "<stdin>:2: node 'a' is placed twice"},
        {"", "rule network_topology dc1=0\nnodes a\nat 1 end\n",
         "<stdin>:1: ringplan: invalid_rf: a network-topology rule needs a datacenter"},
        {"--partitions 8", "rule network_topology dc1=2\nplace a dc1 r1\nnodes a\nat 1 end\n",
         "partition mode takes the distinct_nodes or rack_aware rule, got network_topology"},
        {"", "rule rack_aware 2\nnodes a\nat 1 end\n", "node 'a' has no location"},
    };
    for (const auto& c : cases) {
        INFO(c.scenario);
        const ProgramResult r = run_stdin(c.args, c.scenario);
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(contains(r.err, c.message));
    }
}
