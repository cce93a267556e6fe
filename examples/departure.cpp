// ringplan example: the departure protocol on stdin and stdout (docs/departure.md).
//
//     $ printf 'ADD n1 200\nADD n2 400\nKEY a 300\nLEAVE n2\n' | departure
//     MOVE a FROM n2 TO n1
//
// Refused lines are reported on stderr with their line number; the exit code is 1 when any
// line was refused, 0 otherwise. The protocol engine is examples/departure_protocol.hpp.
// SPDX-License-Identifier: MIT
#include "departure_protocol.hpp"

#include <iostream>

int main() {
    std::ios::sync_with_stdio(false);
    std::cin.tie(nullptr);
    return departure::run(std::cin, std::cout, std::cerr);
}
