// The tests' pseudo-random numbers: splitmix64 (Steele, Lea and Flood, OOPSLA 2014), the same
// sequence on every platform, unlike the std:: distributions, which are implementation-defined.
#ifndef RINGPLAN_TESTS_SPLITMIX64_HPP
#define RINGPLAN_TESTS_SPLITMIX64_HPP

#include <cstdint>

namespace rp_test {

struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [-j, j] (the modulo bias of 2j + 1 << 2^64 values is negligible).
    std::int64_t jitter(std::int64_t j) {
        return static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(2 * j + 1)) - j;
    }
};

}  // namespace rp_test

#endif  // RINGPLAN_TESTS_SPLITMIX64_HPP
