# Compiler checks a coven user should hear about at configure time (docs/compilers.md).
include_guard(GLOBAL)

# Sets COVEN_AWAIT_TEMPORARY_DESTROYED_TWICE (cached) to ON when the C++ compiler destroys an
# aggregate temporary that sits in a co_await operand twice (g++ 12), OFF when it does not, and
# leaves it empty when the check cannot run (cross-compiling). Warns once when it is ON: the
# library cannot guard against it, since the compiler destroys the caller's own temporary, so the
# user must write such lambdas outside the co_await expression.
function(coven_check_await_temporaries)
    if(DEFINED CACHE{COVEN_AWAIT_TEMPORARY_DESTROYED_TWICE} OR CMAKE_CROSSCOMPILING)
        return()
    endif()
    set(_dir ${CMAKE_BINARY_DIR}/CMakeFiles/coven_await_temporary_probe)
    try_run(_run _compiled ${_dir} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/await_temporary_probe.cpp
        CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON
        COMPILE_OUTPUT_VARIABLE _log)
    if(NOT _compiled)
        message(STATUS "coven: the co_await temporary probe did not compile; skipped")
        set(COVEN_AWAIT_TEMPORARY_DESTROYED_TWICE "" CACHE INTERNAL "")
        return()
    endif()
    if(_run EQUAL 0)
        set(_twice OFF)
    else()
        set(_twice ON)
        message(WARNING
            "coven: ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} destroys a lambda "
            "with by-value captures twice when it is written inside a co_await expression "
            "(a compiler bug; an owning capture such as a std::string is freed twice). Name "
            "such a lambda before the co_await, or pass the data as arguments: see "
            "docs/compilers.md in coven's sources. [&] captures are safe.")
    endif()
    set(COVEN_AWAIT_TEMPORARY_DESTROYED_TWICE ${_twice} CACHE INTERNAL
        "The compiler destroys aggregate temporaries in co_await operands twice")
endfunction()
