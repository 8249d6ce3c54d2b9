// HarnessSelfTest: breaks the run in one chosen way so tests can prove the harness reports it
// with the right verdict, exit code and replay file: an assertion (crash), an error-severity
// trace event (correctness), a check that never finishes (liveness), a failed check.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

class HarnessSelfTest final : public Workload {
 public:
  enum class Mode { kPass, kAssert, kErrorEvent, kHangCheck, kFailCheck };
  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit HarnessSelfTest(Mode mode) : mode_(mode) {}
  std::string_view name() const override { return "HarnessSelfTest"; }
  void start(ICluster& cluster) override;
  Verdict check(ICluster& cluster) override;

 private:
  Mode mode_;
};

}  // namespace weir::workloads
