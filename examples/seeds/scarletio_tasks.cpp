// scarletio, "Tasks": loop.create_task() schedules a coroutine at once and returns a future
// that can be awaited.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    // We schedule up `say_after`.
    coven::future<void> task = loop.create_task(say_after("hello", 1));

    // Let's wait for our task's completion.
    co_await task;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
