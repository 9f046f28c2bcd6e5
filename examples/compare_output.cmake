# cmake -DEXE=<program> -DEXPECTED=<file> -P compare_output.cmake: runs the program and fails
# unless its standard output equals the file.
execute_process(COMMAND ${EXE} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} expected)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} exited with ${rc}\nstderr:\n${err}")
endif()
if(NOT out STREQUAL expected)
    message(FATAL_ERROR "output of ${EXE} differs\n--- expected\n${expected}--- got\n${out}")
endif()
