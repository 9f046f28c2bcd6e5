// scarletio, "Locks": a lock gives one task at a time access to a shared resource. The three
// tasks take it in the order they asked: hello after 1 s, world after 2 s, hello world after 4 s.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after, coven::lock& lock) -> coven::task<void> {
    auto held = co_await lock.scoped(); // `async with lock:`
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);
    coven::lock lock;

    task_group.create_task(say_after("hello", 1, lock));
    task_group.create_task(say_after("world", 1, lock));
    task_group.create_task(say_after("hello world", 2, lock));

    // Lets await for out tasks' completion.
    co_await task_group.wait_all();
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
