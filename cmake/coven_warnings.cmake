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
        target_link_options(${target} PRIVATE -fsanitize=address,undefined)
        target_compile_definitions(${target} PRIVATE COVEN_NO_FRAME_POOL=1)
    elseif(COVEN_SANITIZE STREQUAL "thread")
        target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
        target_link_options(${target} PRIVATE -fsanitize=thread)
    endif()
endfunction()
