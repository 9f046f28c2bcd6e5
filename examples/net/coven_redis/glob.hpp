#pragma once
// Redis's glob patterns (KEYS, CONFIG GET): `*` any run, `?` any byte, `[abc]`, `[^a]`,
// `[a-z]`, and `\` to take the next byte as it is.

#include <string_view>

namespace coven_redis {

/// Whether `text` matches `pattern`. Time O(|pattern| * |text|) at worst: a `*` is retried
/// from one place only (the last one seen), never recursively.
auto glob_match(std::string_view pattern, std::string_view text) -> bool;

} // namespace coven_redis
