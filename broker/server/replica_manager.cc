#include "broker/server/replica_manager.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/controller/election.h"
#include "broker/server/json.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "coord/client/errors.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

constexpr int kNotifyAttemptsMax = 10;

using kafka::ErrorCode;
using kafka::LeaderAndIsrRequest;
using kafka::LeaderAndIsrResponse;

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

ReplicaManager::ReplicaManager(const BrokerConfig& config, ClusterStore& store,
                               log::LogManager& logs, INetwork& network, IClock& clock,
                               int32_t broker_id)
    : config_(config),
      store_(store),
      logs_(logs),
      network_(network),
      clock_(clock),
      broker_id_(broker_id) {}

ReplicaManager::~ReplicaManager() {
  background_.clear();
}

absl::Status ReplicaManager::load() {
  auto names = store_.list_topics();
  if (!names.ok()) return names.status();
  auto pending = store_.pending_deletions();
  if (!pending.ok()) return pending.status();
  std::set<std::string> known(names->begin(), names->end());
  for (const std::string& d : *pending) known.erase(d);
  // Logs of topics coord no longer has were deleted while this broker was away.
  for (const log::TopicPartition& tp : logs_.partitions()) {
    if (known.count(tp.topic) != 0) continue;
    TraceEvent(Severity::kWarnAlways, "BrokerStrayLogRemoved")
        .detail("Topic", tp.topic)
        .detail("Partition", tp.partition);
    if (auto s = logs_.remove(tp); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void ReplicaManager::start() {
  background_.add(spawn("replica-isr-maintenance", [this] { run_isr_maintenance(); }));
}

void ReplicaManager::stop() {
  stopping_ = true;
  background_.clear();
  // Waiting yields, and a LeaderAndIsr handled meanwhile may retire more fetchers: each round
  // takes its batch out of the lists before it waits (a loop over them crashed, SIGSEGV).
  while (!fetchers_.empty() || !retired_fetchers_.empty()) {
    std::vector<std::unique_ptr<ReplicaFetcher>> batch = std::move(retired_fetchers_);
    retired_fetchers_.clear();
    for (auto& [id, f] : fetchers_) batch.push_back(std::move(f));
    fetchers_.clear();
    for (auto& f : batch) f->stop();
    for (auto& f : batch) (void)await(timeout(f->done(), std::chrono::seconds(10)));
  }
}

void ReplicaManager::close_all() {
  for (auto& [tp, p] : partitions_) p->mark_closed();
  appended_.fire();
}

std::shared_ptr<Partition> ReplicaManager::partition(const std::string& topic,
                                                     int32_t index) const {
  auto it = partitions_.find(log::TopicPartition{topic, index});
  return it == partitions_.end() ? nullptr : it->second;
}

kafka::ErrorCode ReplicaManager::update_metadata(const kafka::UpdateMetadataRequest& req,
                                                 int16_t version) {
  if (ControllerEpoch(req.controller_epoch) < controller_epoch_) {
    ++counters_.stale_requests;
    return ErrorCode::kStaleControllerEpoch;
  }
  if (!current_incarnation(req.broker_epoch)) return ErrorCode::kStaleBrokerEpoch;
  controller_epoch_ = ControllerEpoch(req.controller_epoch);
  return metadata_.apply(req, version);
}

// A controller's request is for this incarnation only once it has registered: until then any
// request on its port was meant for the previous process (which may have had data this one
// lost), addressed by that process's registration epoch.
bool ReplicaManager::current_incarnation(int64_t broker_epoch) const {
  const bool current = broker_epoch_ >= 0 && (broker_epoch < 0 || broker_epoch == broker_epoch_);
  CODE_PROBE(!current, "replica.request_for_previous_incarnation_refused");
  return current;
}

kafka::ErrorCode ReplicaManager::check_controller(int32_t controller_epoch, int64_t broker_epoch) {
  if (ControllerEpoch(controller_epoch) < controller_epoch_) {
    ++counters_.stale_requests;
    return ErrorCode::kStaleControllerEpoch;
  }
  if (!current_incarnation(broker_epoch)) return ErrorCode::kStaleBrokerEpoch;
  controller_epoch_ = ControllerEpoch(controller_epoch);
  return ErrorCode::kNone;
}

absl::StatusOr<std::shared_ptr<Partition>> ReplicaManager::open_partition(const std::string& topic,
                                                                          int32_t index) {
  if (auto p = partition(topic, index)) return p;
  if (overrides_.count(topic) == 0) {
    auto o = store_.get_topic_config(topic);
    if (!o.ok()) return o.status();
    overrides_[topic] = *std::move(o);
  }
  const TopicOverrides& overrides = overrides_[topic];
  const log::LogConfig config = log_config_for(config_, overrides);
  auto log = logs_.create(log::TopicPartition{topic, index}, config);
  if (!log.ok()) return log.status();
  // A log found on disk at start was opened with the broker's defaults.
  if (auto s = (*log)->update_config(config); !s.ok()) return s;
  auto p = std::make_shared<Partition>(topic, index, broker_id_, *log, &appended_, &health_);
  p->set_min_insync_replicas(topic_min_insync_replicas(config_, overrides));
  p->set_bug_high_watermark_from_leader(config_.weir_bug == "high_watermark_from_leader");
  partitions_[log::TopicPartition{topic, index}] = p;
  return p;
}

kafka::ErrorCode ReplicaManager::apply_state(const Incoming& in, ControllerEpoch controller_epoch,
                                             const std::map<int32_t, std::string>& leaders) {
  const auto& s = *in.state;
  if (!contains(s.replicas, broker_id_)) return ErrorCode::kUnknownTopicOrPartition;
  std::shared_ptr<Partition> existing = partition(in.topic, s.partition_index);
  if (existing != nullptr && existing->role() != ReplicaRole::kNone &&
      LeaderEpoch(s.leader_epoch) <= existing->leader_epoch()) {
    return ErrorCode::kStaleControllerEpoch;  // Kafka's answer to a stale leader epoch
  }
  auto p = open_partition(in.topic, s.partition_index);
  if (!p.ok()) {
    TraceEvent(Severity::kWarnAlways, "ReplicaOpenFailed")
        .detail("Topic", in.topic)
        .detail("Partition", s.partition_index)
        .detail("Error", p.status().ToString());
    return ErrorCode::kKafkaStorageError;
  }
  const LeaderAndIsrState state{.controller_epoch = controller_epoch,
                                .leader = s.leader,
                                .leader_epoch = LeaderEpoch(s.leader_epoch),
                                .isr = s.isr,
                                .replicas = s.replicas,
                                .zk_version = s.partition_epoch};
  Partition& part = **p;
  const log::TopicPartition tp{in.topic, s.partition_index};
  ActorMutex::Guard locked(part.replica_lock());
  if (part.role() != ReplicaRole::kNone && state.leader_epoch <= part.leader_epoch())
    return ErrorCode::kStaleControllerEpoch;  // a newer state won the lock first
  if (s.leader == broker_id_) {
    stop_fetching(tp);
    if (auto st = part.become_leader(state, clock_.now()); !st.ok())
      return ErrorCode::kKafkaStorageError;
  } else {
    stop_fetching(tp);
    part.become_follower(state);
    auto leader = leaders.find(s.leader);
    if (leader != leaders.end()) follow(*p, leader->second);
  }
  if (role_listener_) role_listener_(tp, part.role(), part.leader_epoch());
  TraceEvent(Severity::kInfo, "ReplicaRoleChanged")
      .detail("Topic", in.topic)
      .detail("Partition", s.partition_index)
      .detail("Leader", s.leader)
      .detail("LeaderEpoch", s.leader_epoch)
      .detail("LogEnd", part.log_end_offset().value());
  return ErrorCode::kNone;
}

LeaderAndIsrResponse ReplicaManager::leader_and_isr(const LeaderAndIsrRequest& req,
                                                    int16_t version) {
  ActorMutex::Guard locked(lock_);
  ++counters_.leader_and_isr;
  LeaderAndIsrResponse rsp;
  std::vector<Incoming> incoming;
  for (const auto& s : req.ungrouped_partition_states) incoming.push_back({s.topic_name, {}, &s});
  for (const auto& t : req.topic_states) {
    Uuid16 id;
    id.bytes = t.topic_id.bytes;
    for (const auto& s : t.partition_states) incoming.push_back({t.topic_name, id, &s});
  }
  const ErrorCode top = check_controller(req.controller_epoch, req.broker_epoch);
  std::map<int32_t, std::string> leaders;
  for (const auto& l : req.live_leaders)
    leaders[l.broker_id] = absl::StrCat(l.host_name, ":", l.port);
  std::map<std::string, size_t> topic_index;
  for (const Incoming& in : incoming) {
    const ErrorCode code = top != ErrorCode::kNone || stopping_
                               ? (top != ErrorCode::kNone ? top : ErrorCode::kNotLeaderOrFollower)
                               : apply_state(in, ControllerEpoch(req.controller_epoch), leaders);
    LeaderAndIsrResponse::LeaderAndIsrPartitionError e{.topic_name = in.topic,
                                                       .partition_index = in.state->partition_index,
                                                       .error_code = static_cast<int16_t>(code)};
    if (version >= 5) {
      auto [it, inserted] = topic_index.emplace(in.topic, rsp.topics.size());
      if (inserted) rsp.topics.emplace_back().topic_id.bytes = in.topic_id.bytes;
      rsp.topics[it->second].partition_errors.push_back(std::move(e));
    } else {
      rsp.partition_errors.push_back(std::move(e));
    }
  }
  if (top != ErrorCode::kNone) rsp.error_code = static_cast<int16_t>(top);
  return rsp;
}

kafka::StopReplicaResponse ReplicaManager::stop_replica(const kafka::StopReplicaRequest& req,
                                                        int16_t version) {
  ActorMutex::Guard locked(lock_);
  kafka::StopReplicaResponse rsp;
  const ErrorCode top = check_controller(req.controller_epoch, req.broker_epoch);
  if (top != ErrorCode::kNone) {
    rsp.error_code = static_cast<int16_t>(top);
    return rsp;
  }
  struct Stop {
    log::TopicPartition tp;
    bool remove;
  };
  std::vector<Stop> stops;
  for (const auto& p : req.ungrouped_partitions)
    stops.push_back({{p.topic_name, p.partition_index}, req.delete_partitions});
  for (const auto& t : req.topics) {
    for (int32_t i : t.partition_indexes) stops.push_back({{t.name, i}, req.delete_partitions});
  }
  for (const auto& t : req.topic_states) {
    for (const auto& p : t.partition_states)
      stops.push_back({{t.topic_name, p.partition_index}, p.delete_partition});
  }
  (void)version;
  for (const Stop& s : stops) {
    ErrorCode code = ErrorCode::kNone;
    stop_fetching(s.tp);
    if (role_listener_) role_listener_(s.tp, ReplicaRole::kNone, LeaderEpoch(0));
    if (s.remove) {
      auto it = partitions_.find(s.tp);
      if (it != partitions_.end()) {
        it->second->mark_closed();
        partitions_.erase(it);
      }
      if (logs_.get(s.tp) != nullptr) {
        if (auto st = logs_.remove(s.tp); !st.ok()) code = ErrorCode::kKafkaStorageError;
      }
      bool any_left = false;
      for (const auto& [tp, p] : partitions_) any_left |= tp.topic == s.tp.topic;
      if (!any_left) overrides_.erase(s.tp.topic);
    }
    rsp.partition_errors.push_back({.topic_name = s.tp.topic,
                                    .partition_index = s.tp.partition,
                                    .error_code = static_cast<int16_t>(code)});
  }
  return rsp;
}

void ReplicaManager::follow(const std::shared_ptr<Partition>& p,
                            const std::string& leader_address) {
  const int32_t leader = p->state().leader;
  auto it = fetchers_.find(leader);
  if (it != fetchers_.end() && it->second->leader_address() != leader_address) {
    it->second->stop();
    retired_fetchers_.push_back(std::move(it->second));
    fetchers_.erase(it);
    it = fetchers_.end();
  }
  if (it == fetchers_.end()) {
    auto f =
        std::make_unique<ReplicaFetcher>(config_, network_, broker_id_, leader, leader_address);
    f->start();
    it = fetchers_.emplace(leader, std::move(f)).first;
  }
  it->second->add(p, p->generation());
}

void ReplicaManager::stop_fetching(const log::TopicPartition& tp) {
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    it->second->remove(tp);
    if (it->second->empty()) {
      it->second->stop();
      retired_fetchers_.push_back(std::move(it->second));
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
  // Retired fetchers that have finished can go.
  std::erase_if(retired_fetchers_,
                [](const std::unique_ptr<ReplicaFetcher>& f) { return f->done().is_ready(); });
}

void ReplicaManager::on_follower_fetch(Partition& partition, int32_t replica, Offset fetch_offset) {
  partition.on_follower_fetch(replica, fetch_offset, clock_.now());
  if (partition.follower_can_join(replica) && !stopping_) {
    if (auto p = this->partition(partition.topic(), partition.index()))
      update_isr(std::move(p), {}, replica);
  }
}

void ReplicaManager::run_isr_maintenance() {
  const auto period =
      std::chrono::milliseconds(std::max<int64_t>(config_.replica_lag_time_max_ms / 2, 10));
  while (!stopping_) {
    delay(period);
    const TimePoint now = clock_.now();
    std::vector<std::shared_ptr<Partition>> leaders;
    for (const auto& [tp, p] : partitions_) {
      if (p->is_leader()) leaders.push_back(p);
    }
    for (const auto& p : leaders) maybe_shrink_isr(p, now);
  }
}

void ReplicaManager::maybe_shrink_isr(const std::shared_ptr<Partition>& p, TimePoint now) {
  Duration lag_max = std::chrono::milliseconds(config_.replica_lag_time_max_ms);
  // BUGGIFY: an early shrink, as a slow disk or a long pause makes one.
  if (BUGGIFY_WITH_PROB(0.01)) lag_max = lag_max / 4;
  std::vector<int32_t> lagging = p->lagging_followers(now, lag_max);
  if (lagging.empty()) return;
  update_isr(p, std::move(lagging), std::nullopt);
}

void ReplicaManager::update_isr(std::shared_ptr<Partition> p, std::vector<int32_t> removed,
                                std::optional<int32_t> added) {
  if (p->isr_update_in_flight()) return;
  p->set_isr_update_in_flight(true);
  if (added.has_value()) p->set_pending_isr_add(added);
  background_.add(spawn("replica-isr-update", [this, p, removed, added] {
    struct Done {
      Partition& p;
      ~Done() {
        p.set_isr_update_in_flight(false);
        p.set_pending_isr_add(std::nullopt);
      }
    } done{*p};
    const LeaderEpoch epoch = p->leader_epoch();
    const int32_t version = p->state().zk_version;
    auto current = store_.get_partition_state(p->topic(), p->index());
    if (!current.ok() || !p->is_leader() || p->leader_epoch() != epoch) return;
    // The broken variant writes what it holds, whatever the controller wrote since.
    const bool unconditional = config_.weir_bug == "isr_write_unconditional";
    if (unconditional) {
      current->leader = broker_id_;
      current->leader_epoch = epoch.value();
      current->isr = p->state().isr;
      current->version = version;
    }
    if (current->leader != broker_id_ || LeaderEpoch(current->leader_epoch) != epoch) {
      ++counters_.isr_write_conflicts;  // the controller moved on; its LeaderAndIsr follows
      CODE_PROBE(true, "replica.isr_write_conflict");
      return;
    }
    if (current->version != version) {
      // Our leader epoch, a newer version: only this leader writes in its epoch (the controller
      // always bumps it), so this is an earlier write of ours whose reply was lost. Take it as
      // done, and tell the controller, which was never told.
      CODE_PROBE(true, "replica.isr_write_found_applied");
      p->set_isr(current->isr, current->version);
      notify_isr_change(*p);
      return;
    }
    PartitionState next = *current;
    const int32_t min_insync = p->min_insync_replicas();
    controller::shrink_isr(next.isr, next.elr, removed, min_insync);
    if (added.has_value()) controller::expand_isr(next.isr, next.elr, *added, min_insync);
    if (next.isr == current->isr && next.elr == current->elr) return;
    if (next.isr.size() == p->state().replicas.size()) next.leader_recovery_state = 0;
    auto written = await(store_.coord().set_data(ClusterStore::state_path(p->topic(), p->index()),
                                                 ClusterStore::partition_state_json(next),
                                                 unconditional ? -1 : version));
    if (!written.ok()) {
      // Its outcome may be unknown (the reply was lost): the next attempt reads the znode and
      // finds out (above).
      ++counters_.isr_write_conflicts;
      return;
    }
    if (!p->is_leader() || p->leader_epoch() != epoch) return;
    (removed.empty() ? counters_.isr_expands : counters_.isr_shrinks) += 1;
    TraceEvent(Severity::kInfo, removed.empty() ? "IsrExpanded" : "IsrShrunk")
        .detail("Topic", p->topic())
        .detail("Partition", p->index())
        .detail("Isr", absl::StrJoin(next.isr, ","))
        .detail("Elr", absl::StrJoin(next.elr, ","))
        .detail("HighWatermark", p->high_watermark().value())
        .detail("LogEnd", p->log_end_offset().value());
    p->set_isr(next.isr, written->version);
    notify_isr_change(*p);
  }));
}

void ReplicaManager::notify_isr_change(const Partition& p) {
  JsonValue partition = JsonValue::object(
      {{"topic", JsonValue::string(p.topic())}, {"partition", JsonValue::number(p.index())}});
  const std::string data =
      JsonValue::object({{"version", JsonValue::number(1)},
                         {"partitions", JsonValue::array({std::move(partition)})}})
          .dump();
  // Unsent, the controller would never propagate the change: retry (a duplicate is harmless).
  for (int attempt = 0; attempt < kNotifyAttemptsMax; ++attempt) {
    auto created = await(store_.coord().create("/isr_change_notification/isr_change_", data,
                                               coord::client::open_acl_unsafe(),
                                               coord::client::CreateMode::kPersistentSequential));
    if (created.ok()) return;
    delay(std::chrono::milliseconds(200));
  }
}

}  // namespace weir::broker
