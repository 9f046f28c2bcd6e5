// Task-local values (K7): a side table from root task to its values, so that a task that uses
// none pays one flag test at spawn and nothing else. A context (coven::context) is a set of
// values that a task or a run() is bound to: what they set lands in the context.
#include "loop_state.hpp"

#include <coven/error.hpp>
#include <coven/task_local.hpp>

#include <mutex>

namespace coven::detail {

namespace {

using locals_ptr = std::shared_ptr<const local_values>;

/// A root's values: its own, or (bound) those of a context it runs in.
struct task_slot {
    locals_ptr values;
    std::shared_ptr<context_state> bound;
    auto effective() noexcept -> locals_ptr& { return bound ? bound->values : values; }
};

/// Roots with values (f_has_locals). Locked: loops on several threads share it; each entry is
/// only touched from its task's loop thread.
struct locals_table {
    std::mutex mutex;
    std::unordered_map<const promise_base*, task_slot> by_task;
};

auto table() -> locals_table& {
    static auto* t = new locals_table; // outlives every task, even those freed at exit
    return *t;
}

thread_local locals_ptr t_thread_locals;              // for code outside any task
thread_local context_state* t_thread_bound = nullptr; // a context::run() outside any task

auto thread_slot() noexcept -> locals_ptr& {
    return t_thread_bound ? t_thread_bound->values : t_thread_locals;
}

auto slot_of_current() -> locals_ptr& {
    promise_base* t = current_task();
    if (t == nullptr) {
        return thread_slot();
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    t->set(promise_base::f_has_locals);
    return tab.by_task[t].effective(); // node-based map: the reference stays valid
}

void enter(context_state& s) {
    if (s.entered.exchange(true, std::memory_order_acq_rel)) {
        throw usage_error("coven: a context entered twice at once (a task runs in it, or a "
                          "context::run() is under way); run the second user in a copy: "
                          "context::copy()");
    }
}

} // namespace

auto has_thread_locals() noexcept -> bool {
    return thread_slot() != nullptr;
}

auto current_locals() noexcept -> const local_values* {
    promise_base* t = current_task();
    if (t == nullptr) {
        return thread_slot().get();
    }
    if (!t->has(promise_base::f_has_locals)) {
        return nullptr;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    auto it = tab.by_task.find(t);
    return it == tab.by_task.end() ? nullptr : it->second.effective().get();
}

auto current_values() -> std::shared_ptr<const local_values> {
    promise_base* t = current_task();
    if (t == nullptr) {
        return thread_slot();
    }
    if (!t->has(promise_base::f_has_locals)) {
        return nullptr;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    auto it = tab.by_task.find(t);
    return it == tab.by_task.end() ? nullptr : it->second.effective();
}

void set_local(const void* key, std::shared_ptr<const void> value) {
    locals_ptr& slot = slot_of_current();
    auto copy = slot ? std::make_shared<local_values>(*slot) : std::make_shared<local_values>();
    copy->values[key] = std::move(value);
    slot = std::move(copy); // a new map: tasks that share the old one keep it
}

void erase_local(const void* key) {
    locals_ptr& slot = slot_of_current();
    if (!slot || slot->values.count(key) == 0) {
        return;
    }
    auto copy = std::make_shared<local_values>(*slot);
    copy->values.erase(key);
    slot = std::move(copy);
}

void inherit_locals(promise_base* new_root) {
    locals_ptr from = current_values();
    if (!from) {
        return;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    tab.by_task[new_root].values = std::move(from); // shared until one side sets a value
    new_root->set(promise_base::f_has_locals);
}

void bind_context(promise_base* root, std::shared_ptr<context_state> s) {
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    task_slot& slot = tab.by_task[root]; // may throw: before the context is marked in use
    root->set(promise_base::f_has_locals);
    enter(*s);
    slot.values.reset(); // what it inherited is replaced by the context's values
    slot.bound = std::move(s);
}

void drop_locals(const promise_base* root) noexcept {
    task_slot gone;
    {
        auto& tab = table();
        std::lock_guard lock(tab.mutex);
        if (auto it = tab.by_task.find(root); it != tab.by_task.end()) {
            gone = std::move(it->second);
            tab.by_task.erase(it);
        }
    }
    if (gone.bound) {
        gone.bound->entered.store(false, std::memory_order_release); // free for the next user
    }
    // `gone` (and the values it may own last) goes here, outside the lock.
}

context_run::context_run(std::shared_ptr<context_state> s) : m_state(std::move(s)) {
    m_task = current_task();
    if (m_task == nullptr) {
        enter(*m_state);
        m_previous_thread = std::exchange(t_thread_bound, m_state.get());
        return;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    task_slot& slot = tab.by_task[m_task]; // may throw: before the context is marked in use
    m_task->set(promise_base::f_has_locals);
    enter(*m_state);
    m_previous_bound = std::exchange(slot.bound, m_state); // the call holds the context alive
    m_previous_values = std::exchange(slot.values, nullptr);
    m_bound_here = true;
}

context_run::~context_run() {
    if (m_task == nullptr) {
        t_thread_bound = m_previous_thread;
    } else if (m_bound_here) {
        auto& tab = table();
        std::lock_guard lock(tab.mutex);
        task_slot& slot = tab.by_task.find(m_task)->second; // made by the constructor
        slot.bound = std::move(m_previous_bound);
        slot.values = std::move(m_previous_values);
    }
    m_state->entered.store(false, std::memory_order_release);
}

} // namespace coven::detail
