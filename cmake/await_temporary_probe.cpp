// Does this compiler destroy an aggregate temporary in a co_await operand twice? g++ 12 does: it
// builds the closure in one slot of the coroutine frame, copies it bitwise into a second one and
// destroys both (docs/compilers.md). Exit status 0: no; 1: yes.
#include <coroutine>

namespace {
int constructed = 0;
int destroyed = 0;

struct counted {
    counted() { ++constructed; }
    counted(const counted& /*other*/) { ++constructed; }
    counted(counted&& /*other*/) noexcept { ++constructed; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) = default;
    ~counted() { ++destroyed; }
};

struct eager {
    struct promise_type {
        eager get_return_object() { return {}; }
        std::suspend_never initial_suspend() { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};

struct ready {
    bool await_ready() { return true; }
    void await_suspend(std::coroutine_handle<> /*h*/) {}
    void await_resume() {}
};

template <class F>
ready take(F&& /*f*/) {
    return {};
}

eager await_with_a_capturing_lambda() {
    co_await take([c = counted()] { (void)c; });
}
} // namespace

int main() {
    await_with_a_capturing_lambda();
    return destroyed == constructed ? 0 : 1;
}
