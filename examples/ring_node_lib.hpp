// ringplan example: the ring_node JSON-lines protocol engine (docs/handoff.md, "ring_node").
//
// One JSON object a line on the input, {"src", "dest", "body"}; replies go to the output in the
// same envelope, problems that can not be answered to the error stream. The node keeps serving
// whatever it is sent. examples/ring_node.cpp wires it to stdin and stdout.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP
#define RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP

#include <ringplan/ringplan.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace ring_node {

/// Vnodes per node of the ring built from init's node_ids.
constexpr std::uint32_t vnodes_per_node = 128;
/// The deterministic data set every node starts with: "key-0" ... "key-999".
constexpr std::size_t initial_keys = 1000;

/// Error codes of error replies (Maelstrom's numbering).
enum ErrorCode : int {
    not_supported = 10,            ///< unknown message type
    temporarily_unavailable = 11,  ///< a message other than init before init
    malformed_request = 12,        ///< a missing or ill-typed field, an unknown node or mode
};

class RingNode {
public:
    using json = nlohmann::ordered_json;

    explicit RingNode(std::size_t rf = 1) : rf_(rf) {}

    /// Handles one input line: replies (at most one) to `out`, diagnostics to `err`.
    void handle_line(const std::string& line, std::ostream& out, std::ostream& err) {
        ++line_no_;
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            return;  // blank lines are ignored
        }
        const json message = json::parse(line, nullptr, false);
        if (message.is_discarded()) {
            complain(err, "malformed JSON");
            return;
        }
        if (!message.is_object() || !message.contains("src") || !message["src"].is_string() ||
            !message.contains("body") || !message["body"].is_object()) {
            complain(err, "not a message: an object with a string src and an object body");
            return;
        }
        const json& body = message["body"];
        Reply reply{message["src"].get<std::string>(),
                    message.contains("dest") && message["dest"].is_string()
                        ? message["dest"].get<std::string>()
                        : std::string(),
                    body.contains("msg_id") ? body["msg_id"] : json()};
        if (!body.contains("type") || !body["type"].is_string()) {
            send_error(out, reply, malformed_request, "the body has no string type");
            return;
        }
        const std::string type = body["type"].get<std::string>();
        if (type == "init") {
            init(out, reply, body);
        } else if (!initialized()) {
            send_error(out, reply, temporarily_unavailable,
                       "not initialized: send init before " + type);
        } else if (type == "ring_remove_node") {
            remove_node(out, reply, body);
        } else if (type == "put") {
            put(out, reply, body);
        } else {
            send_error(out, reply, not_supported, "not supported: " + type);
        }
    }

    bool initialized() const { return !node_id_.empty(); }
    const ringplan::Ring<>& ring() const { return ring_; }
    const std::set<std::string>& keys() const { return keys_; }
    std::size_t rf() const { return rf_; }

