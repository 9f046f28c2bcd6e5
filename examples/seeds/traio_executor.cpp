// traio, "Running synchronous code with executors": a blocking call spawned into a scope runs on
// a worker thread. The scope's timeout cancels the call's future, not its thread (no thread can
// be stopped safely): a call that already runs goes on to its end, and its result is dropped.
#include <coven/coven.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <thread>

using namespace std::chrono_literals;

/// Seconds since the program's loop started (loop.time() counts from the clock's origin).
auto elapsed() -> double {
    static const double start = coven::current_loop()->time();
    return coven::current_loop()->time() - start;
}

void fetch_url() {
    // Do something long, sync! (the seed sleeps 10 s; the program waits for it at exit)
    std::this_thread::sleep_for(2s);
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    try {
        co_await coven::with_scope({.timeout = 200ms},
                                   [](coven::task_scope& scope) -> coven::task<> {
                                       scope << coven::run_in_executor(fetch_url);
                                       co_return;
                                   });
    } catch (const coven::timeout_error&) {
        std::cout << "scope timed out after " << std::fixed << std::setprecision(1) << elapsed()
                  << " s; a blocking call cannot be stopped, it runs on in its thread" << std::endl;
    }
}

int main() {
    coven::run(amain());
    return 0;
}
