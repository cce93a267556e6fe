// The ring_node protocol (examples/ring_node_lib.hpp, docs/handoff.md): the issue's exchanges,
// the figures checked against the ring directly, and every bad input. The end-to-end runs of the
// program are ctest's ringplan_ring_node_* tests. Built only when nlohmann-json is found.
#if defined(RINGPLAN_TEST_RING_NODE)

#include "catch.hpp"

#include "ring_node_lib.hpp"

#include <cstddef>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using json = nlohmann::json;

struct Exchange {
    std::vector<json> replies;
    std::string err;
};

// Feeds `lines` to `node`; returns the parsed replies and stderr.
Exchange feed(ring_node::RingNode& node, const std::vector<std::string>& lines) {
    std::ostringstream out, err;
    for (const std::string& line : lines) {
        node.handle_line(line, out, err);
    }
    Exchange e;
    std::istringstream in(out.str());
    std::string line;
    while (std::getline(in, line)) {
        e.replies.push_back(json::parse(line));
    }
    e.err = err.str();
    return e;
}

const std::string init_line =
    R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2","n3"]}})";

std::string remove_line(int msg_id, const std::string& node, const std::string& mode) {
    return R"({"src":"c0","dest":"n1","body":{"type":"ring_remove_node","msg_id":)" +
           std::to_string(msg_id) + R"(,"node":")" + node + R"(","mode":")" + mode + R"("}})";
}

// The keys of the data set whose owner is `node` on a fresh three-node ring.
std::size_t owned_by(const std::string& node) {
    ringplan::Ring<> ring;
    ring.add_nodes({std::string("n1"), std::string("n2"), std::string("n3")},
                   ring_node::vnodes_per_node);
    std::size_t count = 0;
    for (std::size_t i = 0; i < ring_node::initial_keys; ++i) {
        count += ring.owner("key-" + std::to_string(i)) == node ? 1u : 0u;
    }
    return count;
}

}  // namespace

TEST_CASE("ring_node: init and a graceful removal", "[ring_node]") {
    ring_node::RingNode node;
    const Exchange e = feed(node, {init_line, remove_line(2, "n2", "graceful")});
    REQUIRE(e.replies.size() == 2);
    CHECK(e.err.empty());
    CHECK(e.replies[0] ==
          json::parse(
              R"({"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1,"msg_id":0}})"));
    const json& body = e.replies[1]["body"];
    CHECK(e.replies[1]["src"] == "n1");
    CHECK(e.replies[1]["dest"] == "c0");
    CHECK(body["type"] == "ring_remove_node_ok");
    CHECK(body["in_reply_to"] == 2);
    CHECK(body["msg_id"] == 1);
    CHECK(body["mode"] == "graceful");
    // rf = 1: exactly n2's keys move, about a third, to n1 and n3.
    const std::size_t n2 = owned_by("n2");
    CHECK(body["keys_migrated"] == n2);
    CHECK(n2 > 250);
    CHECK(n2 < 420);
    CHECK(body["target_nodes"] == json::parse(R"(["n1","n3"])"));
    CHECK_FALSE(body.contains("keys_lost"));
    // The ring no longer holds n2.
    CHECK_FALSE(node.ring().contains("n2"));
    CHECK(node.ring().node_count() == 2);
}

TEST_CASE("ring_node: crashes with rf 1 lose keys, with rf 2 nothing", "[ring_node]") {
    ring_node::RingNode one(1);
    Exchange e = feed(one, {init_line, remove_line(2, "n2", "crash")});
    REQUIRE(e.replies.size() == 2);
    json body = e.replies[1]["body"];
    CHECK(body["mode"] == "crash");
    CHECK(body["keys_migrated"] == 0);
    CHECK(body["target_nodes"] == json::array());
    CHECK(body["keys_lost"] == owned_by("n2"));
    CHECK(body["ranges_under_replicated"] == 0);
    CHECK(one.keys().size() == ring_node::initial_keys - owned_by("n2"));

    ring_node::RingNode two(2);
    e = feed(two, {init_line, remove_line(2, "n2", "crash"), remove_line(3, "n3", "crash")});
    REQUIRE(e.replies.size() == 3);
    body = e.replies[1]["body"];
    CHECK(body["keys_lost"] == 0);
    CHECK(body["ranges_under_replicated"] == 0);
    CHECK(body["target_nodes"] == json::parse(R"(["n1","n3"])"));
    CHECK(two.keys().size() == ring_node::initial_keys);
    // One node left for rf = 2: still nothing lost, the whole ring under-replicated.
    body = e.replies[2]["body"];
    CHECK(body["keys_lost"] == 0);
    CHECK(body["ranges_under_replicated"] == 1);
    CHECK(body["msg_id"] == 2);
}

