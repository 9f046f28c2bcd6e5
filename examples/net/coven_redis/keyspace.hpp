#pragma once
// The keys of coven_redis: strings, each with an optional expiry time. A key past its time is
// gone for every command at once (looked up lazily, as Redis does) and its memory is freed by
// the server's expiry task, which sleeps on the loop's timer wheel until the next deadline.

#include <coven/event_loop.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace coven_redis {

using time_point = coven::event_loop::time_point;

struct entry {
    std::string value;
    time_point expires = time_point::max(); // max: no expiry
    [[nodiscard]] auto has_expiry() const noexcept -> bool { return expires != time_point::max(); }
};

class keyspace {
public:
    /// The live entry of `key`, or null (a key past its expiry is erased here).
    auto find(std::string_view key, time_point now) -> entry*;
    /// The entry of `key`, made empty and without expiry if there was none (or it had expired).
    auto upsert(std::string_view key, time_point now) -> entry&;
    auto erase(std::string_view key, time_point now) -> bool;
    /// Gives `e` (the entry of `key`) an expiry; true if that is sooner than next_deadline() was,
    /// so the expiry task must wake earlier.
    auto set_expiry(std::string_view key, entry& e, time_point when) -> bool;
    void clear();
    /// Erases the keys whose time has come; returns how many.
    auto expire_due(time_point now) -> std::size_t;
    /// The soonest deadline the expiry task should wake for.
    [[nodiscard]] auto next_deadline() const -> std::optional<time_point>;
    /// Live keys (some past their time may still count until looked up or expired).
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_keys.size(); }
    /// Calls f(key) for each live key.
    void for_each_live(time_point now, const std::function<void(const std::string&)>& f) const;

private:
    struct text_hash {
        using is_transparent = void;
        auto operator()(std::string_view s) const noexcept -> std::size_t {
            return std::hash<std::string_view>{}(s);
        }
    };
    using deadline = std::pair<time_point, std::string>;
    void compact_deadlines();

    std::unordered_map<std::string, entry, text_hash, std::equal_to<>> m_keys;
    // Deadlines, soonest first. A key given a new expiry (or erased) leaves its old deadline
    // here; it is skipped when it comes up, and the heap is rebuilt when such stale entries
    // outnumber the keys that expire.
    std::priority_queue<deadline, std::vector<deadline>, std::greater<>> m_deadlines;
    std::size_t m_with_expiry = 0;
};

} // namespace coven_redis
