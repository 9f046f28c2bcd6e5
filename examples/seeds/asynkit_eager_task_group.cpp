// asynkit, "anyio support": an eager task group runs a child at once, up to its first
// suspension, inside start(). The child reports itself ready with task_status.started(value),
// and awaiting start() returns that value.
#include <coven/coven.hpp>

#include <iostream>
#include <string>

auto func(coven::task_status<std::string> task_status) -> coven::task<void> {
    std::cout << "hello" << std::endl;
    task_status.started("world");
    co_await coven::sleep(0.01);
    std::cout << "goodbye" << std::endl;
}

auto amain() -> coven::task<void> {
    co_await coven::with_eager_task_group([](coven::eager_task_group& tg) -> coven::task<> {
        auto start = tg.start<std::string>(func); // func has printed hello already
        std::cout << "fine" << std::endl;
        std::cout << co_await start << std::endl;
    });
    std::cout << "world" << std::endl;
}

int main() {
    coven::run(amain());
    return 0;
}
