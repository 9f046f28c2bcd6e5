// traio, "Nested Scope": a scope forked from another is cancelled with it. The outer scope times
// out first (0.2 s) and cancels the inner one (0.5 s).
#include <coven/coven.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>

using namespace std::chrono_literals;

/// Seconds since the program's loop started (loop.time() counts from the clock's origin).
auto elapsed() -> double {
    static const double start = coven::current_loop()->time();
    return coven::current_loop()->time() - start;
}

auto fetch_url() -> coven::task<void> {
    // Do something long
    co_await coven::sleep(10);
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    try {
        co_await coven::with_scope({.timeout = 200ms},
                                   [](coven::task_scope& parent) -> coven::task<> {
                                       coven::task_scope inner = parent.fork({.timeout = 500ms});
                                       // This will try to run for 10 seconds
                                       inner << fetch_url();
                                       inner.finalize();
                                       co_await inner;
                                   });
    } catch (const coven::timeout_error&) {
        // Here the outer scope timed out first and cancelled the inner one
        std::cout << "outer scope timed out after " << std::fixed << std::setprecision(1)
                  << elapsed() << " s; the inner one was cancelled with it" << std::endl;
    }
}

int main() {
    coven::run(amain());
    return 0;
}
