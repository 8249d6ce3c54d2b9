// CoordSessions: CoordClient sessions come and go (closed, abandoned without a word, expired by
// faults, or left silent and resumed from a new client around their expiry, just before or just
// after it, so that clients see their sessions expire in every seed) against a real coord
// ensemble, each owning one ephemeral znode, creating sequential
// znodes and setting one-shot data watches on shared znodes that other sessions change. Checks:
//   - an ephemeral is present in every synced read made while its session provably lived (the
//     session committed a write after the read), and absent from every read made after its
//     session ended (close acknowledged or expiry observed);
//   - after healing, every ephemeral of an ended or abandoned session vanishes within twice the
//     session timeout plus an election (the expiry bound);
//   - sequential names are unique, increase within a session, and follow real time (a create
//     acknowledged before another began has the smaller number);
//   - each watch fires at most once, and before the session reads a newer version of its node;
//   - after healing, the leader reaps every emptied container and every TTL node past its TTL
//     on the ensemble's clock (coord_reaped.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/workload.h"
#include "workloads/coord_ensemble.h"

namespace weir::workloads {

class CoordSessions final : public Workload {
 public:
  struct Options {
    CoordEnsembleOptions ensemble;
    int sessions_per_client = 3;
    int watched_paths = 3;
    int64_t think_ms_max = 60;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit CoordSessions(Options options);
  ~CoordSessions() override;

  std::string_view name() const override { return "CoordSessions"; }
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
