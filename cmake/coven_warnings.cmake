# coven_own_target(<target>): warnings as errors and the chosen sanitizer, for coven's own
# targets only. Consumers of the installed library never inherit these flags.
function(coven_own_target target)
    target_compile_options(${target} PRIVATE
        $<BUILD_INTERFACE:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
    if(COVEN_WERROR)
        target_compile_options(${target} PRIVATE $<BUILD_INTERFACE:-Werror>)
    endif()
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # WORKAROUND(gcc-12): -Wrestrict fires inside libstdc++'s std::string at -O2/-O3
        # (GCC bug 105329), on code as plain as `"a" + std::to_string(n)`.
        target_compile_options(${target} PRIVATE $<BUILD_INTERFACE:-Wno-restrict>)
    endif()
    if(COVEN_SANITIZE STREQUAL "address")
        target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
            -fno-sanitize-recover=undefined)
        if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
            # WORKAROUND(clang-14): -fsanitize=function (part of undefined) makes the split
            # coroutine functions refer across sections, and the assembler stops with "Cannot
            # represent a difference across sections". It checks only calls through a function
            # pointer of the wrong type; every other UBSan check stays.
            target_compile_options(${target} PRIVATE -fno-sanitize=function)
        endif()
        # WORKAROUND(ubsan): the vptr check tests the memory it reads by writing it to a pipe.
        # In a process that is out of fds (EMFILE, which net_examples.redis_cli provokes on
        # purpose) it cannot make one and calls the first check of a type an invalid vptr: here
        # the std::system_error that reports EMFILE, whose constructor calls its category.
        # (Turning it off for one file is not enough: the constructor is an inline function,
        # and the linker keeps whichever file's copy it likes.)
        target_compile_options(${target} PRIVATE -fno-sanitize=vptr)
        target_link_options(${target} PRIVATE -fsanitize=address,undefined)
        target_compile_definitions(${target} PRIVATE COVEN_NO_FRAME_POOL=1)
    elseif(COVEN_SANITIZE STREQUAL "thread")
        target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
        target_link_options(${target} PRIVATE -fsanitize=thread)
    endif()
endfunction()
