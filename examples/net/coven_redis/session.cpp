// A client's session: the command table, running commands, pub/sub, and the commands about
// the server itself (server.hpp).

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

// --- the command table ------------------------------------------------------------------------

auto session::commands() -> const std::vector<command>& {
    static const std::vector<command> table = {
        {"ping", -1, "fast", 0, 0, 0, &session::cmd_ping},
        {"echo", 2, "fast", 0, 0, 0, &session::cmd_echo},
        {"get", 2, "readonly fast", 1, 1, 1, &session::cmd_get},
        {"set", -3, "write denyoom", 1, 1, 1, &session::cmd_set},
        {"del", -2, "write", 1, -1, 1, &session::cmd_del},
        {"exists", -2, "readonly fast", 1, -1, 1, &session::cmd_exists},
        {"incr", 2, "write denyoom fast", 1, 1, 1, &session::cmd_incr},
        {"incrby", 3, "write denyoom fast", 1, 1, 1, &session::cmd_incrby},
        {"decr", 2, "write denyoom fast", 1, 1, 1, &session::cmd_decr},
        {"decrby", 3, "write denyoom fast", 1, 1, 1, &session::cmd_decrby},
        {"mget", -2, "readonly fast", 1, -1, 1, &session::cmd_mget},
        {"mset", -3, "write denyoom", 1, -1, 2, &session::cmd_mset},
        {"expire", -3, "write fast", 1, 1, 1, &session::cmd_expire},
        {"pexpire", -3, "write fast", 1, 1, 1, &session::cmd_pexpire},
        {"ttl", 2, "readonly fast", 1, 1, 1, &session::cmd_ttl},
        {"pttl", 2, "readonly fast", 1, 1, 1, &session::cmd_pttl},
        {"persist", 2, "write fast", 1, 1, 1, &session::cmd_persist},
        {"dbsize", 1, "readonly fast", 0, 0, 0, &session::cmd_dbsize},
        {"flushall", -1, "write", 0, 0, 0, &session::cmd_flushall},
        {"flushdb", -1, "write", 0, 0, 0, &session::cmd_flushall},
        {"keys", 2, "readonly", 0, 0, 0, &session::cmd_keys},
        {"publish", 3, "pubsub fast", 0, 0, 0, &session::cmd_publish},
        {"subscribe", -2, "pubsub", 0, 0, 0, &session::cmd_subscribe},
        {"unsubscribe", -1, "pubsub", 0, 0, 0, &session::cmd_unsubscribe},
        {"quit", -1, "fast", 0, 0, 0, &session::cmd_quit},
        {"config", -2, "admin", 0, 0, 0, &session::cmd_config},
        {"command", -1, "random", 0, 0, 0, &session::cmd_command},
        {"info", -1, "random", 0, 0, 0, &session::cmd_info},
        {"select", 2, "fast", 0, 0, 0, &session::cmd_select},
    };
    return table;
}

