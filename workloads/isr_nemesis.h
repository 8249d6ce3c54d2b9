// The scripted faults of IsrShrinkUnclean (ProduceVerify with a scenario): they drive one
// partition into the exact states where Kafka lost acknowledged data, reading the partition's
// state znode between steps so that each fault lands on the replica that matters now.
//   - leader_loss (Jepsen 2013): the followers are cut off from the leader until the ISR is
//     the leader alone, the leader acknowledges writes alone (min.insync.replicas=1), then it
//     dies. Unclean elections off: the partition must stay offline until it returns. On: a
//     stale follower leads and the checker must report the writes it never had.
//   - last_replica_standing (KIP-966): min.insync.replicas=2; one follower dies, the other is
//     killed after the writes it shares with the leader were committed (so it is eligible),
//     then the leader loses power with that data unflushed. The eligible replica must lead
//     when it returns, and nothing acknowledged may be lost.
//   - follower_truncation (KIP-101): a follower told of a new leader epoch while it cannot
//     reach its leader, which then dies: nothing acknowledged may be lost (it is, when the
//     follower truncates at its high watermark).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

enum class IsrScenario { kNone, kLeaderLoss, kLastReplicaStanding, kFollowerTruncation };
absl::StatusOr<IsrScenario> parse_isr_scenario(std::string_view name);

// What the script did and saw, for the checker and the metrics.
struct IsrNemesisReport {
  bool completed = false;    // every step ran
  std::string stopped_at;    // the step it could not take, if any
  int32_t lost_leader = -1;  // the leader it took down
  // A broker other than lost_leader that led the partition while lost_leader was down (leader
  // loss), or the first leader after the eligible replica returned (last replica standing).
  int32_t leader_while_down = -1;
  int32_t eligible = -1;      // last replica standing: the replica killed while eligible
  int32_t leader_after = -1;  // last replica standing: who led once everyone was back
  double offline_s = 0;       // how long the partition had no leader, as observed
};

// Runs `scenario` against partition 0 of `topic` through `faults`, reading partition state
// from coord at `coord_connect`. Returns early (healing what it can) once *stopped is set.
void run_isr_nemesis(IsrScenario scenario, IFaults& faults, const std::string& coord_connect,
                     const std::string& topic, const bool& stopped, IsrNemesisReport& report);

}  // namespace weir::workloads
