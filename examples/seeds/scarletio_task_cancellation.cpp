// scarletio, "Task cancellation": a cancelled task gets cancelled_error at its next
// opportunity; here before it ever runs, so `hello` is never printed.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);

    // We schedule up `say_after`. By cancelling `hello` it will not print.
    task_group.create_task(say_after("hello", 1)).cancel();
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
