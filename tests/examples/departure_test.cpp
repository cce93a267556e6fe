// The departure protocol (examples/departure_protocol.hpp, docs/departure.md): worked examples,
// every refusal, and a differential test against a linear-scan model on random scripts.
#include "catch.hpp"

#include "departure_protocol.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using ringplan::max_token;
using ringplan::Token;

struct Result {
    std::string out;
    std::string err;
    std::size_t refused = 0;
    int exit_code = 0;
};

Result run_script(const std::string& script, std::size_t rebuild_threshold = 8) {
    departure::DepartureSession session(rebuild_threshold);
    std::istringstream in(script);
    std::ostringstream out;
    std::ostringstream err;
    std::string line;
    while (std::getline(in, line)) {
        session.handle_line(line, out, err);
    }
    return Result{out.str(), err.str(), session.refused(), session.exit_code()};
}

// The line numbers named by the messages on err, in order.
std::vector<std::size_t> refused_lines(const std::string& err) {
    std::vector<std::size_t> lines;
    std::istringstream in(err);
    std::string message;
    const std::string prefix = "departure: line ";
    while (std::getline(in, message)) {
        REQUIRE(message.compare(0, prefix.size(), prefix) == 0);
        lines.push_back(std::stoul(message.substr(prefix.size())));
    }
    return lines;
}

const std::string max_text = "18446744073709551615";  // 2^64 - 1

}  // namespace

TEST_CASE("departure: a leaving node's keys go to its successor", "[departure]") {
    const Result r = run_script(
        "ADD n1 200\n"
        "ADD n2 400\n"
        "ADD n3 700\n"
        "KEY before 150\n"
        "KEY on_n1 200\n"
        "KEY just_after 201\n"
        "KEY middle 300\n"
        "KEY on_n2 400\n"
        "KEY past_n2 401\n"
        "KEY high 900\n"
        "LEAVE n2\n");
    CHECK(r.out ==
          "MOVE just_after FROM n2 TO n3\n"
          "MOVE middle FROM n2 TO n3\n"
          "MOVE on_n2 FROM n2 TO n3\n");
    CHECK(r.err.empty());
    CHECK(r.refused == 0);
    CHECK(r.exit_code == 0);
}

TEST_CASE("departure: keys at 0 and at 2^64-1 wrap to the first node", "[departure]") {
    SECTION("the first node's range wraps around the top") {
        const Result r = run_script(
            "ADD n1 200\n"
            "ADD n2 400\n"
            "ADD n3 700\n"
            "KEY zero 0\n"
            "KEY top " +
            max_text +
            "\n"
            "KEY above 701\n"
            "KEY inside 100\n"
            "KEY other 300\n"
            "LEAVE n1\n");
        CHECK(r.out ==
              "MOVE above FROM n1 TO n2\n"
              "MOVE inside FROM n1 TO n2\n"
              "MOVE top FROM n1 TO n2\n"
              "MOVE zero FROM n1 TO n2\n");
        CHECK(r.exit_code == 0);
    }
    SECTION("nodes at the very ends of the space") {
        const Result r = run_script(
            "ADD low 0\n"
            "ADD high " +
            max_text +
            "\n"
            "ADD mid 1000\n"
            "KEY zero 0\n"
            "KEY top " +
            max_text +
            "\n"
            "KEY one 1\n"
            "LEAVE low\n"
            "LEAVE high\n");
        // zero belongs to low (exactly on it), then to mid; top belongs to high, then wraps
        // to the first node, mid; one has belonged to mid all along.
        CHECK(r.out ==
              "MOVE zero FROM low TO mid\n"
              "MOVE top FROM high TO mid\n");
        CHECK(r.exit_code == 0);
    }
}

TEST_CASE("departure: a node with several positions hands keys to several successors",
          "[departure]") {
    const Result r = run_script(
        "ADD m 100\n"
        "ADD x 300\n"
        "ADD m 500\n"
        "ADD y 800\n"
        "ADD m " +
        max_text +
        "\n"
        "KEY a 50\n"
        "KEY b 400\n"
        "KEY c 900\n"
        "KEY d 500\n"
        "KEY e 200\n"
        "KEY f 801\n"
        "LEAVE m\n");
    // (800, 2^64-1] and [0, 100] go to x at 300; (300, 500] goes to y at 800; e (at 200) was
    // x's already.
    CHECK(r.out ==
          "MOVE a FROM m TO x\n"
          "MOVE b FROM m TO y\n"
          "MOVE c FROM m TO x\n"
          "MOVE d FROM m TO y\n"
          "MOVE f FROM m TO x\n");
    CHECK(r.exit_code == 0);
}

