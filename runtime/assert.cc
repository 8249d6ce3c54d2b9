#include "runtime/assert.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace weir {
namespace {
FailureHandler g_failure_handler = nullptr;
bool g_failing = false;
}  // namespace

void set_failure_handler(FailureHandler handler) {
  g_failure_handler = handler;
}

void assertion_failed(const char* expr, const char* file, int line, std::string_view message) {
  char buf[1024];
  int n =
      std::snprintf(buf, sizeof(buf), "assertion failed: %s at %s:%d%s%.*s", expr, file, line,
                    message.empty() ? "" : ": ", static_cast<int>(message.size()), message.data());
  std::fprintf(stderr, "%s\n", buf);
  if (!g_failing && g_failure_handler != nullptr) {
    g_failing = true;
    g_failure_handler(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(kCrashExitCode);
}

}  // namespace weir
