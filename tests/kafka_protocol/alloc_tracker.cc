// Counts heap allocations made while tracking is on, by replacing the global operator new of the
// test_kafka_protocol binary. Lets the hostile-input tests prove that a decoder allocates in
// proportion to the bytes it was given, never to a length or count the peer merely claims.
// The functions are declared where they are used (alloc_tracker.h).
#include "tests/kafka_protocol/alloc_tracker.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_tracking{false};
std::atomic<size_t> g_total{0};
std::atomic<size_t> g_largest{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    g_total.fetch_add(n, std::memory_order_relaxed);
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

namespace weir::kafka::testing {

void start_allocation_tracking() {
  g_total.store(0);
  g_largest.store(0);
  g_tracking.store(true);
}

Allocations stop_allocation_tracking() {
  g_tracking.store(false);
  return Allocations{.total_bytes = g_total.load(), .largest_bytes = g_largest.load()};
}

}  // namespace weir::kafka::testing
