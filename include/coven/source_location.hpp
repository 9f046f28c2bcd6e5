#pragma once
// coven::source_location: where in the source a call was made, for await_sync()'s
// synchronous_error. With g++ it wraps std::source_location: one pointer to a static record. That
// matters because the awaitables take it as a default argument, and a temporary of a co_await
// expression lives in the coroutine frame: 8 bytes there instead of 24 (and one store per yield
// instead of three). clang 14 with libstdc++ 12 lacks the __builtin_source_location that
// std::source_location needs, so there it keeps the file, line and function itself, from the
// __builtin_FILE family.

#include <cstdint>

#if defined(__GNUC__) && !defined(__clang__) && __has_include(<source_location>)
#include <source_location>
#define COVEN_STD_SOURCE_LOCATION 1
#else
#define COVEN_STD_SOURCE_LOCATION 0
#endif

namespace coven {

/// A file, line and function, as std::source_location has them.
/// **Thread safety:** a plain value: any thread.
/// **Throws:** nothing (every member is noexcept).
class source_location {
public:
    constexpr source_location() noexcept = default;

#if COVEN_STD_SOURCE_LOCATION
    /// The position of the call that evaluates it (as a default argument: the caller's).
    static constexpr auto
    current(std::source_location here = std::source_location::current()) noexcept
        -> source_location {
        source_location s;
        s.m_here = here;
        return s;
    }

    [[nodiscard]] constexpr auto file_name() const noexcept -> const char* {
        return m_here.file_name();
    }
    [[nodiscard]] constexpr auto line() const noexcept -> std::uint_least32_t {
        return m_here.line();
    }
    [[nodiscard]] constexpr auto function_name() const noexcept -> const char* {
        return m_here.function_name();
    }

private:
    std::source_location m_here;
#else
    /// The position of the call that evaluates it (as a default argument: the caller's).
    static constexpr auto current(const char* file = __builtin_FILE(),
                                  std::uint_least32_t line = __builtin_LINE(),
                                  const char* function = __builtin_FUNCTION()) noexcept
        -> source_location {
        source_location here;
        here.m_file = file;
        here.m_line = line;
        here.m_function = function;
        return here;
    }

    [[nodiscard]] constexpr auto file_name() const noexcept -> const char* {
        return m_file;
    }
    [[nodiscard]] constexpr auto line() const noexcept -> std::uint_least32_t {
        return m_line;
    }
    [[nodiscard]] constexpr auto function_name() const noexcept -> const char* {
        return m_function;
    }

private:
    const char* m_file = "";
    std::uint_least32_t m_line = 0;
    const char* m_function = "";
#endif
};

} // namespace coven
