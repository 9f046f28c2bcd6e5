// scarletio, "Timeouts": repeat_timeout() applies a fresh timeout to every iteration of a loop.
// Python's `with repeat_timeout(5) as loop: for _ in loop:` becomes a body run again and again.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain() -> coven::task<void> {
    double after = 2;
    try {
        // The timeout is reapplied with every iteration.
        co_await coven::repeat_timeout(5, [&]() -> coven::task<void> {
            co_await say_after("hi", after);
            after += 2;
        });
    } catch (const coven::timeout_error&) {
        std::cout << "TIMEOUT!" << std::endl;
    }
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain());
    loop.stop();
    return 0;
}
