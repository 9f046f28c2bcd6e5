// The commands on keys: strings, counters, expiry, listing (server.hpp).

#include "server.hpp"

#include "glob.hpp"
#include "util.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <unistd.h>

namespace coven_redis {

using namespace util;

auto session::cmd_ping(const args_t& a) -> bool {
    if (a.size() > 2) {
        reply_error(out, "ERR wrong number of arguments for 'ping' command");
    } else if (!m_channels.empty()) {
        reply_array(out, 2); // a subscriber's PING answers in the shape of a message
        reply_bulk(out, "pong");
        reply_bulk(out, a.size() == 2 ? a[1] : std::string_view());
    } else if (a.size() == 2) {
        reply_bulk(out, a[1]);
    } else {
        out += "+PONG\r\n";
    }
    return true;
}

auto session::cmd_echo(const args_t& a) -> bool {
    reply_bulk(out, a[1]);
    return true;
}

auto session::cmd_get(const args_t& a) -> bool {
    if (const entry* e = m_server->m_keys.find(a[1], now())) {
        reply_bulk(out, e->value);
    } else {
        reply_null(out);
    }
    return true;
}

auto session::cmd_set(const args_t& a) -> bool {
    bool nx = false;
    bool xx = false;
    bool get = false;
    bool keep_ttl = false;
    std::int64_t ms = -1;
    bool absolute = false;
    for (std::size_t i = 3; i < a.size(); ++i) {
        const std::string_view opt = a[i];
        if (equals_nocase(opt, "nx") && !xx) {
            nx = true;
        } else if (equals_nocase(opt, "xx") && !nx) {
            xx = true;
        } else if (equals_nocase(opt, "get")) {
            get = true;
        } else if (equals_nocase(opt, "keepttl") && ms < 0) {
            keep_ttl = true;
        } else if ((equals_nocase(opt, "ex") || equals_nocase(opt, "px") ||
                    equals_nocase(opt, "exat") || equals_nocase(opt, "pxat")) &&
                   ms < 0 && !keep_ttl && i + 1 < a.size()) {
            std::int64_t n = 0;
            if (!parse_int(a[i + 1], n)) {
                reply_error(out, not_integer);
                return true;
            }
            const bool seconds = equals_nocase(opt, "ex") || equals_nocase(opt, "exat");
            if (n <= 0 || (seconds && n > std::numeric_limits<std::int64_t>::max() / 1000)) {
                reply_error(out, "ERR invalid expire time in 'set' command");
                return true;
            }
            ms = seconds ? n * 1000 : n;
            absolute = opt.size() == 4;
            ++i;
        } else {
            reply_error(out, syntax_error);
            return true;
        }
    }
    time_point deadline = time_point::max();
    if (ms >= 0) {
        // EXAT/PXAT give Unix time: turn it into the loop's clock.
        if (absolute) {
            const auto unix_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
            ms = std::max<std::int64_t>(ms - unix_now, 0);
        }
        if (!deadline_after(now(), ms, deadline)) {
            reply_error(out, "ERR invalid expire time in 'set' command");
            return true;
        }
    }
    keyspace& keys = m_server->m_keys;
    entry* old = keys.find(a[1], now());
    if (get) {
        if (old != nullptr) {
            reply_bulk(out, old->value);
        } else {
            reply_null(out);
        }
    }
    if ((nx && old != nullptr) || (xx && old == nullptr)) {
        if (!get) {
            reply_null(out);
        }
        return true;
    }
    entry& e = old != nullptr ? *old : keys.upsert(a[1], now());
    e.value.assign(a[2]);
    if (deadline != time_point::max()) {
        if (keys.set_expiry(a[1], e, deadline)) {
            m_server->m_expiry_moved.set();
        }
    } else if (!keep_ttl && e.has_expiry()) {
        keys.set_expiry(a[1], e, time_point::max());
    }
    if (!get) {
        out += "+OK\r\n";
    }
    return true;
}

auto session::cmd_del(const args_t& a) -> bool {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < a.size(); ++i) {
        n += m_server->m_keys.erase(a[i], now()) ? 1 : 0;
    }
    reply_integer(out, n);
    return true;
}

auto session::cmd_exists(const args_t& a) -> bool {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < a.size(); ++i) {
        n += m_server->m_keys.find(a[i], now()) != nullptr ? 1 : 0;
    }
    reply_integer(out, n);
    return true;
}

auto session::add_to_counter(const args_t& a, std::int64_t by) -> bool {
    keyspace& keys = m_server->m_keys;
    entry* e = keys.find(a[1], now());
    std::int64_t value = 0;
    if (e != nullptr && !parse_int(e->value, value)) {
        reply_error(out, not_integer);
        return true;
    }
    std::int64_t result = 0;
    if (__builtin_add_overflow(value, by, &result)) {
        reply_error(out, "ERR increment or decrement would overflow");
        return true;
    }
    if (e == nullptr) {
        e = &keys.upsert(a[1], now());
    }
    char buffer[24];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, result);
    e->value.assign(buffer, r.ptr); // the key keeps its expiry, as in Redis
    reply_integer(out, result);
    return true;
}

auto session::cmd_incr(const args_t& a) -> bool {
    return add_to_counter(a, 1);
}

auto session::cmd_decr(const args_t& a) -> bool {
    return add_to_counter(a, -1);
}

auto session::cmd_incrby(const args_t& a) -> bool {
    std::int64_t by = 0;
    if (!parse_int(a[2], by)) {
        reply_error(out, not_integer);
        return true;
    }
    return add_to_counter(a, by);
}

