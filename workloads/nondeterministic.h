// A deliberately broken workload: it lets the iteration order of a hash map keyed by pointers
// decide what it traces, breaking determinism rule 3 on purpose. It exists only so that a test
// can prove `weir sim run --check-determinism` catches such a bug and names the first
// diverging event. Never use it in a real spec.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

class Nondeterministic final : public Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit Nondeterministic(int objects) : objects_(objects) {}
  std::string_view name() const override { return "Nondeterministic"; }
  void start(ICluster& cluster) override;
  void stop() override { stopped_ = true; }
  Verdict check(ICluster&) override { return Verdict::pass(); }

 private:
  int objects_;
  bool stopped_ = false;
};

}  // namespace weir::workloads
