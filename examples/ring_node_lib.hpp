// ringplan example: the ring_node JSON-lines protocol engine (docs/handoff.md, "ring_node").
//
// One JSON object a line on the input, {"src", "dest", "body"}; replies go to the output in the
// same envelope, problems that can not be answered to the error stream. The node keeps serving
// whatever it is sent. examples/ring_node.cpp wires it to stdin and stdout.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP
#define RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP

#include "example_util.hpp"

#include <ringplan/ringplan.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <new>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ring_node {

/// Vnodes per node of the ring built from init's node_ids.
constexpr std::uint32_t vnodes_per_node = 128;
/// The deterministic data set every node starts with: "key-0" ... "key-999".
constexpr std::size_t initial_keys = 1000;

/// The longest input line, in bytes without its line ending: longer lines are refused unread.
constexpr std::size_t max_line_bytes = std::size_t{1} << 20;
/// The deepest nesting of arrays and objects in a line (the envelope and its body are two).
constexpr std::size_t max_json_depth = 64;

/// Error codes of error replies (Maelstrom's numbering).
enum ErrorCode : int {
    not_supported = 10,            ///< unknown message type
    temporarily_unavailable = 11,  ///< a message other than init before init
    malformed_request = 12,        ///< a missing or ill-typed field, an unknown node or mode
};

/// Builds the DOM of one message as nlohmann's parser would, with two additions: nesting deeper
/// than max_json_depth stops the parse (nothing user-supplied recurses: copying or printing a
/// deep value would overflow the stack), and the text of a numeric body.msg_id is kept as
/// written, since numbers beyond 64 bits would come back as floats.
class MessageBuilder {
public:
    using json = nlohmann::ordered_json;

    explicit MessageBuilder(json& root) : root_(root) {}

    bool too_deep() const { return too_deep_; }
    /// The text of body.msg_id when it is a number, else empty.
    const std::string& msg_id_text() const { return msg_id_text_; }

    bool null() { return place(nullptr, nullptr); }
    bool boolean(bool v) { return place(v, nullptr); }
    bool number_integer(json::number_integer_t v) {
        const std::string text = std::to_string(v);
        return place(v, &text);
    }
    bool number_unsigned(json::number_unsigned_t v) {
        const std::string text = std::to_string(v);
        return place(v, &text);
    }
    bool number_float(json::number_float_t v, const json::string_t& text) {
        return place(v, &text);
    }
    bool string(json::string_t& v) { return place(std::move(v), nullptr); }
    bool binary(json::binary_t& v) { return place(json::binary(std::move(v)), nullptr); }
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool key(json::string_t& k) {
        keys_.back() = k;
        return true;
    }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    template <class Exception>
    bool parse_error(std::size_t, const std::string&, const Exception&) {
        return false;
    }

private:
    // Puts `value` where the parse is; `number_text` is the text of a number.
    template <class Value>
    bool place(Value&& value, const std::string* number_text) {
        note(number_text);
        if (stack_.empty()) {
            root_ = std::forward<Value>(value);
            return true;
        }
        json& top = *stack_.back();
        if (top.is_array()) {
            top.push_back(std::forward<Value>(value));
        } else {
            top[keys_.back()] = std::forward<Value>(value);
        }
        return true;
    }

    bool open(json container) {
        if (stack_.size() >= max_json_depth) {
            too_deep_ = true;
            return false;
        }
        note(nullptr);
        json* at = &root_;
        if (!stack_.empty()) {
            json& top = *stack_.back();
            if (top.is_array()) {
                top.push_back(std::move(container));
                at = &top.back();
            } else {
                at = &(top[keys_.back()] = std::move(container));
            }
        } else {
            root_ = std::move(container);
        }
        stack_.push_back(at);
        keys_.emplace_back();
        return true;
    }

    bool close() {
        stack_.pop_back();
        keys_.pop_back();
        return true;
    }

    // Keeps body.msg_id's text up to date: a value placed there replaces it (duplicate keys:
    // the last wins, as in the DOM), and so does a new body.
    void note(const std::string* number_text) {
        if (stack_.size() == 1 && keys_[0] == "body" && stack_[0]->is_object()) {
            msg_id_text_.clear();
        } else if (stack_.size() == 2 && keys_[0] == "body" && keys_[1] == "msg_id" &&
                   stack_[0]->is_object() && stack_[1]->is_object()) {
            msg_id_text_ = number_text != nullptr ? *number_text : std::string();
        }
    }

    json& root_;
    std::vector<json*> stack_;       // the open containers, outermost first
    std::vector<std::string> keys_;  // per open container: the key of its next value
    std::string msg_id_text_;
    bool too_deep_ = false;
};

class RingNode {
public:
    using json = nlohmann::ordered_json;

    explicit RingNode(std::size_t rf = 1) : rf_(rf) {}

