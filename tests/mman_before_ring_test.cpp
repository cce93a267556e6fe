// <sys/mman.h> first, then ring.hpp: ring.hpp's own declaration of madvise must match the C
// library's (detail/huge_pages.hpp).
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <ringplan/ring.hpp>
#include <ringplan/xxh3.hpp>

#include "catch.hpp"

#include <string>

TEST_CASE("sys/mman.h before ring.hpp: both declarations of madvise agree", "[headers]") {
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b", "c"}, 8);
    CHECK(ring.node_count() == 3);
}
