// examples/route's logic (examples/route_lib.hpp): arguments, node files and routing. The
// program itself is tested end to end by ctest (tests/examples/data/route).
#include "catch.hpp"

#include "route_lib.hpp"

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::string run(route::Scheme scheme, std::size_t rf, const std::string& nodes,
                const std::string& keys) {
    route::Options o;
    o.scheme = scheme;
    o.rf = rf;
    std::istringstream n(nodes);
    std::istringstream k(keys);
    std::ostringstream out;
    std::ostringstream err;
    const int code = route::run(o, n, k, out, err);
    if (code != 0 || !err.str().empty()) {
        throw std::runtime_error("route::run returned " + std::to_string(code) + ": " + err.str());
    }
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

// route --scheme nts with `args` (the NODES_FILE name is added) over `nodes`.
std::string run_nts(const std::vector<std::string>& args, const std::string& nodes,
                    const std::string& keys) {
    std::vector<std::string> all = args;
    all.insert(all.begin(), {"--scheme", "nts"});
    all.push_back("nodes.txt");
    std::istringstream n(nodes);
    std::istringstream k(keys);
    std::ostringstream out;
    std::ostringstream err;
    const int code = route::run(route::parse_args(all), n, k, out, err);
    if (code != 0 || !err.str().empty()) {
        throw std::runtime_error("route::run returned " + std::to_string(code) + ": " + err.str());
    }
    return out.str();
}

std::string args_failure(const std::vector<std::string>& args) {
    try {
        route::parse_args(args);
    } catch (const route::Failure& e) {
        return e.what();
    }
    return "no failure";
}

std::string nts_failure(const std::string& nodes) {
    try {
        run_nts({"--rf", "dc1:2"}, nodes, "k\n");
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
    CHECK(failure(route::Scheme::cassandra, "n1 5\nn2 5\n") ==
          "line 2: token 5 is already held by node n1 (line 1)");
    CHECK(failure(route::Scheme::cassandra, "n1 5,7\nn2 6\nn3 -1,7\n") ==
          "line 3: token 7 is already held by node n1 (line 1)");
    CHECK(failure(route::Scheme::cassandra, "n1 5,6,5\n") == "line 1: token 5 is listed twice");
    CHECK(failure(route::Scheme::cassandra, "n1 5\nn2 6\nn1 7\n") ==
          "line 3: node n1 already listed on line 1");
    CHECK(failure(route::Scheme::standard, "a\nb\n# c\nb 3\na\n") ==
          "line 4: node b already listed on line 2");
    CHECK(failure(route::Scheme::standard, "a 4294967295\nb 1\n") ==
          "line 2: too many vnodes: 4294967296 in all, a ring holds at most 4294967295");
    CHECK(failure(route::Scheme::standard, "a 1 2\n") == "line 1: expected 'name [vnodes]'");
    CHECK(failure(route::Scheme::standard, "") == "NODES_FILE has no nodes");
}

TEST_CASE("route: comments may be indented, blank lines may hold blanks, CRLF is fine", "[route]") {
    const std::string plain = run(route::Scheme::standard, 2, "a 16\nb 16\n", "k1\nk2\n");
    CHECK(run(route::Scheme::standard, 2, "  # comment\n\t# more\n \t \r\na 16\r\n\nb 16\r\n",
              "k1\r\nk2\r\n") == plain);
    CHECK(run(route::Scheme::ketama, 1, "  # comment\r\ncache1\r\n", "k\r\n") ==
          "k\tcache1:11211\n");
    CHECK(run(route::Scheme::cassandra, 1, "\t#x\nn1 -100\r\n", "k\r\n") == "k\tn1\n");
}

TEST_CASE("route: ketama refuses keys longer than libmemcached does, one by one", "[route]") {
    route::Options o;
    o.scheme = route::Scheme::ketama;
    std::istringstream nodes("cache1\n");
    std::istringstream keys("a\n" + std::string(251, 'x') + "\r\n" + std::string(250, 'y') +
                            "\r\n\n" + std::string(1000, 'z') + "\nb\n");
    std::ostringstream out;
    std::ostringstream err;
    CHECK(route::run(o, nodes, keys, out, err) == 1);
    CHECK(err.str() ==
          "route: key line 2: key of 251 bytes is longer than the 250 bytes libmemcached accepts "
          "(MEMCACHED_KEY_TOO_BIG)\n"
          "route: key line 5: key of 1000 bytes is longer than the 250 bytes libmemcached "
          "accepts (MEMCACHED_KEY_TOO_BIG)\n");
    CHECK(out.str() == "a\tcache1:11211\n" + std::string(250, 'y') +
                           "\tcache1:11211\n\tcache1:11211\nb\tcache1:11211\n");
    // Other schemes have no key limit.
    CHECK(run(route::Scheme::standard, 1, "a\n", std::string(1000, 'z') + "\n").size() == 1003);
}

namespace {

// A ring that counts how it is built.
struct CountingRing : ringplan::Ring<> {
    static inline int bulk_with_tokens = 0;
    static inline int bulk = 0;
    template <class It>
    void add_nodes_with_tokens(It first, It last) {
        ++bulk_with_tokens;
        ringplan::Ring<>::add_nodes_with_tokens(first, last);
    }
    void add_nodes(const std::vector<std::string>& ids, std::uint32_t vnodes) {
        ++bulk;
        ringplan::Ring<>::add_nodes(ids, vnodes);
    }
};

// Places vnode 0 of every node on token 0 and the others apart: derived tokens that collide.
struct CollidingHash {
    static constexpr const char* name = "colliding";
    static ringplan::Token hash(const void* data, std::size_t size) noexcept {
        return ringplan::Xxh3::hash(data, size);
    }
    static ringplan::Token vnode_token(const void* id, std::size_t size,
                                       std::uint32_t index) noexcept {
        return index == 0 ? 0 : ringplan::Xxh3::hash(id, size) + index;
    }
};

struct CountingCollidingRing : ringplan::Ring<CollidingHash> {
    static inline int bulk = 0;
    template <class It>
    void add_nodes_with_tokens(It, It) {
        FAIL("derived tokens collide: add_nodes must be used");
    }
    void add_nodes(const std::vector<std::string>& ids, std::uint32_t vnodes) {
        ++bulk;
        ringplan::Ring<CollidingHash>::add_nodes(ids, vnodes);
    }
};

}  // namespace

TEST_CASE("route: the default ring is built in one bulk call", "[route]") {
    std::vector<std::string> names;
    std::vector<std::uint32_t> counts;
    ringplan::Ring<> expected;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        names.push_back("node-" + std::to_string(i));
        counts.push_back(1 + i % 7);
    }
    for (std::uint32_t c = 1; c <= 7; ++c) {
        std::vector<std::string> group;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (counts[i] == c) {
                group.push_back(names[i]);
            }
        }
        expected.add_nodes(group, c);
    }
    CountingRing::bulk_with_tokens = 0;
    CountingRing::bulk = 0;
    const CountingRing ring = route::build_default<CountingRing>(names, counts);
    CHECK(CountingRing::bulk_with_tokens == 1);
    CHECK(CountingRing::bulk == 0);
    CHECK(ring.vnode_count() == expected.vnode_count());
    for (int k = 0; k < 2000; ++k) {
        const std::string key = "key-" + std::to_string(k);
        REQUIRE(ring.replicas(key, ringplan::Rf{3}) == expected.replicas(key, ringplan::Rf{3}));
    }

    // Derived tokens that collide: one add_nodes per distinct vnode count.
    CountingCollidingRing::bulk = 0;
    const auto colliding = route::build_default<CountingCollidingRing>(
        {"a", "b", "c", "d"},
        {std::uint32_t{3}, std::uint32_t{5}, std::uint32_t{3}, std::uint32_t{1}});
    CHECK(CountingCollidingRing::bulk == 3);
    CHECK(colliding.vnode_count() == 12);
}

