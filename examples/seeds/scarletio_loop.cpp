// scarletio, "Running coroutines" with an explicit loop: the default loop runs on its own
// thread; loop.run() blocks this thread until the task ends, and keeps the loop alive.
#include <coven/coven.hpp>

#include <iostream>

auto amain() -> coven::task<void> {
    std::cout << "hello" << std::endl;
    co_await coven::sleep(1.0);
    std::cout << "world" << std::endl;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain());
    loop.stop();
    return 0;
}
