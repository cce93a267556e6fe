// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_VERSION_HPP
#define RINGPLAN_VERSION_HPP

// The one place the version lives; CMakeLists.txt reads these three lines.
#define RINGPLAN_VERSION_MAJOR 0
#define RINGPLAN_VERSION_MINOR 1
#define RINGPLAN_VERSION_PATCH 0

#define RINGPLAN_VERSION \
    (RINGPLAN_VERSION_MAJOR * 10000 + RINGPLAN_VERSION_MINOR * 100 + RINGPLAN_VERSION_PATCH)

// The ABI version names the inline namespace, so two incompatible copies of ringplan linked
// into one program fail to link instead of silently mixing layouts (as in
// ankerl::unordered_dense).
#define RINGPLAN_ABI_VERSION 1

#define RINGPLAN_PP_CAT_(a, b) a##b
#define RINGPLAN_PP_CAT(a, b) RINGPLAN_PP_CAT_(a, b)
#define RINGPLAN_ABI_NAMESPACE RINGPLAN_PP_CAT(v, RINGPLAN_ABI_VERSION)

#define RINGPLAN_NAMESPACE_BEGIN \
    namespace ringplan {         \
    inline namespace RINGPLAN_ABI_NAMESPACE {
#define RINGPLAN_NAMESPACE_END \
    }                          \
    }

#endif  // RINGPLAN_VERSION_HPP
