// scarletio, "Task suspension": skip_ready_cycle() lets every task that is ready run first, so
// `say_second` always prints after `say_first` when both are scheduled together.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_first(std::string to_say) -> coven::task<void> {
    std::cout << to_say << std::endl;
    co_return;
}

auto say_second(std::string to_say) -> coven::task<void> {
    co_await coven::skip_ready_cycle();
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);

    // `say_second` will always print after `say_first` if scheduled concurrently.
    task_group.create_task(say_second("world"));
    task_group.create_task(say_first("hello"));

    // Let's await our tasks' completion.
    co_await task_group.wait_all();
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
