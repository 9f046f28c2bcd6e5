#include <coven/async_scope.hpp>
#include <coven/run.hpp>

#include <algorithm>

namespace coven {

namespace detail {

void async_scope_state::child_ended(std::uint64_t child, promise_base& ended) noexcept {
    if (ended.has(promise_base::f_cancelled) || !ended.m_exception || scope == nullptr) {
        return; // (a scope that is gone: its result's last handle reports it if nobody looks)
    }
    // The scope answers for it now: no "exception never retrieved" report when the last handle
    // goes. It is raised at the scope's end unless a delayed_result hands it over first.
    failures.push_back({child, ended.m_exception}); // reserved by spawn(): does not throw
    ended.set(promise_base::f_observed);
    if (cancel_on_error) {
        scope->cancel();
    }
}

void async_scope_state::handled(std::uint64_t child) noexcept {
    std::erase_if(failures, [child](const failure& f) { return f.child == child; });
}

void block_until_done(event_loop& loop, promise_base* task, const char* what) {
    refuse_blocking(what, "co_await the result instead");
    drive_guard guard(loop_state_of(loop));
    drive_until_done(loop_state_of(loop), task);
}

namespace {

/// Refuses the blocking form where blocking would stall a loop.
auto blocking_loop(const char* what) -> event_loop& {
    refuse_blocking(what, "use co_await coven::with_async_scope(options, body) there");
    return this_thread_loop();
}

auto current_loop_for_async_form() -> event_loop& {
    event_loop* loop = current_loop();
    if (loop == nullptr) {
        throw usage_error("coven: with_async_scope() outside a task; use the blocking form "
                          "(coven::async_scope scope;) in synchronous code");
    }
    return *loop;
}

auto join(task_scope& scope) -> task<void> {
    co_await scope.wait();
}

} // namespace
} // namespace detail

async_scope::async_scope(async_scope_options options)
    : async_scope(detail::blocking_loop("async_scope's blocking form"), options, true) {}

async_scope::async_scope(async_form, async_scope_options options)
    : async_scope(detail::current_loop_for_async_form(), options, false) {}

async_scope::async_scope(event_loop& loop, async_scope_options options, bool blocking)
    : m_state(std::make_shared<detail::async_scope_state>()),
      m_scope(loop,
              {.name = options.name, .on_exit = options.on_exit, .on_error = options.on_error}),
      m_uncaught(std::uncaught_exceptions()), m_blocking(blocking) {
    m_state->loop = &loop;
    m_state->scope = &m_scope;
    m_state->cancel_on_error = options.on_error == error_mode::cancel;
}

async_scope::~async_scope() noexcept(false) {
    const bool unwinding = std::uncaught_exceptions() > m_uncaught;
    if (m_blocking && !m_ended) {
        if (!unwinding) {
            try {
                close(); // the scope's end raises the unhandled failures (T10)
            } catch (...) {
                report_left_over(); // when close() failed for another reason
                m_state->scope = nullptr;
                throw;
            }
        } else {
            // The block is being left by an exception: cancel, wait, and report what is left.
            m_ended = true;
            try {
                m_scope.cancel();
                m_scope.finalize();
                if (!m_scope.done()) {
                    m_state->loop->run_until_complete(detail::join(m_scope));
                }
            } catch (...) {
                detail::report_unobserved_error(std::current_exception(), m_scope.name());
            }
            report_left_over();
        }
    }
    report_left_over();       // the async form's frame destroyed at loop teardown
    m_state->scope = nullptr; // a result may outlive us; late callbacks must not reach m_scope
}

void async_scope::report_left_over() noexcept {
    for (auto& f : m_state->failures) {
        detail::report_unobserved_error(f.error, m_scope.name());
    }
    m_state->failures.clear();
}

void async_scope::close() {
    if (!m_blocking) {
        detail::throw_usage("async_scope::close() on the async form; its end is the end of the "
                            "with_async_scope() body");
    }
    if (m_ended) {
        return;
    }
    detail::refuse_blocking("async_scope::close()",
                            "use co_await coven::with_async_scope(options, body) there");
    m_ended = true;
    m_scope.finalize();
    if (!m_scope.done()) {
        m_state->loop->run_until_complete(detail::join(m_scope));
    }
    raise(take_failures());
}

auto async_scope::take_failures() -> std::vector<std::exception_ptr> {
    // Failures of our functions, then those of tasks spawned on core() directly (they bubble).
    std::vector<std::exception_ptr> errors;
    errors.reserve(m_state->failures.size() + m_scope.errors().size());
    for (auto& f : m_state->failures) {
        errors.push_back(std::move(f.error));
    }
    m_state->failures.clear();
    errors.insert(errors.end(), m_scope.errors().begin(), m_scope.errors().end());
    return errors;
}

void async_scope::raise(std::vector<std::exception_ptr> errors) {
    if (errors.size() == 1) {
        std::rethrow_exception(errors.front());
    }
    if (errors.size() > 1) {
        throw aggregate_error(std::move(errors));
    }
}

void async_scope::finish_async(std::exception_ptr body_error, std::exception_ptr wait_error) {
    std::vector<std::exception_ptr> errors;

    if (body_error && !detail::is_cancellation(body_error)) {
        errors.push_back(body_error);
    }
    for (auto& e : take_failures()) {
        errors.push_back(std::move(e));
    }
    if (!errors.empty() && (wait_error || (body_error && detail::is_cancellation(body_error)))) {
        // Failures are raised instead of the cancellation, which stays pending for the next
        // await: it is not lost.
        detail::keep_cancellation_pending(detail::current_task());
    }
    raise(std::move(errors));
    if (wait_error) {
        std::rethrow_exception(wait_error); // cancelled while waiting
    }
    if (body_error) {
        std::rethrow_exception(body_error); // the body was cancelled
    }
}

} // namespace coven
