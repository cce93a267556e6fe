// The built example programs as processes: write errors (stdout on /dev/full), memory
// exhaustion, files that are not files, CRLF input. The engines' logic is tested in-process by
// departure_test.cpp, route_test.cpp and ring_node_test.cpp.
#include "catch.hpp"

#include "run_program.hpp"

#include <chrono>
#include <string>

namespace {

using example_test::ProgramResult;
using example_test::run_program;
using example_test::TempDir;

const std::string data_dir = RINGPLAN_EXAMPLE_TEST_DATA_DIR;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("programs: a stdout that can not be written is an error", "[programs]") {
    SECTION("demo") {
        const ProgramResult r = run_program(RINGPLAN_DEMO_PROGRAM, "", "", "/dev/full");
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "demo: could not write the output"));
    }
    SECTION("departure") {
        const ProgramResult r = run_program(RINGPLAN_DEPARTURE_PROGRAM, "",
                                            "ADD a 1\nADD b 5\nKEY k 3\nLEAVE b\n", "/dev/full");
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "departure: could not write the output"));
    }
    SECTION("route") {
        const ProgramResult r = run_program(RINGPLAN_ROUTE_PROGRAM,
                                            "--scheme default " + data_dir + "/route/default.nodes",
                                            "a\nb\n", "/dev/full");
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "route: could not write the output"));
    }
#if defined(RINGPLAN_RING_NODE_PROGRAM)
    SECTION("ring_node") {
        const ProgramResult r = run_program(
            RINGPLAN_RING_NODE_PROGRAM, "",
            R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}})"
            "\n",
            "/dev/full");
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "ring_node: could not write the output"));
    }
#endif
}

TEST_CASE("programs: route reports running out of memory instead of aborting", "[programs]") {
    TempDir dir;
    // 4294967295 vnodes need tens of GB; the address space is capped at 2 GB so this fails
    // the same way on any machine.
    const std::string nodes =
        dir.write("nodes", "# one node, too big for memory\nbig 4294967295\n");
    const ProgramResult r = run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme default '" + nodes + "'",
                                        "k\n", "", "ulimit -v 2000000;");
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "route: out of memory building the default ring"));
    CHECK(contains(r.err, "line 2"));
}

TEST_CASE("programs: route says a NODES_FILE directory is a directory", "[programs]") {
    TempDir dir;
    const ProgramResult r =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme default '" + dir.path() + "'", "k\n");
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "is a directory"));
    CHECK_FALSE(contains(r.err, "has no nodes"));
}

TEST_CASE("programs: route drops the CR of CRLF key lines", "[programs]") {
    TempDir dir;
    const std::string nodes = dir.write("nodes", "a 16\r\nb 16\r\n");
    const ProgramResult crlf =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme default '" + nodes + "'", "k1\r\nk2\r\n");
    const ProgramResult lf =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme default '" + nodes + "'", "k1\nk2\n");
    CHECK(crlf.exit_code == 0);
    CHECK(crlf.out == lf.out);
    CHECK_FALSE(contains(crlf.out, "\r"));
}

#if defined(RINGPLAN_RING_NODE_PROGRAM)
namespace {

const std::string init_line =
    R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}})";

}  // namespace

TEST_CASE("programs: ring_node survives deep nesting and huge lines", "[programs]") {
    const std::string deep = R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":)" +
                             std::string(80000, '[') + std::string(80000, ']') + "}}";
    // 10 MB of '[' used to take 750 MB to refuse; 300 MB of address space is plenty now.
    const std::string wide(10 * 1024 * 1024, '[');
    const ProgramResult r =
        run_program(RINGPLAN_RING_NODE_PROGRAM, "", deep + "\n" + wide + "\n" + init_line + "\n",
                    "", "ulimit -v 300000;");
    CHECK(r.exit_code == 0);
    CHECK(r.err ==
          "ring_node: line 1: JSON nested deeper than 64 levels\n"
          "ring_node: line 2: line longer than 1048576 bytes (the limit is 1 MiB)\n");
    CHECK(contains(r.out, R"("type":"init_ok","in_reply_to":1,)"));
}

