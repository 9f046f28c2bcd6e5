// scarletio, "Running in threads": a block of blocking code runs on a worker thread of the
// default executor while the loop goes on; then the task continues on the loop's thread. The four
// thread ids: the first equals the last (the loop's), the second equals the third (a worker's).
#include <coven/coven.hpp>

#include <chrono>
#include <iostream>
#include <thread>

auto amain() -> coven::task<void> {
    std::cout << "before entering: " << std::this_thread::get_id() << std::endl;
    co_await coven::enter_executor([] { // scarletio's `async with enter_executor():`
        std::cout << "after entering: " << std::this_thread::get_id() << std::endl;

        std::this_thread::sleep_for(std::chrono::seconds(2)); // blocking_sleep(2)

        std::cout << "before exiting: " << std::this_thread::get_id() << std::endl;
    });
    std::cout << "after exiting: " << std::this_thread::get_id() << std::endl;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain());
    loop.stop();
    return 0;
}
