#pragma once
// coven's exception hierarchy. Everything coven throws derives from coven::error, except
// std::bad_alloc (out of memory) and std::system_error (a thread that cannot be started), and
// what user code (a task body, a callback, a value's copy) throws, which passes through.

#include <coven/source_location.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace coven {

/// Base of every exception coven throws.
/// **Thread safety:** plain exception types: any thread may make, copy and throw them (an
/// exception_ptr to one may cross threads, as thread_safe_future's do).
/// **Throws:** the constructors that take a message throw std::bad_alloc if it cannot be copied.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A coven API was used in a way it does not support. The message names the mistake and what to
/// do instead.
class usage_error : public error {
public:
    using error::error;
};

/// Thrown at a suspension point of a task that was cancelled (future::cancel()) or that runs
/// inside a cancelled cancel_scope, and by future::result() of a task that ended cancelled. A
/// task may catch it to clean up (and may await during the cleanup); rethrowing it marks the
/// task cancelled.
class cancelled_error : public error {
public:
    cancelled_error() : error("coven: the task was cancelled") {}
    using error::error;
};

/// The exception task_interrupt() raises in a task by default (asynkit's InterruptError, K27).
/// It is a cancelled_error, so code that cleans up on cancellation cleans up on an interrupt
/// too, and a task it ends counts as cancelled.
class interrupt_error : public cancelled_error {
public:
    interrupt_error() : cancelled_error("coven: the task was interrupted") {}
    using cancelled_error::cancelled_error;
};

/// A coven::queue was closed: put() on a closed queue, or get() on one that is closed and empty.
class queue_closed : public error {
public:
    queue_closed() : error("coven: the queue is closed") {}
    using error::error;
};

/// A deadline passed: fail_after()/fail_at() stopped their work, repeat_timeout() an iteration,
/// or future::apply_timeout() the task. Thrown once the work has unwound. Not a cancelled_error:
/// an outer cancellation is always reported as cancelled_error, never as a timeout.
class timeout_error : public error {
public:
    timeout_error() : error("coven: the deadline passed (timeout)") {}
    using error::error;
};

/// A result was asked for before it arrived (async-tamer's AttributeError on
/// `DelayedResult.value`): block() or co_await the delayed_result first.
class not_ready_error : public error {
public:
    using error::error;
};

/// await_sync() (K3): the coroutine really suspended, so it cannot finish without a loop.
/// where() is the site of the awaitable it blocked on, when that awaitable records it (sleep(),
/// the yields), else the site of the await_sync() call; what() says which.
class synchronous_error : public error {
public:
    synchronous_error(const std::string& what, coven::source_location where)
        : error(what), m_where(where) {}
    [[nodiscard]] auto where() const noexcept -> const coven::source_location& { return m_where; }

private:
    coven::source_location m_where;
};

/// Several errors at once: the failures of a scope's children (and of its block), none dropped.
/// what() counts them and quotes the first; errors() holds every one, in the order they
/// happened.
/// **Throws:** the constructor throws std::bad_alloc (it builds the message).
class aggregate_error : public error {
public:
    explicit aggregate_error(std::vector<std::exception_ptr> errors);
    [[nodiscard]] auto errors() const noexcept -> const std::vector<std::exception_ptr>& {
        return m_errors;
    }

private:
    std::vector<std::exception_ptr> m_errors;
};

namespace detail {
[[noreturn]] void throw_usage(const char* what);
/// The text of an exception for a log line or a report: what() of a std::exception, else a
/// sentence saying it is not one (src/error.cpp; the one place exceptions become text).
auto describe_exception(const std::exception_ptr& e) -> std::string;
} // namespace detail

} // namespace coven
