// scarletio, "Tasks", run concurrently: two tasks sleep at the same time, so the whole program
// takes 2 seconds, not 3.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    // We schedule up `say_after`. One finishes after 1 and the other after 2 seconds.
    auto task_0 = loop.create_task(say_after("hello", 1));
    auto task_1 = loop.create_task(say_after("world", 2));

    // Let's await our tasks' completion.
    co_await task_0;
    co_await task_1;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