// "key:0" has token 8944296364800046971: past every node token, so its walk starts at the
// ring's first token, a1's -9000000000000000000.
TEST_CASE("route --scheme nts routes as NetworkTopologyStrategy, driver order by default",
          "[route][nts]") {
    const std::string nodes =
        "# name datacenter rack tokens\n"
        "a1 dc1 r1 -9000000000000000000,100\r\n"
        "b1 dc2 r1 -8000000000000000000\n"
        "a2 dc1 r1 -7000000000000000000\n"
        "\n"
        "a3 dc1 r2 -6000000000000000000\n"
        "b2 dc2 - -5000000000000000000\n";
    // Server: a1 (r1), b1 (dc2 r1), a2 rejected (r1 again; dc1 has 2 racks for rf 2), a3 (r2).
    // Driver: dc1 first (a1 holds the ring's first token), then dc2.
    CHECK(run_nts({"--rf", "dc1:2,dc2:1"}, nodes, "key:0\n") == "key:0\ta1,a3,b1\n");
    CHECK(run_nts({"--rf", "dc1:2,dc2:1", "--order", "driver"}, nodes, "key:0\n") ==
          "key:0\ta1,a3,b1\n");
    CHECK(run_nts({"--order", "server", "--rf", "dc2:1,dc1:2"}, nodes, "key:0\n") ==
          "key:0\ta1,b1,a3\n");
    // rf 0 and a datacenter listed without nodes keep no replica; one not listed neither.
    // The driver counts only dc2's nodes with a rack (b1): once b1 is placed it stops.
    CHECK(run_nts({"--rf", "dc1:0,dc2:2,dc9:3"}, nodes, "key:0\n") == "key:0\tb1\n");
    CHECK(run_nts({"--rf", "dc1:0,dc2:2,dc9:3", "--order", "server"}, nodes, "key:0\n") ==
          "key:0\tb1,b2\n");
    CHECK(run_nts({"--rf", "dc1:1"}, nodes, "key:0\r\n") == "key:0\ta1\n");
}

