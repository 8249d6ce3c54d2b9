// Assertions that stay on in every build type. A failed assertion is a bug in Weir: it
// reports through the installed failure handler (the simulator writes a replay file) and
// then terminates the process with exit code 3 ("crash").
#pragma once

#include <string_view>

namespace weir {

// Called once on the first failed assertion, before the process exits. The simulator uses it
// to write the replay file. Must not assert itself.
using FailureHandler = void (*)(std::string_view message);
void set_failure_handler(FailureHandler handler);

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line,
                                   std::string_view message);

inline constexpr int kCrashExitCode = 3;

}  // namespace weir

#define WEIR_ASSERT(cond)                                                      \
  do {                                                                         \
    if (!(cond)) [[unlikely]] {                                                \
      ::weir::assertion_failed(#cond, __FILE__, __LINE__, std::string_view{}); \
    }                                                                          \
  } while (0)

#define WEIR_ASSERT_MSG(cond, msg)                                \
  do {                                                            \
    if (!(cond)) [[unlikely]] {                                   \
      ::weir::assertion_failed(#cond, __FILE__, __LINE__, (msg)); \
    }                                                             \
  } while (0)

#define WEIR_UNREACHABLE() ::weir::assertion_failed("unreachable", __FILE__, __LINE__, {})
