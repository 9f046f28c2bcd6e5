// scarletio, "Events": an event notifies every task that waits for it. Both tasks print once the
// event is set, after 2 s.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto set_event_after(coven::event& event, double after) -> coven::task<void> {
    co_await coven::sleep(after);
    event.set();
}

auto say_when_set(std::string to_say, coven::event& event) -> coven::task<void> {
    co_await event;
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);
    coven::event event;

    task_group.create_task(set_event_after(event, 2));
    task_group.create_task(say_when_set("hello", event));
    task_group.create_task(say_when_set("world", event));

    // Lets await for out tasks' completion.
    co_await task_group.wait_all();
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
