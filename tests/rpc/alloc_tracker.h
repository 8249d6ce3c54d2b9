// Records the largest single heap allocation made while a scope is open, by replacing the
// global operator new for the whole test binary. Lets tests prove that hostile input never
// makes the frame decoder allocate beyond its limit.
#pragma once

#include <cstddef>

namespace weir::rpc::testing {

class LargestAllocationScope {
 public:
  LargestAllocationScope();
  ~LargestAllocationScope();
  LargestAllocationScope(const LargestAllocationScope&) = delete;
  LargestAllocationScope& operator=(const LargestAllocationScope&) = delete;
  // The largest allocation, in bytes, since the scope opened.
  size_t largest() const;
};

}  // namespace weir::rpc::testing
