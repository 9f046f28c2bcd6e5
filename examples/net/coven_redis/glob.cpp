// glob_match() (glob.hpp).

#include "glob.hpp"

#include <cstddef>

namespace coven_redis {

namespace {

// Matches the class at pattern[p] (on the '[') against c; sets `end` past its ']' (a class
// left open runs to the end of the pattern, as in Redis).
auto match_class(std::string_view pattern, std::size_t p, char c, std::size_t& end) -> bool {
    ++p;
    const bool negate = p < pattern.size() && pattern[p] == '^';
    if (negate) {
        ++p;
    }
    bool found = false;
    while (p < pattern.size() && pattern[p] != ']') {
        if (pattern[p] == '\\' && p + 1 < pattern.size()) {
            found = found || pattern[p + 1] == c;
            p += 2;
        } else if (p + 2 < pattern.size() && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
            char lo = pattern[p];
            char hi = pattern[p + 2];
            if (lo > hi) {
                const char t = lo;
                lo = hi;
                hi = t;
            }
            found = found || (c >= lo && c <= hi);
            p += 3;
        } else {
            found = found || pattern[p] == c;
            ++p;
        }
    }
    end = p < pattern.size() ? p + 1 : p;
    return found != negate;
}

} // namespace

auto glob_match(std::string_view pattern, std::string_view text) -> bool {
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos; // just past the last '*' seen
    std::size_t star_text = 0;                 // where that '*' is being tried
    while (t < text.size()) {
        if (p < pattern.size()) {
            const char pc = pattern[p];
            if (pc == '*') {
                star = ++p;
                star_text = t;
                continue;
            }
            std::size_t next = p + 1;
            bool ok = false;
            if (pc == '?') {
                ok = true;
            } else if (pc == '[') {
                ok = match_class(pattern, p, text[t], next);
            } else if (pc == '\\' && p + 1 < pattern.size()) {
                ok = pattern[p + 1] == text[t];
                next = p + 2;
            } else {
                ok = pc == text[t];
            }
            if (ok) {
                p = next;
                ++t;
                continue;
            }
        }
        if (star == std::string_view::npos) {
            return false;
        }
        p = star; // let the last '*' take one more byte
        t = ++star_text;
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

} // namespace coven_redis
