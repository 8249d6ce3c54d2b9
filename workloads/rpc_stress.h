// RpcStress: client processes call echo servers through Weir's RPC layer under every network
// fault. The checker proves three things: each reply answers its own request (and only once);
// every call ends, in a reply or a typed error, none silently vanishes; after healing, every
// client reaches every server again.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

class RpcStress final : public Workload {
 public:
  // Deliberate bugs for the checker tests: a server that answers with another request's
  // sequence, or one that never answers some requests while clients wait without timeout.
  enum class Bug { kNone, kSwapReplies, kHang };

  struct Options {
    int servers = 5;
    int callers_per_client = 4;
    int payload_bytes_max = 512;
    int64_t call_timeout_ms = 1000;
    int64_t think_ms = 0;  // pause between a caller's calls (0: back to back)
    Bug bug = Bug::kNone;
  };

  // What the checker knows, updated by the callers (outside the simulated processes' state).
  struct Ledger {
    uint64_t issued = 0;
    uint64_t completed = 0;
    uint64_t ok = 0;
    std::map<std::string, uint64_t> errors;  // by status code name
    std::vector<std::string> violations;
    uint64_t callers_running = 0;
    void violation(std::string what);
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit RpcStress(Options options);

  std::string_view name() const override { return "RpcStress"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override { *stopped_ = true; }
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

 private:
  Options options_;
  std::vector<std::string> servers_;
  std::shared_ptr<Ledger> ledger_;
  std::shared_ptr<bool> stopped_;
};

}  // namespace weir::workloads
