// Shielding a cleanup step. A download runs under a 3-second deadline. When the deadline passes,
// every await inside the scope raises cancelled_error until the scope is left (cancellation is
// level-triggered), so a cleanup that must itself await, here telling the server goodbye, runs
// in a shielded scope: the outer deadline does not reach inside it. A shield can carry a
// deadline of its own, so the cleanup cannot hang either.
#include <coven/coven.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

auto say_goodbye() -> coven::task<void> {
    std::cout << "sending goodbye" << std::endl;
    co_await coven::sleep(0.5); // a round trip to the server
    std::cout << "goodbye acknowledged" << std::endl;
}

auto download() -> coven::task<void> {
    std::cout << "download started" << std::endl;
    bool cancelled = false;
    try {
        co_await coven::sleep(10); // the transfer is too slow
    } catch (const coven::cancelled_error&) {
        cancelled = true; // (C++ forbids co_await inside a handler: clean up below)
    }
    if (cancelled) {
        // Unshielded, this await would raise at once: the deadline still applies in here.
        coven::cancel_scope cleanup = coven::move_on_after(2s); // the cleanup's own limit
        cleanup.set_shield(true);
        co_await cleanup.run(say_goodbye());
        throw coven::cancelled_error(); // let the deadline's scope see how the block ended
    }
}

auto amain() -> coven::task<void> {
    try {
        co_await coven::fail_after(3s, download());
    } catch (const coven::timeout_error&) {
        std::cout << "download timed out; the connection was closed politely" << std::endl;
    }
}

int main() {
    coven::run(amain());
    return 0;
}
