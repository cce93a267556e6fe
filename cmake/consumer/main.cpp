// Consumes ringplan through the umbrella header, as a user would.
// SPDX-License-Identifier: MIT
#include <ringplan/ringplan.hpp>

#include <cstdio>
#include <string>

int main() {
    ringplan::Ring<> ring;  // XXH3-64: needs xxhash.h on the include path
    ring.add_nodes({"a", "b", "c"}, 16);
    const std::string& owner = ring.owner("key");
    const auto plan = ringplan::plan_leave(ring, owner, ringplan::Rf{2});
    std::printf("ringplan %d.%d.%d: owner %s, a leave moves %zu ranges\n", RINGPLAN_VERSION_MAJOR,
                RINGPLAN_VERSION_MINOR, RINGPLAN_VERSION_PATCH, owner.c_str(), plan.moves.size());
    return plan.moves.empty() ? 1 : 0;
}
