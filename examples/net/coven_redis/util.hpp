#pragma once
// Small helpers the command files share: Redis's error texts, case-insensitive words, times.

#include "keyspace.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <strings.h>
#include <vector>

namespace coven_redis::util {

inline constexpr std::string_view not_integer = "ERR value is not an integer or out of range";
inline constexpr std::string_view syntax_error = "ERR syntax error";

inline auto lower(std::string_view s) -> std::string {
    std::string r(s);
    for (char& c : r) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return r;
}

inline auto equals_nocase(std::string_view a, std::string_view b) -> bool {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Redis quotes at most 128 bytes of each argument in its unknown-command error.
inline auto quoted_args(const std::vector<std::string_view>& args) -> std::string {
    std::string r;
    for (std::size_t i = 1; i < args.size() && r.size() < 128; ++i) {
        r += '\'';
        r += args[i].substr(0, 128);
        r += "' ";
    }
    return r;
}

inline auto ms_since(time_point then, time_point now) -> std::int64_t {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count();
}

// now + ms, unless that is past what the clock can hold.
inline auto deadline_after(time_point now, std::int64_t ms, time_point& out) -> bool {
    using namespace std::chrono;
    const auto room = duration_cast<milliseconds>(time_point::max() - now).count();
    if (ms > room - 1) {
        return false;
    }
    out = now + milliseconds(ms);
    return true;
}

} // namespace coven_redis::util
