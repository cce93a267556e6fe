// Replays the fuzz targets' corpora (tests/fuzz/corpus/<target>/) as ordinary tests, plus a few
// thousand deterministic pseudo-random inputs, so every run exercises what the fuzzers found.
// A mismatch aborts inside the target with a message naming it.
#include "catch.hpp"
#include "fuzz/departure_input.hpp"
#include "fuzz/membership_ops.hpp"
#include "fuzz/partition_ops.hpp"
#include "fuzz/ring_ops.hpp"

#include <dirent.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<std::vector<std::uint8_t>> corpus(const std::string& target) {
    const std::string dir = std::string(RINGPLAN_TEST_DATA_DIR) + "/../fuzz/corpus/" + target;
    std::vector<std::vector<std::uint8_t>> inputs;
    if (DIR* d = opendir(dir.c_str())) {
        std::vector<std::string> names;
        while (const dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') {
                names.emplace_back(e->d_name);
            }
        }
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            std::ifstream in(dir + "/" + name, std::ios::binary);
            inputs.emplace_back(std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>());
        }
    }
    return inputs;
}

template <class Target>
std::size_t replay(const std::string& name, Target&& target, int random_inputs) {
    const auto inputs = corpus(name);
    for (const auto& input : inputs) {
        target(input.data(), input.size());
    }
    std::mt19937_64 rng(20261121 + name.size());
    std::vector<std::uint8_t> buffer;
    for (int i = 0; i < random_inputs; ++i) {
        buffer.resize(rng() % 512);
        for (auto& b : buffer) {
            b = static_cast<std::uint8_t>(rng());
        }
        target(buffer.data(), buffer.size());
    }
    return inputs.size();
}

}  // namespace

TEST_CASE("the ring-operations fuzz corpus replays cleanly", "[fuzz]") {
    CHECK(replay("ring_ops", rp_fuzz::ring_ops_one_input, 1500) >= 1);
}

TEST_CASE("the departure-protocol fuzz corpus replays cleanly", "[fuzz]") {
    CHECK(replay("departure", rp_fuzz::departure_one_input, 1500) >= 1);
}

TEST_CASE("the partition-operations fuzz corpus replays cleanly", "[fuzz][partitions]") {
    // Fewer random inputs than the others: each one runs up to 24 rebalances.
    CHECK(replay("partition_ops", rp_fuzz::partition_ops_one_input, 300) >= 1);
}

TEST_CASE("the membership fuzz corpus replays cleanly", "[fuzz][cluster]") {
    CHECK(replay("membership_ops", rp_fuzz::membership_ops_one_input, 300) >= 1);
}
