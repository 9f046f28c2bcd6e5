// The side table of exceptions thrown into tasks and not raised yet (K26-K28): one per loop, so
// that a promise pays one flag bit for them, not a pointer. The rules of when they are raised
// live in src/cancel/cancel_scope.cpp.

#include "loop_state.hpp"

namespace coven::detail {

void store_interrupt(promise_base* t, std::exception_ptr e) {
    state_of(t)->m_interrupts[t] = std::move(e);
}

auto take_interrupt(promise_base* t) noexcept -> std::exception_ptr {
    if (!t->has(promise_base::f_interrupt)) {
        return nullptr;
    }
    t->clear(promise_base::f_interrupt);
    auto& pending = state_of(t)->m_interrupts;
    auto it = pending.find(t);
    if (it == pending.end()) {
        return nullptr;
    }
    std::exception_ptr e = std::move(it->second);
    pending.erase(it);
    return e;
}

auto interrupt_stored_is(const promise_base* t, const std::exception_ptr& e) noexcept -> bool {
    const auto& pending = state_of(t)->m_interrupts;
    auto it = pending.find(t);
    return it != pending.end() && it->second == e;
}

void count_raised_interrupt(const promise_base* t) noexcept {
    ++state_of(t)->m_interrupts_raised;
}

auto raised_interrupts(const promise_base* t) noexcept -> std::uint64_t {
    return state_of(t)->m_interrupts_raised;
}

auto pending_interrupts(const loop_core* loop) noexcept -> std::size_t {
    return static_cast<const loop_state*>(loop)->m_interrupts.size();
}

} // namespace coven::detail
