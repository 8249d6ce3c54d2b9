// The allocation counter of the test_kafka_protocol binary (alloc_tracker.cc replaces the global
// operator new): what a decode allocated, in total and at most at once.
#pragma once

#include <cstddef>

namespace weir::kafka::testing {

struct Allocations {
  size_t total_bytes = 0;
  size_t largest_bytes = 0;
};

void start_allocation_tracking();
Allocations stop_allocation_tracking();

// Tracks allocations for its lifetime, and stops even when an RC_ASSERT throws.
class AllocationScope {
 public:
  AllocationScope() { start_allocation_tracking(); }
  ~AllocationScope() { stop(); }
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;
  Allocations stop() {
    if (!stopped_) result_ = stop_allocation_tracking();
    stopped_ = true;
    return result_;
  }

 private:
  bool stopped_ = false;
  Allocations result_;
};

}  // namespace weir::kafka::testing
