// Versioning: the ABI-versioned names are the plain ones (checked at compile time).
#include "catch.hpp"

#include <ringplan/ringplan.hpp>

#include <type_traits>

static_assert(std::is_same<ringplan::Ring<>, ringplan::v1::Ring<>>::value,
              "ringplan::Ring is the inline-namespace ringplan::v1::Ring");
static_assert(std::is_same<ringplan::Error, ringplan::RINGPLAN_ABI_NAMESPACE::Error>::value,
              "the ABI namespace macro names the inline namespace");
