#pragma once
// The runtime's one doubly linked list: nodes carry the links, the list holds a head and a tail,
// nothing is allocated. The links are two pointer members of the node named by the template
// (Tokio's linked_list.rs decouples the links from the entry the same way), so a node can sit
// in several lists at once through several pairs of members.
//
// What uses it: the loop's registry of live tasks, every primitive's wait queue, each slot of the
// timing wheel, a task_scope's children and the tasks joining it, the tasks waiting on a
// task_group. What does not, on purpose, and why:
//  - the ready queue (loop_core, task_fifo): singly linked through the word a parked task uses
//    for its waiter; a yield is one push and one pop, and a second link would grow every promise;
//  - a task's completions (promise_base::m_completions): circular through one pointer in the
//    promise, whose size every frame pays;
//  - the poll-cycle list (detail/kernel.hpp's poll_link): circular with a sentinel, so that a
//    cancel hook unlinks a waiter from whichever list holds it (the loop moves the list whole
//    before it wakes them);
//  - the cross-thread queue: a lock-free stack.

#include <cstddef>
#include <type_traits>

namespace coven::detail {

/// A list of T threaded through `T* T::*Prev` and `T* T::*Next`. With `Counted`, it keeps its
/// size. A node's links are left as they were when it is unlinked: linking it sets both.
template <class T, T* T::*Prev, T* T::*Next, bool Counted = false>
class intrusive_list {
public:
    intrusive_list() noexcept = default;
    intrusive_list(const intrusive_list&) = delete;
    auto operator=(const intrusive_list&) -> intrusive_list& = delete;

    [[nodiscard]] auto empty() const noexcept -> bool { return m_head == nullptr; }
    [[nodiscard]] auto front() const noexcept -> T* { return m_head; }
    [[nodiscard]] auto back() const noexcept -> T* { return m_tail; }
    /// The number of nodes (Counted lists only).
    [[nodiscard]] auto size() const noexcept -> std::size_t requires Counted { return m_size; }
    [[nodiscard]] static auto next(const T& n) noexcept -> T* { return n.*Next; }
    [[nodiscard]] static auto prev(const T& n) noexcept -> T* { return n.*Prev; }

    void push_back(T& n) noexcept {
        n.*Next = nullptr;
        n.*Prev = m_tail;
        (m_tail != nullptr ? m_tail->*Next : m_head) = &n;
        m_tail = &n;
        count(1);
    }
    void push_front(T& n) noexcept { insert_after(nullptr, n); }
    /// Links `n` right after `after` (at the front if null).
    void insert_after(T* after, T& n) noexcept {
        n.*Prev = after;
        n.*Next = after != nullptr ? after->*Next : m_head;
        (n.*Next != nullptr ? (n.*Next)->*Prev : m_tail) = &n;
        (after != nullptr ? after->*Next : m_head) = &n;
        count(1);
    }
    /// Unlinks `n`, which is in this list.
    void erase(T& n) noexcept {
        // Both links read first: a store through one could alias the other as far as the
        // compiler knows, and it would load them again (two loads on every wait's end).
        T* const prev = n.*Prev;
        T* const next = n.*Next;
        (prev != nullptr ? prev->*Next : m_head) = next;
        (next != nullptr ? next->*Prev : m_tail) = prev;
        count(-1);
    }
    /// Unlinks and returns the first node (null if empty).
    auto pop_front() noexcept -> T* {
        T* n = m_head;
        if (n != nullptr) {
            erase(*n);
        }
        return n;
    }
    /// Moves every node of `other` to the back of this list, in order.
    void splice_back(intrusive_list& other) noexcept {
        if (other.m_head == nullptr) {
            return;
        }
        if (m_tail != nullptr) {
            m_tail->*Next = other.m_head;
            other.m_head->*Prev = m_tail;
        } else {
            m_head = other.m_head;
        }
        m_tail = other.m_tail;
        if constexpr (Counted) {
            m_size += other.m_size;
            other.m_size = 0;
        }
        other.m_head = other.m_tail = nullptr;
    }
    /// Calls `fn(node)` for each node, front to back; `fn` may unlink the node it is given.
    template <class F>
    void for_each(F&& fn) {
        for (T* n = m_head; n != nullptr;) {
            T* const following = n->*Next;
            fn(*n);
            n = following;
        }
    }

private:
    void count([[maybe_unused]] std::ptrdiff_t d) noexcept {
        if constexpr (Counted) {
            m_size = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(m_size) + d);
        }
    }

    struct no_count {};
    T* m_head = nullptr;
    T* m_tail = nullptr;
    [[no_unique_address]] std::conditional_t<Counted, std::size_t, no_count> m_size{};
};

} // namespace coven::detail
