# Builds cmake/consumer against ringplan; run by ctest as
#   cmake -DMODE=<find_package|add_subdirectory|pkg-config> -DSOURCE_DIR=... -DBINARY_DIR=...
#         -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=... -DCONFIG=... -DVERSION=...
#         -P cmake/consumer/run.cmake
# find_package and pkg-config first install ringplan from BINARY_DIR into WORK_DIR/prefix.
cmake_minimum_required(VERSION 3.14)

foreach(_var IN ITEMS MODE SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX_COMPILER VERSION)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _result)
  if(NOT _result EQUAL 0)
    string(REPLACE ";" " " _command "${ARGN}")
    message(FATAL_ERROR "run.cmake: failed (${_result}): ${_command}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(_args
  -DRINGPLAN_CONSUMER_MODE=${MODE}
  -DRINGPLAN_EXPECTED_VERSION=${VERSION}
  -DCMAKE_BUILD_TYPE=${CONFIG}
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")

if(MODE STREQUAL "add_subdirectory")
  list(APPEND _args "-DRINGPLAN_SOURCE_DIR=${SOURCE_DIR}")
else()
  set(_prefix "${WORK_DIR}/prefix")
  # cmake --install is 3.15+; the install script works on every version.
  run("${CMAKE_COMMAND}" "-DCMAKE_INSTALL_PREFIX=${_prefix}" "-DCMAKE_INSTALL_CONFIG_NAME=${CONFIG}"
      -P "${BINARY_DIR}/cmake_install.cmake")
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

run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}" ${_args})
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --config "${CONFIG}")
