#pragma once
// coven::queue<T>: an async FIFO queue between tasks of one loop, bounded or not, that can be
// closed (asyncio.Queue, a Go channel).

#include <coven/detail/promise_base.hpp>
#include <coven/detail/wait_queue.hpp>
#include <coven/error.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace coven {

namespace detail {

/// A growable ring buffer of T: the queue's storage. Unlike std::deque it allocates only when it
/// grows (doubling), so a queue in steady use allocates nothing per value.
template <class T>
class ring {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "coven::queue<T> needs a T whose move constructor is noexcept (values are "
                  "moved when the queue grows); wrap it in std::unique_ptr otherwise");

public:
    ring() noexcept = default;
    ring(const ring&) = delete;
    auto operator=(const ring&) -> ring& = delete;
    ~ring() {
        clear();
        if (m_slots != nullptr) {
            std::allocator<T>().deallocate(m_slots, m_cap);
        }
    }

    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_size; }
    [[nodiscard]] auto empty() const noexcept -> bool { return m_size == 0; }
    auto front() noexcept -> T& { return m_slots[m_head]; }
    void push_back(T&& v) {
        if (m_size == m_cap) {
            grow();
        }
        std::construct_at(m_slots + ((m_head + m_size) & (m_cap - 1)), std::move(v));
        ++m_size;
    }
    void push_front(T&& v) {
        if (m_size == m_cap) {
            grow();
        }
        const std::size_t at = (m_head + m_cap - 1) & (m_cap - 1);
        std::construct_at(m_slots + at, std::move(v));
        m_head = at;
        ++m_size;
    }
    void pop_front() noexcept {
        std::destroy_at(m_slots + m_head);
        m_head = (m_head + 1) & (m_cap - 1);
        --m_size;
    }
    void clear() noexcept {
        while (m_size != 0) {
            pop_front();
        }
    }

private:
    void grow() {
        const std::size_t cap = m_cap == 0 ? 16 : m_cap * 2; // a power of two: masks wrap
        T* slots = std::allocator<T>().allocate(cap);
        for (std::size_t i = 0; i < m_size; ++i) {
            T* from = m_slots + ((m_head + i) & (m_cap - 1));
            std::construct_at(slots + i, std::move(*from));
            std::destroy_at(from);
        }
        if (m_slots != nullptr) {
            std::allocator<T>().deallocate(m_slots, m_cap);
        }
        m_slots = slots;
        m_cap = cap;
        m_head = 0;
    }

    T* m_slots = nullptr;
    std::size_t m_cap = 0; // 0 or a power of two
    std::size_t m_head = 0;
    std::size_t m_size = 0;
};

} // namespace detail

/// What queue::statistics() reports.
struct queue_statistics {
    std::size_t size = 0;
    std::size_t capacity = 0;
    std::size_t getters_waiting = 0;
    std::size_t putters_waiting = 0;
    std::uint64_t puts = 0; ///< values accepted
    std::uint64_t gets = 0; ///< values handed out
    bool closed = false;
};

/// A FIFO queue of values between tasks of one loop. get() waits while it is empty; put() waits
/// while it is full (`capacity` values; unbounded by default). A value put while a task waits
/// in get() goes straight to that task; until that task has run, it still takes one place of
/// the capacity (so that a value given back by a cancelled getter always has room). close() ends
/// it: put() then throws queue_closed, and
/// get() throws queue_closed once the values left have been taken.
///
/// **Cancellation:** a get() or put() that is cancelled while it waits leaves at once and raises
/// cancelled_error; nothing is taken or put. A get() that was handed a value but whose task was
/// cancelled before it ran gives the value back (to the next getter, else to the front of the
/// queue) and raises: no value is lost. A put() whose value was taken is done: it returns, and a
/// cancellation that arrived meanwhile is raised at the next await. A get() or put() that finds
/// a value or room does not suspend, so it does not see a pending cancellation. An interrupt
/// (task_interrupt()) leaves a wait the same way; future::abort() drops a waiting getter or
/// putter without resuming it (a dropped putter's value is destroyed with its frame).
/// **Throws:** queue_closed as above; usage_error from a task of another loop than the one that
/// first used the queue (gets and puts alike), for a wait that has to park outside a coven task,
/// for a get, put or close that would wake a task of a loop the calling thread does not drive,
/// or when the queue is destroyed while a task waits in it (a put whose value was taken returns
/// instead); std::bad_alloc when the ring grows; what T's copy or move throws where a value is
/// copied in (put() by value, try_put(const T&)).
/// **Thread safety:** the loop's thread only.
/// **Example:**
/// ```
/// coven::queue<std::string> lines(64);
/// co_await lines.put("hello");            // producer
/// std::string line = co_await lines.get(); // consumer
/// ```
template <class T>
class queue {
public:
    static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

