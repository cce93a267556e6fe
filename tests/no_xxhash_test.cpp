// Only users of the XXH3 policy need xxHash: every header but xxh3.hpp (and the umbrella that
// includes it) must leave xxhash.h out, so a ring on another policy builds without xxHash.
#include <ringplan/bytes.hpp>
#include <ringplan/cassandra.hpp>
#include <ringplan/error.hpp>
#include <ringplan/handoff.hpp>
#include <ringplan/hash.hpp>
#include <ringplan/ketama.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/plan_types.hpp>
#include <ringplan/project.hpp>
#include <ringplan/rf.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/schedule.hpp>
#include <ringplan/token.hpp>
#include <ringplan/version.hpp>

#if defined(XXH_VERSION_NUMBER) || defined(XXH_INLINE_ALL) || defined(RINGPLAN_XXH3_HPP)
#error "a ringplan header other than xxh3.hpp included xxhash.h"
#endif

#include "catch.hpp"

#include <string>

TEST_CASE("a ring and a plan on Fnv1a64 need no xxHash header", "[hash][headers]") {
    ringplan::Ring<ringplan::Fnv1a64> ring;
    ring.add_nodes({"a", "b", "c"}, 16);
    const auto plan = ringplan::plan_leave(ring, std::string("b"), ringplan::Rf(2));
    CHECK_FALSE(plan.moves.empty());
    CHECK(ring.owner("key") == ring.owner_at(ringplan::key_token<ringplan::Fnv1a64>("key")));
}
