// traio, "Special tasks: master": the scope dies with its master task when that task is done.
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

auto trivial() -> coven::task<void> {
    co_await coven::sleep(0.01);
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    co_await coven::with_scope({.timeout = 500ms}, [](coven::task_scope& n) -> coven::task<> {
        // This will try to run for 10 seconds
        n << fetch_url();

        // This will run a bit then the scope gets cancelled when it ends
        (void)n.spawn(trivial(), {.master = true});
        co_return;
    });
    std::cout << "scope ended with its master task after " << std::fixed << std::setprecision(2)
              << elapsed() << " s" << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
