# Checks CMakePresets.json; run by ctest (ringplan_presets) as
#   cmake -DSOURCE_DIR=... -P cmake/checks/presets.cmake
# The file parses, CMake accepts every preset (cmake --list-presets=all reads and validates the
# whole file), and the presets README.md and the issue tracker name exist.
cmake_minimum_required(VERSION 3.25)  # presets schema version 6

set(_file "${SOURCE_DIR}/CMakePresets.json")
file(READ "${_file}" _json)
string(JSON _version ERROR_VARIABLE _error GET "${_json}" version)
if(_error)
  message(FATAL_ERROR "presets.cmake: CMakePresets.json does not parse: ${_error}")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --list-presets=all
  WORKING_DIRECTORY "${SOURCE_DIR}"
  RESULT_VARIABLE _result OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "presets.cmake: cmake --list-presets=all refuses CMakePresets.json:\n${_err}")
endif()

function(expect_presets kind)
  string(JSON _count LENGTH "${_json}" ${kind})
  math(EXPR _last "${_count} - 1")
  set(_names "")
  foreach(_i RANGE ${_last})
    string(JSON _name GET "${_json}" ${kind} ${_i} name)
    list(APPEND _names "${_name}")
  endforeach()
  foreach(_name IN LISTS ARGN)
    if(NOT _name IN_LIST _names)
      message(FATAL_ERROR "presets.cmake: no ${kind} entry named '${_name}' (have: ${_names})")
    endif()
  endforeach()
endfunction()

expect_presets(configurePresets dev release asan tsan bench)
expect_presets(buildPresets dev release asan tsan bench)
expect_presets(testPresets dev asan tsan)
expect_presets(workflowPresets dev asan tsan)
message(STATUS "CMakePresets.json: schema ${_version}, presets check out")
