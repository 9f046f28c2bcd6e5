// coven_redis (examples/net/coven_redis/) in-process: a seeded fuzz of malformed pipelines,
// each fed whole to one session and in random pieces to another, whose replies must be
// well-formed RESP2 (the parser of tests/support/redis_test_util.hpp checks), the same from
// both, and an error before any close. Every test leaves no task, timer, socket or fd behind
// (tests/support/test_main.cpp checks).
#include "server.hpp"

#include <coven/coven.hpp>

#include "redis_test_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace coven_test;
using namespace redis_test;
using coven::task;
using coven_redis::server;
using coven_redis::server_options;
using coven_redis::session;
using std::chrono::steady_clock;

namespace {

TEST(RedisFuzz, MalformedPipelinesGetWellFormedRepliesTheSameInAnyPiecesAndAnErrorBeforeAClose) {
    // Each input goes to two servers alike: whole to one, in random pieces (and with random
    // flush_at) to the other; both must say the same, in well-formed RESP2. Time stands still
    // (the virtual clock), so the two can be compared byte for byte.
    constexpr int inputs = 100000;
    constexpr int per_server = 1000;
    std::mt19937 rng(0xC0FE);
    std::uint64_t bytes = 0;
    std::uint64_t closes = 0;
    std::uint64_t commands = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t reply_bytes = 0;
    std::uint64_t delivered = 0;
    int failures = 0;
    std::string donor;
    const auto t0 = steady_clock::now();
    on_virtual_clock([&]() -> task<void> {
        for (int batch = 0; batch < inputs / per_server && failures < 5; ++batch) {
            // Three batches in four under small limits, so that inputs run into them.
            server_options o;
            if (batch % 4 != 3) {
                o.limits.max_request = 4096;
                o.limits.max_inline = 512;
                o.limits.max_args = 64;
            }
            o.output_limit = 64 * 1024;
            server whole_server(o);
            server pieces_server(o);
            // A subscriber on each, handed what the inputs publish.
            session whole_sub(whole_server);
            session pieces_sub(pieces_server);
            EXPECT_EQ(ask(whole_sub, "SUBSCRIBE ch news\r\n"),
                      ask(pieces_sub, "SUBSCRIBE ch news\r\n"));
            for (int i = 0; i < per_server && failures < 5; ++i) {
                const std::string input = fuzz_input(rng, false, donor);
                bytes += input.size();
                session a(whole_server);
                const fed whole = feed(a, input);
                std::vector<std::string_view> pieces;
                // Byte by byte (the worst case: every call parses again) for short inputs.
                const std::size_t most =
                    input.size() < 600 && chance(rng, 5) ? 1 : 1 + pick(rng, 64);
                for (std::size_t at = 0; at < input.size();) {
                    const std::size_t n = 1 + pick(rng, std::min(most, input.size() - at));
                    pieces.push_back(std::string_view(input).substr(at, n));
                    at += n;
                }
                static const std::size_t flush_ats[] = {0, 1, 100, 64 * 1024};
                session b(pieces_server);
                const fed in_pieces = feed(b, pieces, flush_ats[pick(rng, std::size(flush_ats))]);
                std::string wrong = check_replies(whole, input);
                if (wrong.empty() &&
                    (in_pieces.out != whole.out || in_pieces.closed != whole.closed)) {
                    wrong = "in pieces: " + shown(in_pieces.out) +
                            (in_pieces.closed ? " (closed)" : "") + "\nwhole: " + shown(whole.out) +
                            (whole.closed ? " (closed)" : "");
                }
                if (wrong.empty() && whole_sub.out != pieces_sub.out) {
                    wrong = "the subscribers were handed different messages";
                }
                if (wrong.empty() && !split_replies(whole_sub.out)) {
                    wrong = "malformed messages: " + shown(whole_sub.out);
                }
                if (!wrong.empty()) {
                    ADD_FAILURE() << "input " << batch * per_server + i << " " << shown(input)
                                  << "\n"
                                  << wrong;
                    ++failures;
                }
                closes += whole.closed ? 1 : 0;
                reply_bytes += whole.out.size();
                delivered += whole_sub.out.size();
                whole_sub.out.clear();
                pieces_sub.out.clear();
            }
            commands += whole_server.stats().commands;
            protocol_errors += whole_server.stats().protocol_errors;
            EXPECT_EQ(whole_server.stats().commands, pieces_server.stats().commands);
            EXPECT_EQ(whole_server.stats().protocol_errors, pieces_server.stats().protocol_errors);
        }
        co_return;
    });
    const double s = std::chrono::duration<double>(steady_clock::now() - t0).count();
    std::printf(
        "[ fuzz ] %d inputs, %llu bytes, %llu commands run, %llu protocol errors, %llu "
        "closes, %llu reply bytes, %llu message bytes, %.2f s\n",
        inputs, static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(commands),
        static_cast<unsigned long long>(protocol_errors), static_cast<unsigned long long>(closes),
        static_cast<unsigned long long>(reply_bytes), static_cast<unsigned long long>(delivered),
        s);
    RecordProperty("inputs", inputs);
    RecordProperty("protocol_errors", static_cast<int>(protocol_errors));
    // The inputs reach every outcome, or the fuzz tests less than it says.
    EXPECT_GT(protocol_errors, static_cast<std::uint64_t>(inputs / 10));
    EXPECT_GT(commands, static_cast<std::uint64_t>(inputs));
    EXPECT_GT(delivered, 0U);
}

} // namespace
