# cmake -DCXX=... -DINCLUDE=... -DSOURCE=... -P compile_fail_check.cmake
# Compiles SOURCE as a user would (-std=c++20 -Wall -Wextra -Werror) and checks the first line's
# `// expect: <regex>`: the compile fails and its output matches, or, for `ok`, it succeeds.
file(STRINGS ${SOURCE} first LIMIT_COUNT 1)
string(REGEX REPLACE "^// expect: " "" expect "${first}")
execute_process(COMMAND ${CXX} -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I${INCLUDE} ${SOURCE}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(expect STREQUAL "ok")
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "expected ${SOURCE} to compile cleanly:\n${out}${err}")
    endif()
    return()
endif()
if(rc EQUAL 0)
    message(FATAL_ERROR "expected ${SOURCE} to fail to compile with /${expect}/; it compiled")
endif()
if(NOT "${out}${err}" MATCHES "${expect}")
    message(FATAL_ERROR "${SOURCE} failed, but without /${expect}/:\n${out}${err}")
endif()
