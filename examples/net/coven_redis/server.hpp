#pragma once
// coven_redis's server: the keyspace, pub/sub channels, and one task per client connection.
//
// A connection's task reads what the client sends into its input buffer, runs every complete
// command there (pipelining), and writes all their replies with one write. A subscriber also
// gets a second task that writes the messages others publish to it. Every limit a client could
// push past is checked: requests (request_limits), replies waiting to be sent (output_limit),
// clients (max_clients), and idle connections (idle_timeout).

#include "keyspace.hpp"
#include "resp.hpp"

#include <coven/coven.hpp>
#include <coven/net.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace coven_redis {

struct server_options {
    request_limits limits;
    std::size_t max_clients = 10000;
    /// Replies and messages waiting to be sent to one client; past it the client is
    /// disconnected (Redis's client-output-buffer-limit), so a client that never reads cannot
    /// make the server's memory grow.
    std::size_t output_limit = 32 * 1024 * 1024;
    /// A client silent this long is disconnected (not a subscriber that only listens); zero:
    /// never, as in Redis.
    std::chrono::milliseconds idle_timeout{0};
    /// Told one line per event worth a log (a client closed for a limit, accept failures).
    std::function<void(std::string_view)> log;
};

struct server_stats {
    std::size_t connected = 0;
    std::uint64_t connections = 0; ///< accepted in all
    std::uint64_t rejected = 0;    ///< turned away at max_clients
    std::uint64_t commands = 0;
    std::uint64_t expired_keys = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t output_limit_closes = 0;
    std::uint64_t idle_closes = 0;
};

class server;

/// One client's protocol state: what it has to be sent and what it subscribes to. Works
/// without a socket, so tests can feed it input directly.
class session {
public:
    explicit session(server& owner);
    ~session();
    session(const session&) = delete;
    auto operator=(const session&) -> session& = delete;

    struct processed {
        std::size_t consumed = 0;    ///< bytes of input used by the commands run
        bool close = false;          ///< send `out`, then close (QUIT, a protocol error)
        bool more = false;           ///< stopped at flush_at: send `out`, then call again
        bool protocol_error = false; ///< the close is for bad input (the client may still send)
    };
    /// Runs the complete commands at the start of `in`, appending their replies to `out`. Stops
    /// early, to let the caller send, once `out` holds more than `flush_at` bytes.
    auto process(std::string_view in, std::size_t flush_at = 64 * 1024) -> processed;

    /// Replies not yet sent.
    std::string out;
    [[nodiscard]] auto subscriptions() const noexcept -> std::size_t { return m_channels.size(); }
    [[nodiscard]] auto closing() const noexcept -> bool { return m_closing; }

private:
    friend class server;
    using args_t = std::vector<std::string_view>;
    auto run(const args_t& args) -> bool;
    void deliver(std::string_view channel, std::string_view message);
    void kill(std::string_view why);
    void unsubscribe_all();
    void unsubscribe(std::string_view channel, bool reply);

    // The commands; each appends its reply. False: close the connection after the reply.
    auto cmd_ping(const args_t& a) -> bool;
    auto cmd_echo(const args_t& a) -> bool;
    auto cmd_get(const args_t& a) -> bool;
    auto cmd_set(const args_t& a) -> bool;
    auto cmd_del(const args_t& a) -> bool;
    auto cmd_exists(const args_t& a) -> bool;
    auto cmd_incr(const args_t& a) -> bool;
    auto cmd_incrby(const args_t& a) -> bool;
    auto cmd_decr(const args_t& a) -> bool;
    auto cmd_decrby(const args_t& a) -> bool;
    auto cmd_mget(const args_t& a) -> bool;
    auto cmd_mset(const args_t& a) -> bool;
    auto cmd_expire(const args_t& a) -> bool;
    auto cmd_pexpire(const args_t& a) -> bool;
    auto cmd_ttl(const args_t& a) -> bool;
    auto cmd_pttl(const args_t& a) -> bool;
    auto cmd_persist(const args_t& a) -> bool;
    auto cmd_dbsize(const args_t& a) -> bool;
    auto cmd_flushall(const args_t& a) -> bool;
    auto cmd_keys(const args_t& a) -> bool;
    auto cmd_publish(const args_t& a) -> bool;
    auto cmd_subscribe(const args_t& a) -> bool;
    auto cmd_unsubscribe(const args_t& a) -> bool;
    auto cmd_quit(const args_t& a) -> bool;
    auto cmd_config(const args_t& a) -> bool;
    auto cmd_command(const args_t& a) -> bool;
    auto cmd_info(const args_t& a) -> bool;
    auto cmd_select(const args_t& a) -> bool;

    struct command {
        std::string_view name;
        int arity; // Redis's: n exactly, or -n at least n (the name counts)
        std::string_view flags;
        int first_key, last_key, step;
        auto(session::*run)(const args_t&) -> bool;
    };
    static const std::vector<command>& commands();
    static auto lookup(std::string_view name) -> const command*;

    auto add_to_counter(const args_t& a, std::int64_t by) -> bool;
    auto expire_in(const args_t& a, std::int64_t ms) -> bool;
    auto ttl_of(const args_t& a) -> std::int64_t; // in ms; -2 no key, -1 no expiry
    [[nodiscard]] auto now() -> time_point;

    server* m_server;
    args_t m_args;
    std::unordered_set<std::string> m_channels;
    time_point m_now{};
    bool m_now_valid = false;
    bool m_closing = false;

    // The connection's side (unused by a session fed by a test).
    coven::task_scope* m_scope = nullptr; // cancelled to disconnect
    coven::event m_wake;                  // messages to send: wakes the pusher
    bool m_writing = false;               // a task is sending `out`
    std::string m_sending;                // what it sends (swapped with `out`: no allocation)
    bool m_has_pusher = false;
    time_point m_last_active{};
};

class server {
public:
    explicit server(server_options options = {});
    server(const server&) = delete;
    auto operator=(const server&) -> server& = delete;

    /// Serves clients on `where` until cancelled; then every connection is closed and it
    /// returns (with cancelled_error, as every cancelled task does).
    auto run(coven::net::listener& where) -> coven::task<void>;
    /// Serves one connection (run() calls it for each; tests may too).
    auto serve_connection(coven::net::stream conn) -> coven::task<void>;

    [[nodiscard]] auto stats() const noexcept -> const server_stats& { return m_stats; }
    [[nodiscard]] auto keys() noexcept -> keyspace& { return m_keys; }
    [[nodiscard]] auto options() const noexcept -> const server_options& { return m_options; }

private:
    friend class session;
    auto expire_keys() -> coven::task<void>;
    auto close_idle_clients() -> coven::task<void>;
    auto push_messages(session& s, coven::net::stream& conn) -> coven::task<void>;
    auto flush(session& s, coven::net::stream& conn) -> coven::task<void>;
    static auto linger(coven::net::stream& conn, std::vector<char>& buffer) -> coven::task<void>;
    void log(std::string_view line) const;
    auto expiry_moved() -> coven::task<void>;

    server_options m_options;
    server_stats m_stats;
    keyspace m_keys;
    std::unordered_map<std::string, std::vector<session*>> m_channels;
    std::unordered_set<session*> m_sessions; // connected clients (test sessions too)
    coven::event m_expiry_moved;
};

} // namespace coven_redis
