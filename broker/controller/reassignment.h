// Partition reassignment as Kafka's ZooKeeper-mode controller does it (KIP-455): the pure
// parts, so that they are tested apart from coord and the controller's loop.
//
// A reassignment asks that a partition's replicas become `target`. The controller first
// widens the assignment to the union of the original and the target replicas, recording
// which are being added and removed (in /brokers/topics/<t>, Kafka's "adding_replicas" and
// "removing_replicas"); once every target replica is in the ISR it elects a leader from the
// target if needed, narrows ISR and assignment to the target, and deletes the removed
// replicas. Requests wait in /admin/reassign_partitions, in Kafka's JSON:
//   {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}
// and leave it as they complete (the znode is deleted when the last one does).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/log/log_manager.h"
#include "broker/server/cluster_store.h"

namespace weir::broker::controller {

inline constexpr char kReassignPartitionsPath[] = "/admin/reassign_partitions";

// One partition's replicas as /brokers/topics/<t> records them.
struct PartitionAssignment {
  std::vector<int32_t> replicas;  // during a reassignment: target first, then the rest
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;

  bool reassigning() const { return !adding.empty() || !removing.empty(); }
  // What the reassignment moves to (replicas - removing), and what it came from (replicas -
  // adding): a cancellation moves back to the original.
  std::vector<int32_t> target() const;
  std::vector<int32_t> original() const;
  friend bool operator==(const PartitionAssignment&, const PartitionAssignment&) = default;
};

// Partition `p` of a topic znode (no replicas when it has no such partition).
PartitionAssignment assignment_of(const TopicAssignment& topic, int32_t p);

// The assignment that moves `current` towards `target`. The original replicas are those of
// `current` before any reassignment in progress, so that a reassignment that replaces another
// (or a cancellation, whose target is the original) never forgets where it started.
PartitionAssignment reassign_to(const PartitionAssignment& current,
                                const std::vector<int32_t>& target);

// Every target replica is in the ISR: the reassignment can complete.
bool reassignment_complete(const PartitionAssignment& assignment, const std::vector<int32_t>& isr);

// Why `target` cannot be a partition's replica set (empty, a duplicate, a broker that is not
// registered), or nullopt when it can.
std::optional<std::string> invalid_target(const std::vector<int32_t>& target,
                                          const std::set<int32_t>& brokers);

// The requests waiting in /admin/reassign_partitions: partition -> target replicas.
using PendingReassignments = std::map<log::TopicPartition, std::vector<int32_t>>;

absl::StatusOr<PendingReassignments> parse_reassignments_json(std::string_view text);
std::string reassignments_json(const PendingReassignments& pending);

// /admin/reassign_partitions as read now, with its znode's version (-1: there is none). A
// malformed znode (an operator's hand) reads as empty, to be replaced by the next request.
struct PendingZnode {
  PendingReassignments entries;
  int32_t version = -1;
};
absl::StatusOr<PendingZnode> read_pending_reassignments(ClusterStore& store);

}  // namespace weir::broker::controller
