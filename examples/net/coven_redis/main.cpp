// coven_redis: a small Redis server on coven (RESP2 strings, expiry, pub/sub), for real clients
// such as redis-cli and redis-benchmark. One thread, one event loop.
//
//   coven_redis [address] [--maxclients N] [--timeout SECONDS] [--max-request BYTES]
//               [--output-limit BYTES]
//
// The address defaults to 127.0.0.1:6379 (port 0: the system picks one). It prints the address
// it listens on, a line per client it disconnects for a limit, and on SIGINT or SIGTERM closes
// every connection and exits with 0.
#include "server.hpp"

#include <coven/coven.hpp>
#include <coven/net.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>

namespace {

auto number(const char* flag, const char* text) -> std::size_t {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0') {
        std::fprintf(stderr, "coven_redis: %s wants a number, not '%s'\n", flag, text);
        std::exit(2);
    }
    return static_cast<std::size_t>(n);
}

// Redis raises its fd limit to fit maxclients; so does this server, as far as the hard limit
// lets it, and says when that is not enough.
void raise_fd_limit(std::size_t max_clients) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    const rlim_t wanted = static_cast<rlim_t>(max_clients) + 32;
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min(wanted, limit.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < wanted) {
        std::printf("fd limit %llu is below maxclients + 32: accept() will fail with EMFILE "
                    "before maxclients is reached\n",
                    static_cast<unsigned long long>(limit.rlim_cur));
    }
}

} // namespace

int main(int argc, char** argv) {
    std::string at = "127.0.0.1:6379";
    coven_redis::server_options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--", 0) == 0 && i + 1 >= argc) {
            std::fprintf(stderr, "coven_redis: %s wants a value\n", argv[i]);
            return 2;
        }
        if (arg == "--maxclients") {
            options.max_clients = number(argv[i], argv[i + 1]);
            ++i;
        } else if (arg == "--timeout") {
            options.idle_timeout = std::chrono::seconds(number(argv[i], argv[i + 1]));
            ++i;
        } else if (arg == "--max-request") {
            options.limits.max_request = number(argv[i], argv[i + 1]);
            ++i;
        } else if (arg == "--output-limit") {
            options.output_limit = number(argv[i], argv[i + 1]);
            ++i;
        } else if (arg.rfind("--", 0) == 0) {
            std::fprintf(stderr, "coven_redis: unknown option %s\n", argv[i]);
            return 2;
        } else {
            at = arg;
        }
    }
    options.log = [](std::string_view line) {
        std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        std::fflush(stdout);
    };
    raise_fd_limit(options.max_clients);
    try {
        const auto where = coven::net::address::parse(at);
        coven::run([](coven::net::address where,
                      coven_redis::server_options options) -> coven::task<> {
            auto server = coven::net::listener::bind(where);
            coven_redis::server redis(std::move(options));
            std::printf("listening on %s\n", server.local_address().to_string().c_str());
            std::fflush(stdout);
            auto serving = redis.run(server);
            const auto sig = co_await coven::run_until_signal(std::move(serving), SIGINT, SIGTERM);
            std::printf("stopped by signal %d after %llu connections, %llu commands\n",
                        sig.value_or(0), static_cast<unsigned long long>(redis.stats().connections),
                        static_cast<unsigned long long>(redis.stats().commands));
        }(where, std::move(options)));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "coven_redis: %s\n", e.what());
        return 1;
    }
    return 0;
}
