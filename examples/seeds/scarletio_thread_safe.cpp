// scarletio, "Scheduling from other threads": tasks are created on the loop from another thread
// (here, main()'s, while the loop runs on its own), and that thread blocks until each one ends.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();

    // Create our tasks from a different thread
    auto task_0 = loop.create_task_thread_safe(say_after("hello", 1));
    auto task_1 = loop.create_task_thread_safe(say_after("world", 2));

    // Wait for their execution to finish.
    task_0.sync_wrap().wait();
    task_1.sync_wrap().wait();

    loop.stop();
    return 0;
}
