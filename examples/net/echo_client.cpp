// An echo client: connects, sends each argument as a line, and prints what comes back.
//
//   echo_client <address> [line...]
#include <coven/coven.hpp>
#include <coven/net.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: echo_client <address> [line...]\n");
        return 2;
    }
    std::vector<std::string> lines(argv + 2, argv + argc);
    const auto at = coven::net::address::parse(argv[1]);
    try {
        coven::run([](coven::net::address to, std::vector<std::string> lines) -> coven::task<> {
            // Two seconds to connect at most: a server that does not answer is an error.
            auto conn = co_await coven::fail_after(2.0, coven::net::stream::connect(to));
            coven::net::buffered_reader in(conn);
            for (const auto& line : lines) {
                co_await conn.write_all(line + "\n");
                auto back = co_await in.read_line();
                std::printf("%s\n", back.value_or("(closed)").c_str());
            }
            conn.shutdown_write(); // the server sees end of stream and closes its side
        }(at, std::move(lines)));
    } catch (const std::exception& e) { // "connect to 127.0.0.1:1: Connection refused"
        std::fprintf(stderr, "echo_client: %s\n", e.what());
        return 1;
    }
    return 0;
}
