// SPDX-License-Identifier: MIT
#include <ringplan/ringplan.hpp>

#include <cstdio>

int main() {
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b", "c"}, 8);
    std::printf("ringplan %d.%d.%d: 'key' is on %s\n", RINGPLAN_VERSION_MAJOR,
                RINGPLAN_VERSION_MINOR, RINGPLAN_VERSION_PATCH, ring.owner("key").c_str());
    return 0;
}
