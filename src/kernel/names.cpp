// Task names, and the reports of what nobody handled: an exception a task ended with that no
// one retrieved, an exception a done-callback threw.

#include "loop_state.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
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

// The handler: copied out under the lock, so that a report runs it while another thread may be
// replacing it (the old one lives until its last report returns). Leaked on purpose, as the
// names: tasks freed during static destruction still report.
struct unobserved_hook {
    std::mutex mutex;
    std::shared_ptr<const unobserved_exception_handler> handler;
};
auto unobserved() -> unobserved_hook& {
    static auto* h = new unobserved_hook;
    return *h;
}

} // namespace

void report_unobserved_error(std::exception_ptr e, const std::string& name) noexcept {
    std::shared_ptr<const unobserved_exception_handler> hook;
    {
        auto& u = unobserved();
        std::lock_guard lock(u.mutex);
        hook = u.handler;
    }
    if (hook) {
        try {
            (*hook)(std::move(e), name);
        } catch (...) {
            std::fprintf(stderr, "coven: the unobserved-exception handler threw: %s\n",
                         describe_exception(std::current_exception()).c_str());
        }
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

void set_unobserved_exception_handler(unobserved_exception_handler handler) {
    std::shared_ptr<const unobserved_exception_handler> next;
    if (handler) {
        next = std::make_shared<const unobserved_exception_handler>(std::move(handler));
    }
    auto& u = detail::unobserved();
    std::lock_guard lock(u.mutex);
    u.handler.swap(next); // the old one is destroyed after the lock, by `next`
}

} // namespace coven