TEST_CASE("departure: moves are sorted by key bytes, not by position", "[departure]") {
    const Result r = run_script(
        "ADD n1 1000\n"
        "ADD n2 2000\n"
        "KEY b 1001\n"
        "KEY a9 1002\n"
        "KEY a10 1003\n"
        "KEY B 1999\n"
        "KEY a 2000\n"
        "KEY \xc3\xa9 1500\n"  // a UTF-8 key: bytes above 0x7f sort last
        "LEAVE n2\n");
    CHECK(r.out ==
          "MOVE B FROM n2 TO n1\n"
          "MOVE a FROM n2 TO n1\n"
          "MOVE a10 FROM n2 TO n1\n"
          "MOVE a9 FROM n2 TO n1\n"
          "MOVE b FROM n2 TO n1\n"
          "MOVE \xc3\xa9 FROM n2 TO n1\n");
}

TEST_CASE("departure: keys stay registered and move again when their new owner leaves",
          "[departure]") {
    const Result r = run_script(
        "ADD n1 200\n"
        "ADD n2 400\n"
        "ADD n3 700\n"
        "KEY k 300\n"
        "KEY j 650\n"
        "LEAVE n2\n"
        "LEAVE n3\n"
        "ADD n4 350\n"
        "LEAVE n1\n");
    CHECK(r.out ==
          "MOVE k FROM n2 TO n3\n"
          "MOVE j FROM n3 TO n1\n"
          "MOVE k FROM n3 TO n1\n"
          "MOVE j FROM n1 TO n4\n");
    CHECK(r.exit_code == 0);
}

TEST_CASE("departure: keys may come before any node; nodes may grow and come back", "[departure]") {
    const Result r = run_script(
        "KEY early 300\n"
        "KEY late 900\n"
        "ADD n1 200\n"
        "ADD n2 400\n"
        "LEAVE n2\n"  // early: n2 -> n1 (wrap); late was n1's
        "ADD n2 250\n"
        "ADD n2 950\n"
        "ADD n1 500\n"  // n1 grows after it joined the ring
        "LEAVE n1\n"    // early (300) at n1's 500, late (900) at n2's 950: only early moves
        "ADD n1 960\n"  // a node name can come back once it has left
        "LEAVE n2\n");  // both keys sit at n2's 950, and go to n1 at 960
    CHECK(r.out ==
          "MOVE early FROM n2 TO n1\n"
          "MOVE early FROM n1 TO n2\n"
          "MOVE early FROM n2 TO n1\n"
          "MOVE late FROM n2 TO n1\n");
    CHECK(r.err.empty());
}

TEST_CASE("departure: a position freed by a leaving node can be taken again", "[departure]") {
    const Result r = run_script(
        "ADD n1 200\n"
        "ADD n2 400\n"
        "LEAVE n2\n"
        "ADD n3 400\n"
        "KEY k 300\n"
        "LEAVE n3\n");
    CHECK(r.out == "MOVE k FROM n3 TO n1\n");
    CHECK(r.exit_code == 0);
}

TEST_CASE("departure: blank lines, comments, tabs and CRLF", "[departure]") {
    const Result r = run_script(
        "# a comment\n"
        "\n"
        "   \t \n"
        "  # an indented comment\r\n"
        "ADD\tn1   200\r\n"
        "\t ADD n2 400 \t\r\n"
        "\r\n"
        "KEY k 300\r\n"
        "LEAVE n2\r\n");
    CHECK(r.out == "MOVE k FROM n2 TO n1\n");
    CHECK(r.err.empty());
    CHECK(r.exit_code == 0);
}

