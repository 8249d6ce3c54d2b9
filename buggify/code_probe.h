// CODE_PROBE(cond, "name") marks a rare path. Each probe is a static record placed in the
// linker section "weir_probes", so a run (and a sweep) can list every probe in the binary,
// including those that no seed ever reached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weir::probes {

struct ProbeSite {
  const char* name;
  const char* file;
  int line;
  uint64_t hits;
};

// Every probe compiled into this binary, sorted by name.
std::vector<ProbeSite*> all();
void reset_counts();

}  // namespace weir::probes

#define WEIR_PROBE_CONCAT2(a, b) a##b
#define WEIR_PROBE_CONCAT(a, b) WEIR_PROBE_CONCAT2(a, b)

#define CODE_PROBE(cond, probe_name)                                                    \
  do {                                                                                  \
    __attribute__((used, section("weir_probes"))) static ::weir::probes::ProbeSite      \
        WEIR_PROBE_CONCAT(weir_probe_, __LINE__) = {probe_name, __FILE__, __LINE__, 0}; \
    if (cond) ++WEIR_PROBE_CONCAT(weir_probe_, __LINE__).hits;                          \
  } while (0)
