// async-tamer, "The AsyncScope" (exit_mode): a token generator runs forever in a scope with
// exit_mode::cancel; a batch of six requests in an inner scope takes the three tokens of the
// initial burst at once, then one per second. When the batch is done, the outer scope's end
// cancels the generator.
#include <coven/coven.hpp>

#include <algorithm>
#include <functional>
#include <iomanip>
#include <iostream>

/// Seconds since the program's first scope began (the seed prints the wall-clock time).
auto elapsed() -> double {
    static const double start = coven::this_thread_loop().time();
    return coven::this_thread_loop().time() - start;
}

struct rate_limiter {
    // allow an initial burst
    int max_tokens = 3;
    int tokens = max_tokens;

    auto generate_tokens(double delay) -> coven::task<void> {
        for (;;) { // <-- generate new tokens forever
            co_await coven::sleep(delay);
            tokens = std::min(tokens + 1, max_tokens);
        }
    }

    auto get_token() -> coven::task<bool> {
        // The seed spins with sleep(0). On the virtual clock time moves only while the loop is
        // idle, and a spinning loop never is; polling every millisecond keeps the shape.
        while (tokens == 0) {
            co_await coven::sleep(0.001);
        }
        tokens -= 1;
        co_return true;
    }
};

const coven::tamed fake_request = [](rate_limiter& limiter) -> coven::task<void> {
    co_await limiter.get_token();
    std::cout << std::fixed << std::setprecision(1) << elapsed() << " s Requesting..." << std::endl;
};

int main() {
    (void)elapsed(); // starts the count
    rate_limiter throttle;
    {
        coven::async_scope service_layer({.on_exit = coven::exit_mode::cancel});
        service_layer.spawn(throttle.generate_tokens(1)); // a member coroutine: spawn() it
        {
            coven::async_scope batch;
            for (int i = 0; i < 6; ++i) {
                fake_request(std::ref(throttle), coven::in_scope(batch)); // shared, not copied
            }
        } // <-- wait for all requests to finish
    }     // <-- cancel the rate limiter
    return 0;
}