TEST_CASE("departure: refused lines name their line and change nothing", "[departure]") {
    const std::string setup =
        "ADD n1 200\n"
        "ADD n2 400\n"
        "ADD n3 700\n"
        "KEY k1 300\n"
        "KEY k2 350\n"
        "KEY k3 650\n";  // lines 1-6; the bad line is line 7
    const std::string expected =
        "MOVE k1 FROM n2 TO n3\n"
        "MOVE k2 FROM n2 TO n3\n";
    // Each bad line, and a piece of its message. Where the line would change the plan of the
    // LEAVE n2 that follows had it been (partly) taken, it is built to do so.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"FROB n4 350", "unknown command 'FROB'"},
        {"add n4 350", "unknown command 'add'"},
        {"Leave n2", "unknown command 'Leave'"},
        {"ADD n4", "too few arguments"},
        {"ADD", "too few arguments"},
        {"ADD n4 350 extra", "too many arguments"},
        {"ADD n4 350 # comment", "too many arguments"},
        {"ADD n4 abc", "position 'abc' is not a decimal number"},
        {"ADD n4 350x", "position '350x' is not a decimal number"},
        {"ADD n4 0x15e", "position '0x15e' is not a decimal number"},
        {"ADD n4 3.5e2", "is not a decimal number"},
        {"ADD n4 -350", "position -350 is out of range"},
        {"ADD n4 -", "position '-' is not a decimal number"},
        {"ADD n4 +350", "position +350 has a sign"},
        {"ADD n4 18446744073709551616", "position 18446744073709551616 is out of range"},
        {"ADD n4 99999999999999999999999999", "is out of range"},
        {"ADD n4 400", "position 400 is already taken by node n2"},
        {"ADD n2 400", "position 400 is already taken by node n2"},
        {"ADD n1 700", "position 700 is already taken by node n3"},
        {"KEY k9", "too few arguments"},
        {"KEY k9 330 extra", "too many arguments"},
        {"KEY k9 -330", "out of range"},
        {"KEY k9 33O", "is not a decimal number"},
        {"KEY k1 380", "key k1 is already registered (at position 300)"},
        {"KEY k3 300", "key k3 is already registered (at position 650)"},
        {"KEY k1 300", "key k1 is already registered"},
        {"LEAVE", "too few arguments"},
        {"LEAVE n2 n3", "too many arguments"},
        {"LEAVE n9", "LEAVE of unknown node n9"},
        {"LEAVE N2", "LEAVE of unknown node N2"},
    };
    for (const auto& [bad, message] : cases) {
        INFO("bad line: " << bad);
        for (const std::string& ending : {std::string("\n"), std::string("\r\n")}) {
            const Result r = run_script(setup + bad + ending + "LEAVE n2\n");
            CHECK(r.out == expected);
            CHECK(r.err.rfind("departure: line 7: ", 0) == 0);
            CHECK(r.err.find(message) != std::string::npos);
            CHECK(r.err.find('\n') == r.err.size() - 1);  // exactly one message
            CHECK(r.refused == 1);
            CHECK(r.exit_code == 1);
        }
    }
}

TEST_CASE("departure: the last node can not leave", "[departure]") {
    SECTION("a lone node, in the ring or only queued") {
        const Result r = run_script(
            "ADD n1 5\n"
            "KEY a 1\n"
            "LEAVE n1\n"  // refused: queued only, never in a ring yet
            "ADD n2 10\n"
            "LEAVE n1\n"    // fine: a goes to n2
            "LEAVE n2\n"    // refused: the last node
            "ADD n3 0\n"    // n3 joins after all
            "LEAVE n2\n");  // a (at 1) wraps to n3 at 0
        CHECK(r.out ==
              "MOVE a FROM n1 TO n2\n"
              "MOVE a FROM n2 TO n3\n");
        CHECK(refused_lines(r.err) == std::vector<std::size_t>{3, 6});
        CHECK(r.err.find("line 3: node n1 is the last node") != std::string::npos);
        CHECK(r.err.find("line 6: node n2 is the last node") != std::string::npos);
        CHECK(r.refused == 2);
        CHECK(r.exit_code == 1);
    }
    SECTION("even without keys") {
        const Result r = run_script("ADD solo 1\nLEAVE solo\n");
        CHECK(r.out.empty());
        CHECK(refused_lines(r.err) == std::vector<std::size_t>{2});
    }
    SECTION("a LEAVE on an empty session names an unknown node") {
        const Result r = run_script("KEY a 1\nLEAVE n1\n");
        CHECK(r.err == "departure: line 2: LEAVE of unknown node n1\n");
    }
}

