// CoordLinearizability: concurrent CoordClient sessions on a handful of znodes do create,
// setData and delete (with and without expected versions), multi, sync-then-read and plain
// reads against a real coord ensemble, under whatever faults the spec injects. The checker:
//   - writes and synced reads are linearizable (Wing-Gong/Lowe search over a sequential model
//     of the data tree, workloads/linearizability/znode_model.h, independent of coord/);
//   - plain reads are sequentially consistent per session: each returns the value its path had
//     at some committed zxid between the session's last seen zxid before the read and after it
//     (so no read goes back in time or misses the session's own writes), taken from a replay
//     of the history every server committed;
//   - after healing, a write succeeds within the check phase (recovery time is reported).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/workload.h"
#include "workloads/coord_ensemble.h"

namespace weir::workloads {

class CoordLinearizability final : public Workload {
 public:
  struct Options {
    CoordEnsembleOptions ensemble;
    int sessions_per_client = 3;
    int paths = 5;
    int64_t think_ms_max = 40;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit CoordLinearizability(Options options);
  ~CoordLinearizability() override;

  std::string_view name() const override { return "CoordLinearizability"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  struct Recorder;

 private:
  Options options_;
  CoordEnsemble ensemble_;
  std::shared_ptr<Recorder> recorder_;
};

}  // namespace weir::workloads
