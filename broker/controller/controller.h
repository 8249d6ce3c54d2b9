// Kafka's ZooKeeper-mode controller, on weir coord. Every broker runs one; the one that creates
// the ephemeral /controller is active, bumps /controller_epoch, and from then on every write
// it makes to coord is a multi that checks /controller_epoch's version, so a controller that
// was paused or partitioned away and replaced changes nothing (its writes fail; it resigns).
//
// The active controller watches the brokers (/brokers/ids), the topics (/brokers/topics and
// each topic's assignment), deletions (/admin/delete_topics), reassignments
// (/admin/reassign_partitions, reassignment.h) and the leaders' ISR changes
// (/isr_change_notification); handles each change in one serial loop; decides partition
// states (election.h: clean, eligible, unclean or offline); writes them conditional on the
// version it read; and then tells the brokers (LeaderAndIsr to the replicas, UpdateMetadata
// to all, StopReplica for deletions and controlled shutdown) through one BrokerChannel each.
// Decisions are re-made from a fresh read whenever a conditional write finds the state moved.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/controller/controller_channel.h"
#include "broker/controller/election.h"
#include "broker/controller/reassignment.h"
#include "broker/log/log_manager.h"
#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/topic_config.h"
#include "runtime/clock.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/wait_list.h"

namespace weir::broker::controller {

struct ControllerCounters {
  uint64_t elections_won = 0;
  uint64_t clean_elections = 0;
  uint64_t eligible_elections = 0;
  uint64_t unclean_elections = 0;
  uint64_t offline_partitions = 0;  // decisions that left a partition without a leader
  uint64_t fenced_writes = 0;       // writes refused because another controller took over
  uint64_t state_conflicts = 0;     // conditional writes that found the state moved
  uint64_t preferred_elections = 0;
  uint64_t reassignments_started = 0;
  uint64_t reassignments_completed = 0;
};

// What the controller learned when a partition's state last changed (for the simulator's
// checkers and for operators: unclean elections are reported, not hidden).
struct ElectionRecord {
  log::TopicPartition partition;
  ElectionKind kind = ElectionKind::kClean;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t controller_epoch = 0;
};

class Controller {
 public:
  Controller(const BrokerConfig& config, int32_t broker_id, ClusterStore& store, INetwork& network,
             IClock& clock);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Contends for the role and serves while it holds it, until stop().
  void start();
  void stop();
  // The coord session was replaced (the old one expired): whatever this controller held
  // went with it.
  void on_session_replaced();

  bool active() const { return active_; }
  int32_t epoch() const { return claim_.epoch; }
  const ControllerCounters& counters() const { return counters_; }
  const std::vector<ElectionRecord>& elections() const { return elections_; }

  // ControlledShutdown for `broker`: leadership moved off it where another ISR member can
  // take it. Returns how many partitions it still leads (with other replicas).
  Future<int32_t> controlled_shutdown(int32_t broker, int64_t broker_epoch);
  // ElectLeaders (preferred): moves each partition's leadership to its first replica where
  // that one is live and in the ISR. Empty `partitions`: all.
  Future<int32_t> elect_preferred(std::vector<log::TopicPartition> partitions);

 private:
  // Set by coord's watches (which may outlive a term: they hold this, not the controller).
  struct Signals {
    WaitList wake;
    bool brokers = true;
    bool topics = true;
    bool deletions = true;
    bool isr = true;
    bool reassign = true;
    std::set<std::string> topic_data;  // topics whose assignment znode changed
    bool controller_changed = false;
    bool resign = false;
    void raise(bool Signals::*flag) {
      this->*flag = true;
      wake.fire_all();
    }
  };
  // A coord watch that raises `flag` (not on session events); it holds `signals`, not this.
  static coord::client::Watcher watch(const std::shared_ptr<Signals>& signals, bool Signals::*flag);
  struct TopicEntry {
    Uuid16 id;
    std::map<int32_t, std::vector<int32_t>> replicas;
    std::map<int32_t, std::vector<int32_t>> adding;    // partitions being reassigned only
    std::map<int32_t, std::vector<int32_t>> removing;  // partitions being reassigned only
    int32_t zk_version = -1;                           // of /brokers/topics/<t>
    TopicOverrides overrides;
    int32_t min_insync = 1;
    bool unclean = false;
  };
  struct Request {
    enum class Kind { kControlledShutdown, kElectPreferred } kind;
    int32_t broker = -1;
    std::vector<log::TopicPartition> partitions;
    Promise<int32_t> done;
  };
  using Decide = std::function<std::optional<PartitionState>(const log::TopicPartition&,
                                                             const PartitionState&)>;

