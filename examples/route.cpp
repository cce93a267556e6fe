// ringplan example: route keys as libmemcached (ketama), Cassandra (Murmur3Partitioner,
// SimpleStrategy) or ringplan's default ring would.
//
//   route --scheme ketama|cassandra|default [--rf N] NODES_FILE < keys
//
// prints `key<TAB>node[,node...]` per key line, rf nodes in preference order. Bad arguments or
// node lines: a message on stderr (with the line number) and exit status 1.
// SPDX-License-Identifier: MIT
#include "route_lib.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    try {
        const route::Options options =
            route::parse_args(std::vector<std::string>(argv + 1, argv + argc));
        std::ifstream nodes(options.nodes_file);
        if (!nodes) {
            throw route::Failure("cannot open " + options.nodes_file);
        }
        route::run(options, nodes, std::cin, std::cout);
    } catch (const route::Failure& e) {
        std::cerr << "route: " << e.what() << '\n';
        if (std::string(e.what()).rfind("line ", 0) != 0) {
            std::cerr << route::usage() << '\n';
        }
        return 1;
    }
    return 0;
}
