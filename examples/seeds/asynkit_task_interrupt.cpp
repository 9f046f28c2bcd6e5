// asynkit, "task_interrupt()": an exception raised in a task that waits, and the task run at
// once. When task_interrupt() returns, the error has already been raised in the task; awaiting
// the task then gives a plain cancelled_error, since interrupt_error is a cancelled_error (the
// seed's "original error is substituted").
#include <coven/coven.hpp>

#include <iostream>

auto task_body() -> coven::task<void> {
    co_await coven::sleep(1);
}

auto test() -> coven::task<void> {
    auto task = coven::current_loop()->create_task(task_body());
    co_await coven::sleep(0);
    std::cout << "blocked: " << std::boolalpha << coven::task_is_blocked(task) << std::endl;
    coven::task_interrupt(task, coven::interrupt_error());
    std::cout << "done: " << task.done() << std::endl; // the error has already been raised
    try {
        co_await task;
        std::cout << "never happens" << std::endl;
    } catch (const coven::cancelled_error&) { // original error is substituted
        std::cout << "awaiting it raised cancelled_error" << std::endl;
    }
}

int main() {
    coven::run(test());
    return 0;
}
