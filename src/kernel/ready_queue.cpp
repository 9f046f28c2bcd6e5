// The ready queue beyond a plain FIFO: positions (K11-K13, K17) and a priority loop's levels
// (K19) with the upkeep that boosts starved tasks (K23).
//
// A FIFO loop keeps its ready queue in loop_core's list: awaiters push at the tail inline and the
// loop pops at the head. A priority loop keeps that list as an inbox, so pushing costs the same;
// before each pick it sorts what arrived into one FIFO per priority value (the levels, most
// urgent first). Tasks that asked for a position run before every level, in m_pinned.
//
//   inbox (loop_core) --settle()--> levels [-10: a b] [0: c] [10: d e]
//   pinned: x y                       run order: x y a b c d e
//
// K23: every `upkeep_every` picks (about one queue length), the tasks that sat in a level below
// the most urgent one through the whole round move to the tail of the most urgent level: a low
// priority waits at most about two rounds, however busy the urgent levels are. asynkit boosts by
// a random amount; coven's rule is deterministic so that tests and reruns see the same order.

#include "loop_state.hpp"

#include <algorithm>

namespace coven::detail {

void task_fifo::push_back(promise_base* t) noexcept {
    t->m_next = nullptr;
    (m_tail ? m_tail->m_next : m_head) = t;
    m_tail = t;
    ++m_size;
}

auto task_fifo::pop_front() noexcept -> promise_base* {
    promise_base* t = m_head;
    if (t) {
        m_head = t->m_next;
        if (!m_head) {
            m_tail = nullptr;
        }
        --m_size;
    }
    return t;
}

void task_fifo::insert_at(std::size_t pos, promise_base* t) noexcept {
    if (pos >= m_size) {
        push_back(t);
        return;
    }
    promise_base** link = &m_head;
    for (std::size_t i = 0; i < pos; ++i) {
        link = &(*link)->m_next;
    }
    t->m_next = *link;
    *link = t;
    ++m_size;
}

auto task_fifo::remove(const promise_base* t) noexcept -> std::ptrdiff_t {
    promise_base* prev = nullptr;
    std::ptrdiff_t index = 0;
    for (promise_base* cur = m_head; cur; prev = cur, cur = cur->m_next, ++index) {
        if (cur == t) {
            (prev ? prev->m_next : m_head) = cur->m_next;
            if (m_tail == cur) {
                m_tail = prev;
            }
            --m_size;
            return index;
        }
    }
    return -1;
}

namespace {

auto level_of(std::vector<loop_state::level>& levels, std::int16_t priority)
    -> std::vector<loop_state::level>::iterator {
    return std::lower_bound(
        levels.begin(), levels.end(), priority,
        [](const loop_state::level& l, std::int16_t p) { return l.priority < p; });
}

/// Appends `t` to the level of its priority, making the level if it is new. Growing the vector
/// can only fail for lack of memory, which a noexcept kernel turns into terminate().
void push_level(std::vector<loop_state::level>& levels, promise_base* t) noexcept {
    auto it = level_of(levels, t->m_priority);
    if (it == levels.end() || it->priority != t->m_priority) {
        it = levels.insert(it, loop_state::level{t->m_priority, {}, 0});
    }
    it->tasks.push_back(t);
}

} // namespace

void loop_state::settle() noexcept {
    while (promise_base* t = m_ready_head) {
        m_ready_head = t->m_next;
        push_level(m_levels, t);
    }
    m_ready_tail = nullptr;
}

auto loop_state::pick_prioritized() noexcept -> promise_base* {
    settle();
    if (promise_base* t = m_pinned.pop_front()) {
        return t;
    }
    if (m_levels.empty()) {
        return nullptr;
    }
    if (m_options.boost_starved && ++m_picks_since_upkeep >= m_upkeep_every) {
        // Upkeep (K23): who waited below the top level through a whole round moves up to it.
        auto& top = m_levels.front();
        for (auto it = m_levels.begin() + 1; it != m_levels.end(); ++it) {
            for (std::size_t i = 0; i < it->old; ++i) {
                top.tasks.push_back(it->tasks.pop_front());
                ++m_boosted;
            }
        }
        std::erase_if(m_levels, [](const level& l) { return l.tasks.m_size == 0; });
        // Who is below the top now is what the next upkeep looks at.
        std::size_t queued = 0;
        for (auto& l : m_levels) {
            l.old = &l == &m_levels.front() ? 0 : l.tasks.m_size;
            queued += l.tasks.m_size;
        }
        m_picks_since_upkeep = 0;
        m_upkeep_every = std::max<std::uint64_t>(16, queued);
    }
    return pop_top();
}

auto loop_state::pop_top() noexcept -> promise_base* {
    auto& top = m_levels.front();
    promise_base* t = top.tasks.pop_front();
    if (top.old > 0) {
        --top.old;
    }
    if (top.tasks.m_size == 0) {
        m_levels.erase(m_levels.begin());
    }
    return t;
}

auto loop_state::remove_from_level(std::vector<level>::iterator it, const promise_base* t) noexcept
    -> bool {
    const std::ptrdiff_t index = it->tasks.remove(t);
    if (index < 0) {
        return false;
    }
    if (static_cast<std::size_t>(index) < it->old) {
        --it->old;
    }
    if (it->tasks.m_size == 0) {
        m_levels.erase(it);
    }
    return true;
}

void loop_state::requeue_prioritized(promise_base* t, std::int16_t old_priority) noexcept {
    // Usually in the level of its old priority; a boosted one (K23) sits in a more urgent one.
    bool found = false;
    auto it = level_of(m_levels, old_priority);
    if (it != m_levels.end() && it->priority == old_priority) {
        found = remove_from_level(it, t);
    }
    for (auto l = m_levels.begin(); !found && l != m_levels.end(); ++l) {
        if (l->priority < old_priority) {
            found = remove_from_level(l, t);
            if (found) {
                break; // (the erase may have invalidated l)
            }
        }
    }
    if (found) {
        push_level(m_levels, t);
    } // else in the inbox (sorted when it settles) or pinned (positions win)
}

auto loop_state::ready_count() noexcept -> std::size_t {
    std::size_t n = 0;
    if (m_prioritized) {
        settle();
        n = m_pinned.m_size;
        for (const auto& l : m_levels) {
            n += l.tasks.m_size;
        }
    } else {
        for (const promise_base* t = m_ready_head; t; t = t->m_next) {
            ++n;
        }
    }
    return n;
}

auto loop_state::unqueue(promise_base* t) noexcept -> bool {
    if (!t->has(promise_base::f_scheduled)) {
        return false;
    }
    bool found = false;
    if (m_prioritized) {
        settle();
        found = m_pinned.remove(t) >= 0;
        for (auto it = m_levels.begin(); !found && it != m_levels.end(); ++it) {
            if (remove_from_level(it, t)) {
                found = true;
                break; // (the erase may have invalidated it)
            }
        }
    } else {
        promise_base* prev = nullptr;
        for (promise_base* cur = m_ready_head; cur; prev = cur, cur = cur->m_next) {
            if (cur == t) {
                (prev ? prev->m_next : m_ready_head) = cur->m_next;
                if (m_ready_tail == cur) {
                    m_ready_tail = prev;
                }
                found = true;
                break;
            }
        }
    }
    if (found) {
        t->clear(promise_base::f_scheduled);
        t->m_next = nullptr;
    }
    return found;
}

void loop_state::insert_ready_at(std::size_t pos, promise_base* t) noexcept {
    if (m_prioritized) {
        if (pos > ready_count()) {
            // Past the end: where a yield would go, by its priority, pinning nobody. (At the
            // end exactly, it runs after every task ready now, so those are pinned before it.)
            push_ready(t);
            return;
        }
    }
    t->set(promise_base::f_scheduled);
    if (!m_prioritized) {
        promise_base** link = &m_ready_head;
        for (std::size_t i = 0; i < pos && *link; ++i) {
            link = &(*link)->m_next;
        }
        t->m_next = *link;
        *link = t;
        if (!t->m_next) {
            m_ready_tail = t;
        }
        return;
    }
    // Positions count in run order: the pinned tasks, then the levels. A position past the
    // pinned ones pins the tasks before it too, as asynkit's queue does, so that they keep
    // running first.
    while (m_pinned.m_size < pos && !m_levels.empty()) {
        m_pinned.push_back(pop_top());
    }
    m_pinned.insert_at(pos, t);
}

} // namespace coven::detail
