// examples/route's logic (examples/route_lib.hpp): arguments, node files and routing. The
// program itself is tested end to end by ctest (tests/data/route).
#include "catch.hpp"

#include "../examples/route_lib.hpp"

#include <sstream>
#include <string>

namespace {

std::string run(route::Scheme scheme, std::size_t rf, const std::string& nodes,
                const std::string& keys) {
    route::Options o;
    o.scheme = scheme;
    o.rf = rf;
    std::istringstream n(nodes);
    std::istringstream k(keys);
    std::ostringstream out;
    route::run(o, n, k, out);
    return out.str();
}

std::string failure(route::Scheme scheme, const std::string& nodes) {
    try {
        run(scheme, 1, nodes, "k\n");
    } catch (const route::Failure& e) {
        return e.what();
    }
    return "no failure";
}

}  // namespace

TEST_CASE("route parses its arguments", "[route]") {
    const auto o = route::parse_args({"--scheme", "cassandra", "--rf", "3", "nodes.txt"});
    CHECK(o.scheme == route::Scheme::cassandra);
    CHECK(o.rf == 3);
    CHECK(o.nodes_file == "nodes.txt");
    CHECK_THROWS_AS(route::parse_args({"--scheme", "modulo", "f"}), route::Failure);
    CHECK_THROWS_AS(route::parse_args({"--scheme", "ketama", "--rf", "0", "f"}), route::Failure);
    CHECK_THROWS_AS(route::parse_args({"--scheme", "ketama"}), route::Failure);
    CHECK_THROWS_AS(route::parse_args({"f"}), route::Failure);
    CHECK_THROWS_AS(route::parse_args({"--scheme", "ketama", "f", "g"}), route::Failure);
    CHECK_THROWS_AS(route::parse_args({"--rf"}), route::Failure);
}

TEST_CASE("route routes with each scheme", "[route]") {
    // ketama: one server takes every key; default port and explicit :11211 are the same server.
    CHECK(run(route::Scheme::ketama, 1, "cache1\n", "a\nb\n") ==
          "a\tcache1:11211\nb\tcache1:11211\n");
    CHECK(run(route::Scheme::cassandra, 2, "# comment\nn1 -100\n\nn2 100\n", "key:0\n") ==
          "key:0\tn1,n2\n");  // token 8944296364800046971 wraps to n1
    CHECK(run(route::Scheme::standard, 5, "a 16\nb\n", "x\n").find("\t") == 1);
}

TEST_CASE("route reports bad node lines with their number", "[route]") {
    CHECK(failure(route::Scheme::ketama, "a\nb:0\n") == "line 2: bad port '0'");
    CHECK(failure(route::Scheme::ketama, "a 0\n") ==
          "line 1: bad weight '0' (a whole number >= 1)");
    CHECK(failure(route::Scheme::ketama, "a\n\na:11211 2\n") ==
          "line 3: server a:11211 already listed on line 1");
    CHECK(failure(route::Scheme::cassandra, "n1 1,x\n") ==
          "line 1: bad token 'x' (a signed 64-bit integer)");
    CHECK(failure(route::Scheme::cassandra, "n1 9223372036854775808\n") ==
          "line 1: bad token '9223372036854775808' (a signed 64-bit integer)");
    CHECK(failure(route::Scheme::cassandra, "n1 5\nn2 5\n")
              .rfind("line 2: ringplan: token_collision", 0) == 0);
    CHECK(failure(route::Scheme::standard, "a 1 2\n") == "line 1: expected 'name [vnodes]'");
    CHECK(failure(route::Scheme::standard, "") == "NODES_FILE has no nodes");
}
