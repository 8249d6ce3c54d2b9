#include "tests/rpc/alloc_tracker.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
// Atomics: the real-network tests have helper threads that allocate too.
std::atomic<bool> g_tracking{false};
std::atomic<size_t> g_largest{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace weir::rpc::testing {

LargestAllocationScope::LargestAllocationScope() {
  g_largest.store(0);
  g_tracking.store(true);
}
LargestAllocationScope::~LargestAllocationScope() {
  g_tracking.store(false);
}
size_t LargestAllocationScope::largest() const {
  return g_largest.load();
}

}  // namespace weir::rpc::testing
