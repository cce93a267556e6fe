// The departure-protocol fuzz target: bytes are fed to examples/departure_protocol.hpp as input
// lines. Checked: every refused line gets exactly one stderr message naming its line number,
// stdout holds only MOVE lines, and the two ways the session updates its ring (one bulk
// rebuild, or node by node) print the same thing. A violation aborts with a message.
#ifndef RINGPLAN_TESTS_FUZZ_DEPARTURE_INPUT_HPP
#define RINGPLAN_TESTS_FUZZ_DEPARTURE_INPUT_HPP

#include "../../examples/departure_protocol.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

namespace rp_fuzz {

[[noreturn]] inline void departure_violation(const std::string& what) {
    std::fprintf(stderr, "departure fuzz: %s\n", what.c_str());
    std::abort();
}

inline int departure_one_input(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::ostringstream out_bulk, err_bulk, out_single, err_single;
    departure::DepartureSession bulk(1);       // rebuilds the ring in one call
    departure::DepartureSession single(1000);  // re-adds grown nodes one by one
    std::size_t start = 0;
    std::size_t line = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        ++line;
        const std::string before = err_bulk.str();
        const bool ok = bulk.handle_line(text.substr(start, end - start), out_bulk, err_bulk);
        single.handle_line(text.substr(start, end - start), out_single, err_single);
        const std::string message = err_bulk.str().substr(before.size());
        const std::string prefix = "departure: line " + std::to_string(line) + ": ";
        if (ok != message.empty() || (!ok && (message.compare(0, prefix.size(), prefix) != 0 ||
                                              message.find('\n') != message.size() - 1))) {
            departure_violation("line " + std::to_string(line) + " message: " + message);
        }
        if (end == text.size()) {
            break;
        }
        start = end + 1;
    }
    std::istringstream moves(out_bulk.str());
    std::string move;
    while (std::getline(moves, move)) {
        if (move.compare(0, 5, "MOVE ") != 0) {
            departure_violation("stdout line: " + move);
        }
    }
    if (out_bulk.str() != out_single.str() || err_bulk.str() != err_single.str()) {
        departure_violation("the bulk and node-by-node ring updates disagree");
    }
    return 0;
}

}  // namespace rp_fuzz

#endif  // RINGPLAN_TESTS_FUZZ_DEPARTURE_INPUT_HPP
