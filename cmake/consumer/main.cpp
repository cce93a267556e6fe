// Consumes ringplan through the umbrella header, as a user would.
// SPDX-License-Identifier: MIT
#include <ringplan/ringplan.hpp>

#include <cstdio>

int main() {
    const ringplan::Ring<> ring;
    (void)ring;
    const auto token = ringplan::Xxh3::hash("ringplan", 8);  // needs xxhash.h on the path
    std::printf("ringplan %d.%d.%d: token %llu\n", RINGPLAN_VERSION_MAJOR, RINGPLAN_VERSION_MINOR,
                RINGPLAN_VERSION_PATCH, static_cast<unsigned long long>(token));
    return 0;
}
