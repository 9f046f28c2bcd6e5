// traio, "Simple Scope": tasks spawned into a scope; the end of the block waits until they are
// all done, or the timeout passes, or the scope is cancelled. (The seed prints nothing; this
// prints when the block ended.)
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
    co_await coven::with_scope({.timeout = 10s}, [](coven::task_scope& scope) -> coven::task<> {
        for (int i = 0; i < 10; ++i) {
            scope.spawn(fetch_url(i));
        }
        co_return;
    });
    std::cout << "all 10 fetched after " << std::fixed << std::setprecision(1) << elapsed() << " s"
              << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
