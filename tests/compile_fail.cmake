# Compiles a file that must NOT compile and checks why; run by ctest (ringplan_compile_fail_*) as
#   cmake -DSOURCE=... -DCXX_COMPILER=... -DINCLUDE_DIRS=a|b -DFLAGS=-std=c++17|... -P this
# (lists separated by '|', since ctest would split ';').
#
# Every line "// expect: REGEX" of SOURCE is a regular expression the compiler's output must
# match: the build has to fail with the library's own diagnostic, not for some other reason.
cmake_minimum_required(VERSION 3.14)

foreach(_var IN ITEMS SOURCE CXX_COMPILER INCLUDE_DIRS FLAGS)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "compile_fail.cmake: -D${_var}=... is required")
  endif()
endforeach()

string(REPLACE "|" ";" _flags "${FLAGS}")
string(REPLACE "|" ";" _include_dirs "${INCLUDE_DIRS}")
set(_includes "")
foreach(_dir IN LISTS _include_dirs)
  list(APPEND _includes "-I${_dir}")
endforeach()

file(STRINGS "${SOURCE}" _expects REGEX "^// expect: ")
if(NOT _expects)
  message(FATAL_ERROR "${SOURCE}: no \"// expect: REGEX\" line")
endif()

execute_process(
  COMMAND "${CXX_COMPILER}" ${_flags} ${_includes} -fsyntax-only "${SOURCE}"
  RESULT_VARIABLE _result
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _err)
if(_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiles, but must not")
endif()
foreach(_line IN LISTS _expects)
  string(REGEX REPLACE "^// expect: " "" _regex "${_line}")
  if(NOT "${_out}${_err}" MATCHES "${_regex}")
    message(FATAL_ERROR "${SOURCE} fails to compile, but its output does not match "
                        "\"${_regex}\":\n${_out}${_err}")
  endif()
endforeach()
message(STATUS "${SOURCE} fails to compile, as expected")