TEST_CASE("route --scheme nts: bad arguments name the argument", "[route][nts]") {
    CHECK(args_failure({"--scheme", "nts", "f"}) == "--scheme nts needs --rf DC:N[,DC:N...]");
    const std::string malformed =
        "--rf for --scheme nts must be DC:N[,DC:N...] (N a whole number), not '";
    CHECK(args_failure({"--scheme", "nts", "--rf", "3", "f"}) == malformed + "3'");
    CHECK(args_failure({"--scheme", "nts", "--rf", ":3", "f"}) == malformed + ":3'");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:", "f"}) == malformed + "dc1:'");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:2,", "f"}) == malformed + "dc1:2,'");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:-1", "f"}) == malformed + "dc1:-1'");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:2,dc2:1,dc1:3", "f"}) ==
          "--rf names datacenter dc1 twice");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:0,dc2:0", "f"}) ==
          "--rf 'dc1:0,dc2:0' gives every datacenter rf 0");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:1", "--order", "client", "f"}) ==
          "--order must be driver or server, not 'client'");
    CHECK(args_failure({"--scheme", "nts", "--rf", "dc1:1", "--order"}) == "--order needs a value");
    CHECK(args_failure({"--scheme", "cassandra", "--order", "server", "f"}) ==
          "--order is only for --scheme nts");
    CHECK(args_failure({"--scheme", "cassandra", "--rf", "dc1:3", "f"}) ==
          "--rf must be a whole number >= 1, not 'dc1:3'");
    CHECK(args_failure({"--scheme", "ketama", "--rf", "", "f"}) ==
          "--rf must be a whole number >= 1, not ''");
    const auto o = route::parse_args({"--rf", "b:1,a:2", "--scheme", "nts", "f"});
    REQUIRE(o.datacenter_rfs.size() == 2);
    CHECK(o.datacenter_rfs[0].datacenter == "b");
    CHECK(o.datacenter_rfs[1].rf == 2);
    CHECK(o.order == ringplan::ReplicaOrder::driver);
}

TEST_CASE("route --scheme nts reports bad node lines with their number", "[route][nts]") {
    CHECK(nts_failure("a1 dc1 r1 1\na2 dc1 r1\n") ==
          "line 2: expected 'name datacenter rack token[,token...]' (rack - for none)");
    CHECK(nts_failure("a1 dc1 r1 1 2\n") ==
          "line 1: expected 'name datacenter rack token[,token...]' (rack - for none)");
    CHECK(nts_failure("a1 dc1 r1 1,x\n") == "line 1: bad token 'x' (a signed 64-bit integer)");
    CHECK(nts_failure("a1 dc1 r1 1\n\na1 dc2 r1 2\n") ==
          "line 3: node a1 already listed on line 1");
    CHECK(nts_failure("a1 dc1 r1 1\na2 dc2 - 1\n") ==
          "line 2: token 1 is already held by node a1 (line 1)");
    CHECK(nts_failure("a1 - r1 1\n") ==
          "line 1: no datacenter ('-' means no rack, and only as the rack)");
    CHECK(nts_failure("# nothing\n") == "NODES_FILE has no nodes");
}
