// Task-local values (K7): a side table from root task to its values, so that a task that uses
// none pays one flag test at spawn and nothing else.
#include "loop_state.hpp"

#include <coven/task_local.hpp>

#include <mutex>

namespace coven::detail {

namespace {

using locals_ptr = std::shared_ptr<const local_values>;

/// Roots with values (f_has_locals). Locked: loops on several threads share it; each entry is
/// only touched from its task's loop thread.
struct locals_table {
    std::mutex mutex;
    std::unordered_map<const promise_base*, locals_ptr> by_task;
};

auto table() -> locals_table& {
    static auto* t = new locals_table; // outlives every task, even those freed at exit
    return *t;
}

thread_local locals_ptr t_thread_locals; // for code outside any task

auto slot_of_current() -> locals_ptr& {
    promise_base* t = current_task();
    if (t == nullptr) {
        return t_thread_locals;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    t->set(promise_base::f_has_locals);
    return tab.by_task[t]; // node-based map: the reference stays valid
}

} // namespace

auto has_thread_locals() noexcept -> bool {
    return t_thread_locals != nullptr;
}

auto current_locals() noexcept -> const local_values* {
    promise_base* t = current_task();
    if (t == nullptr) {
        return t_thread_locals.get();
    }
    if (!t->has(promise_base::f_has_locals)) {
        return nullptr;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    auto it = tab.by_task.find(t);
    return it == tab.by_task.end() ? nullptr : it->second.get();
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
    promise_base* maker = current_task();
    locals_ptr from;
    if (maker == nullptr) {
        from = t_thread_locals;
    } else if (maker->has(promise_base::f_has_locals)) {
        auto& tab = table();
        std::lock_guard lock(tab.mutex);
        if (auto it = tab.by_task.find(maker); it != tab.by_task.end()) {
            from = it->second;
        }
    }
    if (!from) {
        return;
    }
    auto& tab = table();
    std::lock_guard lock(tab.mutex);
    tab.by_task[new_root] = std::move(from); // shared until one side sets a value
    new_root->set(promise_base::f_has_locals);
}

void drop_locals(const promise_base* root) noexcept {
    locals_ptr gone;
    {
        auto& tab = table();
        std::lock_guard lock(tab.mutex);
        if (auto it = tab.by_task.find(root); it != tab.by_task.end()) {
            gone = std::move(it->second);
            tab.by_task.erase(it);
        }
    }
    // `gone` (and the values it may own last) goes here, outside the lock.
}

} // namespace coven::detail
