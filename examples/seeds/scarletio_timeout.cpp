// scarletio, "Timeouts": future.apply_timeout() cancels the task if it has not finished in time,
// and whoever awaits it gets a timeout_error.
#include <coven/coven.hpp>

#include <iostream>

auto wait_forever() -> coven::task<void> {
    co_await coven::sleep(3600);
}

auto amain(coven::event_loop& loop) -> coven::task<void> {
    coven::future<void> task = loop.create_task(wait_forever());
    task.apply_timeout(1.0);

    try {
        co_await task;
    } catch (const coven::timeout_error&) {
        std::cout << "TIMEOUT!" << std::endl;
    }
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    loop.run(amain(loop));
    loop.stop();
    return 0;
}