auto session::lookup(std::string_view name) -> const command* {
    static const auto by_name = [] {
        std::unordered_map<std::string_view, const command*> m;
        for (const command& c : commands()) {
            m.emplace(c.name, &c);
        }
        return m;
    }();
    char buffer[16];
    if (name.size() > sizeof buffer) {
        return nullptr;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        buffer[i] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    const auto it = by_name.find(std::string_view(buffer, name.size()));
    return it == by_name.end() ? nullptr : it->second;
}

// --- session ----------------------------------------------------------------------------------

session::session(server& owner) : m_server(&owner) {
    m_server->m_sessions.insert(this);
}

session::~session() {
    unsubscribe_all();
    m_server->m_sessions.erase(this);
}

auto session::now() -> time_point {
    if (!m_now_valid) {
        const coven::event_loop* loop = coven::current_loop();
        m_now = loop != nullptr ? loop->now() : coven::event_loop::clock::now();
        m_now_valid = true;
    }
    return m_now;
}

auto session::process(std::string_view in, std::size_t flush_at) -> processed {
    processed result;
    m_now_valid = false; // one clock reading per batch, as Redis caches its time per event
    while (!in.empty() && !m_closing) {
        const parse_result p = parse_command(in, m_args, m_server->m_options.limits);
        if (p.status == parse_status::incomplete) {
            break;
        }
        if (p.status == parse_status::error) {
            m_server->m_stats.protocol_errors += 1;
            reply_error(out, std::string("ERR ") + std::string(p.error));
            result.close = true;
            result.protocol_error = true;
            return result;
        }
        result.consumed += p.consumed;
        in.remove_prefix(p.consumed);
        if (!m_args.empty() && !run(m_args)) {
            result.close = true;
            return result;
        }
        if (out.size() > flush_at) {
            result.more = !in.empty();
            break;
        }
    }
    return result;
}

auto session::run(const args_t& args) -> bool {
    m_server->m_stats.commands += 1;
    const command* c = lookup(args[0]);
    if (c == nullptr) {
        reply_error(out, "ERR unknown command '" + std::string(args[0].substr(0, 128)) +
                             "', with args beginning with: " + quoted_args(args));
        return true;
    }
    const auto n = static_cast<int>(args.size());
    if ((c->arity > 0 && n != c->arity) || (c->arity < 0 && n < -c->arity)) {
        reply_error(out,
                    "ERR wrong number of arguments for '" + std::string(c->name) + "' command");
        return true;
    }
    if (!m_channels.empty() && c->run != &session::cmd_subscribe &&
        c->run != &session::cmd_unsubscribe && c->run != &session::cmd_ping &&
        c->run != &session::cmd_quit) {
        reply_error(out, "ERR Can't execute '" + std::string(c->name) +
                             "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                             "are allowed in this context");
        return true;
    }
    return (this->*c->run)(args);
}

// --- pub/sub ----------------------------------------------------------------------------------

void session::deliver(std::string_view channel, std::string_view message) {
    out += "*3\r\n$7\r\nmessage\r\n";
    reply_bulk(out, channel);
    reply_bulk(out, message);
    if (out.size() > m_server->m_options.output_limit) {
        m_server->m_stats.output_limit_closes += 1;
        kill("output buffer limit reached (a subscriber that does not read)");
    } else if (!m_writing) {
        m_wake.set(); // the pusher sends it
    }
}

auto session::cmd_publish(const args_t& a) -> bool {
    std::int64_t receivers = 0;
    const auto it = m_server->m_channels.find(std::string(a[1]));
    if (it != m_server->m_channels.end()) {
        // deliver() never changes the list: a subscriber it disconnects unsubscribes when its
        // task ends, later.
        for (session* s : it->second) {
            if (!s->m_closing) {
                s->deliver(a[1], a[2]);
                receivers += 1;
            }
        }
    }
    reply_integer(out, receivers);
    return true;
}

auto session::cmd_subscribe(const args_t& a) -> bool {
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (m_channels.emplace(a[i]).second) {
            m_server->m_channels[std::string(a[i])].push_back(this);
        }
        reply_array(out, 3);
        reply_bulk(out, "subscribe");
        reply_bulk(out, a[i]);
        reply_integer(out, static_cast<std::int64_t>(m_channels.size()));
    }
    return true;
}

void session::unsubscribe(std::string_view channel, bool reply) {
    const std::string name(channel);
    if (m_channels.erase(name) != 0) {
        const auto it = m_server->m_channels.find(name);
        if (it != m_server->m_channels.end()) {
            std::erase(it->second, this);
            if (it->second.empty()) {
                m_server->m_channels.erase(it);
            }
        }
    }
    if (reply) {
        reply_array(out, 3);
        reply_bulk(out, "unsubscribe");
        reply_bulk(out, channel);
        reply_integer(out, static_cast<std::int64_t>(m_channels.size()));
    }
}

void session::unsubscribe_all() {
    while (!m_channels.empty()) {
        unsubscribe(*m_channels.begin(), false);
    }
}

auto session::cmd_unsubscribe(const args_t& a) -> bool {
    if (a.size() > 1) {
        for (std::size_t i = 1; i < a.size(); ++i) {
            unsubscribe(a[i], true);
        }
        return true;
    }
    if (m_channels.empty()) {
        reply_array(out, 3);
        reply_bulk(out, "unsubscribe");
        reply_null(out);
        reply_integer(out, 0);
        return true;
    }
    std::vector<std::string> all(m_channels.begin(), m_channels.end());
    std::sort(all.begin(), all.end());
    for (const std::string& channel : all) {
        unsubscribe(channel, true);
    }
    return true;
}

// --- the connection and the server --------------------------------------------------------------

auto session::cmd_quit(const args_t&) -> bool {
    out += "+OK\r\n";
    return false;
}

auto session::cmd_config(const args_t& a) -> bool {
    if (!equals_nocase(a[1], "get") || a.size() < 3) {
        reply_error(out, "ERR unknown subcommand or wrong number of arguments for '" +
                             std::string(a[1]) + "'. Try CONFIG GET.");
        return true;
    }
    const server_options& o = m_server->m_options;
    // What clients ask on connect (redis-benchmark: save, appendonly) and our own limits.
    const std::vector<std::pair<std::string, std::string>> params = {
        {"appendonly", "no"},
        {"databases", "1"},
        {"maxclients", std::to_string(o.max_clients)},
        {"proto-max-bulk-len", std::to_string(o.limits.max_request)},
        {"client-query-buffer-limit", std::to_string(o.limits.max_request)},
        {"save", ""},
        {"timeout", std::to_string(o.idle_timeout.count() / 1000)},
    };
    std::vector<const std::pair<std::string, std::string>*> found;
    for (const auto& p : params) {
        for (std::size_t i = 2; i < a.size(); ++i) {
            if (glob_match(lower(a[i]), p.first)) {
                found.push_back(&p);
                break;
            }
        }
    }
    reply_array(out, 2 * found.size());
    for (const auto* p : found) {
        reply_bulk(out, p->first);
        reply_bulk(out, p->second);
    }
    return true;
}

auto session::cmd_command(const args_t& a) -> bool {
    const auto describe = [this](const command& c) {
        reply_array(out, 6);
        reply_bulk(out, c.name);
        reply_integer(out, c.arity);
        const auto count =
            static_cast<std::size_t>(std::count(c.flags.begin(), c.flags.end(), ' ') + 1);
        reply_array(out, count);
        std::string_view flags = c.flags;
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t sp = flags.find(' ');
            reply_simple(out, flags.substr(0, sp));
            flags = sp == std::string_view::npos ? std::string_view() : flags.substr(sp + 1);
        }
        reply_integer(out, c.first_key);
        reply_integer(out, c.last_key);
        reply_integer(out, c.step);
    };
    if (a.size() == 1) {
        reply_array(out, commands().size());
        for (const command& c : commands()) {
            describe(c);
        }
    } else if (equals_nocase(a[1], "count")) {
        reply_integer(out, static_cast<std::int64_t>(commands().size()));
    } else if (equals_nocase(a[1], "info")) {
        reply_array(out, a.size() - 2);
        for (std::size_t i = 2; i < a.size(); ++i) {
            if (const command* c = lookup(a[i])) {
                describe(*c);
            } else {
                out += "*-1\r\n";
            }
        }
    } else if (equals_nocase(a[1], "docs")) {
        reply_array(out, 0); // no documentation to give: clients fall back to their own
    } else {
        reply_error(out, "ERR unknown subcommand '" + std::string(a[1]) + "'. Try COMMAND HELP.");
    }
    return true;
}

