// An echo server: every byte a client sends comes back. One task per connection, in a scope
// that ends them all when the server stops; SIGINT or SIGTERM stops it gracefully.
//
//   echo_server [address]        (default 127.0.0.1:0: the system picks a port)
//
// It prints the address it listens on, then one line per connection that ends.
#include <coven/coven.hpp>
#include <coven/net.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// Echoes until the client closes its side, then closes ours.
auto echo(coven::net::stream conn, coven::net::address peer) -> coven::task<> {
    std::vector<std::byte> buffer(4096);
    std::size_t total = 0;
    for (;;) {
        const std::size_t n = co_await conn.read_some(buffer);
        if (n == 0) {
            break; // end of stream
        }
        co_await conn.write_all(std::span(buffer).first(n));
        total += n;
    }
    std::printf("%s: echoed %zu bytes\n", peer.to_string().c_str(), total);
    std::fflush(stdout);
}

// Accepts until cancelled; each connection runs as a child of the scope.
auto serve(coven::net::listener& server) -> coven::task<> {
    co_await coven::with_scope({}, [&](coven::task_scope& scope) -> coven::task<> {
        for (;;) {
            auto [conn, peer] = co_await server.accept();
            conn.set_nodelay(true);
            // A failed connection (a reset peer) ends itself, not the server.
            scope.spawn(echo(std::move(conn), peer), {.bubble = false});
        }
    });
}

} // namespace

int main(int argc, char** argv) {
    const auto at = coven::net::address::parse(argc > 1 ? argv[1] : "127.0.0.1:0");
    coven::run([](coven::net::address where) -> coven::task<> {
        auto server = coven::net::listener::bind(where);
        std::printf("listening on %s\n", server.local_address().to_string().c_str());
        std::fflush(stdout);
        const auto sig = co_await coven::run_until_signal(serve(server), SIGINT, SIGTERM);
        std::printf("stopped by signal %d\n", sig.value_or(0));
    }(at));
    return 0;
}
