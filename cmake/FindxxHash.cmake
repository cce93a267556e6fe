# FindxxHash
# ----------
# Finds xxHash (https://github.com/Cyan4973/xxHash) and provides the target
#
#   xxHash::xxhash   include directory of xxhash.h (and, from a CMake package, the library)
#
# ringplan uses xxHash header-only (XXH_INLINE_ALL), so only the header is required.
#
# 1. A CMake package (vcpkg, Conan, xxHash's own cmake_unofficial install) is used as is:
#    it provides xxHash::xxhash.
# 2. Otherwise xxhash.h is searched for (Debian's libxxhash-dev installs it to /usr/include
#    and ships no CMake package); set xxHash_INCLUDE_DIR to point at it by hand.
#
# Result variables: xxHash_FOUND, xxHash_VERSION, xxHash_INCLUDE_DIRS.

include(FindPackageHandleStandardArgs)

# A parent project may already provide the target (add_subdirectory of xxHash, an earlier
# find_package).
if(TARGET xxHash::xxhash)
  set(xxHash_FOUND TRUE)
  return()
endif()

find_package(xxHash CONFIG QUIET)
if(xxHash_FOUND AND TARGET xxHash::xxhash)
  find_package_handle_standard_args(xxHash CONFIG_MODE)
  return()
endif()
set(xxHash_FOUND FALSE)

find_path(xxHash_INCLUDE_DIR NAMES xxhash.h DOC "Directory containing xxhash.h")
mark_as_advanced(xxHash_INCLUDE_DIR)

if(xxHash_INCLUDE_DIR AND EXISTS "${xxHash_INCLUDE_DIR}/xxhash.h")
  file(STRINGS "${xxHash_INCLUDE_DIR}/xxhash.h" _xxhash_version_lines
       REGEX "^#define XXH_VERSION_(MAJOR|MINOR|RELEASE) +[0-9]+")
  set(_xxhash_version "")
  foreach(_part IN ITEMS MAJOR MINOR RELEASE)
    foreach(_line IN LISTS _xxhash_version_lines)
      if(_line MATCHES "^#define XXH_VERSION_${_part} +([0-9]+)")
        list(APPEND _xxhash_version "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endforeach()
  list(LENGTH _xxhash_version _xxhash_version_length)
  if(_xxhash_version_length EQUAL 3)
    string(REPLACE ";" "." xxHash_VERSION "${_xxhash_version}")
  endif()
  unset(_xxhash_version)
  unset(_xxhash_version_length)
  unset(_xxhash_version_lines)
endif()

find_package_handle_standard_args(xxHash
  REQUIRED_VARS xxHash_INCLUDE_DIR
  VERSION_VAR xxHash_VERSION)

if(xxHash_FOUND)
  set(xxHash_INCLUDE_DIRS "${xxHash_INCLUDE_DIR}")
  if(NOT TARGET xxHash::xxhash)
    add_library(xxHash::xxhash INTERFACE IMPORTED)
    set_target_properties(xxHash::xxhash PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${xxHash_INCLUDE_DIR}")
  endif()
endif()
