// One member of a Kafka consumer group, on the actor runtime (the membership half of Kafka's
// Java consumer, its ConsumerCoordinator): it finds the group's coordinator, joins (KIP-394's
// second join with the member id it is given), runs the assignor when it is chosen leader,
// syncs, heartbeats from an actor of its own, commits and reads committed offsets, and leaves.
// It exists apart from the Consumer's fetching so that a workload can drive the protocol
// directly (pause a member, crash it without a LeaveGroup) and a consumer can add groups on
// top.
//
// Eager protocol (range, roundrobin): every rebalance revokes everything; the member owns its
// assignment from a successful SyncGroup until it learns the group is rebalancing.
// Cooperative (cooperative-sticky): the member reports what it owns when it rejoins, keeps
// what the new assignment leaves it, gives up only revoked(), and rejoins at once after giving
// something up. A member
// that does not call note_poll() within rebalance_timeout_ms (Kafka's max.poll.interval.ms)
// leaves the group, as Kafka's consumer does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/client/assignors.h"
#include "broker/client/client_cluster.h"
#include "broker/kafka/protocol/error_codes.h"
#include "runtime/future.h"

namespace weir::broker::client {

struct GroupMemberConfig {
  std::string group_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::string> topics;
  // range | roundrobin (eager) | cooperative-sticky (KIP-429: a member keeps what it is not
  // asked to give up, through the rebalance).
  std::string assignor = std::string(kRangeAssignorName);
  int32_t session_timeout_ms = 10000;
  int32_t rebalance_timeout_ms = 30000;  // max.poll.interval.ms
  int32_t heartbeat_interval_ms = 1000;
  int32_t request_timeout_ms = 10000;
  int32_t retry_backoff_ms = 100;
};

// What a member owns for one generation.
struct GroupGeneration {
  int32_t generation = -1;
  std::string member_id;
  bool leader = false;
  std::vector<TopicPartition> assignment;
};

class GroupMember {
 public:
  GroupMember(std::shared_ptr<ClientCluster> cluster, GroupMemberConfig config);
  ~GroupMember();
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  // Joins and syncs until this member has an assignment for a generation (retrying the
  // coordinator's retriable errors), or `deadline` passes (DeadlineExceeded). Starts the
  // heartbeat actor.
  absl::StatusOr<GroupGeneration> ensure_active(TimePoint deadline);
  // The group is rebalancing (or this member was removed): what it owned is revoked.
  bool needs_rejoin() const { return needs_rejoin_; }
  bool active() const { return active_ && !needs_rejoin_; }
  const GroupGeneration& current() const { return current_; }
  // The application polled (max.poll.interval.ms).
  void note_poll();

  // Commits for the current generation. Per partition: the coordinator's error codes.
  absl::StatusOr<std::map<TopicPartition, kafka::ErrorCode>> commit(
      const std::map<TopicPartition, int64_t>& offsets);
  // The group's committed offsets (-1 where none).
  absl::StatusOr<std::map<TopicPartition, int64_t>> committed(
      const std::vector<TopicPartition>& partitions);
  // Sends LeaveGroup and stops heartbeating.
  void leave();
  // Stops heartbeating without a word to the coordinator (a crash, as the group sees it).
  void abandon();

  // After leave() or abandon() (or a poll timeout's leave): this member is done; a new one
  // must be made to join again.
  bool left() const { return stopped_; }
  uint64_t rebalances() const { return rebalances_; }
  bool cooperative() const { return config_.assignor == kCooperativeStickyAssignorName; }
  // Cooperative: what the last SyncGroup took away from this member (the rest it kept).
  const std::vector<TopicPartition>& revoked() const { return revoked_; }

 private:
  absl::StatusOr<std::shared_ptr<KafkaConnection>> coordinator(TimePoint deadline);
  void coordinator_failed();
  // One join + sync; NONE when this member now has an assignment.
  kafka::ErrorCode join_and_sync(TimePoint deadline);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> assign(
      const kafka::JoinGroupResponse& join);
  absl::StatusOr<PartitionCounts> partition_counts(const std::set<std::string>& topics);
  void run_heartbeats();
  void handle_group_error(kafka::ErrorCode e);

  std::shared_ptr<ClientCluster> cluster_;
  GroupMemberConfig config_;
  std::optional<int32_t> coordinator_node_;
  std::shared_ptr<KafkaConnection> coordinator_conn_;
  GroupGeneration current_;
  std::vector<TopicPartition> revoked_;
  std::string member_id_;
  bool active_ = false;
  bool needs_rejoin_ = true;
  bool stopped_ = false;
  TimePoint last_poll_{};
  uint64_t rebalances_ = 0;
  Future<void> heartbeats_;
};

}  // namespace weir::broker::client
