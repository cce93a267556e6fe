# Builds cmake/consumer against ringplan; run by ctest as
#   cmake -DMODE=<mode> -DSOURCE_DIR=... -DBINARY_DIR=... -DWORK_DIR=... -DGENERATOR=...
#         -DCXX_COMPILER=... -DCONFIG=... -DVERSION=... -P cmake/consumer/run.cmake
# with <mode> one of
#   add_subdirectory            the source tree embedded; it must add no targets, tests or
#                               install rules beyond the library
#   find_package                installed into WORK_DIR/prefix, the prefix moved to
#                               WORK_DIR/moved/prefix, then find_package(ringplan MAJOR.MINOR)
#                               from there: the package must be relocatable
#   find_package_wrong_major    installed, then find_package(ringplan <MAJOR+1>.0), which the
#                               version file must refuse
#   fetchcontent                FetchContent as README.md shows it, with
#                               FETCHCONTENT_SOURCE_DIR_RINGPLAN set to the source tree
#   include                     no build system: the compiler with -I <source>/include
#   pkg-config                  installed and moved as for find_package, then pkg-config
#   test_package                installed, then test_package/ (Conan's) built and run against it
cmake_minimum_required(VERSION 3.14)

foreach(_var IN ITEMS MODE SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX_COMPILER VERSION)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()
if(NOT VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.[0-9]+$")
  message(FATAL_ERROR "run.cmake: VERSION '${VERSION}' is not MAJOR.MINOR.PATCH")
endif()
set(_major "${CMAKE_MATCH_1}")
set(_minor "${CMAKE_MATCH_2}")
math(EXPR _wrong_major "${_major} + 1")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _result)
  if(NOT _result EQUAL 0)
    string(REPLACE ";" " " _command "${ARGN}")
    message(FATAL_ERROR "run.cmake: failed (${_result}): ${_command}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(_consumer_mode "${MODE}")
set(_requested "${_major}.${_minor}")
if(MODE STREQUAL "find_package_wrong_major")
  set(_consumer_mode find_package)
  set(_requested "${_wrong_major}.0")
endif()
set(_args
  -DRINGPLAN_CONSUMER_MODE=${_consumer_mode}
  -DRINGPLAN_EXPECTED_VERSION=${VERSION}
  -DRINGPLAN_REQUESTED_VERSION=${_requested}
  -DCMAKE_BUILD_TYPE=${CONFIG}
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  # Only the prefix under test may provide ringplan.
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)

if(MODE STREQUAL "include")
  # As README.md shows it: c++ -std=c++17 -I ringplan/include main.cpp (xxhash.h from the system).
  file(MAKE_DIRECTORY "${WORK_DIR}")
  run("${CXX_COMPILER}" -std=c++17 -I "${SOURCE_DIR}/include" "${SOURCE_DIR}/cmake/consumer/main.cpp"
      -o "${WORK_DIR}/consumer")
  run("${WORK_DIR}/consumer")
  return()
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND _args "-DRINGPLAN_SOURCE_DIR=${SOURCE_DIR}")
elseif(MODE STREQUAL "fetchcontent")
  list(APPEND _args "-DRINGPLAN_GIT=https://invalid.example/ringplan.git"
                    "-DFETCHCONTENT_SOURCE_DIR_RINGPLAN=${SOURCE_DIR}")