    /// Handles one input line (without its "\n"; a trailing '\r' is dropped): replies (at most
    /// one) to `out`, diagnostics to `err`.
    void handle_line(const std::string& line, std::ostream& out, std::ostream& err) {
        ++line_no_;
        std::string_view text(line);
        if (!text.empty() && text.back() == '\r') {
            text.remove_suffix(1);
        }
        if (text.find_first_not_of(" \t\r") == std::string_view::npos) {
            return;  // blank lines are ignored
        }
        json message;
        MessageBuilder builder(message);
        if (!json::sax_parse(text.begin(), text.end(), &builder)) {
            complain(err, builder.too_deep() ? std::string("JSON nested deeper than ") +
                                                   std::to_string(max_json_depth) + " levels"
                                             : std::string("malformed JSON"));
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
                    std::string()};
        if (body.contains("msg_id") && !body["msg_id"].is_null()) {
            reply.in_reply_to =
                builder.msg_id_text().empty() ? dump(body["msg_id"]) : builder.msg_id_text();
        }
        if (!body.contains("type") || !body["type"].is_string()) {
            send_error(out, reply, malformed_request, "the body has no string type");
            return;
        }
        const std::string type = body["type"].get<std::string>();
        if (type == "init") {
            init(out, reply, body);
        } else if (!initialized()) {
            send_error(out, reply, temporarily_unavailable,
                       std::string("not initialized: send init before ") + type);
        } else if (type == "ring_remove_node") {
            remove_node(out, reply, body);
        } else if (type == "put") {
            put(out, reply, body);
        } else {
            send_error(out, reply, not_supported, std::string("not supported: ") + type);
        }
    }

    /// Counts a line that was not read (over max_line_bytes) and says so on `err`.
    void refuse_long_line(std::ostream& err) {
        ++line_no_;
        complain(err, std::string("line longer than ") + std::to_string(max_line_bytes) +
                          " bytes (the limit is 1 MiB)");
    }

    /// Counts a line that could not be handled for want of memory and says so on `err`; the
    /// node's state is as it was before the line.
    void refuse_out_of_memory(std::ostream& err) {
        complain(err, "out of memory handling the message");
    }

    bool initialized() const { return !node_id_.empty(); }
    const ringplan::Ring<>& ring() const { return ring_; }
    const std::set<std::string>& keys() const { return keys_; }
    std::size_t rf() const { return rf_; }

private:
    struct Reply {
        std::string to;
        std::string dest;         // the message's dest: our id before init
        std::string in_reply_to;  // the request's msg_id as JSON text; empty: none
    };

    // Compact JSON text; strings are valid UTF-8 (the parser checks), replace is a safeguard.
    static std::string dump(const json& value) {
        return value.dump(-1, ' ', false, json::error_handler_t::replace);
    }

    void complain(std::ostream& err, const std::string& what) {
        err << "ring_node: line " << line_no_ << ": " << what << "\n";
    }

    // Writes the reply by hand rather than through json::dump, so in_reply_to can be the
    // request's msg_id text exactly as it came.
    void send(std::ostream& out, const Reply& reply, const json& body) {
        std::string text = "{\"src\":";
        text += dump(initialized() ? node_id_ : reply.dest);
        text += ",\"dest\":";
        text += dump(reply.to);
        text += ",\"body\":{\"type\":";
        text += dump(body["type"]);
        if (!reply.in_reply_to.empty()) {
            text += ",\"in_reply_to\":";
            text += reply.in_reply_to;
        }
        text += ",\"msg_id\":";
        text += std::to_string(next_msg_id_++);
        for (auto it = body.begin(); it != body.end(); ++it) {
            if (it.key() != "type") {
                text += ',';
                text += dump(it.key());
                text += ':';
                text += dump(it.value());
            }
        }
        text += "}}\n";
        out << text;
    }

    void send_error(std::ostream& out, const Reply& reply, ErrorCode code,
                    const std::string& text) {
        json body = json::object();
        body["type"] = "error";
        body["code"] = static_cast<int>(code);
        body["text"] = text;
        send(out, reply, body);
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
            send_error(out, reply, malformed_request,
                       std::string("already initialized as ") + node_id_);
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
            keys_.insert(std::string("key-") + std::to_string(i));
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
                       std::string("mode must be graceful or crash, got ") + *mode);
            return;
        }
        if (!ring_.contains(*node)) {
            send_error(out, reply, malformed_request, std::string("unknown node ") + *node);
            return;
        }
        if (ring_.node_count() == 1) {
            send_error(out, reply, malformed_request,
                       std::string("node ") + *node + " is the last node");
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
        send(out, reply, reply_body);
    }

    std::size_t rf_;
    std::size_t line_no_ = 0;
    std::uint64_t next_msg_id_ = 0;
    std::string node_id_;
    ringplan::Ring<> ring_;
    std::set<std::string> keys_;
};

/// Serves `in` until its end: each line to `node`, replies to `out` flushed line by line (a
/// peer waits for each). Lines over max_line_bytes are refused without being kept. Returns the
/// exit code: 0, or 2 when `out` could not be written (which ends serving).
inline int serve(RingNode& node, std::istream& in, std::ostream& out, std::ostream& err) {
    std::string line;
    for (;;) {
        const example_util::LineStatus status = example_util::read_line(in, line, max_line_bytes);
        if (status == example_util::LineStatus::end) {
            break;
        }
        if (status == example_util::LineStatus::too_long) {
            node.refuse_long_line(err);
        } else {
            try {
                node.handle_line(line, out, err);
            } catch (const std::bad_alloc&) {
                node.refuse_out_of_memory(err);
            } catch (const std::length_error&) {
                node.refuse_out_of_memory(err);
            }
        }
        if (!example_util::flush_ok(out)) {
            err << "ring_node: could not write the output\n";
            return 2;
        }
    }
    return 0;
}

}  // namespace ring_node

#endif  // RINGPLAN_EXAMPLES_RING_NODE_LIB_HPP
