// async-tamer, "Exception Management" (the implicit await): a failure nobody waited for is
// raised at the scope's end. The seed lets it end the program with a traceback; here main()
// reports it.
#include <coven/coven.hpp>

#include <iostream>
#include <stdexcept>

const coven::tamed faulty_function = []() -> coven::task<void> {
    throw std::runtime_error("Oh no!");
    co_return;
};

int main() {
    try {
        coven::async_scope scope;
        auto result = faulty_function(coven::in_scope(scope));
    } catch (const std::runtime_error& e) {
        std::cout << "raised at the scope's end: std::runtime_error: " << e.what() << std::endl;
    }
    return 0;
}
