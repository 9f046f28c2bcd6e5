#pragma once
// Hierarchical timing wheel (ARCHITECTURE §5): O(1) arm and disarm, firing in (deadline, arm
// order).
//
// Time is counted in ticks of one microsecond. Level L has 64 slots of 64^L ticks each; a timer
// goes to the level of the highest 6-bit group in which its deadline differs from the wheel's
// current time ("elapsed"), so level 0 holds exactly the ticks of the current 64-tick block,
// level 1 the 64-tick blocks of the current 4096-tick block, and so on:
//
//   level 2 |....|XX..|....|   one slot = 4096 ticks
//   level 1 |..X.|....|..X.|   one slot = 64 ticks      (only blocks after elapsed's)
//   level 0 |.X..X...|         one slot = 1 tick        (only ticks of elapsed's block)
//                ^ elapsed
//
// The earliest deadline is always in the lowest non-empty level, at the first occupied slot
// (a 64-bit occupancy mask per level makes that a count-trailing-zeros). When time reaches the
// start of a slot above level 0, its timers are re-inserted relative to the new time (cascade)
// and land lower. Slot lists are FIFO and a cascade keeps their order, and a timer can only be
// inserted into a level-0 slot after every timer of that tick that was armed earlier has already
// cascaded there, so equal deadlines fire first-armed-first.

#include <coven/detail/accounting.hpp>
#include <coven/detail/intrusive_list.hpp>
#include <coven/detail/timer_node.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace coven::detail {

class timer_wheel {
public:
    static constexpr int levels = 10; // 60 bits of microseconds: ~36,000 years
    static constexpr int slot_bits = 6;
    static constexpr std::uint64_t slots = 64;

    explicit timer_wheel(std::uint64_t now_tick = 0) noexcept : m_elapsed(now_tick) {}
    timer_wheel(const timer_wheel&) = delete;
    auto operator=(const timer_wheel&) -> timer_wheel& = delete;
    /// Sets the current time of a wheel with nothing armed (its loop's clock at creation).
    void start_at(std::uint64_t now_tick) noexcept { m_elapsed = now_tick; }

    /// Arms `node` for `tick` (a tick at or before the current time fires at the next advance).
    void arm(timer_node* node, std::uint64_t tick) noexcept;
    /// Removes an armed node; no-op on one that is not armed.
    void disarm(timer_node* node) noexcept;
    /// The tick at which the wheel next has something to do (fire or cascade).
    [[nodiscard]] auto next_expiration() const noexcept -> std::optional<std::uint64_t>;
    /// Fires, in order, every timer whose tick is <= now. Returns how many fired.
    auto advance(std::uint64_t now) noexcept -> std::size_t;

    [[nodiscard]] auto size() const noexcept -> std::size_t { return m_count; }

private:
    using list = intrusive_list<timer_node, &timer_node::m_prev, &timer_node::m_next>;
    struct position {
        int level;
        unsigned slot;
        std::uint64_t start;
    };

    void insert(timer_node* node) noexcept;
    [[nodiscard]] auto next_position() const noexcept -> std::optional<position>;
    auto list_of(const timer_node* n) noexcept -> list&;

    list m_slots[levels][slots];
    std::uint64_t m_occupied[levels] = {};
    list m_due;
    std::uint64_t m_elapsed;
    stat_counter<std::size_t> m_count; // statistics() reads it from any thread
};

} // namespace coven::detail