TEST_CASE("departure: counters and the run() entry point", "[departure]") {
    departure::DepartureSession session;
    std::ostringstream out;
    std::ostringstream err;
    CHECK(session.handle_line("ADD n1 1", out, err));
    CHECK(session.handle_line("# comment", out, err));
    CHECK_FALSE(session.handle_line("ADD n2 1", out, err));
    CHECK(session.handle_line("KEY k 2", out, err));
    CHECK(session.lines() == 4);
    CHECK(session.refused() == 1);
    CHECK(session.node_count() == 1);
    CHECK(session.key_count() == 1);
    CHECK(session.exit_code() == 1);
    CHECK(err.str() == "departure: line 3: position 1 is already taken by node n1\n");

    std::istringstream in("ADD a 10\nADD b 20\nKEY k 15\nLEAVE b");  // no final newline
    std::ostringstream out2;
    std::ostringstream err2;
    CHECK(departure::run(in, out2, err2) == 0);
    CHECK(out2.str() == "MOVE k FROM b TO a\n");
    CHECK(err2.str().empty());
}

// ---- differential test ---------------------------------------------------------------------

namespace {

// The protocol straight from its definition: node positions in a list, ownership by a linear
// scan, nothing shared with ringplan.
struct NaiveDeparture {
    std::map<std::string, std::vector<Token>> nodes;
    std::map<std::string, Token> keys;  // std::map: iteration is byte-wise key order
    std::string out;
    std::vector<std::size_t> refused;

    static std::string owner(const std::map<std::string, std::vector<Token>>& ring, Token p) {
        bool found = false;
        Token best = 0;
        std::string best_node;
        for (int pass = 0; pass < 2 && !found; ++pass) {
            for (const auto& [node, positions] : ring) {
                for (Token t : positions) {
                    if ((pass == 1 || t >= p) && (!found || t < best)) {
                        found = true;
                        best = t;
                        best_node = node;
                    }
                }
            }
        }
        return best_node;
    }

    bool taken(Token p) const {
        for (const auto& [node, positions] : nodes) {
            for (Token t : positions) {
                if (t == p) {
                    return true;
                }
            }
        }
        return false;
    }

    void add(std::size_t line, const std::string& node, Token p) {
        if (taken(p)) {
            refused.push_back(line);
        } else {
            nodes[node].push_back(p);
        }
    }

    void key(std::size_t line, const std::string& name, Token p) {
        if (!keys.emplace(name, p).second) {
            refused.push_back(line);
        }
    }

    void leave(std::size_t line, const std::string& node) {
        if (nodes.count(node) == 0 || nodes.size() == 1) {
            refused.push_back(line);
            return;
        }
        auto after = nodes;
        after.erase(node);
        for (const auto& [name, p] : keys) {
            if (owner(nodes, p) == node) {
                out += "MOVE " + name + " FROM " + node + " TO " + owner(after, p) + "\n";
            }
        }
        nodes = std::move(after);
    }
};

struct Script {
    std::string text;
    NaiveDeparture model;
};

// A random script over few node names, few key names and a position space of a few small
// values and the top of the range, so positions collide, keys repeat, nodes come back and
// ranges wrap. About one line in ten is malformed (and the model refuses it).
Script random_script(std::mt19937_64& rng, std::size_t lines, std::size_t node_names,
                     std::size_t key_names, bool full_range) {
    Script s;
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto position = [&]() -> Token {
        if (full_range) {
            return rng();
        }
        const std::size_t r = pick(24);
        return r < 20 ? Token{r} : max_token - (r - 20);
    };
    auto gap = [&]() -> std::string {
        static const char* const gaps[] = {" ", " ", " ", "\t", "  ", " \t "};
        return gaps[pick(6)];
    };
    auto ending = [&]() -> std::string { return pick(8) == 0 ? "\r\n" : "\n"; };
    std::size_t line = 0;
    while (line < lines) {
        ++line;
        const std::string node = "n" + std::to_string(pick(node_names));
        const std::string key = "k" + std::to_string(pick(key_names));
        const std::size_t what = pick(100);
        if (what < 30) {
            const Token p = position();
            s.text += (pick(4) == 0 ? gap() : "") + "ADD" + gap() + node + gap() +
                      std::to_string(p) + (pick(4) == 0 ? gap() : "") + ending();
            s.model.add(line, node, p);
        } else if (what < 72) {
            const Token p = position();
            s.text += "KEY" + gap() + key + gap() + std::to_string(p) + ending();
            s.model.key(line, key, p);
        } else if (what < 90) {
            s.text += "LEAVE" + gap() + node + ending();
            s.model.leave(line, node);
        } else if (what < 94) {
            s.text += pick(2) == 0 ? "# note" + ending() : ending();  // ignored
        } else {
            static const char* const bad[] = {
                "ADD n0",   "ADD n0 1 2", "ADD n0 -1",  "ADD n0 +1",
                "KEY k0 x", "KEY k0",     "LEAVE",      "LEAVE n0 n1",
                "MOVE k0",  "add n0 1",   "ADD n0 1e3", "KEY k0 18446744073709551616",
            };
            s.text += std::string(bad[pick(12)]) + ending();
            s.model.refused.push_back(line);
        }
    }
    return s;
}

}  // namespace

