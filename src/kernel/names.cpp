// Task names, and the reports of what nobody handled: an exception a task ended with that no
// one retrieved, an exception a done-callback threw.

#include "loop_state.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

namespace coven {
namespace detail {
namespace {

// Names of named root tasks; only named tasks pay for this.
struct name_table {
    std::mutex mutex;
    std::unordered_map<const promise_base*, std::string> names;
};
auto names() -> name_table& {
    static name_table* t = new name_table; // outlives every frame, even those freed at exit
    return *t;
}

std::atomic<void (*)(std::exception_ptr, const std::string&)> g_unobserved{nullptr};

} // namespace

void report_unobserved_error(std::exception_ptr e, const std::string& name) noexcept {
    if (auto hook = g_unobserved.load()) {
        hook(std::move(e), name);
        return;
    }
    std::fprintf(stderr, "coven: exception in %s was never retrieved: %s\n", name.c_str(),
                 describe_exception(e).c_str());
}

void report_callback_error(std::exception_ptr e) noexcept {
    if (t_loop && t_loop->m_exception_handler) {
        t_loop->m_exception_handler(e);
        return;
    }
    std::fprintf(stderr, "coven: exception in a done-callback: %s\n",
                 describe_exception(e).c_str());
}

auto root_name(const promise_base* t) -> std::string {
    if (t->has(promise_base::f_named)) {
        auto& n = names();
        std::lock_guard lock(n.mutex);
        auto it = n.names.find(t);
        if (it != n.names.end()) {
            return it->second;
        }
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "task@%p", static_cast<const void*>(t));
    return buf;
}

void set_root_name(promise_base* t, std::string name) {
    auto& n = names();
    std::lock_guard lock(n.mutex);
    n.names[t] = std::move(name);
    t->set(promise_base::f_named);
}

void forget_name(const promise_base* t) noexcept {
    auto& n = names();
    std::lock_guard lock(n.mutex);
    n.names.erase(t);
}

} // namespace detail

void set_unobserved_exception_handler(void (*handler)(std::exception_ptr, const std::string&)) {
    detail::g_unobserved.store(handler);
}

} // namespace coven
