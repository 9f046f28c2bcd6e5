# cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -DCXX=... -P install_check.cmake
# Installs the build into a scratch prefix, builds tests/install_consumer against it with
# find_package(coven), and runs the result.
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run_step(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
         -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
# The installed package checks the consumer's compiler as coven's build does (docs/compilers.md).
file(STRINGS ${WORK_DIR}/build/CMakeCache.txt probe REGEX "^COVEN_AWAIT_TEMPORARY_DESTROYED_TWICE")
if(NOT probe MATCHES "=(ON|OFF)$")
    message(FATAL_ERROR "find_package(coven) did not run the co_await temporary probe: '${probe}'")
endif()
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step(${WORK_DIR}/build/consumer)
if(NOT step_output STREQUAL "42\n")
    message(FATAL_ERROR "consumer printed '${step_output}', expected 42")
endif()