auto session::cmd_info(const args_t& a) -> bool {
    const server_stats& s = m_server->m_stats;
    const auto n = [](auto v) { return std::to_string(v); };
    const std::pair<std::string_view, std::string> sections[] = {
        {"server", "redis_version:7.0.0\r\nredis_mode:standalone\r\nserver_name:coven_redis\r\n"
                   "process_id:" +
                       n(::getpid()) + "\r\n"},
        {"clients", "connected_clients:" + n(s.connected) +
                        "\r\nmaxclients:" + n(m_server->m_options.max_clients) + "\r\n"},
        {"stats", "total_connections_received:" + n(s.connections) +
                      "\r\ntotal_commands_processed:" + n(s.commands) +
                      "\r\nrejected_connections:" + n(s.rejected) +
                      "\r\nexpired_keys:" + n(s.expired_keys) + "\r\n"},
        {"keyspace", m_server->m_keys.size() == 0
                         ? std::string()
                         : "db0:keys=" + n(m_server->m_keys.size()) + "\r\n"},
    };
    // INFO [section ...]: the sections named (any case), or all of them.
    std::string text;
    for (const auto& [name, body] : sections) {
        bool wanted = a.size() == 1;
        for (std::size_t i = 1; i < a.size(); ++i) {
            wanted = wanted || equals_nocase(a[i], name) || equals_nocase(a[i], "all") ||
                     equals_nocase(a[i], "everything") || equals_nocase(a[i], "default");
        }
        if (wanted) {
            text += (text.empty() ? "# " : "\r\n# ") + lower(name) + "\r\n" + body;
            text[text.rfind("# ") + 2] = static_cast<char>(name[0] - 'a' + 'A');
        }
    }
    reply_bulk(out, text);
    return true;
}

auto session::cmd_select(const args_t& a) -> bool {
    std::int64_t db = 0;
    if (!parse_int(a[1], db)) {
        reply_error(out, not_integer);
    } else if (db != 0) {
        reply_error(out, "ERR DB index is out of range");
    } else {
        out += "+OK\r\n";
    }
    return true;
}

void session::kill(std::string_view why) {
    if (m_closing) {
        return;
    }
    m_closing = true;
    out.clear();
    out.shrink_to_fit(); // the memory goes now, not when the task has unwound
    m_server->log(std::string("closing a client: ") + std::string(why));
    if (m_scope != nullptr) {
        m_scope->cancel();
    }
}

} // namespace coven_redis
