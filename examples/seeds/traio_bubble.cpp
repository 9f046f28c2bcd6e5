// traio, "Special tasks: bubble": a task spawned with bubble = false fails without cancelling
// the scope; the scope then runs until its timeout and raises timeout_error.
#include <coven/coven.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <stdexcept>

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
    throw std::invalid_argument("not interesting");
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    try {
        co_await coven::with_scope({.timeout = 500ms}, [](coven::task_scope& n) -> coven::task<> {
            // This will try to run for 10 seconds
            n << fetch_url();

            // This will run a bit then raise (but not 'bubble')
            (void)n.spawn(trivial(), {.bubble = false});
            co_return;
        });
    } catch (const coven::timeout_error&) {
        // Eventually after 0.5 seconds the scope times out and gives a timeout_error
        std::cout << "scope timed out after " << std::fixed << std::setprecision(1) << elapsed()
                  << " s" << std::endl;
    }
}

int main() {
    // trivial()'s error is nobody's: its future reports it when dropped. Quiet here.
    coven::set_unobserved_exception_handler([](std::exception_ptr, const std::string&) {});
    coven::run(amain());
    return 0;
}
