// Versioning: the macros agree with each other, and the ABI-versioned names are the plain ones.
#include "catch.hpp"

#include <ringplan/ringplan.hpp>

#include <type_traits>

static_assert(std::is_same<ringplan::Ring<>, ringplan::v1::Ring<>>::value,
              "ringplan::Ring is the inline-namespace ringplan::v1::Ring");
static_assert(std::is_same<ringplan::Error, ringplan::RINGPLAN_ABI_NAMESPACE::Error>::value,
              "the ABI namespace macro names the inline namespace");

TEST_CASE("version macros", "[version]") {
    CHECK(RINGPLAN_VERSION ==
          RINGPLAN_VERSION_MAJOR * 10000 + RINGPLAN_VERSION_MINOR * 100 + RINGPLAN_VERSION_PATCH);
    CHECK(RINGPLAN_VERSION_MINOR < 100);
    CHECK(RINGPLAN_VERSION_PATCH < 100);
}
