// Dropping a root task: destroying its frame where it waits instead of resuming it (abort(), and
// loop stop for a stuck task a future refers to), while its futures keep reading its state.

#include "loop_state.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace coven::detail {

void keep_dropped_state(promise_base* p) noexcept {
    drop_context* d = t_drop;
    if (d->m_promise == p) {
        // The frame's locals are gone; its promise is being destroyed: its state as they left it.
        *d->m_kept = *p;
    }
}

auto keep_dropped_block(void* block, std::size_t size) noexcept -> bool {
    drop_context* d = t_drop;
    auto* first = static_cast<char*>(block);
    auto* promise = reinterpret_cast<char*>(d->m_promise);
    if (promise < first || promise >= first + size) {
        return false; // another frame freed while this one is destroyed
    }
    // g++ and clang put the promise two pointers into the block, so the block's first word, the
    // frame's dead resume pointer, is free for drop_root() to keep the block's size in.
    // (Another layout is freed here instead, and the drop reports it.)
    if (promise < first + sizeof(std::size_t)) {
        return false;
    }
    d->m_block = block;
    d->m_size = size;
    return true;
}

void free_dropped_frame(promise_base* p) noexcept {
    void* block = p->m_resume.address();
    const std::size_t size = *static_cast<std::size_t*>(block);
    p->~promise_base();
    deallocate_frame(block, size);
}

/// Ends a root by destroying its frame where it waits (its locals' destructors run, in this
/// task's context; no catch block and no code after the await runs): abort() at what would be
/// its turn, loop stop for a stuck task a future refers to. It ends cancelled. Its futures
/// point at its promise, so the promise's state is copied out while the promise is destroyed,
/// the frame's block is kept, and the state is rebuilt in its old place; the block is freed
/// with the last reference (free_dropped_frame()).
void drop_root(promise_base* t) noexcept {
    promise_base* const outer = std::exchange(t_current_task, t);
    loop_state* const loop = state_of(t);
    // Out of the registry while the frame goes, so that a destructor that spawns a task cannot
    // leave the copy's links stale.
    loop->unregister_root(t);
    promise_base kept;
    drop_context ctx{t, &kept};
    // A destructor run by this drop may drop another task (task_interrupt() on one whose drop
    // is pending runs its turn now): that drop has its own context, and this one comes back.
    drop_context* const outer_drop = std::exchange(t_drop, &ctx);
    t->m_destroy(t);
    t_drop = outer_drop;
    if (ctx.m_block == nullptr) {
        std::fputs("coven: a dropped task's frame was freed by another allocator path; its "
                   "state cannot be kept\n",
                   stderr);
        std::abort();
    }
    // The promise was destroyed and its storage is raw: a new promise_base is made in it.
    auto* state = ::new (static_cast<void*>(t)) promise_base(kept);
    *static_cast<std::size_t*>(ctx.m_block) = ctx.m_size;
    state->m_resume = std::coroutine_handle<>::from_address(ctx.m_block);
    state->set(promise_base::f_dropped); // (abort() set it already; loop stop did not)
    state->set(promise_base::f_cancelled);
    loop->register_root(state); // root_finished() takes it out again
    root_finished(state);       // frees the block if nobody holds the task
    t_current_task = outer;
}

} // namespace coven::detail