    /// **Throws:** usage_error if capacity is 0.
    explicit queue(std::size_t capacity = unbounded) : m_capacity(capacity) {
        if (capacity == 0) {
            detail::throw_usage("queue(0): a queue holds at least one value");
        }
    }
    queue(const queue&) = delete;
    auto operator=(const queue&) -> queue& = delete;
    ~queue() = default;

    /// Awaiter of get(): itself the waiter node, with the slot a putter fills.
    class [[nodiscard, gnu::warn_unused]] get_awaiter : protected detail::wait_node {
    public:
        explicit get_awaiter(queue & q) noexcept : m_queue(&q) {
            m_drop_safe = true;
        }
        get_awaiter(const get_awaiter&) = delete;
        auto operator=(const get_awaiter&)->get_awaiter& = delete;
        ~get_awaiter() {
            // Handed a value, then destroyed before it ran (loop stop): the value goes back.
            // (m_value first: it is empty once the await resumed, and g++ often knows it)
            if (m_value && detail::leave_chosen(*this)) [[unlikely]] {
                try {
                    m_queue->give_back(std::move(*m_value));
                } catch (...) { // (the ring could not grow: the value is lost with the frame)
                }
            }
        }
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle; // (an awaiter awaited again starts afresh)
            m_value.reset();
            m_queue->m_getters.check_loop("co_await queue::get()");
            if (!m_queue->m_items.empty()) {
                m_value = m_queue->take_front();
                return true;
            }
            return m_queue->drained(); // closed, and no value left anywhere: await_resume throws
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_queue->m_getters, h, "co_await queue::get()");
        }
        // always_inline: g++ 12 otherwise lays a consumer's loop out with ~4 more
        // instructions per value (callgrind, bench `channel`).
        [[gnu::always_inline]] auto await_resume()->T {
            const bool handed = m_state == chosen && m_value.has_value();
            detail::finish_wait(
                *this, "a coven::queue", [] {},
                [this] {
                    if (m_value) {
                        m_queue->give_back(std::move(*m_value));
                        m_value.reset();
                    }
                });
            if (!m_value) {
                throw queue_closed(); // woken by close(), or found it closed and drained
            }
            ++m_queue->m_gets;
            T value = std::move(*m_value);
            m_value.reset();
            if (handed) {
                m_queue->handed_value_taken();
            }
            return value;
        }

    private:
        friend class queue;
        queue* m_queue;
        std::optional<T> m_value;
    };

    /// Awaiter of put(): itself the waiter node, holding the value until it is taken.
    class [[nodiscard, gnu::warn_unused]] put_awaiter : protected detail::wait_node {
    public:
        put_awaiter(queue & q, T value) : m_queue(&q), m_value(std::move(value)) {
            m_drop_safe = true;
        }
        [[nodiscard]] auto await_ready()->bool {
            m_state = idle;
            if (!m_value) {
                detail::throw_usage("a queue::put() awaiter awaited again after its value was "
                                    "put; call put() again for each value");
            }
            // The getters' queue holds the queue's loop binding, for gets and puts alike.
            m_queue->m_getters.check_loop("co_await queue::put()");
            if (m_queue->m_closed) {
                return true; // await_resume throws
            }
            if (m_queue->offer(*m_value)) {
                m_value.reset();
                return true;
            }
            return false;
        }
        auto await_suspend(std::coroutine_handle<> h)->bool {
            return detail::begin_wait(*this, m_queue->m_putters, h, "co_await queue::put()");
        }
        [[gnu::always_inline]] void await_resume() { // (as get's)
            if (m_state == idle) [[likely]] {        // put without waiting, or found it closed
                if (m_value) {
                    throw queue_closed();
                }
                return;
            }
            if (m_state == chosen) {
                m_queue->m_putters.taken(*this);
                m_state = idle;
                if (m_value) {
                    throw queue_closed(); // woken by close(): the value was not taken
                }
                return; // taken: the put is done, whatever happened since
            }
            if ((m_state == abandoned || m_state == released_orphan) && !m_value) {
                return; // taken, then the queue went before this task ran: the put is done
            }
            detail::finish_wait(
                *this, "a coven::queue", [] {}, [] {});
            if (m_value) {
                throw queue_closed(); // found it closed
            }
        }

    private:
        friend class queue;
        queue* m_queue;
        std::optional<T> m_value;
    };

    /// Waits for a value and takes it: `T v = co_await q.get();`.
    /// **Cancellation:** leaves the getters' queue at once and raises cancelled_error; a value
    /// it was handed before it ran goes back (to the next getter, else to the front).
    /// **Throws:** cancelled_error; queue_closed once the queue is closed and drained; usage_error
    /// as in the class comment.
    [[nodiscard]] auto get() noexcept -> get_awaiter { return get_awaiter(*this); }
    /// Waits for room and puts `value`: `co_await q.put(v);`.
    /// **Cancellation:** leaves the putters' queue at once and raises cancelled_error; the value
    /// is not put. Once its value was taken the put is done and returns; the cancellation is
    /// raised at the next await.
    /// **Throws:** cancelled_error; queue_closed if the queue is closed (or closes while it
    /// waits); usage_error as in the class comment, and for an awaiter awaited again after its
    /// value was put; std::bad_alloc.
    [[nodiscard]] auto put(T value) -> put_awaiter { return put_awaiter(*this, std::move(value)); }

    /// Takes a value if one is there; never suspends. std::nullopt when empty (closed or not).
    /// **Throws:** usage_error from a task of another loop, or if a waiting putter is a task of a
    /// loop the calling thread does not drive.
    [[nodiscard]] auto try_get() -> std::optional<T> {
        m_getters.check_loop("queue::try_get()");
        if (m_items.empty()) {
            return std::nullopt;
        }
        ++m_gets;
        return take_front();
    }
    /// Puts `value` if there is room (or a getter waiting); never suspends. False when full: the
    /// value is then left as it was, so a move-only value can be offered again.
    /// **Throws:** queue_closed if closed; usage_error from a task of another loop, or if a
    /// waiting getter is a task of a loop the calling thread does not drive; std::bad_alloc when
    /// the ring grows (the value is then left as it was).
    [[nodiscard]] auto try_put(T&& value) -> bool {
        m_getters.check_loop("queue::try_put()");
        if (m_closed) {
            throw queue_closed();
        }
        return offer(value);
    }
    /// try_put() of a copy.
    [[nodiscard]] auto try_put(const T& value) -> bool {
        T copy(value);
        return try_put(std::move(copy));
    }

    /// Closes the queue: waiting putters raise queue_closed; values already in it (or on their
    /// way to a getter) can still be taken, and once none is left getters raise queue_closed.
    /// No effect if closed.
    /// **Throws:** usage_error from a thread that does not drive the waiting tasks' loop.
    void close() {
        if (m_closed) {
            return;
        }
        detail::require_waker_thread(m_getters, "queue::close()");
        detail::require_waker_thread(m_putters, "queue::close()");
        m_closed = true;
        while (m_putters.choose_front() != nullptr) { // with their value: not taken
        }
        wake_getters_if_drained();
    }

    [[nodiscard]] auto closed() const noexcept -> bool { return m_closed; }
    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_items.size(); }
    [[nodiscard]] auto empty() const noexcept -> bool { return m_items.empty(); }
    /// No room: size() values, plus those handed to getters that have not run yet, fill it.
    [[nodiscard]] auto full() const noexcept -> bool {
        return m_items.size() + m_handed >= m_capacity;
    }
    [[nodiscard]] auto capacity() const noexcept -> std::size_t { return m_capacity; }
    [[nodiscard]] auto statistics() const noexcept -> queue_statistics {
        return {m_items.size(), m_capacity, m_getters.size(), m_putters.size(),
                m_puts,         m_gets,     m_closed};
    }

