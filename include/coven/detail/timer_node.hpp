#pragma once
// An entry of a loop's timing wheel; lives inside the awaiter that waits on it.

#include <cstdint>

namespace coven::detail {

struct timer_node {
    static constexpr std::uint8_t unarmed = 0xff;
    static constexpr std::uint8_t due_list = 0xfe;

    timer_node* m_prev = nullptr;
    timer_node* m_next = nullptr;
    std::uint64_t m_tick = 0; // deadline, in wheel ticks (microseconds since the loop's origin)
    void (*m_fire)(timer_node*) noexcept = nullptr;
    std::uint8_t m_level = unarmed;
    std::uint8_t m_owner_bits = 0; // free for the node's owner (packs into the padding)

    [[nodiscard]] auto armed() const noexcept -> bool { return m_level != unarmed; }
};

} // namespace coven::detail