TEST_CASE("ring_node: put adds keys that later moves count", "[ring_node]") {
    ring_node::RingNode node;
    // A key owned by n2 on the three-node ring.
    ringplan::Ring<> ring;
    ring.add_nodes({std::string("n1"), std::string("n2"), std::string("n3")},
                   ring_node::vnodes_per_node);
    std::string extra;
    for (int i = 0; extra.empty(); ++i) {
        if (ring.owner("extra-" + std::to_string(i)) == "n2") {
            extra = "extra-" + std::to_string(i);
        }
    }
    const Exchange e = feed(
        node,
        {init_line,
         R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":2,"key":")" + extra + R"("}})",
         R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":3,"key":"key-1"}})",
         remove_line(4, "n2", "graceful")});
    REQUIRE(e.replies.size() == 4);
    CHECK(e.replies[1]["body"] ==
          json::parse(R"({"type":"put_ok","in_reply_to":2,"msg_id":1,"added":true})"));
    CHECK(e.replies[2]["body"]["added"] == false);
    CHECK(e.replies[3]["body"]["keys_migrated"] == owned_by("n2") + 1);
}

TEST_CASE("ring_node: bad input gets an error reply or a stderr line, and serving goes on",
          "[ring_node]") {
    ring_node::RingNode node;
    const auto error = [](int in_reply_to, int msg_id, int code) {
        json body = {
            {"type", "error"}, {"in_reply_to", in_reply_to}, {"msg_id", msg_id}, {"code", code}};
        return body;
    };
    const auto without_text = [](json body) {
        body.erase("text");
        return body;
    };
    const Exchange e = feed(
        node,
        {
            remove_line(1, "n2", "graceful"),                               // before init
            R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":2)",  // malformed
            R"([1,2,3])",                                                   // not an object
            R"({"src":"c0","dest":"n1","body":"init"})",                    // body not object
            R"({"src":"c0","dest":"n1","body":{"msg_id":3}})",              // no type
            R"({"src":"c0","dest":"n1","body":{"type":"init","msg_id":4,"node_id":"n9","node_ids":["n1"]}})",
            init_line, R"({"src":"c0","dest":"n1","body":{"type":"frobnicate","msg_id":5}})",
            remove_line(6, "n9", "graceful"),                                // unknown node
            remove_line(7, "n2", "gently"),                                  // unknown mode
            R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":8}})",  // no key
            "",                                                              // ignored
            remove_line(9, "n2", "graceful"), remove_line(10, "n3", "graceful"),
            remove_line(11, "n1", "graceful"),  // the last node
        });
    CHECK(e.err ==
          "ring_node: line 2: malformed JSON\n"
          "ring_node: line 3: not a message: an object with a string src and an object body\n"
          "ring_node: line 4: not a message: an object with a string src and an object body\n");
    REQUIRE(e.replies.size() == 11);
    CHECK(without_text(e.replies[0]["body"]) == error(1, 0, 11));
    CHECK(e.replies[0]["src"] == "n1");  // before init: the dest it was sent to
    CHECK(without_text(e.replies[1]["body"]) == error(3, 1, 12));
    CHECK(without_text(e.replies[2]["body"]) == error(4, 2, 12));
    CHECK(e.replies[3]["body"]["type"] == "init_ok");
    CHECK(
        e.replies[4]["body"] ==
        json::parse(
            R"({"type":"error","in_reply_to":5,"msg_id":4,"code":10,"text":"not supported: frobnicate"})"));
    CHECK(e.replies[5]["body"]["text"] == "unknown node n9");
    CHECK(without_text(e.replies[5]["body"]) == error(6, 5, 12));
    CHECK(e.replies[6]["body"]["text"] == "mode must be graceful or crash, got gently");
    CHECK(without_text(e.replies[7]["body"]) == error(8, 7, 12));
    CHECK(e.replies[8]["body"]["type"] == "ring_remove_node_ok");
    CHECK(e.replies[9]["body"]["target_nodes"] == json::parse(R"(["n1"])"));
    CHECK(e.replies[10]["body"]["text"] == "node n1 is the last node");
    CHECK(node.ring().node_count() == 1);
}

