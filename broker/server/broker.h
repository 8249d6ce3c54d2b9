// One Kafka broker: its logs, its place in the cluster (Kafka's znodes in weir coord), and
// its Kafka listener. It exists to put the pieces together in Kafka's start order, so an
// operator sees what Kafka would show at each step: the coord session and cluster id first,
// the broker id (from server.properties, meta.properties or coord's /brokers/seqid), log
// recovery, the controller role when nobody holds it, the topics reconciled with the logs,
// the listener, and last the ephemeral /brokers/ids/<id> that tells clients and other brokers
// it serves. stop() undoes it in reverse, so a SIGTERM leaves flushed logs with checkpoints
// and no registration behind.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "broker/controller/controller.h"
#include "broker/log/log_manager.h"
#include "broker/server/broker_config.h"
#include "broker/server/broker_core.h"
#include "broker/server/cluster_store.h"
#include "broker/server/group_log.h"
#include "broker/server/kafka_listener.h"
#include "broker/server/producer_id_manager.h"
#include "broker/server/replica_manager.h"
#include "broker/server/topic_admin.h"
#include "coord/client/client.h"
#include "runtime/actor_collection.h"
#include "runtime/framed/framed_server.h"
#include "runtime/process_context.h"
#include "runtime/wait_list.h"

namespace weir::broker {

class Broker {
 public:
  Broker(BrokerConfig config, ProcessContext& context);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Starts everything, then serves until cancelled or until something fails for good.
  absl::Status run();
  // A clean stop: no new requests, logs flushed and checkpointed, registration removed.
  absl::Status stop();

  // Available once run() has started serving (tests and traces).
  const BrokerCore* core() const { return core_.get(); }
  std::string bound_address() const;
  bool serving() const { return serving_; }

 private:
  absl::Status connect_coord();
  absl::Status resolve_identity();
  absl::Status start_listener();
  absl::Status register_self();
  void run_housekeeping();
  group::GroupConfig group_config() const;
  void start_group_coordinator();
  // Kafka's answer to an expired coord session: a new session, and the broker registers again
  // (its ephemeral /brokers/ids/<id> went with the old one).
  void watch_session();
  absl::Status open_session();
  struct Schedule {
    TimePoint next_retention;
    TimePoint next_checkpoint;
    TimePoint next_high_watermarks;
  };
  void housekeeping_pass(Schedule& schedule);
  // The log cleaner: every log.cleaner.backoff.ms, passes over the compacted logs while any
  // is due (LogManager::clean_one).
  void run_log_cleaner();
  // Kafka's controlled shutdown: asks the controller to move leadership away, retried.
  void controlled_shutdown();
  // Whether every write of the previous process survived: Kafka's .kafka_cleanshutdown marker
  // (read and removed at start, written after a clean stop), or a restart within the same
  // machine boot (the page cache kept what was not synced).
  absl::StatusOr<bool> take_clean_shutdown_markers();
  void write_clean_shutdown_markers();
  // Once the controller has seen this registration (its first UpdateMetadata), the
  // registration stops saying unflushed data was lost: the controller acted on it.
  void clear_lost_flag_when_seen();
  // Whether this start must register as having lost unflushed data: `lost_now`, or a durable
  // marker left by an earlier start the controller never acknowledged (written when true).
  absl::StatusOr<bool> note_unflushed_data_lost(bool lost_now);

  BrokerConfig config_;
  ProcessContext& context_;
  std::unique_ptr<coord::client::CoordClient> coord_;
  // Clients of expired sessions, kept until stop(): an actor may still be awaiting one.
  std::vector<std::unique_ptr<coord::client::CoordClient>> retired_coords_;
  std::unique_ptr<ClusterStore> store_;
  std::unique_ptr<log::LogManager> logs_;
  std::unique_ptr<ReplicaManager> replicas_;
  std::unique_ptr<TopicAdmin> admin_;
  std::unique_ptr<controller::Controller> controller_;
  std::unique_ptr<PartitionGroupLog> group_log_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  std::unique_ptr<ProducerIdManager> producer_ids_;
  std::unique_ptr<BrokerCore> core_;
  std::unique_ptr<KafkaListener> handler_;
  std::unique_ptr<framed::FramedServer> server_;
  int32_t broker_id_ = -1;
  std::string cluster_id_;
  bool unflushed_data_lost_ = false;
  bool serving_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  bool housekeeping_busy_ = false;  // in log I/O: stop() waits rather than cancel it there
  bool cleaner_busy_ = false;       // likewise (a pass stops at its next batch once stopping_)
  WaitList state_changed_;          // stopping_, housekeeping_busy_ or cleaner_busy_ changed
  ActorCollection background_;
};

// Kafka's meta.properties in a log dir (version=0, broker.id, cluster.id): a log dir that
// belongs to another cluster or broker is refused at start, as Kafka refuses it.
struct MetaProperties {
  int32_t broker_id = -1;
  std::string cluster_id;
};
absl::StatusOr<std::optional<MetaProperties>> read_meta_properties(IFileSystem& fs,
                                                                   const std::string& dir);
absl::Status write_meta_properties(IFileSystem& fs, const std::string& dir,
                                   const MetaProperties& meta);

}  // namespace weir::broker
