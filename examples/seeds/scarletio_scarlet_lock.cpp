// scarletio, "Locks" (ScarletLock): a lock that two tasks may hold at once. hello and world
// print after 1 s; hello world waits for a free place and prints after 3 s.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto say_after(std::string to_say, double after, coven::scarlet_lock& lock) -> coven::task<void> {
    auto held = co_await lock.scoped(); // `async with lock:`
    co_await coven::sleep(after);
    std::cout << to_say << std::endl;
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::task_group task_group(loop);
    coven::scarlet_lock lock(2);

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
