// traio, "Getting current Scope": the current scope follows the task, so a handler can fork the
// scope it runs in without being handed it. Connections are simulated with sleeps.
#include <coven/coven.hpp>

#include <iomanip>
#include <iostream>

/// Seconds since the program's loop started (loop.time() counts from the clock's origin).
auto elapsed() -> double {
    static const double start = coven::current_loop()->time();
    return coven::current_loop()->time() - start;
}

auto say(const char* what) -> void {
    std::cout << std::fixed << std::setprecision(1) << elapsed() << " " << what << std::endl;
}

auto do_something(const char* what, double seconds) -> coven::task<void> {
    co_await coven::sleep(seconds);
    say(what);
}

auto handler(int client) -> coven::task<void> {
    // This runs in the scope `main_scope`: create a subscope of the current one
    coven::task_scope s = coven::task_scope::current()->fork();
    // Here we are in the scope of `s`, as well as spawned tasks
    s << do_something(client == 1 ? "client 1: request handled" : "client 2: request handled", 1);
    s << do_something(client == 1 ? "client 1: log written" : "client 2: log written", 2);
    s.finalize();
    co_await s;
}

auto server(coven::task_scope& main_scope) -> coven::task<void> {
    // This runs in the scope `main_scope`
    for (int client = 1; client <= 2; ++client) {
        co_await coven::sleep(1); // a new connection
        say(client == 1 ? "client 1 connected" : "client 2 connected");
        main_scope << handler(client);
    }
}

auto amain() -> coven::task<void> {
    (void)elapsed(); // starts the count
    co_await coven::with_scope({}, [](coven::task_scope& main_scope) -> coven::task<> {
        main_scope << server(main_scope);
        main_scope << do_something("something else done", 0.5);
        co_return;
    });
    say("main scope done");
}

int main() {
    coven::run(amain());
    return 0;
}
