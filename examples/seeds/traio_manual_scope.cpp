// traio, "Simple Scope" without a context manager: `scope << task` spawns, finalize() says no
// more tasks are coming, and awaiting the scope waits for them. Without finalize() the scope
// would end only when cancelled.
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

auto fetch_url(int x) -> coven::task<void> {
    // Do something long
    co_await coven::sleep(3);
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    // Equivalent to the with_scope() example
    coven::task_scope scope({.timeout = 10s});

    for (int i = 0; i < 10; ++i) {
        scope << fetch_url(i);
    }

    scope.finalize();
    co_await scope;
    std::cout << "scope done after " << std::fixed << std::setprecision(1) << elapsed() << " s"
              << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
