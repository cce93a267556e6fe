# Runs a program on an input file and compares what it does with what is expected.
#
#   cmake -DPROGRAM=<exe> -DINPUT=<file> -DEXPECTED_OUT=<file> -DEXPECTED_EXIT=<code>
#         [-DARGS=<arg>[,<arg>...]] [-DEXPECTED_ERR_REGEX=<regex>[,<regex>...]]
#         -P run_and_compare.cmake
#
# ARGS are the program's command-line arguments, separated by commas.
# stdout must equal EXPECTED_OUT byte for byte and the exit code must be EXPECTED_EXIT. Without
# EXPECTED_ERR_REGEX stderr must be empty; with it, stderr must have exactly one line per regex,
# line i matching regex i. The regexes are separated by commas (a ';' would be split by
# add_test), so they can not contain a comma themselves.
foreach(_var IN ITEMS PROGRAM INPUT EXPECTED_OUT EXPECTED_EXIT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run_and_compare.cmake: -D${_var}=... is required")
  endif()
endforeach()

set(_args "")
if(DEFINED ARGS AND NOT ARGS STREQUAL "")
  string(REPLACE "," ";" _args "${ARGS}")
endif()
execute_process(
  COMMAND "${PROGRAM}" ${_args}
  INPUT_FILE "${INPUT}"
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _err
  RESULT_VARIABLE _rc)
file(READ "${EXPECTED_OUT}" _expected)

set(_failures "")
if(NOT _rc STREQUAL "${EXPECTED_EXIT}")
  string(APPEND _failures "exit code: expected ${EXPECTED_EXIT}, got ${_rc}\n")
endif()
if(NOT _out STREQUAL _expected)
  string(APPEND _failures "stdout differs from ${EXPECTED_OUT}\n--- expected:\n${_expected}--- got:\n${_out}---\n")
endif()

if(DEFINED EXPECTED_ERR_REGEX AND NOT EXPECTED_ERR_REGEX STREQUAL "")
  string(REPLACE "," ";" _regexes "${EXPECTED_ERR_REGEX}")
  # Walk stderr line by line (a message may hold ';', which a CMake list would split on).
  set(_rest "${_err}")
  set(_i 0)  # stderr lines matched so far
  foreach(_re IN LISTS _regexes)
    math(EXPR _n "${_i} + 1")
    string(FIND "${_rest}" "\n" _nl)
    if(_nl EQUAL -1)
      string(APPEND _failures "stderr line ${_n}: missing, expected a line matching '${_re}'\n")
      set(_rest "")
      break()
    endif()
    string(SUBSTRING "${_rest}" 0 ${_nl} _line)
    math(EXPR _nl "${_nl} + 1")
    string(SUBSTRING "${_rest}" ${_nl} -1 _rest)
    if(NOT _line MATCHES "${_re}")
      string(APPEND _failures "stderr line ${_n}: '${_line}' does not match '${_re}'\n")
    endif()
    math(EXPR _i "${_i} + 1")
  endforeach()
  if(NOT _rest STREQUAL "")
    string(APPEND _failures "stderr: unexpected lines after the ${_i} expected ones:\n${_rest}")
  endif()
  if(NOT _failures STREQUAL "")
    string(APPEND _failures "--- whole stderr:\n${_err}")
  endif()
elseif(NOT _err STREQUAL "")
  string(APPEND _failures "stderr: expected nothing, got:\n${_err}")
endif()

if(NOT _failures STREQUAL "")
  message(FATAL_ERROR "${PROGRAM} < ${INPUT}:\n${_failures}")
endif()
