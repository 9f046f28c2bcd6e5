// keyspace (keyspace.hpp).

#include "keyspace.hpp"

namespace coven_redis {

auto keyspace::find(std::string_view key, time_point now) -> entry* {
    const auto it = m_keys.find(key);
    if (it == m_keys.end()) {
        return nullptr;
    }
    if (it->second.expires <= now) {
        m_with_expiry -= 1;
        m_keys.erase(it);
        return nullptr;
    }
    return &it->second;
}

auto keyspace::upsert(std::string_view key, time_point now) -> entry& {
    auto it = m_keys.find(key);
    if (it == m_keys.end()) {
        return m_keys.try_emplace(std::string(key)).first->second;
    }
    if (it->second.expires <= now) {
        it->second.value.clear();
        it->second.expires = time_point::max();
        m_with_expiry -= 1;
    }
    return it->second;
}

auto keyspace::erase(std::string_view key, time_point now) -> bool {
    const auto it = m_keys.find(key);
    if (it == m_keys.end()) {
        return false;
    }
    const bool live = it->second.expires > now;
    if (it->second.has_expiry()) {
        m_with_expiry -= 1;
    }
    m_keys.erase(it);
    return live;
}

auto keyspace::set_expiry(std::string_view key, entry& e, time_point when) -> bool {
    const auto before = next_deadline();
    if (!e.has_expiry()) {
        m_with_expiry += 1;
    }
    e.expires = when;
    if (when == time_point::max()) {
        m_with_expiry -= 1; // PERSIST, or SET without KEEPTTL: the old deadline goes stale
        return false;
    }
    m_deadlines.emplace(when, std::string(key));
    if (m_deadlines.size() > 2 * m_with_expiry + 1024) {
        compact_deadlines();
    }
    return !before || when < *before;
}

void keyspace::clear() {
    m_keys.clear();
    m_deadlines = {};
    m_with_expiry = 0;
}

auto keyspace::expire_due(time_point now) -> std::size_t {
    std::size_t expired = 0;
    while (!m_deadlines.empty() && m_deadlines.top().first <= now) {
        const auto it = m_keys.find(m_deadlines.top().second);
        // Only the key's current deadline counts; an older one for the same key is stale.
        if (it != m_keys.end() && it->second.expires == m_deadlines.top().first) {
            m_keys.erase(it);
            m_with_expiry -= 1;
            expired += 1;
        }
        m_deadlines.pop();
    }
    return expired;
}

auto keyspace::next_deadline() const -> std::optional<time_point> {
    if (m_deadlines.empty()) {
        return std::nullopt;
    }
    return m_deadlines.top().first;
}

void keyspace::for_each_live(time_point now,
                             const std::function<void(const std::string&)>& f) const {
    for (const auto& [key, e] : m_keys) {
        if (e.expires > now) {
            f(key);
        }
    }
}

void keyspace::compact_deadlines() {
    std::vector<deadline> live;
    live.reserve(m_with_expiry);
    for (const auto& [key, e] : m_keys) {
        if (e.has_expiry()) {
            live.emplace_back(e.expires, key);
        }
    }
    m_deadlines = decltype(m_deadlines)(std::greater<>{}, std::move(live));
}

} // namespace coven_redis