TEST_CASE("programs: ring_node echoes msg_ids beyond 2^64 exactly", "[programs]") {
    const ProgramResult r = run_program(
        RINGPLAN_RING_NODE_PROGRAM, "",
        init_line + "\r\n" +
            R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":18446744073709551616,"key":"k"}})"
            "\r\n");
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, R"("in_reply_to":18446744073709551616,)"));
}
#endif

TEST_CASE("programs: route skips indented comments and refuses keys libmemcached refuses",
          "[programs]") {
    TempDir dir;
    const std::string nodes =
        dir.write("nodes", "  # indented comment\n\t#\ncache1\n   \t\ncache2:11212\n");
    const std::string long_key(251, 'x');
    const ProgramResult r = run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme ketama '" + nodes + "'",
                                        "a\n" + long_key + "\n" + std::string(250, 'y') + "\nb\n");
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          "route: key line 2: key of 251 bytes is longer than the 250 bytes libmemcached accepts "
          "(MEMCACHED_KEY_TOO_BIG)\n");
    CHECK(r.out.rfind("a\tcache", 0) == 0);
    CHECK(contains(r.out, "\n" + std::string(250, 'y') + "\tcache"));
    CHECK(contains(r.out, "\nb\tcache"));
    CHECK_FALSE(contains(r.out, long_key));
}

TEST_CASE("programs: route builds a 5,000-node ring in one go", "[programs]") {
    // Generous guard: adding the nodes one at a time took about a minute.
    TempDir dir;
    std::string nodes;
    for (int i = 0; i < 5000; ++i) {
        nodes += "node-" + std::to_string(i) + "\n";
    }
    const std::string file = dir.write("nodes", nodes);
    const auto start = std::chrono::steady_clock::now();
    const ProgramResult r =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme default '" + file + "'", "k\n");
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    CHECK(r.exit_code == 0);
    CHECK(seconds.count() < 20.0);
}

TEST_CASE("programs: route --scheme nts end to end", "[programs][nts]") {
    const std::string nodes = "'" + data_dir + "/route/nts.nodes'";
    const std::string keys = example_test::slurp(data_dir + "/route/keys.in");
    // The driver-order file agrees with the DataStax Python driver 3.25 (checked when it was
    // written; tests/compat/nts_live.py checks route against the driver on random clusters).
    const ProgramResult driver =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme nts --rf east:3,west:2 " + nodes, keys);
    CHECK(driver.exit_code == 0);
    CHECK(driver.err.empty());
    CHECK(driver.out == example_test::slurp(data_dir + "/route/nts_driver.out"));
    const ProgramResult server = run_program(
        RINGPLAN_ROUTE_PROGRAM, "--scheme nts --order server --rf east:3,west:2 " + nodes, keys);
    CHECK(server.exit_code == 0);
    CHECK(server.out == example_test::slurp(data_dir + "/route/nts_server.out"));

    const ProgramResult full =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme nts --rf east:3 " + nodes, keys, "/dev/full");
    CHECK(full.exit_code == 2);
    CHECK(full.err == "route: could not write the output\n");

    TempDir dir;
    const std::string bad = dir.write("bad.nodes", "a1 dc1 r1 5\r\na2 dc1 6\n");
    const ProgramResult line =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme nts --rf dc1:1 '" + bad + "'", "k\n");
    CHECK(line.exit_code == 1);
    CHECK(line.out.empty());
    CHECK(line.err ==
          "route: line 2: expected 'name datacenter rack token[,token...]' (rack - for none)\n");

    const ProgramResult args =
        run_program(RINGPLAN_ROUTE_PROGRAM, "--scheme nts --rf east:0 " + nodes, keys);
    CHECK(args.exit_code == 1);
    CHECK(contains(args.err, "route: --rf 'east:0' gives every datacenter rf 0\nusage: route "));
    CHECK(contains(args.err, "route --scheme nts --rf DC:N[,DC:N...] [--order driver|server]"));
}
