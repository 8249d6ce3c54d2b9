// The I/O pool's bounds, on tiny real workloads.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/future.h"
#include "runtime/real/real_runtime.h"
#include "runtime/sync.h"
#include "runtime/virtual_time.h"
#include "tests/runtime_real/test_util.h"

namespace weir::real {
namespace {

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