  void run();
  absl::Status serve(const std::shared_ptr<Signals>& signals);
  absl::Status load_brokers(const std::shared_ptr<Signals>& signals, std::set<int32_t>& born,
                            std::set<int32_t>& dead);
  absl::Status load_topics(const std::shared_ptr<Signals>& signals, std::set<std::string>* changed);
  absl::Status load_topic(const std::shared_ptr<Signals>& signals, const std::string& name);
  absl::Status on_brokers_changed(const std::shared_ptr<Signals>& signals);
  absl::Status on_topics_changed(const std::shared_ptr<Signals>& signals);
  absl::Status on_deletions(const std::shared_ptr<Signals>& signals);
  absl::Status on_isr_notifications(const std::shared_ptr<Signals>& signals);
  absl::Status on_request(Request& request);
  absl::Status init_new_partitions(std::set<log::TopicPartition>& changed);

  // Reassignment (controller_reassign.cc): the requests in /admin/reassign_partitions started,
  // and every reassignment whose target replicas have all joined the ISR completed.
  absl::Status on_reassignments(const std::shared_ptr<Signals>& signals);
  absl::Status start_reassignment(const log::TopicPartition& tp, const std::vector<int32_t>& target,
                                  std::set<log::TopicPartition>& changed);
  absl::StatusOr<bool> complete_reassignment(const log::TopicPartition& tp,
                                             std::set<log::TopicPartition>& changed);
  absl::Status remove_pending(const std::set<log::TopicPartition>& done,
                              const std::shared_ptr<Signals>& signals);
  PartitionAssignment assignment_of(const log::TopicPartition& tp) const;
  absl::Status write_assignment(const log::TopicPartition& tp, const PartitionAssignment& a);
  void send_stop_replica(const log::TopicPartition& tp, const std::vector<int32_t>& brokers,
                         bool remove);
  absl::Status rebalance_if_imbalanced();

  // Reads each partition's state afresh when needed, decides, writes (fenced); records what
  // changed. Aborted once fenced.
  absl::Status change_partitions(const std::vector<log::TopicPartition>& partitions,
                                 const Decide& decide, std::set<log::TopicPartition>& changed);
  std::optional<PartitionState> reconcile(const log::TopicPartition& tp,
                                          const PartitionState& current);
  void trace_write(const std::vector<coord::client::OpResult>& results) const;
  absl::Status fenced_multi(std::vector<coord::client::Op> ops,
                            std::vector<coord::client::OpResult>* results = nullptr);
  bool live_ok(int32_t broker) const;

  void sync_channels();
  void send_leader_and_isr(const std::set<log::TopicPartition>& partitions,
                           const std::set<int32_t>& only_brokers = {});
  void send_update_metadata(const std::set<std::string>& deleted_topics = {});
  void send_full_state();
  void fail_requests(const absl::Status& status);

  const BrokerConfig& config_;
  int32_t broker_id_;
  ClusterStore& store_;
  INetwork& network_;
  IClock& clock_;
  ControllerClaim claim_;
  bool active_ = false;
  bool stopping_ = false;
  std::shared_ptr<Signals> signals_;
  std::map<int32_t, BrokerRegistration> live_;
  std::set<int32_t> shutting_down_;
  std::set<int32_t> lost_data_;  // restarted with unflushed data lost, not yet stripped
  std::map<std::string, TopicEntry> topics_;
  std::map<log::TopicPartition, PartitionState> states_;
  std::map<int32_t, std::unique_ptr<BrokerChannel>> channels_;
  std::deque<std::unique_ptr<Request>> requests_;
  std::vector<ElectionRecord> elections_;
  ControllerCounters counters_;
  Future<void> actor_;
};

}  // namespace weir::broker::controller
