// ControllerWitness: what every broker's controller said it did, checked against the fence.
// It listens to the run's trace (in simulation the whole cluster is one process, so one sink
// sees every broker) for two facts, each with the coord zxid that made it:
//   ControllerActive {BrokerId, Epoch, Zxid}: a controller claimed an epoch;
//   ControllerWrite  {BrokerId, Epoch, Zxid}: a controller's write committed.
// Invariants: one claimant per epoch, epochs claimed in zxid order, and no controller write
// ordered after the claim of a newer epoch (a replaced controller changes nothing). Fenced
// writes (ControllerFenced) are counted. Against real processes the trace is not shared and
// the witness sees nothing; observed() says so.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/trace.h"

namespace weir::workloads {

class ControllerWitness final : public ITraceSink {
 public:
  struct Claim {
    int32_t broker = -1;
    int64_t zxid = 0;
    double at_s = 0;  // simulated time of the claim
  };

  ControllerWitness();
  ~ControllerWitness() override;
  ControllerWitness(const ControllerWitness&) = delete;
  ControllerWitness& operator=(const ControllerWitness&) = delete;

  void write(const TraceRecord& record) override;

  // Every violation found so far (bounded), each with its evidence.
  std::vector<std::string> violations() const;
  bool observed() const { return !claims_.empty(); }
  const std::map<int32_t, Claim>& claims() const { return claims_; }
  uint64_t writes() const { return writes_; }
  uint64_t fenced() const { return fenced_; }

 private:
  struct Write {
    int32_t broker = -1;
    int64_t zxid = 0;
  };
  void note(std::string violation);

  std::map<int32_t, Claim> claims_;      // by epoch: the first claimant
  std::map<int32_t, Write> last_write_;  // by epoch: the write with the highest zxid
  std::vector<std::string> violations_;
  uint64_t writes_ = 0;
  uint64_t fenced_ = 0;
};

}  // namespace weir::workloads
