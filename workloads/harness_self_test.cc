#include "workloads/harness_self_test.h"

#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {

absl::StatusOr<std::unique_ptr<Workload>> HarnessSelfTest::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  const std::string mode = o.get_string("mode", "pass");
  if (auto s = o.finish(); !s.ok()) return s;
  static const std::map<std::string, Mode> kModes = {{"pass", Mode::kPass},
                                                     {"assert", Mode::kAssert},
                                                     {"error_event", Mode::kErrorEvent},
                                                     {"hang_check", Mode::kHangCheck},
                                                     {"fail_check", Mode::kFailCheck}};
  auto it = kModes.find(mode);
  if (it == kModes.end())
    return absl::InvalidArgumentError("HarnessSelfTest: unknown mode " + mode);
  return std::unique_ptr<Workload>(std::make_unique<HarnessSelfTest>(it->second));
}

void HarnessSelfTest::start(ICluster&) {
  delay(500ms);
  if (mode_ == Mode::kAssert) WEIR_ASSERT_MSG(false, "HarnessSelfTest asserts on purpose");
  if (mode_ == Mode::kErrorEvent) {
    TraceEvent(Severity::kError, "HarnessSelfTestError").detail("Why", "on purpose");
  }
}

Verdict HarnessSelfTest::check(ICluster&) {
  if (mode_ == Mode::kHangCheck) {
    while (true) delay(1s);
  }
  if (mode_ == Mode::kFailCheck) return Verdict::correctness("HarnessSelfTest fails on purpose");
  return Verdict::pass();
}

}  // namespace weir::workloads
