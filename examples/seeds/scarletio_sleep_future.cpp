// scarletio, "Task suspension": sleep() is also a future, so it can be cancelled or, as here,
// added to a task group.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);

    task_group.create_task(say_after("hello", 1));
    task_group.add_future(coven::sleep(2));

    // Lets await for out tasks' completion.
    co_await task_group.wait_all();
    std::cout << "world" << std::endl;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
