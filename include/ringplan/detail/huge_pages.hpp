// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Huge pages for the arrays every lookup reads. Users never name anything here.
#ifndef RINGPLAN_DETAIL_HUGE_PAGES_HPP
#define RINGPLAN_DETAIL_HUGE_PAGES_HPP

#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

// Define RINGPLAN_NO_HUGE_PAGES to keep ringplan from calling madvise.
//
// madvise is declared here rather than by including <sys/mman.h>, so that every includer of
// ring.hpp does not get that header's macros (PROT_*, MAP_*, MADV_*). The declaration matches
// the C library's, so a translation unit may include <sys/mman.h> too, before or after.
#if defined(__linux__) && !defined(RINGPLAN_NO_HUGE_PAGES)
#define RINGPLAN_HAS_HUGE_PAGES 1
#if defined(__GLIBC__)  // <cstdint> includes <stdint.h>, which defines it under glibc
// glibc declares it __THROW, which is noexcept(true) in C++11 and later.
extern "C" int madvise(void* addr, std::size_t length, int advice) noexcept;
#else
// musl and Bionic declare it without an exception specification.
extern "C" int madvise(void* addr, std::size_t length, int advice);
#endif
#endif

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

/// Asks Linux to back the whole 2 MiB pages inside [p, p + bytes) with transparent huge pages.
/// A lookup in a ring of 10^6 vnodes reads a random line of a 6 MiB index (and sometimes of the
/// 12 MiB of tokens and owners): with 4 KiB pages most of those reads also miss the TLB, and in
/// a virtual machine a page walk costs several more memory accesses. Debian and Ubuntu enable
/// transparent huge pages only for memory that asks (`madvise` mode). A hint: if it fails, or
/// the kernel has none to give, nothing changes but speed. Only pages that are not yet touched
/// are affected, so call it between reserving and filling.
inline void advise_huge_pages(const void* p, std::size_t bytes) noexcept {
#if defined(RINGPLAN_HAS_HUGE_PAGES)
    constexpr std::uintptr_t huge = std::uintptr_t{1} << 21;
    const auto first = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t begin = (first + huge - 1) & ~(huge - 1);
    const std::uintptr_t end = (first + bytes) & ~(huge - 1);
    if (end > begin) {
        // MADV_HUGEPAGE is 14 on every Linux architecture (include/uapi/asm-generic/
        // mman-common.h; alpha's and mips' own headers agree). Written out so that no
        // includer gets <sys/mman.h>'s macros; a kernel without it just returns EINVAL.
        constexpr int madv_hugepage = 14;
        (void)::madvise(reinterpret_cast<void*>(begin), end - begin, madv_hugepage);
    }
#else
    (void)p;
    (void)bytes;
#endif
}

/// v.reserve(n) for a vector that lookups will read at random, with huge pages advised for the
/// reserved room (fill it afterwards). The same guarantees as reserve.
template <class T>
void reserve_for_lookups(std::vector<T>& v, std::size_t n) {
    v.reserve(n);
    advise_huge_pages(v.data(), n * sizeof(T));
}

/// v.resize(n) for a vector that lookups will read at random: reserve_for_lookups, then fill.
/// The same guarantees as resize (strong: if it throws, nothing changed).
template <class T>
void resize_for_lookups(std::vector<T>& v, std::size_t n) {
    reserve_for_lookups(v, n);
    v.resize(n);
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_HUGE_PAGES_HPP
