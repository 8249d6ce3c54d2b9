// The partitions this broker hosts and their roles (Kafka's ReplicaManager). The controller
// decides (LeaderAndIsr, StopReplica); this applies: it opens or creates a partition's log,
// makes it leader or follower at the controller's leader epoch (older epochs and older
// controllers refused), runs one ReplicaFetcher per leader broker for the followers, and as
// leader keeps the ISR: it shrinks it when a follower lags beyond replica.lag.time.max.ms and
// expands it when one catches up, each change written to the partition's state znode
// conditional on the version the controller or the last change left, so that two writers
// never both win, and announced to the controller (/isr_change_notification) as Kafka does.
//
// On start it removes logs of topics coord no longer has (deleted while this broker was down).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/kafka/protocol/messages.h"
#include "broker/log/log_manager.h"
#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/metadata_cache.h"
#include "broker/server/partition.h"
#include "broker/server/replica_fetcher.h"
#include "broker/server/topic_config.h"
#include "runtime/actor_collection.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/sync.h"

namespace weir::broker {

struct ReplicaCounters {
  uint64_t isr_shrinks = 0;
  uint64_t isr_expands = 0;
  uint64_t isr_write_conflicts = 0;
  uint64_t leader_and_isr = 0;
  uint64_t stale_requests = 0;
};

class ReplicaManager {
 public:
  ReplicaManager(const BrokerConfig& config, ClusterStore& store, log::LogManager& logs,
                 INetwork& network, IClock& clock, int32_t broker_id);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  // Removes logs of topics coord no longer has (see the class comment).
  absl::Status load();
  // Starts ISR maintenance. stop() ends it and every fetcher, at their next safe point.
  void start();
  void stop();
  // Stops using every partition (shutdown): later requests see them closed.
  void close_all();

  std::shared_ptr<Partition> partition(const std::string& topic, int32_t index) const;
  const std::map<log::TopicPartition, std::shared_ptr<Partition>>& partitions() const {
    return partitions_;
  }
  MetadataCache& metadata() { return metadata_; }
  // Fired on every append and high watermark move: fetch long polls wait on it.
  AppendSignal& appended() { return appended_; }
  StorageHealth& health() { return health_; }
  const ReplicaCounters& counters() const { return counters_; }
  int64_t broker_epoch() const { return broker_epoch_; }
  void set_broker_epoch(int64_t epoch) { broker_epoch_ = epoch; }
  ControllerEpoch controller_epoch() const { return controller_epoch_; }

  kafka::LeaderAndIsrResponse leader_and_isr(const kafka::LeaderAndIsrRequest& req,
                                             int16_t version);
  kafka::StopReplicaResponse stop_replica(const kafka::StopReplicaRequest& req, int16_t version);
  kafka::ErrorCode update_metadata(const kafka::UpdateMetadataRequest& req, int16_t version);

  // Told of every role this broker takes for a partition (kNone: it stopped hosting it), after
  // the change: the group coordinator loads and unloads its offsets partitions this way. It
  // must not suspend.
  using RoleListener =
      std::function<void(const log::TopicPartition&, ReplicaRole role, LeaderEpoch epoch)>;
  void set_role_listener(RoleListener listener) { role_listener_ = std::move(listener); }

  // A follower fetched from `fetch_offset`: the leader's bookkeeping, and an ISR expansion
  // started if it has caught up.
  void on_follower_fetch(Partition& partition, int32_t replica, Offset fetch_offset);

 private:
  struct Incoming {
    std::string topic;
    Uuid16 topic_id;
    const kafka::LeaderAndIsrRequest::LeaderAndIsrPartitionState* state = nullptr;
  };
  kafka::ErrorCode check_controller(int32_t controller_epoch, int64_t broker_epoch);
  bool current_incarnation(int64_t broker_epoch) const;
  kafka::ErrorCode apply_state(const Incoming& in, ControllerEpoch controller_epoch,
                               const std::map<int32_t, std::string>& leaders);
  absl::StatusOr<std::shared_ptr<Partition>> open_partition(const std::string& topic,
                                                            int32_t index);
  void follow(const std::shared_ptr<Partition>& p, const std::string& leader_address);
  void stop_fetching(const log::TopicPartition& tp);
  void run_isr_maintenance();
  void maybe_shrink_isr(const std::shared_ptr<Partition>& p, TimePoint now);
  // Read-modify-write of the state znode (see the class comment).
  void update_isr(std::shared_ptr<Partition> p, std::vector<int32_t> removed,
                  std::optional<int32_t> added);
  void notify_isr_change(const Partition& p);

  const BrokerConfig& config_;
  ClusterStore& store_;
  log::LogManager& logs_;
  INetwork& network_;
  IClock& clock_;
  int32_t broker_id_;
  int64_t broker_epoch_ = -1;
  ControllerEpoch controller_epoch_{0};
  ActorMutex lock_;  // serializes LeaderAndIsr and StopReplica
  std::map<log::TopicPartition, std::shared_ptr<Partition>> partitions_;
  std::map<std::string, TopicOverrides> overrides_;                // of the topics hosted here
  std::map<int32_t, std::unique_ptr<ReplicaFetcher>> fetchers_;    // by leader broker
  std::vector<std::unique_ptr<ReplicaFetcher>> retired_fetchers_;  // stopping
  MetadataCache metadata_;
  AppendSignal appended_;
  StorageHealth health_;
  ReplicaCounters counters_;
  ActorCollection background_;
  RoleListener role_listener_;
  bool stopping_ = false;
};

}  // namespace weir::broker
