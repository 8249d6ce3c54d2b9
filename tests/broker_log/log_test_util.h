// Shared by the broker log tests: a simulated disk on virtual time with actors run to
// completion, a clock whose wall time a test can move, deterministic batches, and helpers
// that append and read whole logs.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/log/partition_log.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "runtime/clock.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/virtual_time.h"
#include "sim/disk.h"

namespace weir::broker::log::test {

// Monotonic time from the scheduler; wall time from a settable origin plus the same.
class TestClock final : public IClock {
 public:
  TimePoint now() const override { return Scheduler::current().now(); }
  int64_t wall_ms() const override {
    return wall_origin_ms + to_ms(Scheduler::current().now().time_since_epoch());
  }
  int64_t wall_origin_ms = 1'700'000'000'000;
};

class DiskHarness {
 public:
  explicit DiskHarness(uint64_t seed, uint64_t capacity_bytes = 64ull << 20)
      : random_(seed),
        disk_(random_, sim::DiskOptions{.name = "m1", .capacity_bytes = capacity_bytes}) {}

  // Runs `body` as an actor until it returns; an exception in it is rethrown here.
  void run(std::function<void()> body) {
    std::exception_ptr failure;
    auto f = spawn("test", [&] {
      try {
        body();
      } catch (const Cancelled&) {
        throw;
      } catch (...) {
        failure = std::current_exception();
      }
    });
    auto result = run_until_ready(f);
    if (failure) std::rethrow_exception(failure);
    ASSERT_TRUE(result.ok()) << result;
  }

  sim::SimDisk& disk() { return disk_; }
  TestClock& clock() { return clock_; }
  DeterministicRandom& random() { return random_; }

 private:
  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
  DeterministicRandom random_;
  sim::SimDisk disk_;
  TestClock clock_;
};

// A batch of `records` records whose keys and values are a pure function of `tag`, so a
// check can tell the bytes that were appended from anything else.
inline std::string make_batch(uint64_t tag, int records, int64_t timestamp_ms,
                              size_t value_bytes = 40, Compression codec = Compression::kNone) {
  std::vector<RecordInput> in;
  uint64_t h = mix64(tag + 1);
  for (int i = 0; i < records; ++i) {
    std::string value(value_bytes, '\0');
    for (size_t j = 0; j < value_bytes; ++j) {
      if (j % 8 == 0) h = mix64(h + j);
      value[j] = static_cast<char>(h >> (8 * (j % 8)));
    }
    in.push_back(RecordInput{.key = "t" + std::to_string(tag) + "-" + std::to_string(i),
                             .value = std::move(value),
                             .timestamp_ms = timestamp_ms + i});
  }
  auto batch = build_batch(in, BatchOptions{.compression = codec});
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *batch;
}

inline absl::StatusOr<AppendInfo> append_bytes(PartitionLog& log, std::string& bytes,
                                               LeaderEpoch epoch = LeaderEpoch(0)) {
  return log.append(absl::MakeSpan(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()), epoch);
}

// Every batch from log start to log end, in order (each as its bytes). Fails the test on a
// read error unless `status` is given.
inline std::vector<std::string> read_all(PartitionLog& log, absl::Status* status = nullptr) {
  std::vector<std::string> out;
  Offset at = log.log_start_offset();
  while (at < log.log_end_offset()) {
    auto r = log.read(at, 1 << 16, log.log_end_offset(), true);
    if (!r.ok()) {
      if (status != nullptr) {
        *status = r.status();
      } else {
        ADD_FAILURE() << r.status();
      }
      return out;
    }
    if (r->records.empty()) {
      if (status != nullptr) *status = absl::InternalError("empty read before the log end");
      if (status == nullptr) ADD_FAILURE() << "empty read at " << at.value();
      return out;
    }
    auto batches = split_batches(r->records, SIZE_MAX);
    if (!batches.ok()) {
      if (status != nullptr) *status = batches.status();
      if (status == nullptr) ADD_FAILURE() << batches.status();
      return out;
    }
    for (const BatchView& b : *batches) out.emplace_back(b.bytes());
    at = Offset(batches->back().header().last().value() + 1);
  }
  return out;
}

}  // namespace weir::broker::log::test
