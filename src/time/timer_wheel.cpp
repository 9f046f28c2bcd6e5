#include "time/timer_wheel.hpp"

#include <bit>

namespace coven::detail {
namespace {

constexpr std::uint64_t max_span = std::uint64_t{1} << (timer_wheel::levels * 6 - 1);

auto level_for(std::uint64_t elapsed, std::uint64_t tick) noexcept -> int {
    std::uint64_t masked = (elapsed ^ tick) | (timer_wheel::slots - 1);
    int significant = 63 - std::countl_zero(masked);
    return significant / timer_wheel::slot_bits;
}

} // namespace

auto timer_wheel::list_of(const timer_node* n) noexcept -> list& {
    if (n->m_level == timer_node::due_list) {
        return m_due;
    }
    unsigned slot = (n->m_tick >> (n->m_level * slot_bits)) & (slots - 1);
    return m_slots[n->m_level][slot];
}

void timer_wheel::insert(timer_node* n) noexcept {
    if (n->m_tick <= m_elapsed) {
        n->m_level = timer_node::due_list;
        m_due.push_back(*n);
        return;
    }
    int level = level_for(m_elapsed, n->m_tick);
    unsigned slot = (n->m_tick >> (level * slot_bits)) & (slots - 1);
    n->m_level = static_cast<std::uint8_t>(level);
    m_slots[level][slot].push_back(*n);
    m_occupied[level] |= std::uint64_t{1} << slot;
}

void timer_wheel::arm(timer_node* n, std::uint64_t tick) noexcept {
    if (tick > m_elapsed && tick - m_elapsed >= max_span) {
        tick = m_elapsed + max_span - 1;
    }
    n->m_tick = tick;
    insert(n);
    ++m_count;
}

void timer_wheel::disarm(timer_node* n) noexcept {
    if (!n->armed()) {
        return;
    }
    list& l = list_of(n);
    l.erase(*n);
    if (n->m_level != timer_node::due_list && l.empty()) {
        unsigned slot = (n->m_tick >> (n->m_level * slot_bits)) & (slots - 1);
        m_occupied[n->m_level] &= ~(std::uint64_t{1} << slot);
    }
    n->m_level = timer_node::unarmed;
    --m_count;
}

auto timer_wheel::next_position() const noexcept -> std::optional<position> {
    for (int level = 0; level < levels; ++level) {
        std::uint64_t occupied = m_occupied[level];
        if (!occupied) {
            continue;
        }
        unsigned shift = static_cast<unsigned>(level * slot_bits);
        unsigned pos = (m_elapsed >> shift) & (slots - 1);
        std::uint64_t ahead = occupied & (~std::uint64_t{0} << pos);
        // Slots behind `pos` are never occupied (they are in the past); take any bit anyway.
        unsigned slot = static_cast<unsigned>(std::countr_zero(ahead ? ahead : occupied));
        std::uint64_t block_mask = (shift + slot_bits >= 64)
                                       ? ~std::uint64_t{0}
                                       : ((std::uint64_t{1} << (shift + slot_bits)) - 1);
        std::uint64_t start = (m_elapsed & ~block_mask) + (std::uint64_t{slot} << shift);
        return position{level, slot, start};
    }
    return std::nullopt;
}

auto timer_wheel::next_expiration() const noexcept -> std::optional<std::uint64_t> {
    if (!m_due.empty()) {
        return m_elapsed;
    }
    if (auto p = next_position()) {
        return p->start < m_elapsed ? m_elapsed : p->start;
    }
    return std::nullopt;
}

auto timer_wheel::advance(std::uint64_t now) noexcept -> std::size_t {
    std::size_t fired = 0;
    auto fire_list = [&](list& l) {
        while (timer_node* n = l.pop_front()) {
            n->m_level = timer_node::unarmed;
            --m_count;
            ++fired;
            n->m_fire(n);
        }
    };
    fire_list(m_due);
    while (auto p = next_position()) {
        if (p->start > now) {
            break;
        }
        if (p->start > m_elapsed) {
            m_elapsed = p->start;
        }
        list taken;
        taken.splice_back(m_slots[p->level][p->slot]);
        m_occupied[p->level] &= ~(std::uint64_t{1} << p->slot);
        if (p->level == 0) {
            // Moved to the due list before any fires: a callback may disarm a node of this same
            // slot (a cancel scope's deadline cancels a sleep due at the same tick), and
            // disarm() finds a node through its level.
            for (timer_node* n = taken.front(); n; n = list::next(*n)) {
                n->m_level = timer_node::due_list;
            }
            m_due.splice_back(taken);
            fire_list(m_due);
        } else {
            while (timer_node* n = taken.pop_front()) {
                insert(n); // lands in a lower level, or the due list, keeping the order
            }
            fire_list(m_due);
        }
    }
    if (now > m_elapsed) {
        m_elapsed = now;
    }
    return fired;
}

} // namespace coven::detail
