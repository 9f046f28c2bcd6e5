# cmake -DBUILD_DIR=... -DMAIN=... -DWORK_DIR=... -DCXX=... -DPKG_CONFIG=... -P pkg_config_check.cmake
# Installs the build into a scratch prefix and compiles, links and runs tests/install_consumer's
# program the way a pkg-config user would: `c++ main.cpp $(pkg-config --cflags --libs coven)`.
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)
if(NOT PKG_CONFIG)
    message(FATAL_ERROR "pkg-config not found (bash scripts/install-deps.sh installs it)")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
file(GLOB_RECURSE pc_files ${WORK_DIR}/prefix/coven.pc)
list(LENGTH pc_files n)
if(NOT n EQUAL 1 OR NOT pc_files MATCHES "/pkgconfig/coven.pc$")
    message(FATAL_ERROR "expected one installed <libdir>/pkgconfig/coven.pc, found '${pc_files}'")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
# PKG_CONFIG_PATH as a user sets it; PKG_CONFIG_LIBDIR too, so that no coven.pc elsewhere on the
# machine answers instead.
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
set(ENV{PKG_CONFIG_LIBDIR} ${pc_dir})
run_step(${PKG_CONFIG} --cflags --libs coven)
string(STRIP "${step_output}" flags)
message(STATUS "pkg-config --cflags --libs coven: ${flags}")
foreach(flag -std=c++20 "-I${WORK_DIR}/prefix/" -lcoven -pthread)
    string(FIND " ${flags} " " ${flag}" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "pkg-config's flags lack ${flag}: ${flags}")
    endif()
endforeach()
run_step(sh -c "\"$0\" \"$1\" -o \"$2\" $(\"$3\" --cflags --libs coven)"
         ${CXX} ${MAIN} ${WORK_DIR}/consumer ${PKG_CONFIG})
run_step(${WORK_DIR}/consumer)
if(NOT step_output STREQUAL "42\n")
    message(FATAL_ERROR "consumer printed '${step_output}', expected 42")
endif()
