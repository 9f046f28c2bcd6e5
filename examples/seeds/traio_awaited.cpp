// traio, "Special tasks: awaited": a background task (awaited = false) does not keep the scope
// open; it is cancelled once the awaited tasks are done.
#include <coven/coven.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>

/// Seconds since the program's loop started (loop.time() counts from the clock's origin).
auto elapsed() -> double {
    static const double start = coven::current_loop()->time();
    return coven::current_loop()->time() - start;
}

auto background(int& ticks) -> coven::task<void> {
    // Every second on the second: sleeping until each deadline (not 1 s after each wake-up)
    // keeps the ticks from drifting, so the 10th falls at 10.0 s with the job's end on a real
    // clock too, not just after it.
    auto next = coven::current_loop()->now();
    for (;;) {
        // Do something periodic and sleep
        next += std::chrono::seconds(1);
        co_await coven::sleep_until(next);
        ++ticks;
    }
}

auto job() -> coven::task<void> {
    // Do the real work
    co_await coven::sleep(10);
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    int ticks = 0;
    co_await coven::with_scope({}, [&](coven::task_scope& n) -> coven::task<> {
        // Spawn a background job
        (void)n.spawn(background(ticks), {.awaited = false});

        // Do what you have to do.
        n << job();
        co_return;
    });
    // At this point, job is done and background task was cancelled
    std::cout << "job done after " << std::fixed << std::setprecision(1) << elapsed()
              << " s; the background task ticked " << ticks << " times and was cancelled"
              << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
