// await_sync()'s synchronous runs (K3): a task run on the calling thread, outside any loop, and
// unwound by stopping a loop of its own if it blocks.

#include "loop_state.hpp"

#include <memory>
#include <string>
#include <vector>

namespace coven::detail {

namespace {
/// One per nesting depth of synchronous runs: a run that blocks is unwound by stopping its loop,
/// and that must not reach the runs around it, whose turns are on the stack.
thread_local std::vector<std::unique_ptr<event_loop>> t_sync_loops;
} // namespace

auto sync_loop() -> event_loop& {
    const auto depth = static_cast<std::size_t>(t_sync_depth);
    if (t_sync_loops.size() <= depth) {
        t_sync_loops.resize(depth + 1);
    }
    std::unique_ptr<event_loop>& loop = t_sync_loops[depth];
    // Virtual time: a blocked run that is unwound after a cancel it shields from does not wait
    // on a real clock.
    if (!loop) {
        loop = std::make_unique<event_loop>(loop_options{.clock = clock_kind::virtual_time});
    }
    return *loop;
}

void reset_sync_loop() noexcept {
    t_sync_loops.clear();
}

namespace {
/// The loop await_sync() hid from the code it runs (t_loop is null inside): the thread still
/// drives it, so blocking bridges must still refuse to block.
thread_local int t_hidden_loops = 0;
} // namespace

auto drives_a_loop() noexcept -> bool {
    return t_loop != nullptr || t_hidden_loops != 0;
}

void refuse_blocking(const char* what, const char* instead) {
    if (drives_a_loop()) {
        throw usage_error(std::string("coven: ") + what +
                          " on a loop's thread would stall that loop (or deadlock it, if the "
                          "loop must run what is waited for); " +
                          instead);
    }
}

void refuse_cross_loop_wait_in_sync_run(const promise_base* waiter, const promise_base* target,
                                        const char* what) {
    if (t_sync_depth != 0 && waiter->m_loop != target->m_loop) {
        throw usage_error(std::string("coven: ") + what +
                          " inside await_sync() waits on a loop, and a synchronous run has "
                          "none; await it in a task instead");
    }
}

auto run_sync_turn(promise_base* root) noexcept -> bool {
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    loop_state* const outer = std::exchange(t_loop, nullptr); // no loop in sight
    if (outer != nullptr) {
        ++t_hidden_loops;
    }
    // A nested run must not leave its site to the run around it.
    const coven::source_location saved_site = t_sync_site;
    const bool saved_site_set = t_sync_site_set;
    ++t_sync_depth;
    t_sync_site_set = false;
    root->set(promise_base::f_started);
    give_turn(root);
    --t_sync_depth;
    const bool done = root->has(promise_base::f_done);
    if (done) { // a run that blocked keeps its site for the caller's error; restored later
        t_sync_site = saved_site;
        t_sync_site_set = saved_site_set;
    }
    if (outer != nullptr) {
        --t_hidden_loops;
    }
    t_loop = outer;
    t_current_task = caller;
    t_transfer = pending;
    return done;
}

void abandon_sync_run(promise_base* root) noexcept {
    loop_state& loop = *state_of(root);
    promise_base* const caller = t_current_task;
    std::coroutine_handle<> const pending = std::exchange(t_transfer, nullptr);
    try {
        // What loop stop does: cancel, let it unwind (its timers run on the virtual clock, a
        // call on a pool is waited for), and destroy a task that ignores cancellation.
        drive_guard guard(loop); // sync_loop() is this thread's own: nobody else drives it
        // At the run's depth: an await_sync() in its cleanup gets a loop of its own, as it
        // would have in the run's turn.
        struct one_deeper {
            one_deeper() noexcept { ++t_sync_depth; }
            ~one_deeper() { --t_sync_depth; }
            one_deeper(const one_deeper&) = delete;
            auto operator=(const one_deeper&) -> one_deeper& = delete;
        } depth;
        loop.shutdown();
    } catch (...) {
        // drive_guard cannot fail here; if it did, the frame is left to the loop's teardown.
    }
    t_sync_site_set = false;
    t_current_task = caller;
    t_transfer = pending;
}

} // namespace coven::detail
