#pragma once
// coven::async_generator<T>: a coroutine that co_yields a sequence of values and may await
// between them (Python's async generator), and aiter_sync(), which iterates one from synchronous
// code (asynkit's aiter_sync, K5).

#include <coven/await_sync.hpp>
#include <coven/detail/frame_pool.hpp>
#include <coven/detail/promise_base.hpp>
#include <coven/error.hpp>
#include <coven/source_location.hpp>
#include <coven/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

namespace coven {

/// A coroutine that produces values with `co_yield` and may `co_await` between them (an async
/// generator). It is lazy: its body runs when a task asks for the next value, inside that task's
/// turn, so its awaits park (and are cancelled with) that task, as an awaited task<T> does.
/// `T` is a value type (move-only is fine).
///
/// **Cancellation:** there is no cancel state of its own: cancelling the task that iterates it
/// reaches the await inside the generator, and the error propagates out of next() (unless the
/// body catches it). A body that lets it escape has ended: later next() calls give std::nullopt.
/// Loop stop destroying a consumer stuck inside the body destroys the body with it.
/// **Throws:** next() rethrows what the body threw; the generator has ended then. Calling the
/// generator function throws std::bad_alloc if its frame cannot be allocated.
/// **Thread safety:** one task at a time; it may move to another thread between next() calls.
/// Moving or destroying it while a next() is under way aborts the program.
/// **Example:**
/// ```
/// auto ticks(int n) -> coven::async_generator<int> {
///     for (int i = 0; i < n; ++i) { co_await coven::sleep(1.0); co_yield i; }
/// }
/// auto gen = ticks(3);
/// while (auto v = co_await gen.next()) use(*v);
/// ```
template <class T>
class [[nodiscard]] async_generator {
public:
    static_assert(!std::is_reference_v<T> && !std::is_void_v<T>,
                  "async_generator<T> yields values: use a pointer or std::reference_wrapper");

