// asynkit, "await_sync() - Running coroutines synchronously": the logic is written once, async,
// and run from synchronous code with no loop. A callback that is synchronous (made async with
// async_function) or async but never blocking works; one that really suspends raises
// synchronous_error, which says where.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto process_data(const std::string& data) -> std::string {
    return "processed " + data;
}

template <class Getter>
auto async_get_processed_data(Getter datagetter) -> coven::task<std::string> {
    std::string data = co_await datagetter(); // an async callback
    co_return process_data(data);
}

// raises synchronous_error if datagetter blocks
template <class Getter>
auto sync_get_processed_data(Getter datagetter) -> std::string {
    return coven::await_sync(async_get_processed_data(datagetter));
}

auto sync_getter() -> std::string {
    return "local data";
}

auto cached_getter() -> coven::task<std::string> {
    co_return "cached data"; // async, but never suspends
}

auto remote_getter() -> coven::task<std::string> {
    co_await coven::sleep(1); // really waits: a loop is needed
    co_return "remote data";
}

int main() {
    std::cout << sync_get_processed_data(coven::async_function(sync_getter)) << std::endl;
    std::cout << sync_get_processed_data(cached_getter) << std::endl;
    try {
        std::cout << sync_get_processed_data(remote_getter) << std::endl;
    } catch (const coven::synchronous_error& e) {
        std::cout << "synchronous_error: blocked at line " << e.where().line() << std::endl;
    }
    return 0;
}