namespace {

// The raw reply lines `node` writes for `lines`, and its stderr.
std::pair<std::string, std::string> raw_replies(ring_node::RingNode& node,
                                                const std::vector<std::string>& lines) {
    std::ostringstream out, err;
    for (const std::string& line : lines) {
        node.handle_line(line, out, err);
    }
    return {out.str(), err.str()};
}

std::string put_line(const std::string& msg_id) {
    return R"({"src":"c0","dest":"n1","body":{"type":"put","msg_id":)" + msg_id + R"(,"key":"k"}})";
}

}  // namespace

TEST_CASE("ring_node: in_reply_to repeats a numeric msg_id exactly as it was written",
          "[ring_node]") {
    ring_node::RingNode node;
    std::vector<std::string> lines = {init_line};
    const std::vector<std::string> ids = {"18446744073709551615",  // 2^64 - 1: still an integer
                                          "18446744073709551616",  // 2^64: a float to nlohmann
                                          "1e3",
                                          "-5",
                                          "0.5",
                                          "123456789012345678901234567890",
                                          "-9223372036854775809"};
    for (const std::string& id : ids) {
        lines.push_back(put_line(id));
    }
    const auto [out, err] = raw_replies(node, lines);
    CHECK(err.empty());
    std::istringstream replies(out);
    std::string reply;
    REQUIRE(std::getline(replies, reply));  // init_ok
    for (std::size_t i = 0; i < ids.size(); ++i) {
        INFO("msg_id " << ids[i]);
        REQUIRE(std::getline(replies, reply));
        CHECK(reply == R"({"src":"n1","dest":"c0","body":{"type":"put_ok","in_reply_to":)" +
                           ids[i] + R"(,"msg_id":)" + std::to_string(i + 1) + R"(,"added":)" +
                           (i == 0 ? "true" : "false") + "}}");
    }
}

TEST_CASE("ring_node: non-numeric msg_ids are echoed as JSON values", "[ring_node]") {
    ring_node::RingNode node;
    const auto [out, err] =
        raw_replies(node, {init_line, put_line(R"("abc\u00e9")"), put_line("[1,{\"a\":null}]"),
                           put_line("null"), put_line("true")});
    CHECK(err.empty());
    CHECK(out.find(R"("in_reply_to":"abcé")") != std::string::npos);
    CHECK(out.find(R"("in_reply_to":[1,{"a":null}])") != std::string::npos);
    CHECK(out.find(R"("in_reply_to":true)") != std::string::npos);
    // A null msg_id is no msg_id: no in_reply_to.
    CHECK(out.find(R"({"type":"put_ok","msg_id":3,"added":false})") != std::string::npos);
}

TEST_CASE("ring_node: JSON nested deeper than the limit is refused, and serving goes on",
          "[ring_node]") {
    ring_node::RingNode node;
    // The envelope and the body are two levels; a msg_id of `extra` nested arrays adds more.
    const auto nested = [](std::size_t extra) {
        return put_line(std::string(extra, '[') + std::string(extra, ']'));
    };
    const std::size_t allowed = ring_node::max_json_depth - 2;
    const auto [out, err] =
        raw_replies(node, {init_line, nested(allowed), nested(allowed + 1), nested(100000),
                           R"({"a":")" + std::string(100, '[') + R"("})",  // brackets in a string
                           put_line("7")});
    CHECK(err ==
          "ring_node: line 3: JSON nested deeper than 64 levels\n"
          "ring_node: line 4: JSON nested deeper than 64 levels\n"
          "ring_node: line 5: not a message: an object with a string src and an object body\n");
    CHECK(out.find(R"("in_reply_to":)" + std::string(allowed, '[')) != std::string::npos);
    CHECK(out.find(R"("in_reply_to":7,)") != std::string::npos);
}

TEST_CASE("ring_node: serve() refuses over-long lines without keeping them", "[ring_node]") {
    ring_node::RingNode node;
    std::istringstream in(std::string(ring_node::max_line_bytes + 1, '[') + "\n" + init_line +
                          "\r\n" + std::string(ring_node::max_line_bytes, ' ') + "\n" +
                          put_line("2") + "\n");
    std::ostringstream out, err;
    CHECK(ring_node::serve(node, in, out, err) == 0);
    CHECK(err.str() == "ring_node: line 1: line longer than 1048576 bytes (the limit is 1 MiB)\n");
    CHECK(out.str().find(R"("in_reply_to":1,)") != std::string::npos);  // init_ok
    CHECK(out.str().find(R"("in_reply_to":2,)") != std::string::npos);  // put_ok
}

#endif  // RINGPLAN_TEST_RING_NODE
