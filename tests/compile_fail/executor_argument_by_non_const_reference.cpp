// expect: run_in_executor\(fn, args...\) calls fn with copies of args, as std::thread does
// `fill` would change the job's copy of `v`, not `v`: refused at compile time, as std::thread
// refuses it; std::ref(v) is the way to share it.
#include <coven/executor.hpp>

#include <vector>

void fill(std::vector<int>& v) {
    v.push_back(1);
}

auto body(std::vector<int>& v) -> coven::task<> {
    co_await coven::run_in_executor(fill, v);
}
