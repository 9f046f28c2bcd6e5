// scarletio, "Task suspension": print the current time every 4 seconds, forever (stop it with
// Ctrl-C). The seed tour skips this one.
#include <coven/coven.hpp>

#include <ctime>
#include <iostream>

auto amain() -> coven::task<void> {
    for (;;) {
        std::time_t now = std::time(nullptr);
        char text[32];
        std::strftime(text, sizeof text, "%X", std::localtime(&now));
        std::cout << text << std::endl;
        co_await coven::sleep(4);
    }
}

int main() {
    coven::event_loop& loop = coven::get_or_create_event_loop();
    struct stop_finally { // the seed's try/finally
        coven::event_loop& loop;
        ~stop_finally() { loop.stop(); }
    } finally{loop};
    loop.run(amain());
    return 0;
}