TEST_CASE("departure: random scripts agree with a linear-scan model", "[departure]") {
    std::mt19937_64 rng(20240611);
    for (int round = 0; round < 400; ++round) {
        const std::size_t threshold = round % 3 == 0 ? 1 : (round % 3 == 1 ? 3 : 1000);
        const Script s = random_script(rng, 20 + static_cast<std::size_t>(rng() % 180),
                                       2 + static_cast<std::size_t>(rng() % 6),
                                       5 + static_cast<std::size_t>(rng() % 40), false);
        INFO("round " << round << ", rebuild threshold " << threshold << ", script:\n" << s.text);
        const Result r = run_script(s.text, threshold);
        REQUIRE(r.out == s.model.out);
        REQUIRE(refused_lines(r.err) == s.model.refused);
        REQUIRE(r.refused == s.model.refused.size());
        REQUIRE(r.exit_code == (s.model.refused.empty() ? 0 : 1));
    }
}

TEST_CASE("departure: many keys interleaved with leaves agree with the model", "[departure]") {
    // Full 64-bit positions and many keys between leaves: exercises the key index's runs.
    std::mt19937_64 rng(7);
    for (int round = 0; round < 4; ++round) {
        const Script s = random_script(rng, 3000, 40, 100000, true);
        INFO("round " << round);
        const Result r = run_script(s.text, round % 2 == 0 ? 8 : 1);
        REQUIRE(r.out == s.model.out);
        REQUIRE(refused_lines(r.err) == s.model.refused);
    }
}

// ---- tables keyed by user input ------------------------------------------------------------

namespace {

// The most entries in one bucket of an unordered container.
template <class Table>
std::size_t largest_bucket(const Table& table) {
    std::size_t most = 0;
    for (std::size_t b = 0; b < table.bucket_count(); ++b) {
        most = std::max(most, table.bucket_size(b));
    }
    return most;
}

}  // namespace

TEST_CASE("departure: positions chosen to share a bucket are spread out", "[departure]") {
    // Multiples of two bucket counts libstdc++'s unordered_map passes through on its way to
    // 20,000 entries: with an identity hash all of them land in bucket 0 and every ADD scans
    // them all (150,000 such lines took a minute).
    const Token step = Token{10273} * Token{20753};
    const std::size_t count = 20000;
    departure::DepartureSession session;
    std::ostringstream out;
    std::ostringstream err;
    for (std::size_t k = 1; k <= count; ++k) {
        REQUIRE(session.handle_line("ADD n" + std::to_string(k) + " " + std::to_string(k * step),
                                    out, err));
    }
    const auto& table = session.position_table();
    REQUIRE(table.size() == count);
    // A well-mixed hash puts a Poisson(load <= 1) number in each bucket: far below 16.
    CHECK(largest_bucket(table) <= 16);
}
