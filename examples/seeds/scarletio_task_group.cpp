// scarletio, "Task groups": a task group collects tasks so that they can be waited on together.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);

    // We schedule up `say_after`.
    task_group.create_task(say_after("hello", 1));
    task_group.create_task(say_after("world", 2));

    // Lets await for out tasks' completion.
    co_await task_group.wait_all();
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
