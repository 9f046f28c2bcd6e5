#pragma once
// coven::source_location: where in the source a call was made, for await_sync()'s
// synchronous_error. std::source_location cannot be used: clang 14 with libstdc++ 12 lacks the
// __builtin_source_location it needs. The __builtin_FILE family works on g++ and clang alike, and
// as a default argument gives the caller's position.

#include <cstdint>

namespace coven {

/// A file, line and function, as std::source_location has them.
class source_location {
public:
    constexpr source_location() noexcept = default;

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

    [[nodiscard]] constexpr auto file_name() const noexcept -> const char* { return m_file; }
    [[nodiscard]] constexpr auto line() const noexcept -> std::uint_least32_t { return m_line; }
    [[nodiscard]] constexpr auto function_name() const noexcept -> const char* {
        return m_function;
    }

private:
    const char* m_file = "";
    std::uint_least32_t m_line = 0;
    const char* m_function = "";
};

} // namespace coven
