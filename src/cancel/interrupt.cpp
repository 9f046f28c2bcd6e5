// task_throw() and task_interrupt() (K26, K27): checks around the kernel's throw_into_root() and
// run_root_now().
#include <coven/detail/kernel.hpp>
#include <coven/interrupt.hpp>

#include <cstdint>
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
    const std::uint64_t raised_before = raised_interrupts(target);
    ++target->m_refs; // the nested turn may end it and drop its last future
    run_root_now(target);
    // Raised: it is not pending any more, and it was raised rather than dropped at an end that
    // came first (a task that returned before its next await).
    const bool raised = !interrupt_pending(target) && raised_interrupts(target) != raised_before;
    release_root(target);
    return raised;
}

} // namespace coven::detail
