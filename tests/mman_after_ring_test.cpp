// ring.hpp calls madvise without including <sys/mman.h>: an includer sees none of that
// header's macros, and may still include it afterwards (the declarations must agree).
#include <ringplan/ring.hpp>

#if defined(MADV_HUGEPAGE) || defined(PROT_READ) || defined(MAP_PRIVATE)
#error "<ringplan/ring.hpp> brought in <sys/mman.h>"
#endif

#include "catch.hpp"

#include <ringplan/xxh3.hpp>

#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

TEST_CASE("sys/mman.h after ring.hpp: both declarations of madvise agree", "[headers]") {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // The value ring.hpp writes out (detail/huge_pages.hpp).
    CHECK(MADV_HUGEPAGE == 14);
#endif
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b"}, 8);
    CHECK(ring.vnode_count() == 16);
}
