// ringplan example: a node that plans removals over its ring, speaking JSON lines on stdin and
// stdout (docs/handoff.md, "ring_node").
//
//     $ echo
//     '{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2","n3"]}}'
//     | ring_node
//     {"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1,"msg_id":0}}
//
// Usage: ring_node [--rf N]   (the replication factor of the plans, default 1). Lines that can
// not be answered (not JSON, nested deeper than 64 levels, longer than 1 MiB) are reported on
// stderr; the node serves until the end of its input and exits with 0, or with 2 as soon as
// stdout can not be written. The protocol engine is examples/ring_node_lib.hpp.
// SPDX-License-Identifier: MIT
#include "ring_node_lib.hpp"

#include <cstddef>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    std::size_t rf = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--rf" && i + 1 < argc) {
            const std::string value = argv[++i];
            if (value.empty() || value.size() > 6 ||
                value.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(value) < 1) {
                std::cerr << "ring_node: --rf needs a whole number from 1 to 999999, got '" << value
                          << "'\n";
                return 2;
            }
            rf = std::stoul(value);
        } else {
            std::cerr << "usage: ring_node [--rf N]\n";
            return arg == "--help" || arg == "-h" ? 0 : 2;
        }
    }
    std::ios::sync_with_stdio(false);
    ring_node::RingNode node(rf);
    return ring_node::serve(node, std::cin, std::cout, std::cerr);
}
