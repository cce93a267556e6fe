// ringplan tests: include Catch2 through this header, whichever major version is installed.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_TESTS_CATCH_HPP
#define RINGPLAN_TESTS_CATCH_HPP

#if defined(RINGPLAN_CATCH2_V3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

#endif  // RINGPLAN_TESTS_CATCH_HPP