private:
    struct Reply {
        std::string to;
        std::string dest;  // the message's dest: our id before init
        json in_reply_to;  // null when the request had no msg_id
    };

    void complain(std::ostream& err, const std::string& what) {
        err << "ring_node: line " << line_no_ << ": " << what << "\n";
    }

    void send(std::ostream& out, const Reply& reply, json body) {
        json reply_body = json::object();
        reply_body["type"] = body["type"];
        if (!reply.in_reply_to.is_null()) {
            reply_body["in_reply_to"] = reply.in_reply_to;
        }
        reply_body["msg_id"] = next_msg_id_++;
        for (auto it = body.begin(); it != body.end(); ++it) {
            if (it.key() != "type") {
                reply_body[it.key()] = it.value();
            }
        }
        json envelope = json::object();
        envelope["src"] = initialized() ? node_id_ : reply.dest;
        envelope["dest"] = reply.to;
        envelope["body"] = std::move(reply_body);
        out << envelope.dump() << "\n";
    }

    void send_error(std::ostream& out, const Reply& reply, ErrorCode code,
                    const std::string& text) {
        json body = json::object();
        body["type"] = "error";
        body["code"] = static_cast<int>(code);
        body["text"] = text;
        send(out, reply, std::move(body));
    }

    // A string field of the body, or nullopt after an error reply.
    std::optional<std::string> string_field(std::ostream& out, const Reply& reply, const json& body,
                                            const char* name) {
        if (!body.contains(name) || !body[name].is_string()) {
            send_error(out, reply, malformed_request,
                       std::string("the field ") + name + " must be a string");
            return std::nullopt;
        }
        return body[name].get<std::string>();
    }

    void init(std::ostream& out, const Reply& reply, const json& body) {
        if (initialized()) {
            send_error(out, reply, malformed_request, "already initialized as " + node_id_);
            return;
        }
        const auto id = string_field(out, reply, body, "node_id");
        if (!id) {
            return;
        }
        std::vector<std::string> ids;
        if (body.contains("node_ids") && body["node_ids"].is_array()) {
            for (const json& v : body["node_ids"]) {
                if (!v.is_string()) {
                    ids.clear();
                    break;
                }
                ids.push_back(v.get<std::string>());
            }
        }
        if (id->empty() || ids.empty() || std::find(ids.begin(), ids.end(), *id) == ids.end()) {
            send_error(out, reply, malformed_request,
                       "node_ids must be a non-empty array of strings holding node_id");
            return;
        }
        ringplan::Ring<> ring;
        try {
            ring.add_nodes(ids, vnodes_per_node);
        } catch (const ringplan::Error& e) {
            send_error(out, reply, malformed_request, e.what());  // a repeated id
            return;
        }
        ring_ = std::move(ring);
        node_id_ = *id;
        keys_.clear();
        for (std::size_t i = 0; i < initial_keys; ++i) {
            keys_.insert("key-" + std::to_string(i));
        }
        send(out, reply, json{{"type", "init_ok"}});
    }

    void put(std::ostream& out, const Reply& reply, const json& body) {
        const auto key = string_field(out, reply, body, "key");
        if (!key) {
            return;
        }
        const bool added = keys_.insert(*key).second;
        send(out, reply, json{{"type", "put_ok"}, {"added", added}});
    }

    void remove_node(std::ostream& out, const Reply& reply, const json& body) {
        const auto node = string_field(out, reply, body, "node");
        if (!node) {
            return;
        }
        const auto mode = string_field(out, reply, body, "mode");
        if (!mode) {
            return;
        }
        if (*mode != "graceful" && *mode != "crash") {
            send_error(out, reply, malformed_request,
                       "mode must be graceful or crash, got " + *mode);
            return;
        }
        if (!ring_.contains(*node)) {
            send_error(out, reply, malformed_request, "unknown node " + *node);
            return;
        }
        if (ring_.node_count() == 1) {
            send_error(out, reply, malformed_request, "node " + *node + " is the last node");
            return;
        }
        const bool crash = *mode == "crash";
        const auto plan = crash ? ringplan::plan_crash(ring_, *node, ringplan::Rf{rf_})
                                : ringplan::plan_leave(ring_, *node, ringplan::Rf{rf_});
        // The keys in token order, so the projection takes its sorted fast path.
        std::vector<std::pair<ringplan::Token, const std::string*>> keyed;
        keyed.reserve(keys_.size());
        for (const std::string& k : keys_) {
            keyed.emplace_back(ringplan::Ring<>::key_token(k), &k);
        }
        std::sort(keyed.begin(), keyed.end());
        std::vector<ringplan::Token> tokens;
        tokens.reserve(keyed.size());
        for (const auto& kt : keyed) {
            tokens.push_back(kt.first);
        }
        std::vector<bool> moved(tokens.size(), false);
        std::set<std::string> targets;
        for (const auto& m : ringplan::project_tokens(plan, tokens)) {
            moved[m.index] = true;
            targets.insert(plan.moves[m.move].to);
        }
        const auto migrated =
            static_cast<std::size_t>(std::count(moved.begin(), moved.end(), true));
        json reply_body = json::object();
        reply_body["type"] = "ring_remove_node_ok";
        reply_body["keys_migrated"] = migrated;
        reply_body["target_nodes"] = std::vector<std::string>(targets.begin(), targets.end());
        reply_body["mode"] = *mode;
        if (crash) {
            const auto lost = ringplan::lost_tokens(plan, tokens);
            reply_body["keys_lost"] = lost.size();
            reply_body["ranges_under_replicated"] = plan.under_replicated.size();
            for (std::size_t i : lost) {
                keys_.erase(*keyed[i].second);  // the only copies went with the node
            }
        }
        ring_.remove_node(*node);
        send(out, reply, std::move(reply_body));
    }

    std::size_t rf_;
    std::size_t line_no_ = 0;
    std::uint64_t next_msg_id_ = 0;
    std::string node_id_;
    ringplan::Ring<> ring_;
    std::set<std::string> keys_;
};

}  // namespace ring_node

#endif  // RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP
