// task_throw() and task_interrupt() (K26, K27): checks around the kernel's throw_into_root() and
// run_root_now().
#include "loop_state.hpp"

#include <coven/interrupt.hpp>

#include <string>

namespace coven::detail {

auto interrupt_task(promise_base* target, std::exception_ptr e, bool run_now, const char* what)
    -> bool {
    if (!e) {
        throw usage_error(std::string("coven: ") + what +
                          " got a null exception_ptr; pass the exception to raise in the task");
    }
    require_loop_thread(target, what);
    if (target->has(promise_base::f_done)) {
        throw usage_error(std::string("coven: ") + what +
                          " on a task that has ended; check done() first");
    }
    if (run_now && target == current_task()) {
        throw usage_error(std::string("coven: ") + what +
                          " on the calling task itself; throw the exception instead");
    }
    throw_into_root(target, std::move(e));
    if (!run_now) {
        return true;
    }
    run_root_now(target);
    return !interrupt_pending(target);
}

} // namespace coven::detail
