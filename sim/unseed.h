// The unseed: one hash of every trace event and every scheduling decision of a run. Same seed
// and same binary must give the same unseed; when two runs differ, the per-event digest names
// the first event at which they diverged.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

#include "runtime/scheduler.h"
#include "runtime/trace.h"

namespace weir::sim {

class Unseed final : public ITraceSink, public ISchedulerObserver {
 public:
  explicit Unseed(size_t recent_events_max = 200) : recent_max_(recent_events_max) {}
  ~Unseed() override;

  void write(const TraceRecord& record) override;
  void on_resume(const Actor& actor) override;
  void on_timer(const TimerKey& key) override;

  uint64_t value() const { return hash_; }
  uint64_t events() const { return events_; }
  uint64_t decisions() const { return decisions_; }
  // The last events, as JSON lines, oldest first (for replay files).
  const std::deque<std::string>& recent() const { return recent_; }
  // The first error-severity event, if any (an error fails a simulated run).
  const std::string& first_error() const { return first_error_; }
  // Also write "<running hash> <event json>" per event to `path` (determinism checks).
  bool open_digest(const std::string& path);

 private:
  uint64_t hash_ = 0x5eed;
  uint64_t events_ = 0;
  uint64_t decisions_ = 0;
  size_t recent_max_;
  std::deque<std::string> recent_;
  std::string first_error_;
  std::FILE* digest_ = nullptr;
};

}  // namespace weir::sim