private:
    /// Places `value` (moved from on success): straight to a waiting getter, else into the
    /// queue if there is room. False: full.
    auto offer(T& value) -> bool {
        if (m_items.size() + m_handed >= m_capacity) {
            return false; // (a handed value holds its room until taken: see give_back())
        }
        if (detail::wait_node* n = m_getters.front()) {
            detail::require_waker_thread(m_getters, "queue::put()");
            static_cast<get_awaiter*>(n)->m_value.emplace(std::move(value));
            m_getters.choose_front();
            ++m_handed;
            ++m_puts;
            return true;
        }
        m_items.push_back(std::move(value));
        ++m_puts;
        return true;
    }
    /// Takes the front value; a waiting putter's value fills the room it leaves.
    auto take_front() -> T {
        detail::require_waker_thread(m_putters, "queue::get()"); // before anything is taken
        T value = std::move(m_items.front());
        m_items.pop_front();
        if (detail::wait_node* n = m_putters.front()) {
            auto* putter = static_cast<put_awaiter*>(n);
            m_items.push_back(std::move(*putter->m_value));
            putter->m_value.reset();
            m_putters.choose_front();
            ++m_puts;
        }
        return value;
    }
    /// A getter handed `value` was cancelled before it ran: the value goes to the next getter,
    /// else back to the front (it was the oldest). The room it takes there is the room it held
    /// while handed, so a bounded queue never holds more than its capacity.
    void give_back(T&& value) {
        if (detail::wait_node* n = m_getters.front()) {
            static_cast<get_awaiter*>(n)->m_value.emplace(std::move(value));
            m_getters.choose_front(); // handed out again: m_handed stays
            return;
        }
        --m_handed;
        // (May allocate to grow the ring: if that fails, bad_alloc replaces the cancellation and
        // the value is lost with the getter.)
        m_items.push_front(std::move(value));
    }
    /// A getter that was handed a value has taken it.
    void handed_value_taken() {
        --m_handed;
        admit_putter();
        wake_getters_if_drained();
    }
    /// Room was made outside take_front(): the first waiting putter's value comes in (to a
    /// waiting getter, else into the queue), and that putter is done.
    void admit_putter() noexcept {
        if (detail::wait_node* n = m_putters.front()) {
            auto* putter = static_cast<put_awaiter*>(n);
            try {
                if (!offer(*putter->m_value)) {
                    return;
                }
            } catch (...) {
                // The ring could not grow: the putter keeps its value and waits on (a later
                // get() lets it in). Throwing here would lose the getter's value instead.
                return;
            }
            putter->m_value.reset();
            m_putters.choose_front();
        }
    }
    /// Closed, empty and no value on its way to a getter: nothing more will come out.
    [[nodiscard]] auto drained() const noexcept -> bool {
        return m_closed && m_items.empty() && m_handed == 0;
    }
    /// Once drained, the getters still waiting raise queue_closed (woken empty-handed).
    void wake_getters_if_drained() {
        if (!drained()) {
            return;
        }
        detail::require_waker_thread(m_getters, "queue::close()");
        while (m_getters.choose_front() != nullptr) {
        }
    }

    detail::ring<T> m_items;
    detail::wait_queue m_getters;
    detail::wait_queue m_putters;
    std::size_t m_capacity;
    std::uint64_t m_puts = 0;
    std::uint64_t m_gets = 0;
    std::size_t m_handed = 0; // values handed to getters that have not taken them yet
    bool m_closed = false;
};

} // namespace coven
