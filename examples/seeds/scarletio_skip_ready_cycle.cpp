// scarletio, "Task suspension": skip_ready_cycle() lets every task that is ready run first, so
// `say_second` always prints after `say_first` when both are scheduled together.
//
// The seed collects the tasks in a TaskGroup; coven's task_group arrives with structured
// concurrency (issue #4), so until then the two futures are awaited one after the other.
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
    // `say_second` will always print after `say_first` if scheduled concurrently.
    auto second = loop.create_task(say_second("world"));
    auto first = loop.create_task(say_first("hello"));

    // Let's await our tasks' completion.
    co_await second;
    co_await first;
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
