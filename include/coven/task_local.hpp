#pragma once
// coven::task_local<T>: a value per task, inherited as a copy by the tasks it makes (asynkit's
// context handling, Python's contextvars; K7).

#include <memory>
#include <unordered_map>
#include <utility>

namespace coven {

namespace detail {

/// One task's (or one thread's) task_local values. Shared, read-only, between a task and the
/// tasks it made until one of them sets a value: setting copies the map first (copy on write).
struct local_values {
    std::unordered_map<const void*, std::shared_ptr<const void>> values;
};

/// The values of the running task, else of the calling thread; null when none was ever set.
auto current_locals() noexcept -> const local_values*;
/// Sets `key` to `value` for the running task (else the calling thread) only.
void set_local(const void* key, std::shared_ptr<const void> value);
/// Removes `key` from the running task's (else the thread's) values.
void erase_local(const void* key);

} // namespace detail

/// A variable with one value per task (K7). A root task starts with a copy of the values of the
/// task (or thread) that made it, then its sets are its own: neither the maker nor the tasks it
/// makes later see them. An awaited sub-task is part of its root and shares its values. Outside
/// any task, the calling thread has values of its own, which tasks made there inherit.
/// get() returns a copy: a value is never changed under a reader.
/// **Thread safety:** get() and set() act on the calling thread's running task; a task_local
/// object itself may be shared between threads (it holds only the initial value).
/// **Example:**
/// ```
/// coven::task_local<std::string> request_id("-");
/// request_id.set("r-17");
/// co_await handle();            // sees "r-17"; so do the tasks it creates
/// ```
template <class T>
class task_local {
public:
    explicit task_local(T initial = T{}) : m_initial(std::move(initial)) {}
    ~task_local() = default;
    task_local(const task_local&) = delete;
    auto operator=(const task_local&) -> task_local& = delete;

    /// The running task's value (a copy), or the initial value if it never set one.
    [[nodiscard]] auto get() const -> T {
        if (const detail::local_values* locals = detail::current_locals()) {
            if (auto it = locals->values.find(this); it != locals->values.end()) {
                return *static_cast<const T*>(it->second.get());
            }
        }
        return m_initial;
    }
    /// Sets the running task's value.
    void set(T value) { detail::set_local(this, std::make_shared<const T>(std::move(value))); }
    /// Back to the initial value, for the running task.
    void reset() { detail::erase_local(this); }

    /// Sets a value until the guard goes, then puts the previous one back (ContextVar.set() and
    /// reset(token)). Use it in one task, in a nested block.
    class [[nodiscard]] scoped_value {
    public:
        scoped_value(task_local& var, T value) : m_var(&var), m_previous(var.get()) {
            var.set(std::move(value));
        }
        ~scoped_value() {
            try {
                m_var->set(std::move(m_previous));
            } catch (...) { // out of memory while restoring: the scoped value stays
            }
        }
        scoped_value(const scoped_value&) = delete;
        auto operator=(const scoped_value&) -> scoped_value& = delete;

    private:
        task_local* m_var;
        T m_previous;
    };
    [[nodiscard]] auto scoped(T value) -> scoped_value {
        return scoped_value(*this, std::move(value));
    }

private:
    T m_initial;
};

} // namespace coven
