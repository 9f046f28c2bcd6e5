// White-box test of the timing wheel against a std::multimap model.
#include "time/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

struct test_timer : coven::detail::timer_node {
    int id = 0;
    std::vector<int>* fired = nullptr;
};

void record(coven::detail::timer_node* n) noexcept {
    auto* t = static_cast<test_timer*>(n);
    t->fired->push_back(t->id);
}

} // namespace

TEST(TimerWheel, MatchesAnOrderedModelUnderRandomArmDisarmAdvance) {
    std::mt19937_64 rng(12345);
    coven::detail::timer_wheel wheel(1000);
    std::uint64_t now = 1000;
    std::vector<std::unique_ptr<test_timer>> timers;
    std::vector<int> fired;
    std::map<std::pair<std::uint64_t, int>, int> model; // (tick, arm seq) -> id
    std::map<int, std::pair<std::uint64_t, int>> key_of;
    int seq = 0;
    for (int step = 0; step < 200'000; ++step) {
        int op = static_cast<int>(rng() % 10);
        if (op < 5) {
            auto t = std::make_unique<test_timer>();
            t->id = static_cast<int>(timers.size());
            t->fired = &fired;
            t->m_fire = &record;
            std::uint64_t span = std::uint64_t{1} << (rng() % 30);
            std::uint64_t tick = now + rng() % span;
            wheel.arm(t.get(), tick);
            auto key = std::make_pair(tick <= now ? now : tick, seq++);
            model[key] = t->id;
            key_of[t->id] = key;
            timers.push_back(std::move(t));
        } else if (op < 7 && !key_of.empty()) {
            auto it = key_of.begin();
            std::advance(it, static_cast<long>(rng() % key_of.size()));
            wheel.disarm(timers[it->first].get());
            EXPECT_FALSE(timers[it->first]->armed());
            model.erase(it->second);
            key_of.erase(it);
        } else {
            now += rng() % (std::uint64_t{1} << (rng() % 24));
            fired.clear();
            wheel.advance(now);
            std::vector<int> expected;
            while (!model.empty() && model.begin()->first.first <= now) {
                expected.push_back(model.begin()->second);
                key_of.erase(model.begin()->second);
                model.erase(model.begin());
            }
            ASSERT_EQ(fired, expected) << "step " << step;
        }
        ASSERT_EQ(wheel.size(), model.size());
        if (!model.empty()) {
            auto next = wheel.next_expiration();
            ASSERT_TRUE(next.has_value());
            ASSERT_LE(*next, model.begin()->first.first); // never later than the earliest
        }
    }
}

TEST(TimerWheel, EqualDeadlinesArmedAcrossLevelsFireInArmOrder) {
    coven::detail::timer_wheel wheel(0);
    std::vector<int> fired;
    std::vector<std::unique_ptr<test_timer>> ts;
    std::uint64_t now = 0;
    for (int i = 0; i < 6; ++i) {
        auto t = std::make_unique<test_timer>();
        t->id = i;
        t->fired = &fired;
        t->m_fire = &record;
        wheel.arm(t.get(), 300'000); // same deadline, armed while time moves closer
        ts.push_back(std::move(t));
        now += 50'000;
        wheel.advance(now);
    }
    wheel.advance(300'000);
    EXPECT_EQ(fired, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(TimerWheel, FarDeadlinesAreClampedNotLost) {
    coven::detail::timer_wheel wheel(0);
    std::vector<int> fired;
    test_timer t;
    t.fired = &fired;
    t.m_fire = &record;
    wheel.arm(&t, ~std::uint64_t{0});
    EXPECT_EQ(wheel.size(), 1u);
    wheel.disarm(&t);
    EXPECT_EQ(wheel.size(), 0u);
}

namespace {
// A timer that disarms another when it fires, as a cancel scope's deadline disarms the sleep it
// cancels.
struct disarming_timer : coven::detail::timer_node {
    coven::detail::timer_wheel* wheel = nullptr;
    coven::detail::timer_node* victim = nullptr;
};
} // namespace

TEST(TimerWheel, FireCallbackMayDisarmATimerDueInTheSameSlot) {
    for (std::uint64_t deadline : {5u, 70u, 5'000u}) { // level 0 directly, and after cascades
        coven::detail::timer_wheel wheel(0);
        std::vector<int> fired;
        disarming_timer first;
        test_timer second;
        test_timer third;
        second.id = 2;
        third.id = 3;
        second.fired = third.fired = &fired;
        second.m_fire = third.m_fire = &record;
        first.wheel = &wheel;
        first.victim = &second;
        first.m_fire = [](coven::detail::timer_node* n) noexcept {
            auto* self = static_cast<disarming_timer*>(n);
            self->wheel->disarm(self->victim);
        };
        wheel.arm(&first, deadline);
        wheel.arm(&second, deadline);
        wheel.arm(&third, deadline);
        EXPECT_EQ(wheel.advance(deadline), 2u) << deadline;
        EXPECT_EQ(fired, (std::vector<int>{3})) << deadline;
        EXPECT_FALSE(second.armed());
        EXPECT_EQ(wheel.size(), 0u);
    }
}
