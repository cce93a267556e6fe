# An overlay port that builds ringplan from this source tree (two levels up):
#   vcpkg install ringplan --overlay-ports=<ringplan checkout>/ports
# or "overlay-ports" in a vcpkg-configuration.json (docs/install.md). vcpkg keys its
# binary cache on the port's own files, not on this tree: after changing the sources, install
# with --no-binarycaching (or raise "port-version" in vcpkg.json). A port for the vcpkg registry
# would fetch a release with vcpkg_from_github instead of pointing at a checkout.
set(VCPKG_BUILD_TYPE release)  # header-only: a debug configuration would install the same files

get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(_ringplan_version_header "${SOURCE_PATH}/include/ringplan/version.hpp")
if(NOT EXISTS "${_ringplan_version_header}")
    message(FATAL_ERROR "${PORT}: no ringplan source tree at ${SOURCE_PATH}")
endif()

# The version lives in include/ringplan/version.hpp; vcpkg.json must say the same.
file(STRINGS "${_ringplan_version_header}" _ringplan_version_lines
     REGEX "^#define RINGPLAN_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
set(_ringplan_version "")
foreach(_part IN ITEMS MAJOR MINOR PATCH)
    foreach(_line IN LISTS _ringplan_version_lines)
        if(_line MATCHES "^#define RINGPLAN_VERSION_${_part} +([0-9]+)")
            list(APPEND _ringplan_version "${CMAKE_MATCH_1}")
        endif()
    endforeach()
endforeach()
string(REPLACE ";" "." _ringplan_version "${_ringplan_version}")
if(NOT _ringplan_version STREQUAL VERSION)
    message(FATAL_ERROR "${PORT}: vcpkg.json says version ${VERSION}, the source tree is ${_ringplan_version}")
endif()

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DRINGPLAN_BUILD_TESTS=OFF
        -DRINGPLAN_BUILD_EXAMPLES=OFF
        -DRINGPLAN_BUILD_BENCHMARKS=OFF
        -DRINGPLAN_INSTALL=ON
        "-DRINGPLAN_INSTALL_CMAKEDIR=share/${PORT}"
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME ringplan CONFIG_PATH "share/${PORT}")
vcpkg_fixup_pkgconfig()

# The license goes to share/ringplan/copyright, where vcpkg looks for it.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/doc")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
