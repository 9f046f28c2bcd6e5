# run_step(<command...>): runs a step of a check script and stops the script with the command's
# output if it fails; its standard output is left in `step_output`. Shared by the install,
# pkg-config and add_subdirectory checks.
function(run_step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    set(step_output "${out}" PARENT_SCOPE)
endfunction()
