// Shared by the group coordinator tests: a GroupLog in memory (a partition is a vector of
// records; an append takes a millisecond of virtual time and may be told to fail), and the
// consumer-protocol bytes a member sends.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/group/group_coordinator.h"
#include "runtime/bytes/byte_writer.h"
#include "runtime/future.h"

namespace weir::broker::group::test {

class MemoryGroupLog final : public GroupLog {
 public:
  struct Entry {
    int64_t offset;
    std::string key;
    std::optional<std::string> value;
  };

  absl::StatusOr<int64_t> append(int32_t partition, LeaderEpoch,
                                 const std::vector<LogRecord>& records,
                                 kafka::ErrorCode& error) override {
    delay(std::chrono::milliseconds(std::exchange(slow_next_ms, 1)));
    if (fail_next != kafka::ErrorCode::kNone) {
      error = fail_next;
      fail_next = kafka::ErrorCode::kNone;
      return absl::UnavailableError("injected");
    }
    auto& log = partitions[partition];
    const int64_t first = static_cast<int64_t>(log.size());
    for (const LogRecord& r : records)
      log.push_back({static_cast<int64_t>(log.size()), r.key, r.value});
    ++appends;
    // An answer that comes late, after the records are in the log.
    delay(std::chrono::milliseconds(std::exchange(slow_answer_next_ms, 0)));
    return first;
  }

  absl::Status replay(int32_t partition,
                      const std::function<void(int64_t, std::string_view,
                                               std::optional<std::string_view>)>& fn) override {
    delay(std::chrono::milliseconds(1));
    for (const Entry& e : partitions[partition]) {
      std::optional<std::string_view> v;
      if (e.value.has_value()) v = *e.value;
      fn(e.offset, e.key, v);
    }
    return absl::OkStatus();
  }

  std::map<int32_t, std::vector<Entry>> partitions;
  kafka::ErrorCode fail_next = kafka::ErrorCode::kNone;
  int slow_next_ms = 1;         // how long the next append takes
  int slow_answer_next_ms = 0;  // how long the next append's answer then takes
  int appends = 0;
};

// A "consumer" protocol subscription (version 0, topics, no user data).
inline std::string subscription(const std::vector<std::string>& topics) {
  std::string out;
  ByteWriter w(out);
  w.write_i16(0);
  w.write_i32(static_cast<int32_t>(topics.size()));
  for (const std::string& t : topics) {
    w.write_i16(static_cast<int16_t>(t.size()));
    w.write_bytes(t);
  }
  w.write_i32(-1);
  return out;
}

}  // namespace weir::broker::group::test
