// ringplan example: route keys as libmemcached (ketama), Cassandra (Murmur3Partitioner,
// SimpleStrategy or NetworkTopologyStrategy) or ringplan's default ring would.
//
//   route --scheme ketama|cassandra|default [--rf N] NODES_FILE < keys
//   route --scheme nts --rf DC:N[,DC:N...] [--order driver|server] NODES_FILE < keys
//
// prints `key<TAB>node[,node...]` per key line, rf nodes in preference order (nts: the
// DataStax Python driver's order, or with --order server Cassandra's; NODES_FILE lines are
// `name datacenter rack token[,token...]`, rack `-` for none). Bad arguments or
// node lines, or running out of memory: a message on stderr (with the line number) and exit
// status 1. A key that can not be routed (ketama: longer than 250 bytes) gets a message naming
// its line, the other keys are routed, and the exit status is 1. Exit status 2: stdout could
// not be written.
// SPDX-License-Identifier: MIT
#include "route_lib.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    route::Options options;
    try {
        options = route::parse_args(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const route::Failure& e) {
        std::cerr << "route: " << e.what() << '\n' << route::usage() << '\n';
        return 1;
    }
    try {
        // An ifstream opens a directory and then reads nothing: say what it is instead.
        std::error_code ec;
        if (std::filesystem::is_directory(options.nodes_file, ec)) {
            throw route::Failure(std::string("NODES_FILE ") + options.nodes_file +
                                 " is a directory, not a file of nodes");
        }
        std::ifstream nodes(options.nodes_file);
        if (!nodes) {
            throw route::Failure(std::string("can not open NODES_FILE ") + options.nodes_file +
                                 ": " + std::strerror(errno));
        }
        return route::run(options, nodes, std::cin, std::cout, std::cerr);
    } catch (const route::Failure& e) {
        std::cerr << "route: " << e.what() << '\n';
    } catch (const std::bad_alloc&) {
        std::cerr << "route: out of memory routing the keys\n";
    } catch (const std::length_error&) {
        std::cerr << "route: out of memory routing the keys\n";
    }
    return 1;
}
