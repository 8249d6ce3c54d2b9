// ActorMutex and the I/O pool's bounds, on small deterministic or tiny real workloads.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/future.h"
#include "runtime/real/actor_mutex.h"
#include "runtime/real/real_runtime.h"
#include "runtime/virtual_time.h"
#include "tests/runtime_real/test_util.h"

namespace weir::real {
namespace {

TEST(ActorMutexTest, SerializesHolders) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  ActorMutex mutex;
  std::string log;
  std::vector<Future<void>> actors;
  for (char c : std::string("abc")) {
    actors.push_back(spawn("holder", [&, c] {
      ActorMutex::Guard lock(mutex);
      log += c;
      delay(1ms);
      log += c;
    }));
  }
  (void)run_until_ready(when_all(actors));
  EXPECT_EQ(log, "aabbcc");
  EXPECT_FALSE(mutex.locked());
}

// A waiter woken by unlock() but cancelled before it runs must pass the wake-up on.
TEST(ActorMutexTest, CancelledWakeeHandsTheLockOn) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  ActorMutex mutex;
  bool c_locked = false;
  Future<void> b;
  auto a = spawn("a", [&] {
    mutex.lock();
    delay(1ms);      // b and c queue up behind a
    mutex.unlock();  // wakes b...
    b.reset();       // ...which is cancelled before it runs
  });
  b = spawn("b", [&] { ActorMutex::Guard lock(mutex); });
  auto c = spawn("c", [&] {
    ActorMutex::Guard lock(mutex);
    c_locked = true;
  });
  (void)run_until_ready(a);
  auto tail = spawn("tail", [] { delay(1s); });
  (void)run_until_ready(tail);
  EXPECT_TRUE(c_locked);
  EXPECT_FALSE(mutex.locked());
}

TEST(IoThreadPoolTest, QueueBoundMakesCallersWait) {
  RealRuntime rt(RealRuntimeOptions{.io = {.threads = 1, .queue_max = 2}, .handle_signals = false});
  size_t max_in_flight = 0;
  auto r = rt.run([&]() -> absl::Status {
    std::vector<Future<void>> callers;
    for (int i = 0; i < 6; ++i) {
      callers.push_back(spawn("caller", [&] {
        return rt.io_pool().run([] {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          return absl::OkStatus();
        });
      }));
    }
    yield_now();  // every caller runs: two submit, the others wait for room
    EXPECT_EQ(rt.io_pool().in_flight(), 2u);
    // One caller gives up while waiting for room; the others are unaffected.
    callers[5].reset();
    while (rt.io_pool().completed() < 5) {
      max_in_flight = std::max(max_in_flight, rt.io_pool().in_flight());
      delay(1ms);
    }
    for (int i = 0; i < 5; ++i) RR_TRY(await(callers[static_cast<size_t>(i)]));
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r;
  EXPECT_LE(max_in_flight, 2u);
  EXPECT_EQ(rt.io_pool().completed(), 5u);
}

}  // namespace
}  // namespace weir::real
