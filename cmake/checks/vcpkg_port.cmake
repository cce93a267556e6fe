# Checks ports/ringplan without vcpkg (which this project's machines can not install): run by
# ctest (ringplan_vcpkg_port) as
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=... -DVERSION=...
#         -P cmake/checks/vcpkg_port.cmake
# 1. vcpkg.json parses, names the port, its version (= the project's) and its dependencies.
# 2. portfile.cmake runs against small stand-ins for the vcpkg helpers it calls, which configure,
#    build and install this source tree the way vcpkg would (one release configuration, into a
#    packages directory), so the options, paths and fix-ups of the portfile are exercised.
# 3. The packages directory has vcpkg's layout: headers, share/ringplan with the CMake package,
#    usage and copyright; no lib/, bin/, debug/ or share/doc.
# 4. cmake/consumer builds against it with find_package, as a vcpkg user's project would.
# What this can not show: vcpkg's own post-build checks, and its xxhash port standing in for
# Debian's libxxhash-dev.
cmake_minimum_required(VERSION 3.19)  # string(JSON)

foreach(_var IN ITEMS SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER VERSION)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "vcpkg_port.cmake: -D${_var}=... is required")
  endif()
endforeach()
set(_port_dir "${SOURCE_DIR}/ports/ringplan")
set(_project_version "${VERSION}")

function(fail)
  string(JOIN "" _message ${ARGN})
  message(FATAL_ERROR "vcpkg_port.cmake: ${_message}")
endfunction()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _result)
  if(NOT _result EQUAL 0)
    string(REPLACE ";" " " _command "${ARGN}")
    fail("failed (${_result}): ${_command}")
  endif()
endfunction()

# ---- 1. vcpkg.json -------------------------------------------------------------------------
foreach(_file IN ITEMS vcpkg.json portfile.cmake usage)
  if(NOT EXISTS "${_port_dir}/${_file}")
    fail("ports/ringplan/${_file} is missing")
  endif()
endforeach()
file(READ "${_port_dir}/vcpkg.json" _manifest)
string(JSON _name ERROR_VARIABLE _error GET "${_manifest}" name)
if(_error)
  fail("ports/ringplan/vcpkg.json does not parse: ${_error}")
endif()
if(NOT _name STREQUAL "ringplan")
  fail("vcpkg.json: name is '${_name}', expected 'ringplan'")
endif()
string(JSON _port_version ERROR_VARIABLE _error GET "${_manifest}" version)
if(NOT _port_version STREQUAL _project_version)
  fail("vcpkg.json: version is '${_port_version}', but include/ringplan/version.hpp says "
       "${_project_version}")
endif()
string(JSON _license ERROR_VARIABLE _error GET "${_manifest}" license)
if(NOT _license STREQUAL "MIT")
  fail("vcpkg.json: license is '${_license}', expected 'MIT' (as LICENSE)")
endif()
string(JSON _count LENGTH "${_manifest}" dependencies)
set(_dependencies "")
math(EXPR _last "${_count} - 1")
foreach(_i RANGE ${_last})
  string(JSON _type TYPE "${_manifest}" dependencies ${_i})
  if(_type STREQUAL "STRING")
    string(JSON _dep GET "${_manifest}" dependencies ${_i})
  else()
    string(JSON _dep GET "${_manifest}" dependencies ${_i} name)
    string(JSON _host ERROR_VARIABLE _no_host GET "${_manifest}" dependencies ${_i} host)
    if(NOT _no_host AND _host)
      set(_dep "${_dep}:host")
    endif()
  endif()
  list(APPEND _dependencies "${_dep}")
endforeach()
list(SORT _dependencies)
if(NOT _dependencies STREQUAL "vcpkg-cmake-config:host;vcpkg-cmake:host;xxhash")
  fail("vcpkg.json: dependencies are '${_dependencies}', expected xxhash and the host tools "
       "vcpkg-cmake and vcpkg-cmake-config")
endif()

# ---- 2. portfile.cmake against stand-ins of vcpkg's helpers --------------------------------
file(REMOVE_RECURSE "${WORK_DIR}")
set(PORT ringplan)
set(VERSION "${_port_version}")  # vcpkg sets VERSION from vcpkg.json
set(TARGET_TRIPLET x64-linux)
set(CURRENT_BUILDTREES_DIR "${WORK_DIR}/buildtrees/${PORT}")
set(CURRENT_PACKAGES_DIR "${WORK_DIR}/packages/${PORT}_${TARGET_TRIPLET}")
set(CURRENT_PORT_DIR "${_port_dir}")
set(_called "")

