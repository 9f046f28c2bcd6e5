# cmake -DSOURCE_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -DCXX=... -P subdirectory_check.cmake
# Configures tests/subdirectory_consumer, which pulls this checkout in with add_subdirectory,
# without GoogleTest; checks that coven's part of its build holds just the library (the consumer
# itself checks coven's target list); builds it and runs the program.
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
# GoogleTest is off limits: a consumer's configure must not look for it.
run_step(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -DCOVEN_SOURCE_DIR=${SOURCE_DIR}
         -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON)
file(STRINGS ${WORK_DIR}/build/CMakeCache.txt gtest_entries REGEX "^(GTest|GTEST)")
if(gtest_entries)
    message(FATAL_ERROR "the consumer's configure looked for GoogleTest: ${gtest_entries}")
endif()
foreach(dir tests examples bench header_check)
    if(EXISTS ${WORK_DIR}/build/coven/${dir})
        message(FATAL_ERROR "the consumer's build has coven/${dir}")
    endif()
endforeach()
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step(${WORK_DIR}/build/consumer)
if(NOT step_output STREQUAL "42\n")
    message(FATAL_ERROR "consumer printed '${step_output}', expected 42")
endif()
