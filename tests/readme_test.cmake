# Compiles the C++ examples of README.md; run by ctest (ringplan_readme) as
#   cmake -DREADME=... -DWORK_DIR=... -DCXX_COMPILER=... -DINCLUDE_DIRS=a|b
#         -DFLAGS=-std=c++17|-Wall|... -P tests/readme_test.cmake
# (lists separated by '|', since ctest would split ';').
#
# The rule: every block fenced by a line "```cpp" and a line "```" is a complete program. It
# is written to its own file, compiled and linked with FLAGS against INCLUDE_DIRS (ringplan's
# include directory and xxHash's, which ringplan uses header-only), and must do so without a
# warning (FLAGS carry -Werror). It is not run: examples may print, wait or need a service. A
# block that is only a fragment belongs under another fence (```c++ is not checked either).
# Nothing is configured at configure time: the README is read when the test runs.
cmake_minimum_required(VERSION 3.14)

foreach(_var IN ITEMS README WORK_DIR CXX_COMPILER INCLUDE_DIRS FLAGS)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "readme_test.cmake: -D${_var}=... is required")
  endif()
endforeach()

string(REPLACE "|" ";" _flags "${FLAGS}")
string(REPLACE "|" " " _shown_flags "${FLAGS}")
string(REPLACE "|" ";" _include_dirs "${INCLUDE_DIRS}")
set(_includes "")
foreach(_dir IN LISTS _include_dirs)
  list(APPEND _includes "-I${_dir}")
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(READ "${README}" _text)
# _rest always starts with a newline, and the line after that newline is line _line.
set(_rest "\n${_text}")
set(_line 1)
set(_open "\n```cpp\n")
string(LENGTH "${_open}" _open_length)
set(_blocks 0)
set(_failed "")
while(TRUE)
  string(FIND "${_rest}" "${_open}" _at)
  if(_at EQUAL -1)
    break()
  endif()
  # The fence's line: _line plus the newlines before it.
  string(SUBSTRING "${_rest}" 0 ${_at} _before)
  string(REGEX REPLACE "[^\n]" "" _newlines "${_before}")
  string(LENGTH "${_newlines}" _count)
  math(EXPR _fence_line "${_line} + ${_count}")
  # Keep the newline that ends the fence's line, so _rest starts with a newline again.
  math(EXPR _from "${_at} + ${_open_length} - 1")
  string(SUBSTRING "${_rest}" ${_from} -1 _rest)
  # The block ends at the next line that starts with ```; the body keeps its last newline.
  string(FIND "${_rest}" "\n```" _end)
  if(_end EQUAL -1)
    message(FATAL_ERROR "README.md:${_fence_line}: the ```cpp block is never closed")
  endif()
  string(SUBSTRING "${_rest}" 1 ${_end} _body)
  string(SUBSTRING "${_rest}" ${_end} -1 _rest)
  string(REGEX REPLACE "[^\n]" "" _newlines "${_body}")
  string(LENGTH "${_newlines}" _count)
  math(EXPR _line "${_fence_line} + 1 + ${_count}")  # the closing fence's line

  math(EXPR _blocks "${_blocks} + 1")
  set(_name "block${_blocks}_line${_fence_line}")
  set(_source "${WORK_DIR}/${_name}.cpp")
  # #line makes the compiler's diagnostics point into README.md.
  math(EXPR _first_line "${_fence_line} + 1")
  file(WRITE "${_source}" "#line ${_first_line} \"${README}\"\n${_body}")
  if(NOT _body MATCHES "(^|\n)[ \t]*int[ \t]+main[ \t]*\\(")
    message(SEND_ERROR "README.md:${_fence_line}: the ```cpp block has no main(); every "
                       "```cpp block must be a complete program (tests/readme_test.cmake)")
    list(APPEND _failed "${_fence_line}")
    continue()
  endif()
  execute_process(
    COMMAND "${CXX_COMPILER}" ${_flags} ${_includes} "${_source}" -o "${WORK_DIR}/${_name}"
    RESULT_VARIABLE _result
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _err)
  if(NOT _result EQUAL 0)
    message(SEND_ERROR "README.md:${_fence_line}: the ```cpp block does not compile and link "
                       "(${CXX_COMPILER} ${_shown_flags}):\n${_out}${_err}")
    list(APPEND _failed "${_fence_line}")
  else()
    message(STATUS "README.md:${_fence_line}: the ```cpp block compiles and links")
  endif()
endwhile()

if(_blocks EQUAL 0)
  message(FATAL_ERROR "readme_test.cmake: no ```cpp block in ${README}")
endif()
if(_failed)
  string(REPLACE ";" ", " _failed "${_failed}")
  message(FATAL_ERROR "readme_test.cmake: ${_blocks} ```cpp blocks, failing at README.md line(s) ${_failed}")
endif()
message(STATUS "readme_test.cmake: all ${_blocks} ```cpp blocks of README.md compile and link")