function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH" "OPTIONS;OPTIONS_RELEASE;OPTIONS_DEBUG")
  if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
    fail("a header-only port sets VCPKG_BUILD_TYPE release before configuring")
  endif()
  if(NOT EXISTS "${arg_SOURCE_PATH}/CMakeLists.txt")
    fail("SOURCE_PATH '${arg_SOURCE_PATH}' is not the ringplan source tree")
  endif()
  get_filename_component(_source "${arg_SOURCE_PATH}" REALPATH)
  get_filename_component(_expected "${SOURCE_DIR}" REALPATH)
  if(NOT _source STREQUAL _expected)
    fail("SOURCE_PATH is ${_source}, expected this checkout, ${_expected}")
  endif()
  run("${CMAKE_COMMAND}" -S "${arg_SOURCE_PATH}" -B "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-rel"
      -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Release
      "-DCMAKE_INSTALL_PREFIX=${CURRENT_PACKAGES_DIR}" ${arg_OPTIONS} ${arg_OPTIONS_RELEASE})
  set_property(GLOBAL APPEND PROPERTY vcpkg_called vcpkg_cmake_configure)
endfunction()

function(vcpkg_cmake_install)
  run("${CMAKE_COMMAND}" --build "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-rel" --target install)
  set_property(GLOBAL APPEND PROPERTY vcpkg_called vcpkg_cmake_install)
endfunction()

function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "PACKAGE_NAME;CONFIG_PATH" "")
  if(NOT arg_PACKAGE_NAME)
    set(arg_PACKAGE_NAME "${PORT}")
  endif()
  if(NOT arg_CONFIG_PATH)
    set(arg_CONFIG_PATH "share/${arg_PACKAGE_NAME}")
  endif()
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}/${arg_PACKAGE_NAME}Config.cmake")
    fail("vcpkg_cmake_config_fixup: no ${arg_PACKAGE_NAME}Config.cmake in ${arg_CONFIG_PATH}")
  endif()
  if(NOT arg_CONFIG_PATH STREQUAL "share/${arg_PACKAGE_NAME}")
    file(RENAME "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}"
         "${CURRENT_PACKAGES_DIR}/share/${arg_PACKAGE_NAME}")
  endif()
  set_property(GLOBAL APPEND PROPERTY vcpkg_called vcpkg_cmake_config_fixup)
endfunction()

function(vcpkg_fixup_pkgconfig)
  file(GLOB_RECURSE _pc_files "${CURRENT_PACKAGES_DIR}/*.pc")
  foreach(_pc IN LISTS _pc_files)
    file(STRINGS "${_pc}" _prefix_line REGEX "^prefix=")
    if(NOT _prefix_line MATCHES "^prefix=\\\${pcfiledir}/")
      fail("${_pc}: '${_prefix_line}' is not relative to \${pcfiledir}")
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY vcpkg_called vcpkg_fixup_pkgconfig)
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  set(_text "")
  foreach(_file IN LISTS arg_FILE_LIST)
    if(NOT EXISTS "${_file}")
      fail("vcpkg_install_copyright: ${_file} does not exist")
    endif()
    file(READ "${_file}" _content)
    string(APPEND _text "${_content}")
  endforeach()
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${_text}")
  set_property(GLOBAL APPEND PROPERTY vcpkg_called vcpkg_install_copyright)
endfunction()

include("${_port_dir}/portfile.cmake")

get_property(_called GLOBAL PROPERTY vcpkg_called)
foreach(_helper IN ITEMS vcpkg_cmake_configure vcpkg_cmake_install vcpkg_cmake_config_fixup
                         vcpkg_fixup_pkgconfig vcpkg_install_copyright)
  if(NOT _helper IN_LIST _called)
    fail("portfile.cmake does not call ${_helper}")
  endif()
endforeach()

# ---- 3. the packages directory -------------------------------------------------------------
foreach(_file IN ITEMS
    include/ringplan/ringplan.hpp
    include/ringplan/version.hpp
    share/ringplan/ringplanConfig.cmake
    share/ringplan/ringplanConfigVersion.cmake
    share/ringplan/ringplanTargets.cmake
    share/ringplan/usage
    share/ringplan/copyright
    share/pkgconfig/ringplan.pc)
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/${_file}")
    fail("the port does not install ${_file}")
  endif()
endforeach()
foreach(_dir IN ITEMS lib bin debug share/doc share/cmake)
  if(EXISTS "${CURRENT_PACKAGES_DIR}/${_dir}")
    fail("a header-only port installs nothing to ${_dir}/")
  endif()
endforeach()

# ---- 4. a project consumes it --------------------------------------------------------------
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _requested "${_project_version}")
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/consumer" -B "${WORK_DIR}/consumer" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Release
    -DRINGPLAN_CONSUMER_MODE=find_package
    "-DRINGPLAN_EXPECTED_VERSION=${_project_version}"
    "-DRINGPLAN_REQUESTED_VERSION=${_requested}"
    "-DCMAKE_PREFIX_PATH=${CURRENT_PACKAGES_DIR}"
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")
message(STATUS "ports/ringplan: manifest, portfile and the installed package check out")
