#include "runtime/workload.h"

namespace weir {

std::string_view verdict_kind_name(Verdict::Kind kind) {
  switch (kind) {
    case Verdict::Kind::kPass:
      return "pass";
    case Verdict::Kind::kCorrectness:
      return "correctness";
    case Verdict::Kind::kLiveness:
      return "liveness";
  }
  return "unknown";
}

}  // namespace weir
