// Records the largest single heap allocation made while tracking is on, by replacing the global
// operator new of the test_coord binary. Lets the jute tests prove that hostile input never
// makes a decoder allocate by a length the peer chose. The functions are declared where they
// are used (jute_property_test.cc, jute_test.cc).
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
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

namespace weir::coord::jute::testing {

void start_allocation_tracking() {
  g_largest.store(0);
  g_tracking.store(true);
}

size_t stop_allocation_tracking() {
  g_tracking.store(false);
  return g_largest.load();
}

}  // namespace weir::coord::jute::testing
