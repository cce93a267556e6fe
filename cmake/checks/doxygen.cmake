# Builds the API reference from docs/Doxyfile with every warning an error; run by ctest
# (ringplan_doxygen) and by the ringplan_docs target as
#   cmake -DDOXYGEN=... -DSOURCE_DIR=... -DOUTPUT_DIR=... -DVERSION=... -P cmake/checks/doxygen.cmake
# The HTML lands in OUTPUT_DIR/html.
cmake_minimum_required(VERSION 3.14)

foreach(_var IN ITEMS DOXYGEN SOURCE_DIR OUTPUT_DIR VERSION)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "doxygen.cmake: -D${_var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${OUTPUT_DIR}")
file(MAKE_DIRECTORY "${OUTPUT_DIR}")
# docs/Doxyfile, with the output moved to the build tree and warnings made errors.
# FAIL_ON_WARNINGS (Doxygen >= 1.9) reports every warning, then fails.
file(WRITE "${OUTPUT_DIR}/Doxyfile"
"@INCLUDE         = \"${SOURCE_DIR}/docs/Doxyfile\"
OUTPUT_DIRECTORY = \"${OUTPUT_DIR}\"
PROJECT_NUMBER   = ${VERSION}
WARN_AS_ERROR    = FAIL_ON_WARNINGS
")
execute_process(
  COMMAND "${DOXYGEN}" "${OUTPUT_DIR}/Doxyfile"
  WORKING_DIRECTORY "${SOURCE_DIR}"  # INPUT is relative to the repository root
  RESULT_VARIABLE _result
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _err)
if(NOT _result EQUAL 0 OR _err MATCHES "warning:|error:")
  message(FATAL_ERROR "doxygen.cmake: Doxygen failed (${_result}):\n${_err}${_out}")
endif()
if(NOT EXISTS "${OUTPUT_DIR}/html/classringplan_1_1Ring.html")
  message(FATAL_ERROR "doxygen.cmake: no page for ringplan::Ring in ${OUTPUT_DIR}/html")
endif()
message(STATUS "API reference: ${OUTPUT_DIR}/html/index.html")