else()
  set(_prefix "${WORK_DIR}/prefix")
  # cmake --install is 3.15+; the install script works on every version.
  run("${CMAKE_COMMAND}" "-DCMAKE_INSTALL_PREFIX=${_prefix}" "-DCMAKE_INSTALL_CONFIG_NAME=${CONFIG}"
      -P "${BINARY_DIR}/cmake_install.cmake")

  # Relocatable: no installed file may name the prefix it was installed to, and no generated
  # one the prefix the build was configured for (what configure_file would have written)...
  file(STRINGS "${BINARY_DIR}/CMakeCache.txt" _configured_prefix REGEX "^CMAKE_INSTALL_PREFIX:")
  string(REGEX REPLACE "^[^=]*=" "" _configured_prefix "${_configured_prefix}")
  file(GLOB_RECURSE _installed LIST_DIRECTORIES false "${_prefix}/*")
  foreach(_file IN LISTS _installed)
    file(READ "${_file}" _content)
    set(_absolutes "${_prefix}")
    if(_file MATCHES "(\\.pc|Config\\.cmake|ConfigVersion\\.cmake|Targets.*\\.cmake)$" AND
       NOT _configured_prefix MATCHES "^/?$")
      list(APPEND _absolutes "${_configured_prefix}")
    endif()
    foreach(_absolute IN LISTS _absolutes)
      string(FIND "${_content}" "${_absolute}" _at)
      if(NOT _at EQUAL -1)
        message(FATAL_ERROR "run.cmake: ${_file} names the prefix ${_absolute}, so the package "
                            "can not be moved")
      endif()
    endforeach()
  endforeach()
  # ...and the consumer uses it from somewhere else, with the original gone.
  if(MODE MATCHES "^(find_package|pkg-config)$")
    file(MAKE_DIRECTORY "${WORK_DIR}/moved")
    file(RENAME "${_prefix}" "${WORK_DIR}/moved/prefix")
    set(_prefix "${WORK_DIR}/moved/prefix")
  endif()

  list(APPEND _args "-DCMAKE_PREFIX_PATH=${_prefix}")
  # pkg-config finds ringplan.pc here; libxxhash.pc stays on its default path.
  if(DEFINED ENV{PKG_CONFIG_PATH} AND NOT "$ENV{PKG_CONFIG_PATH}" STREQUAL "")
    if(CMAKE_HOST_WIN32)
      set(_sep ";")
    else()
      set(_sep ":")
    endif()
    set(ENV{PKG_CONFIG_PATH} "${_prefix}/share/pkgconfig${_sep}$ENV{PKG_CONFIG_PATH}")
  else()
    set(ENV{PKG_CONFIG_PATH} "${_prefix}/share/pkgconfig")
  endif()
endif()

if(MODE STREQUAL "find_package_wrong_major")
  # SameMajorVersion: asking for the next major version must fail, and say why.
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/consumer" -B "${WORK_DIR}/build"
            -G "${GENERATOR}" ${_args}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(_result EQUAL 0)
    message(FATAL_ERROR "run.cmake: find_package(ringplan ${_wrong_major}.0) accepted ringplan "
                        "${VERSION}:\n${_out}")
  endif()
  if(NOT _err MATCHES "compatible with requested version \"${_wrong_major}\\.0\"" OR
     NOT _err MATCHES "version: ${VERSION}")
    message(FATAL_ERROR "run.cmake: find_package(ringplan ${_wrong_major}.0) failed, but not by "
                        "refusing version ${VERSION}:\n${_err}")
  endif()
  message(STATUS "find_package(ringplan ${_wrong_major}.0) refused ringplan ${VERSION}, as it must")
  return()
endif()

if(MODE STREQUAL "test_package")
  run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/test_package" -B "${WORK_DIR}/build" -G "${GENERATOR}" ${_args})
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --config "${CONFIG}")
  foreach(_exe IN ITEMS "${WORK_DIR}/build/test_package" "${WORK_DIR}/build/${CONFIG}/test_package.exe"
                        "${WORK_DIR}/build/test_package.exe")
    if(EXISTS "${_exe}")
      run("${_exe}")
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "run.cmake: test_package built no program in ${WORK_DIR}/build")
  return()
endif()

run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}" ${_args})

if(MODE MATCHES "^(add_subdirectory|fetchcontent)$")
  if(MODE STREQUAL "add_subdirectory")
    set(_install_script "${WORK_DIR}/build/ringplan/cmake_install.cmake")
  else()
    set(_install_script "${WORK_DIR}/build/_deps/ringplan-build/cmake_install.cmake")
  endif()
  file(READ "${_install_script}" _install_rules)
  if(_install_rules MATCHES "file\\(INSTALL")
    message(FATAL_ERROR "run.cmake: ringplan as a subproject added install rules "
                        "(see ${_install_script})")
  endif()
endif()

run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --config "${CONFIG}")
