// EpollEventSource, RealClock, OsRandom and RealRuntime: time, quiescence, context, signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/real/real_runtime.h"
#include "tests/runtime_real/test_util.h"

namespace weir::real {
namespace {

TEST(EpollEventSourceTest, QuiescentOnlyWithoutDeadlineOrHolds) {
  EpollEventSource source;
  EXPECT_FALSE(source.wait(std::nullopt));
  const TimePoint start = source.now();
  EXPECT_TRUE(source.wait(start + 5ms));
  EXPECT_GE(source.now() - start, Duration(5ms));  // rounded up, never early
  EXPECT_TRUE(source.wait(start));                 // a past deadline polls
  HoldGuard hold(source);
  EXPECT_EQ(source.holds(), 1u);
}

TEST(EpollEventSourceTest, TimeIsMonotonic) {
  EpollEventSource source;
  RealClock clock;
  TimePoint last = source.now();
  for (int i = 0; i < 1000; ++i) {
    const TimePoint t = clock.now();
    EXPECT_GE(t, last);
    last = t;
  }
  EXPECT_GT(last.time_since_epoch(), Duration(0));
}

TEST(RealClockTest, WallClockIsMillisecondsSinceTheUnixEpoch) {
  RealClock clock;
  const int64_t system_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  EXPECT_NEAR(static_cast<double>(clock.wall_ms()), static_cast<double>(system_ms), 1000.0);
  EXPECT_GT(clock.wall_ms(), int64_t{1'700'000'000'000});  // after November 2023, not 1970
}

TEST(OsRandomTest, SeededFromTheOs) {
  OsRandom a;
  OsRandom b;
  EXPECT_NE(a.seed(), b.seed());
  OsRandom replay(a.seed());
  EXPECT_EQ(a.next_u64(), replay.next_u64());
  const int64_t x = a.uniform_int(10, 20);
  EXPECT_GE(x, 10);
  EXPECT_LE(x, 20);
}

class RealRuntimeTest : public ::testing::Test {
 protected:
  RealRuntime rt_{RealRuntimeOptions{.address = "127.0.0.1:9999",
                                     .data_dir = "/tmp/weir-data",
                                     .machine = "m1",
                                     .name = "broker-1",
                                     .handle_signals = false}};
};

TEST_F(RealRuntimeTest, DelayWithTheRealClockLastsAtLeastItsDuration) {
  auto r = rt_.run([&]() -> absl::StatusOr<Duration> {
    const auto wall_start = std::chrono::steady_clock::now();
    const TimePoint start = rt_.clock().now();
    delay(20ms);
    const Duration slept = rt_.clock().now() - start;
    EXPECT_GE(std::chrono::steady_clock::now() - wall_start, std::chrono::milliseconds(20));
    auto after_fired = await(after(5ms));
    EXPECT_TRUE(after_fired.ok());
    return slept;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GE(*r, Duration(20ms));
}

TEST_F(RealRuntimeTest, ConcurrentDelaysWakeInDeadlineOrder) {
  std::vector<int> order;
  auto r = rt_.run([&] {
    std::vector<Future<void>> sleepers;
    for (int i : {3, 1, 2}) {
      sleepers.push_back(spawn("sleeper", [&order, i] {
        delay(std::chrono::milliseconds(5 * i));
        order.push_back(i);
      }));
    }
    (void)await(when_all(sleepers));
  });
  EXPECT_TRUE(r.ok()) << r;
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(RealRuntimeTest, ContextIsAttachedToTheDefaultProcess) {
  auto r = rt_.run([&]() -> absl::Status {
    ProcessContext& ctx = current_context();
    EXPECT_EQ(ctx.network, &rt_.network());
    EXPECT_EQ(ctx.fs, &rt_.fs());
    EXPECT_EQ(ctx.clock, &rt_.clock());
    EXPECT_EQ(ctx.random, &rt_.random());
    EXPECT_EQ(ctx.address, "127.0.0.1:9999");
    EXPECT_EQ(ctx.data_dir, "/tmp/weir-data");
    EXPECT_EQ(ctx.machine, "m1");
    EXPECT_EQ(ctx.name, "broker-1");
    EXPECT_FALSE(ctx.simulated);
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
}

TEST_F(RealRuntimeTest, RunReturnsTheMainResult) {
  auto r = rt_.run([] {
    yield_now();
    return 42;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST_F(RealRuntimeTest, DeadlockedMainEndsTheLoopInsteadOfHanging) {
  Promise<int> never;
  auto r = rt_.run([f = never.future()] { return await(f); });
  EXPECT_TRUE(absl::IsInternal(r.status())) << r.status();
}

TEST(RealRuntimeSignalTest, FirstSignalWakesAwaitShutdown) {
  RealRuntime rt(RealRuntimeOptions{});
  auto r = rt.run([&] {
    auto sender = spawn("sender", [] {
      delay(5ms);
      ::kill(::getpid(), SIGTERM);
    });
    rt.await_shutdown();
    return 7;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(rt.signals_received(), 1);
}

TEST(RealRuntimeSignalTest, SignalWithoutShutdownWaitersCancelsTheProcess) {
  RealRuntime rt(RealRuntimeOptions{});
  bool finished = false;
  auto r = rt.run([&] {
    auto sender = spawn("sender", [] {
      delay(5ms);
      ::kill(::getpid(), SIGINT);
    });
    delay(60s);
    finished = true;
  });
  EXPECT_TRUE(absl::IsCancelled(r)) << r;
  EXPECT_FALSE(finished);
  EXPECT_EQ(rt.signals_received(), 1);
}

}  // namespace
}  // namespace weir::real