    class promise_type {
    public:
        auto get_return_object() noexcept -> async_generator {
            return async_generator(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        auto initial_suspend() noexcept -> std::suspend_always { return {}; }
        /// Back to the task that asked for a value, through the loop's trampoline (see
        /// detail::t_transfer: no stack growth).
        struct to_consumer {
            [[nodiscard]] auto await_ready() const noexcept -> bool { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
                detail::t_transfer = h.promise().m_consumer;
            }
            void await_resume() const noexcept {}
        };
        auto final_suspend() noexcept -> to_consumer {
            m_done = true;
            return {};
        }
        // clang-format off
        template <class U = T>
            requires std::is_constructible_v<T, U&&>
        auto yield_value(U&& value) -> to_consumer {
            // clang-format on
            m_value.emplace(std::forward<U>(value));
            return {};
        }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { m_error = std::current_exception(); }

        static auto operator new(std::size_t n) -> void* { return detail::allocate_frame(n); }
        static void operator delete(void* p, std::size_t n) noexcept {
            detail::deallocate_frame(p, n);
        }

    private:
        friend class async_generator;
        std::optional<T> m_value;
        std::exception_ptr m_error;
        std::coroutine_handle<> m_consumer;
        bool m_done = false;
        bool m_running = false;
    };
    using handle_type = std::coroutine_handle<promise_type>;

    async_generator() noexcept = default;
    explicit async_generator(handle_type h) noexcept : m_handle(h) {}
    /// Moving one while a next() of it is under way aborts: the awaiting next() refers to it.
    async_generator(async_generator&& o) noexcept
        : m_handle(std::exchange(o.refuse_if_running().m_handle, {})) {}
    auto operator=(async_generator&& o) noexcept -> async_generator& {
        if (this != &o) {
            o.refuse_if_running();
            reset();
            m_handle = std::exchange(o.m_handle, {});
        }
        return *this;
    }
    async_generator(const async_generator&) = delete;
    auto operator=(const async_generator&) -> async_generator& = delete;
    /// Destroys the body where it stopped (its locals' destructors run). Destroying it while one
    /// of its next() calls is under way (the consumer is parked inside the body) aborts: the
    /// consumer would be left pointing into freed memory. (The consumer's own frame destroyed
    /// there, as loop stop does to a task that ignores cancellation, is fine: the body goes
    /// first, with the awaiting next().)
    ~async_generator() { reset(); }

    /// True once the body has ended (returned or thrown) and every value was taken.
    [[nodiscard]] auto done() const noexcept -> bool {
        return !m_handle || m_handle.promise().m_done;
    }

    struct next_awaiter {
        async_generator* m_owner;
        handle_type m_handle;
        bool m_suspended = false; // between await_suspend() and await_resume()
        next_awaiter(async_generator* owner, handle_type h) noexcept
            : m_owner(owner), m_handle(h) {}
        next_awaiter(next_awaiter&& o) noexcept
            : m_owner(o.m_owner), m_handle(o.m_handle),
              m_suspended(std::exchange(o.m_suspended, false)) {}
        auto operator=(next_awaiter&&) -> next_awaiter& = delete;
        /// Destroyed while suspended: the consumer's frame is being destroyed where it awaits
        /// (loop stop, a task dropped). The body goes now, while what it awaits can still be
        /// left (its awaits name the consumer's task), and the generator is empty from here on.
        ~next_awaiter() {
            if (m_suspended) [[unlikely]] {
                m_owner->body_abandoned(m_handle);
            }
        }
        /// An ended body is never resumed again: the awaiter completes at once.
        [[nodiscard]] auto await_ready() const noexcept -> bool {
            return m_handle.promise().m_done;
        }
        void await_suspend(std::coroutine_handle<> consumer) noexcept {
            auto& p = m_handle.promise();
            p.m_consumer = consumer;
            p.m_value.reset();
            p.m_running = true;
            m_suspended = true;
            detail::t_transfer = m_handle; // the loop's trampoline resumes the body next
        }
        auto await_resume() -> std::optional<T> {
            auto& p = m_handle.promise();
            p.m_running = false;
            m_suspended = false;
            if (p.m_error) {
                std::rethrow_exception(std::exchange(p.m_error, nullptr));
            }
            if (p.m_done) {
                return std::nullopt;
            }
            return std::exchange(p.m_value, std::nullopt);
        }
    };

    /// Runs the body up to its next co_yield and gives that value; std::nullopt once it has
    /// ended. `co_await gen.next()`.
    /// **Cancellation:** see the class comment. Resuming the body is not a suspension point: a
    /// pending cancellation is raised by the body's next await, not by next() itself, and a body
    /// that yields without awaiting does not see it.
    /// **Thread safety:** from a coven task (its awaits park that task), one next() at a time.
    /// **Throws:** usage_error on an empty generator or while another next() is under way; at
    /// the co_await, what the body threw (cancelled_error included).
    [[nodiscard]] auto next() -> next_awaiter {
        if (!m_handle) {
            detail::throw_usage("async_generator::next() on an empty generator (moved from)");
        }
        if (m_handle.promise().m_running) {
            detail::throw_usage("async_generator::next() while another next() of it is under "
                                "way; a generator serves one consumer at a time");
        }
        return next_awaiter(this, m_handle);
    }

private:
    auto refuse_if_running() noexcept -> async_generator& {
        if (m_handle && m_handle.promise().m_running) [[unlikely]] {
            std::fputs("coven: an async_generator was moved while one of its next() calls was "
                       "under way\n",
                       stderr);
            std::abort();
        }
        return *this;
    }
    /// (`h` is m_handle: the generator cannot be moved while the next() is under way.)
    [[gnu::cold]] void body_abandoned(handle_type h) noexcept {
        h.promise().m_running = false;
        h.destroy();
        m_handle = {};
    }
    void reset() noexcept {
        if (m_handle) {
            if (m_handle.promise().m_running) {
                // The consumer is parked inside the body: freeing the frame would leave it (and
                // its loop) pointing into freed memory.
                std::fputs("coven: an async_generator destroyed while one of its next() calls "
                           "was under way\n",
                           stderr);
                std::abort();
            }
            m_handle.destroy();
            m_handle = {};
        }
    }
    handle_type m_handle;
};

namespace detail {
template <class T>
auto next_of(async_generator<T>& gen) -> task<std::optional<T>> {
    if (gen.done()) {
        co_return std::nullopt;
    }
    co_return co_await gen.next();
}
} // namespace detail

/// Iterates an async generator from synchronous code (asynkit's aiter_sync(), K5): each step
/// runs the generator with await_sync(), with no loop. A generator that really suspends (sleeps,
/// waits for another task) cannot be driven so: the step throws synchronous_error, saying where.
/// **Cancellation:** none: each step is synchronous (see await_sync()). A step that suspends is
/// cancelled before synchronous_error is thrown: the body sees cancelled_error at the await it
/// suspended in.
/// **Thread safety:** as await_sync(): any thread, one at a time per object.
/// **Throws:** begin() and ++ throw what the generator throws, and synchronous_error if it
/// suspends; std::bad_alloc.
/// **Example:** `for (int v : coven::aiter_sync(numbers())) std::cout << v;`
template <class T>
class aiter_sync {
public:
    explicit aiter_sync(async_generator<T> gen,
                        coven::source_location where = coven::source_location::current())
        : m_gen(std::move(gen)), m_where(where) {}

    /// An input iterator: ++ runs the generator to its next value.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = T*;
        using reference = T&;

        iterator() = default;
        auto operator*() const -> T& { return *m_owner->m_current; }
        auto operator->() const -> T* { return &*m_owner->m_current; }
        auto operator++() -> iterator& {
            m_owner->step();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend auto operator==(const iterator& it, std::default_sentinel_t) -> bool {
            return it.ended();
        }

    private:
        friend class aiter_sync;
        explicit iterator(aiter_sync* owner) : m_owner(owner) {}
        [[nodiscard]] auto ended() const -> bool { return !m_owner->m_current.has_value(); }
        aiter_sync* m_owner = nullptr;
    };

    /// Runs the generator to its first value. **Throws:** what the generator throws;
    /// synchronous_error if it suspends.
    auto begin() -> iterator {
        if (!m_started) {
            m_started = true;
            step();
        }
        return iterator(this);
    }
    [[nodiscard]] auto end() const noexcept -> std::default_sentinel_t { return {}; }

private:
    void step() {
        m_current.reset(); // a step that throws leaves no stale value behind
        m_current = await_sync(detail::next_of(m_gen), m_where);
    }

    async_generator<T> m_gen;
    std::optional<T> m_current;
    coven::source_location m_where;
    bool m_started = false;
};

} // namespace coven
