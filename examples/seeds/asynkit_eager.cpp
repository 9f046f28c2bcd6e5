// asynkit, "eager() - lower latency IO": the same caller with three ways of starting a
// coroutine. Left alone, it runs only when awaited; as a task, it runs when the caller first
// suspends; eager, it runs at once, until it suspends, and the caller goes on after that.
#include <coven/coven.hpp>

#include <iostream>
#include <string>
#include <vector>

std::vector<std::string> log_;

auto test() -> coven::task<void> {
    log_.emplace_back("1");
    co_await coven::sleep(0.2); // some long IO
    log_.emplace_back("2");
}

template <class Convert>
auto caller(Convert convert) -> coven::task<void> {
    log_.clear();
    log_.emplace_back("a");
    auto future = convert(test());
    log_.emplace_back("b");
    co_await coven::sleep(0.1); // some other IO
    log_.emplace_back("c");
    co_await std::move(future);
}

void print_log(const std::string& how) {
    std::cout << how << ":";
    for (const auto& entry : log_) {
        std::cout << " " << entry;
    }
    std::cout << std::endl;
}

int main() {
    // do nothing
    coven::run(caller([](coven::task<void> c) { return c; }));
    print_log("do nothing");

    // Create a Task
    coven::run(caller(
        [](coven::task<void> c) { return coven::current_loop()->create_task(std::move(c)); }));
    print_log("create_task");

    // eager
    coven::run(caller([](coven::task<void> c) { return coven::eager(std::move(c)); }));
    print_log("eager");
    return 0;
}
