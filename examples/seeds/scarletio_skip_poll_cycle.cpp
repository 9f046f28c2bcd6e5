// scarletio, "Task suspension": skip_poll_cycle() resumes only after the next I/O poll, and the
// loop polls only once every ready task has run, so ten skip_ready_cycle() hops still finish
// first.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto skip_10_times_then_say(std::string to_say) -> coven::task<void> {
    for (int i = 0; i < 10; ++i) {
        co_await coven::skip_ready_cycle();
    }
    std::cout << to_say << std::endl;
}

auto skip_io_poll_then_say(std::string to_say) -> coven::task<void> {
    co_await coven::skip_poll_cycle();
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);

    task_group.create_task(skip_io_poll_then_say("world"));
    task_group.create_task(skip_10_times_then_say("hello"));

    // Let's await our tasks' completion.
    co_await task_group.wait_all();
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
