// The sanitizer build switches fibers with ucontext (BOOST_USE_UCONTEXT + BOOST_USE_ASAN) so
// ASan knows about stack switches. Debian's libboost_context is built for fcontext and lacks
// the per-thread "current activation record" that the ucontext header declares; this is it.
#if defined(BOOST_USE_UCONTEXT)

#include <boost/context/fiber.hpp>

namespace boost::context::detail {
namespace {
thread_local fiber_activation_record* g_current_record = nullptr;
thread_local std::size_t g_initializers = 0;
}  // namespace

fiber_activation_record_initializer::fiber_activation_record_initializer() noexcept {
  // The thread's own (main) context becomes the first record.
  if (g_initializers++ == 0) g_current_record = new fiber_activation_record();
}

fiber_activation_record_initializer::~fiber_activation_record_initializer() {
  if (--g_initializers == 0) {
    delete g_current_record;
    g_current_record = nullptr;
  }
}

fiber_activation_record*& fiber_activation_record::current() noexcept {
  thread_local static fiber_activation_record_initializer initializer;
  return g_current_record;
}

}  // namespace boost::context::detail

#endif  // BOOST_USE_UCONTEXT
