// ringplan tests: Catch2's main(). With Catch2 v3 it comes from Catch2::Catch2WithMain and this
// file is empty; with v2 it is compiled here, once per test executable.
// SPDX-License-Identifier: MIT
#if !defined(RINGPLAN_CATCH2_V3)
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
#endif
