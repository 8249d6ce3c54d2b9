// Weir's consumer with a group: subscribe() topics, poll() records of whatever the group
// assigns this member, commit (automatically every auto_commit_interval_ms, and
// commit_sync()), as Kafka's KafkaConsumer with group.id. It composes a Consumer (fetching,
// positions) with a GroupMember (the membership protocol), the way Kafka's consumer composes
// its Fetcher with its ConsumerCoordinator.
//
// Eager rebalances: when the group rebalances, poll() commits the positions (auto commit),
// calls on_revoked with everything, rejoins, assigns the new partitions, seeks each to its
// committed offset (or leaves it to auto_offset_reset when there is none) and calls
// on_assigned, all inside that poll(), as Kafka's consumer does.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/client/consumer.h"
#include "broker/client/group_member.h"

namespace weir::broker::client {

struct GroupConsumerConfig {
  ConsumerConfig consumer;
  std::string group_id;
  std::optional<std::string> group_instance_id;
  std::string assignor = std::string(kRangeAssignorName);
  int32_t session_timeout_ms = 10000;
  int32_t max_poll_interval_ms = 300000;
  int32_t heartbeat_interval_ms = 3000;
  bool enable_auto_commit = true;
  int32_t auto_commit_interval_ms = 5000;
};

using RebalanceCallback = std::function<void(const std::vector<TopicPartition>&)>;

class GroupConsumer {
 public:
  static absl::StatusOr<std::unique_ptr<GroupConsumer>> create(GroupConsumerConfig config,
                                                               INetwork& network, IClock& clock);
  ~GroupConsumer();
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  void subscribe(std::vector<std::string> topics, RebalanceCallback on_assigned = {},
                 RebalanceCallback on_revoked = {});
  // Joins (or rejoins) when it must, then polls the assigned partitions.
  absl::StatusOr<ConsumerRecords> poll(Duration timeout);
  // Commits the positions of every assigned partition (or `offsets`), for this generation.
  absl::Status commit_sync(std::optional<std::map<TopicPartition, int64_t>> offsets = {});
  absl::StatusOr<std::map<TopicPartition, int64_t>> committed(
      const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> assignment() const { return consumer_->assignment(); }
  absl::Status seek(const TopicPartition& tp, int64_t offset) {
    return consumer_->seek(tp, offset);
  }
  absl::StatusOr<int64_t> position(const TopicPartition& tp) { return consumer_->position(tp); }
  // Kafka's pause/resume of assigned partitions (Consumer::pause): the member keeps its
  // assignment and its heartbeats; a rebalance that takes a partition away forgets its pause.
  absl::Status pause(const std::vector<TopicPartition>& partitions) {
    return consumer_->pause(partitions);
  }
  absl::Status resume(const std::vector<TopicPartition>& partitions) {
    return consumer_->resume(partitions);
  }
  std::vector<TopicPartition> paused() const { return consumer_->paused(); }
  int32_t generation() const { return member_ ? member_->current().generation : -1; }
  // Commits (auto commit), leaves the group and closes.
  void close();

 private:
  GroupConsumer(GroupConsumerConfig config, std::unique_ptr<Consumer> consumer,
                std::shared_ptr<ClientCluster> cluster);
  absl::Status rejoin(TimePoint deadline);
  void revoke_all();

  GroupConsumerConfig config_;
  std::unique_ptr<Consumer> consumer_;
  std::shared_ptr<ClientCluster> cluster_;
  std::unique_ptr<GroupMember> member_;
  std::vector<std::string> topics_;
  RebalanceCallback on_assigned_;
  RebalanceCallback on_revoked_;
  TimePoint next_auto_commit_{};
  bool closed_ = false;
};

}  // namespace weir::broker::client
