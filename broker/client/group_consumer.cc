#include "broker/client/group_consumer.h"

#include "absl/strings/str_cat.h"
#include "runtime/trace.h"

namespace weir::broker::client {

absl::StatusOr<std::unique_ptr<GroupConsumer>> GroupConsumer::create(GroupConsumerConfig config,
                                                                     INetwork& network,
                                                                     IClock& clock) {
  if (config.group_id.empty()) return absl::InvalidArgumentError("group.id must be set");
  if (config.heartbeat_interval_ms <= 0 ||
      config.heartbeat_interval_ms >= config.session_timeout_ms)
    return absl::InvalidArgumentError("heartbeat.interval.ms must be below session.timeout.ms");
  auto consumer = Consumer::create(config.consumer, network, clock);
  if (!consumer.ok()) return consumer.status();
  auto cluster = ClientCluster::create(
      network, clock,
      {.bootstrap_servers = config.consumer.bootstrap_servers,
       .client_id = config.consumer.client_id,
       .request_timeout = std::chrono::milliseconds(config.consumer.request_timeout_ms),
       .retry_backoff = std::chrono::milliseconds(config.consumer.retry_backoff_ms)});
  if (!cluster.ok()) return cluster.status();
  return std::unique_ptr<GroupConsumer>(
      new GroupConsumer(std::move(config), *std::move(consumer), *std::move(cluster)));
}

GroupConsumer::GroupConsumer(GroupConsumerConfig config, std::unique_ptr<Consumer> consumer,
                             std::shared_ptr<ClientCluster> cluster)
    : config_(std::move(config)), consumer_(std::move(consumer)), cluster_(std::move(cluster)) {}

GroupConsumer::~GroupConsumer() {
  member_.reset();
  if (cluster_ != nullptr) cluster_->shutdown();
}

void GroupConsumer::subscribe(std::vector<std::string> topics, RebalanceCallback on_assigned,
                              RebalanceCallback on_revoked) {
  topics_ = std::move(topics);
  on_assigned_ = std::move(on_assigned);
  on_revoked_ = std::move(on_revoked);
  if (member_ != nullptr) member_->leave();
  member_ = std::make_unique<GroupMember>(
      cluster_, GroupMemberConfig{.group_id = config_.group_id,
                                  .group_instance_id = config_.group_instance_id,
                                  .topics = topics_,
                                  .assignor = config_.assignor,
                                  .session_timeout_ms = config_.session_timeout_ms,
                                  .rebalance_timeout_ms = config_.max_poll_interval_ms,
                                  .heartbeat_interval_ms = config_.heartbeat_interval_ms,
                                  .request_timeout_ms = config_.consumer.request_timeout_ms,
                                  .retry_backoff_ms = config_.consumer.retry_backoff_ms});
}

void GroupConsumer::revoke_all() {
  const std::vector<TopicPartition> owned = consumer_->assignment();
  if (owned.empty()) return;
  if (config_.enable_auto_commit) (void)commit_sync();
  if (on_revoked_) on_revoked_(owned);
  consumer_->assign({});
}

absl::Status GroupConsumer::rejoin(TimePoint deadline) {
  if (member_->left()) subscribe(topics_, on_assigned_, on_revoked_);  // left on a poll timeout
  revoke_all();
  auto generation = member_->ensure_active(deadline);
  if (!generation.ok()) return generation.status();
  consumer_->assign(generation->assignment);
  auto committed = member_->committed(generation->assignment);
  if (committed.ok()) {
    for (const auto& [tp, offset] : *committed)
      if (offset >= 0) (void)consumer_->seek(tp, offset);
  }
  if (on_assigned_) on_assigned_(generation->assignment);
  next_auto_commit_ =
      Scheduler::current().now() + std::chrono::milliseconds(config_.auto_commit_interval_ms);
  return committed.ok() ? absl::OkStatus() : committed.status();
}

absl::StatusOr<ConsumerRecords> GroupConsumer::poll(Duration timeout) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (member_ == nullptr) return absl::FailedPreconditionError("subscribe() first");
  const TimePoint deadline = cluster_->deadline_after(timeout);
  if (!member_->active()) {
    if (auto s = rejoin(deadline); !s.ok()) {
      // Not in the group yet: nothing to return; the next poll tries again.
      if (!member_->active()) return ConsumerRecords{};
    }
  }
  member_->note_poll();
  if (config_.enable_auto_commit && Scheduler::current().now() >= next_auto_commit_) {
    (void)commit_sync();
    next_auto_commit_ =
        Scheduler::current().now() + std::chrono::milliseconds(config_.auto_commit_interval_ms);
  }
  const Duration left = std::max(Duration(0), deadline - Scheduler::current().now());
  return consumer_->poll(left);
}

absl::Status GroupConsumer::commit_sync(std::optional<std::map<TopicPartition, int64_t>> offsets) {
  if (member_ == nullptr || member_->current().generation < 0)
    return absl::FailedPreconditionError("not in a group");
  std::map<TopicPartition, int64_t> to_commit;
  if (offsets.has_value()) {
    to_commit = *std::move(offsets);
  } else {
    for (const TopicPartition& tp : consumer_->assignment()) {
      auto p = consumer_->position(tp);
      if (p.ok()) to_commit[tp] = *p;
    }
  }
  if (to_commit.empty()) return absl::OkStatus();
  auto result = member_->commit(to_commit);
  if (!result.ok()) return result.status();
  for (const auto& [tp, e] : *result) {
    if (e != kafka::ErrorCode::kNone)
      return absl::AbortedError(absl::StrCat("commit of ", tp.topic, "-", tp.partition, ": ",
                                             std::string(kafka::error_name(e))));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<TopicPartition, int64_t>> GroupConsumer::committed(
    const std::vector<TopicPartition>& partitions) {
  if (member_ == nullptr) return absl::FailedPreconditionError("subscribe() first");
  return member_->committed(partitions);
}

void GroupConsumer::close() {
  if (closed_) return;
  closed_ = true;
  if (member_ != nullptr) {
    if (config_.enable_auto_commit && member_->active()) (void)commit_sync();
    member_->leave();
  }
  consumer_->close();
}

}  // namespace weir::broker::client