auto session::cmd_decrby(const args_t& a) -> bool {
    std::int64_t by = 0;
    if (!parse_int(a[2], by)) {
        reply_error(out, not_integer);
        return true;
    }
    if (by == std::numeric_limits<std::int64_t>::min()) {
        reply_error(out, "ERR decrement would overflow");
        return true;
    }
    return add_to_counter(a, -by);
}

auto session::cmd_mget(const args_t& a) -> bool {
    reply_array(out, a.size() - 1);
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (const entry* e = m_server->m_keys.find(a[i], now())) {
            reply_bulk(out, e->value);
        } else {
            reply_null(out);
        }
    }
    return true;
}

auto session::cmd_mset(const args_t& a) -> bool {
    if (a.size() % 2 == 0) {
        reply_error(out, "ERR wrong number of arguments for 'mset' command");
        return true;
    }
    keyspace& keys = m_server->m_keys;
    for (std::size_t i = 1; i < a.size(); i += 2) {
        entry& e = keys.upsert(a[i], now());
        e.value.assign(a[i + 1]);
        if (e.has_expiry()) {
            keys.set_expiry(a[i], e, time_point::max());
        }
    }
    out += "+OK\r\n";
    return true;
}

auto session::expire_in(const args_t& a, std::int64_t ms) -> bool {
    bool nx = false;
    bool xx = false;
    bool gt = false;
    bool lt = false;
    for (std::size_t i = 3; i < a.size(); ++i) {
        if (equals_nocase(a[i], "nx")) {
            nx = true;
        } else if (equals_nocase(a[i], "xx")) {
            xx = true;
        } else if (equals_nocase(a[i], "gt")) {
            gt = true;
        } else if (equals_nocase(a[i], "lt")) {
            lt = true;
        } else {
            reply_error(out, "ERR Unsupported option " + std::string(a[i]));
            return true;
        }
    }
    if ((nx && (xx || gt || lt)) || (gt && lt)) {
        reply_error(out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return true;
    }
    keyspace& keys = m_server->m_keys;
    entry* e = keys.find(a[1], now());
    time_point deadline{};
    if (ms > 0 && !deadline_after(now(), ms, deadline)) {
        reply_error(out, "ERR invalid expire time in '" + lower(a[0]) + "' command");
        return true;
    }
    if (e == nullptr) {
        reply_integer(out, 0);
        return true;
    }
    // GT and LT compare with the current expiry, no expiry counting as infinite.
    const time_point current = e->expires;
    const time_point wanted = ms > 0 ? deadline : now();
    if ((nx && e->has_expiry()) || (xx && !e->has_expiry()) || (gt && !(wanted > current)) ||
        (lt && !(wanted < current))) {
        reply_integer(out, 0);
        return true;
    }
    if (ms <= 0) {
        keys.erase(a[1], now()); // a time in the past deletes the key, as in Redis
    } else if (keys.set_expiry(a[1], *e, deadline)) {
        m_server->m_expiry_moved.set();
    }
    reply_integer(out, 1);
    return true;
}

auto session::cmd_expire(const args_t& a) -> bool {
    std::int64_t seconds = 0;
    if (!parse_int(a[2], seconds)) {
        reply_error(out, not_integer);
        return true;
    }
    if (seconds > std::numeric_limits<std::int64_t>::max() / 1000 ||
        seconds < std::numeric_limits<std::int64_t>::min() / 1000) {
        reply_error(out, "ERR invalid expire time in 'expire' command");
        return true;
    }
    return expire_in(a, seconds * 1000);
}

auto session::cmd_pexpire(const args_t& a) -> bool {
    std::int64_t ms = 0;
    if (!parse_int(a[2], ms)) {
        reply_error(out, not_integer);
        return true;
    }
    return expire_in(a, ms);
}

auto session::ttl_of(const args_t& a) -> std::int64_t {
    const entry* e = m_server->m_keys.find(a[1], now());
    if (e == nullptr) {
        return -2;
    }
    if (!e->has_expiry()) {
        return -1;
    }
    return std::max<std::int64_t>(0, -ms_since(e->expires, now()));
}

auto session::cmd_ttl(const args_t& a) -> bool {
    const std::int64_t ms = ttl_of(a);
    reply_integer(out, ms < 0 ? ms : (ms + 500) / 1000);
    return true;
}

auto session::cmd_pttl(const args_t& a) -> bool {
    reply_integer(out, ttl_of(a));
    return true;
}

auto session::cmd_persist(const args_t& a) -> bool {
    entry* e = m_server->m_keys.find(a[1], now());
    const bool had = e != nullptr && e->has_expiry();
    if (had) {
        m_server->m_keys.set_expiry(a[1], *e, time_point::max());
    }
    reply_integer(out, had ? 1 : 0);
    return true;
}

auto session::cmd_dbsize(const args_t&) -> bool {
    reply_integer(out, static_cast<std::int64_t>(m_server->m_keys.size()));
    return true;
}

auto session::cmd_flushall(const args_t& a) -> bool {
    if (a.size() > 2 ||
        (a.size() == 2 && !equals_nocase(a[1], "async") && !equals_nocase(a[1], "sync"))) {
        reply_error(out, syntax_error);
        return true;
    }
    m_server->m_keys.clear();
    out += "+OK\r\n";
    return true;
}

auto session::cmd_keys(const args_t& a) -> bool {
    std::vector<const std::string*> found;
    const std::string_view pattern = a[1];
    m_server->m_keys.for_each_live(now(), [&](const std::string& key) {
        if (glob_match(pattern, key)) {
            found.push_back(&key);
        }
    });
    reply_array(out, found.size());
    for (const std::string* key : found) {
        reply_bulk(out, *key);
    }
    return true;
}

} // namespace coven_redis
