// scarletio, "Coroutines": calling a coroutine function schedules nothing; awaiting it runs it.
//
// In scarletio's REPL, `main()` only shows a coroutine object and `await main()` prints
// "hello", then "world" a second later. A coven::task behaves the same way: it is lazy.
#include <coven/coven.hpp>

#include <iostream>

auto amain() -> coven::task<void> {
    std::cout << "hello" << std::endl;
    co_await coven::sleep(1.0);
    std::cout << "world" << std::endl;
}

int main() {
    coven::task<void> coro = amain(); // like `main()` in the REPL: nothing runs yet
    std::cout << "<coven::task amain: not started>" << std::endl;
    coven::run(std::move(coro)); // like `await main()`
    return 0;
}
