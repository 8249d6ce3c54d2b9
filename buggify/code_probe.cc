#include "buggify/code_probe.h"

#include <algorithm>
#include <cstring>

// A probe that always exists, so the section (and its bounds) exist in every binary.
__attribute__((used, section("weir_probes"))) static weir::probes::ProbeSite weir_probe_anchor = {
    "runtime.probe_section_present", __FILE__, __LINE__, 1};

extern "C" {
extern weir::probes::ProbeSite __start_weir_probes[];  // NOLINT: linker-provided
extern weir::probes::ProbeSite __stop_weir_probes[];   // NOLINT: linker-provided
}

namespace weir::probes {

std::vector<ProbeSite*> all() {
  std::vector<ProbeSite*> out;
  for (ProbeSite* p = __start_weir_probes; p < __stop_weir_probes; ++p) out.push_back(p);
  std::sort(out.begin(), out.end(), [](const ProbeSite* a, const ProbeSite* b) {
    const int c = std::strcmp(a->name, b->name);
    return c != 0 ? c < 0 : a->line < b->line;
  });
  return out;
}

void reset_counts() {
  for (ProbeSite* p = __start_weir_probes; p < __stop_weir_probes; ++p) p->hits = 0;
  weir_probe_anchor.hits = 1;
}

}  // namespace weir::probes
