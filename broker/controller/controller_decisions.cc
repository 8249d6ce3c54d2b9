// The controller's decisions (partition states), its fenced writes, and what it tells the
// brokers.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/controller/controller.h"
#include "broker/server/json.h"
#include "buggify/code_probe.h"
#include "coord/client/errors.h"
#include "runtime/trace.h"

namespace weir::broker::controller {

using coord::client::ErrorCode;
using coord::client::open_acl_unsafe;
using coord::client::OpResult;
using coord::client::zk_error;

namespace {

constexpr size_t kChannelQueueMax = 256;
constexpr size_t kElectionRecordsMax = 4096;
constexpr int kConflictRetriesMax = 8;
// Kafka's marker, in an UpdateMetadata partition state, for a topic being deleted.
constexpr int32_t kLeaderDeleted = -2;

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

kafka::Uuid to_wire(const Uuid16& id) {
  kafka::Uuid out;
  out.bytes = id.bytes;
  return out;
}

}  // namespace

bool Controller::live_ok(int32_t broker) const {
  return live_.count(broker) != 0 && shutting_down_.count(broker) == 0;
}

absl::Status Controller::fenced_multi(std::vector<coord::client::Op> ops,
                                      std::vector<OpResult>* results) {
  const bool unfenced = config_.weir_bug == "unfenced_controller";
  if (unfenced) {
    ops.insert(ops.begin(), coord::client::op_check("/controller_epoch", -1));
  } else {
    ops.insert(ops.begin(), coord::client::op_check("/controller_epoch", claim_.epoch_zk_version));
  }
  auto r = await(store_.coord().multi(std::move(ops)));
  if (!r.ok()) return r.status();
  if (!r->empty() && r->front().error != ErrorCode::kOk &&
      r->front().error != ErrorCode::kRuntimeInconsistency) {
    ++counters_.fenced_writes;
    CODE_PROBE(true, "controller.write_fenced");
    TraceEvent(Severity::kWarn, "ControllerFenced")
        .detail("BrokerId", broker_id_)
        .detail("Epoch", claim_.epoch);
    return absl::AbortedError("fenced: /controller_epoch moved on (another controller)");
  }
  absl::Status s = multi_status(r);
  if (s.ok()) trace_write(*r);
  if (results != nullptr) results->assign(r->begin() + (r->empty() ? 0 : 1), r->end());
  return s;
}

// Each committed write with its zxid and epoch: the simulator's ControllerFailover checks
// that no controller wrote after a newer epoch was claimed (what the fence guarantees).
void Controller::trace_write(const std::vector<OpResult>& results) const {
  coord::Zxid zxid{0};
  for (const OpResult& r : results) zxid = std::max(zxid, r.stat.mzxid);
  if (zxid.value() == 0) return;  // creates and removes carry no stat
  TraceEvent(Severity::kInfo, "ControllerWrite")
      .detail("BrokerId", broker_id_)
      .detail("Epoch", claim_.epoch)
      .detail("Zxid", zxid.value());
}

// What a partition's state must become given the live brokers: brokers that restarted
// having lost unflushed data leave the ISR and the ELR; dead members leave the ISR (and, below
// min.insync, join the ELR); members shutting down leave it when another member can lead;
// and a leader that is gone (or must go) is replaced by election.
std::optional<PartitionState> Controller::reconcile(const log::TopicPartition& tp,
                                                    const PartitionState& current) {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end()) return std::nullopt;
  auto replicas_it = topic->second.replicas.find(tp.partition);
  if (replicas_it == topic->second.replicas.end()) return std::nullopt;
  const std::vector<int32_t>& replicas = replicas_it->second;
  PartitionState next = current;
  // A sole replica stays: there is no more complete one to wait for (replication factor 1
  // accepts the loss of what was not flushed, as in Kafka).
  for (int32_t b : lost_data_) {
    if (replicas.size() == 1) break;
    CODE_PROBE(true, "controller.replica_with_lost_data_stripped");
    std::erase(next.isr, b);
    std::erase(next.elr, b);
  }
  bool successor = false;
  for (int32_t m : next.isr) successor |= live_ok(m);
  std::vector<int32_t> removed;
  for (int32_t m : next.isr) {
    if (live_.count(m) == 0 || (successor && shutting_down_.count(m) != 0)) removed.push_back(m);
  }
  shrink_isr(next.isr, next.elr, removed, topic->second.min_insync);
  const bool leader_ok = next.leader >= 0 && live_.count(next.leader) != 0 &&
                         contains(next.isr, next.leader) &&
                         (shutting_down_.count(next.leader) == 0 || !successor);
  ElectionKind kind = ElectionKind::kClean;
  if (!leader_ok) {
    ElectionInput in{.replicas = replicas,
                     .isr = next.isr,
                     .elr = next.elr,
                     .unclean_allowed = topic->second.unclean};
    for (const auto& [id, b] : live_) {
      if (live_ok(id)) in.live.insert(id);
    }
    ElectionResult r = elect_leader(in);
    kind = r.kind;
    next.leader = r.leader;
    next.isr = r.isr;
    next.elr = r.elr;
    if (r.kind == ElectionKind::kUnclean) next.leader_recovery_state = 1;
  }
  if (next.leader == current.leader && next.isr == current.isr && next.elr == current.elr &&
      next.leader_recovery_state == current.leader_recovery_state)
    return std::nullopt;
  if (!leader_ok) {
    switch (kind) {
      case ElectionKind::kClean:
        ++counters_.clean_elections;
        break;
      case ElectionKind::kEligible:
        ++counters_.eligible_elections;
        CODE_PROBE(true, "controller.eligible_replica_elected");
        break;
      case ElectionKind::kUnclean:
        ++counters_.unclean_elections;
        break;
      case ElectionKind::kOffline:
        ++counters_.offline_partitions;
        CODE_PROBE(true, "controller.partition_left_offline");
        break;
    }
    TraceEvent(kind == ElectionKind::kUnclean ? Severity::kWarnAlways : Severity::kInfo,
               "ControllerElection")
        .detail("Topic", tp.topic)
        .detail("Partition", tp.partition)
        .detail("Kind", election_kind_name(kind))
        .detail("Leader", next.leader)
        .detail("Isr", absl::StrJoin(next.isr, ","))
        .detail("Elr", absl::StrJoin(next.elr, ","));
    if (elections_.size() >= kElectionRecordsMax) elections_.erase(elections_.begin());
    elections_.push_back({tp, kind, next.leader, current.leader_epoch + 1, claim_.epoch});
  }
  return next;
}

absl::Status Controller::change_partitions(const std::vector<log::TopicPartition>& partitions,
                                           const Decide& decide,
                                           std::set<log::TopicPartition>& changed) {
  for (const log::TopicPartition& tp : partitions) {
    auto it = states_.find(tp);
    if (it == states_.end()) continue;
    PartitionState current = it->second;
    for (int attempt = 0; attempt < kConflictRetriesMax; ++attempt) {
      std::optional<PartitionState> next = decide(tp, current);
      if (!next.has_value()) break;
      next->leader_epoch = current.leader_epoch + 1;
      next->controller_epoch = claim_.epoch;
      std::vector<OpResult> results;
      absl::Status s = fenced_multi(
          {coord::client::op_set_data(ClusterStore::state_path(tp.topic, tp.partition),
                                      ClusterStore::partition_state_json(*next), current.version)},
          &results);
      if (s.ok()) {
        next->version = results.empty() ? current.version + 1 : results.front().stat.version;
        states_[tp] = *next;
        changed.insert(tp);
        break;
      }
      if (s.code() == absl::StatusCode::kAborted) return s;
      const ErrorCode e = zk_error(s);
      if (e != ErrorCode::kBadVersion && e != ErrorCode::kNoNode) return s;
      ++counters_.state_conflicts;
      CODE_PROBE(true, "controller.state_moved_under_decision");
      auto fresh = store_.get_partition_state(tp.topic, tp.partition);
      if (!fresh.ok()) {
        if (zk_error(fresh.status()) == ErrorCode::kNoNode) {
          states_.erase(tp);
          break;
        }
        return fresh.status();
      }
      current = *std::move(fresh);
      states_[tp] = current;
    }
  }
  return absl::OkStatus();
}

absl::Status Controller::init_new_partitions(std::set<log::TopicPartition>& changed) {
  for (const auto& [name, topic] : topics_) {
    for (const auto& [p, replicas] : topic.replicas) {
      const log::TopicPartition tp{name, p};
      if (states_.count(tp) != 0) continue;
      PartitionState state{.leader_epoch = 0, .controller_epoch = claim_.epoch};
      for (int32_t r : replicas) {
        if (live_ok(r)) state.isr.push_back(r);
      }
      if (state.isr.empty()) continue;  // no live replica yet: retried when brokers change
      state.leader = state.isr.front();
      std::vector<coord::client::Op> ops;
      const std::string base = ClusterStore::topic_path(name) + "/partitions";
      auto parts = await(store_.coord().exists(base));
      if (!parts.ok()) return parts.status();
      if (!parts->has_value()) ops.push_back(coord::client::op_create(base, "", open_acl_unsafe()));
      const std::string dir = absl::StrCat(base, "/", p);
      auto d = await(store_.coord().exists(dir));
      if (!d.ok()) return d.status();
      if (!d->has_value()) ops.push_back(coord::client::op_create(dir, "", open_acl_unsafe()));
      ops.push_back(coord::client::op_create(ClusterStore::state_path(name, p),
                                             ClusterStore::partition_state_json(state),
                                             open_acl_unsafe()));
      absl::Status s = fenced_multi(std::move(ops));
      if (s.code() == absl::StatusCode::kAborted) return s;
      if (!s.ok() && zk_error(s) != ErrorCode::kNodeExists) return s;
      auto fresh = store_.get_partition_state(name, p);
      if (!fresh.ok()) return fresh.status();
      states_[tp] = *std::move(fresh);
      changed.insert(tp);
    }
  }
  return absl::OkStatus();
}

absl::Status Controller::on_deletions(const std::shared_ptr<Signals>& signals) {
  signals->deletions = false;
  auto names = await(
      store_.coord().get_children("/admin/delete_topics", watch(signals, &Signals::deletions)));
  if (!names.ok()) return names.status();
  std::set<std::string> deleted;
  for (const std::string& name : *names) {
    // StopReplica (delete) to every live replica; one offline now removes its logs at start.
    auto topic = topics_.find(name);
    if (topic != topics_.end()) {
      std::map<int32_t, kafka::StopReplicaRequest> per_broker;
      for (const auto& [p, replicas] : topic->second.replicas) {
        for (int32_t r : replicas) {
          if (live_.count(r) == 0) continue;
          auto& req = per_broker[r];
          if (req.topic_states.empty()) req.topic_states.emplace_back().topic_name = name;
          req.topic_states.back().partition_states.push_back(
              {.partition_index = p, .leader_epoch = -2, .delete_partition = true});
        }
      }
      for (auto& [b, req] : per_broker) {
        auto c = channels_.find(b);
        if (c == channels_.end()) continue;
        req.controller_id = broker_id_;
        req.controller_epoch = claim_.epoch;
        req.broker_epoch = live_[b].epoch;
        c->second->send(std::move(req));
      }
    }
    // Every znode of the topic, leaves first, in one fenced multi.
    std::vector<coord::client::Op> ops;
    auto collect = [&](auto& self, const std::string& path) -> absl::Status {
      auto children = await(store_.coord().get_children(path));
      if (!children.ok()) {
        return zk_error(children.status()) == ErrorCode::kNoNode ? absl::OkStatus()
                                                                 : children.status();
      }
      for (const std::string& c : *children) {
        if (auto s = self(self, path + "/" + c); !s.ok()) return s;
      }
      ops.push_back(coord::client::op_remove(path));
      return absl::OkStatus();
    };
    for (const std::string& path : {ClusterStore::topic_path(name), "/config/topics/" + name,
                                    "/admin/delete_topics/" + name}) {
      if (auto s = collect(collect, path); !s.ok()) return s;
    }
    if (!ops.empty()) {
      absl::Status s = fenced_multi(std::move(ops));
      if (s.code() == absl::StatusCode::kAborted) return s;
      if (!s.ok()) {
        signals->deletions = true;  // the tree moved under us: again
        continue;
      }
    }
    std::erase_if(states_, [&](const auto& kv) { return kv.first.topic == name; });
    topics_.erase(name);
    deleted.insert(name);
    TraceEvent(Severity::kInfo, "ControllerTopicDeleted").detail("Topic", name);
  }
  if (!deleted.empty()) send_update_metadata(deleted);
  return absl::OkStatus();
}

absl::Status Controller::on_isr_notifications(const std::shared_ptr<Signals>& signals) {
  signals->isr = false;
  auto children =
      await(store_.coord().get_children("/isr_change_notification", watch(signals, &Signals::isr)));
  if (!children.ok()) return children.status();
  if (children->empty()) return absl::OkStatus();
  std::set<log::TopicPartition> touched;
  std::vector<coord::client::Op> ops;
  for (const std::string& c : *children) {
    const std::string path = "/isr_change_notification/" + c;
    auto data = await(store_.coord().get_data(path));
    if (!data.ok()) continue;
    ops.push_back(coord::client::op_remove(path));
    auto json = parse_json(data->data);
    if (!json.ok()) continue;
    const JsonValue* parts = json->find("partitions");
    if (parts == nullptr || parts->kind() != JsonValue::Kind::kArray) continue;
    for (const JsonValue& p : parts->items()) {
      auto topic = json_string(p, "topic");
      auto index = json_int(p, "partition");
      if (topic.ok() && index.ok()) touched.insert({*topic, static_cast<int32_t>(*index)});
    }
  }
  for (const log::TopicPartition& tp : touched) {
    if (states_.count(tp) == 0) continue;
    auto fresh = store_.get_partition_state(tp.topic, tp.partition);
    // Unread, the change would be lost with its notification: reload everything instead.
    if (!fresh.ok()) return fresh.status();
    states_[tp] = *std::move(fresh);
    // A reassignment completes when its target replicas have joined the ISR.
    if (assignment_of(tp).reassigning()) signals->reassign = true;
  }
  if (!ops.empty()) {
    absl::Status s = fenced_multi(std::move(ops));
    if (s.code() == absl::StatusCode::kAborted) return s;
  }
  TraceEvent(Severity::kInfo, "ControllerIsrChanges")
      .detail("Notifications", children->size())
      .detail("Partitions", touched.size());
  send_update_metadata();
  return absl::OkStatus();
}

absl::Status Controller::on_request(Request& r) {
  std::set<log::TopicPartition> changed;
  if (r.kind == Request::Kind::kControlledShutdown) {
    if (live_.count(r.broker) == 0) {
      r.done.try_set(absl::NotFoundError("BROKER_NOT_AVAILABLE"));
      return absl::OkStatus();
    }
    shutting_down_.insert(r.broker);
    std::vector<log::TopicPartition> theirs;
    for (const auto& [tp, state] : states_) {
      const auto& replicas = topics_[tp.topic].replicas[tp.partition];
      if (contains(replicas, r.broker)) theirs.push_back(tp);
    }
    if (auto s = change_partitions(
            theirs, [this](const auto& tp, const auto& cur) { return reconcile(tp, cur); },
            changed);
        !s.ok())
      return s;
    send_leader_and_isr(changed);
    // It stops fetching what it follows, so that it does not rejoin those ISRs on its way out.
    kafka::StopReplicaRequest stop{.controller_id = broker_id_,
                                   .controller_epoch = claim_.epoch,
                                   .broker_epoch = live_[r.broker].epoch};
    int32_t remaining = 0;
    for (const log::TopicPartition& tp : theirs) {
      const PartitionState& st = states_[tp];
      if (st.leader == r.broker) {
        if (topics_[tp.topic].replicas[tp.partition].size() > 1) ++remaining;
        continue;
      }
      if (stop.topic_states.empty() || stop.topic_states.back().topic_name != tp.topic)
        stop.topic_states.emplace_back().topic_name = tp.topic;
      stop.topic_states.back().partition_states.push_back(
          {.partition_index = tp.partition, .leader_epoch = st.leader_epoch});
    }
    if (auto c = channels_.find(r.broker); c != channels_.end() && !stop.topic_states.empty())
      c->second->send(std::move(stop));
    send_update_metadata();
    r.done.try_set(remaining);
    return absl::OkStatus();
  }
  std::vector<log::TopicPartition> wanted = r.partitions;
  if (wanted.empty()) {
    for (const auto& [tp, state] : states_) wanted.push_back(tp);
  }
  if (auto s = change_partitions(
          wanted,
          [this](const log::TopicPartition& tp,
                 const PartitionState& cur) -> std::optional<PartitionState> {
            const auto& replicas = topics_[tp.topic].replicas[tp.partition];
            if (replicas.empty() || cur.leader == replicas.front()) return std::nullopt;
            if (!live_ok(replicas.front()) || !contains(cur.isr, replicas.front()))
              return std::nullopt;
            PartitionState next = cur;
            next.leader = replicas.front();
            ++counters_.preferred_elections;
            return next;
          },
          changed);
      !s.ok())
    return s;
  send_leader_and_isr(changed);
  send_update_metadata();
  r.done.try_set(static_cast<int32_t>(changed.size()));
  return absl::OkStatus();
}

// auto.leader.rebalance.enable: a broker leading fewer than (100 - percentage)% of the
// partitions it is preferred for gets them back.
absl::Status Controller::rebalance_if_imbalanced() {
  std::map<int32_t, std::pair<int, int>> per_broker;  // preferred -> (total, not led)
  std::map<int32_t, std::vector<log::TopicPartition>> moves;
  for (const auto& [tp, state] : states_) {
    const auto& replicas = topics_[tp.topic].replicas[tp.partition];
    if (replicas.empty()) continue;
    auto& [total, off] = per_broker[replicas.front()];
    ++total;
    if (state.leader != replicas.front()) {
      ++off;
      moves[replicas.front()].push_back(tp);
    }
  }
  std::vector<log::TopicPartition> wanted;
  for (const auto& [b, counts] : per_broker) {
    if (counts.second * 100 > counts.first * config_.leader_imbalance_per_broker_percentage &&
        live_ok(b))
      wanted.insert(wanted.end(), moves[b].begin(), moves[b].end());
  }
  if (wanted.empty()) return absl::OkStatus();
  Request r{.kind = Request::Kind::kElectPreferred, .partitions = std::move(wanted)};
  return on_request(r);
}

void Controller::sync_channels() {
  for (auto it = channels_.begin(); it != channels_.end();) {
    auto b = live_.find(it->first);
    if (b == live_.end() ||
        it->second->address() != absl::StrCat(b->second.host, ":", b->second.port)) {
      it = channels_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, b] : live_) {
    if (channels_.count(id) != 0) continue;
    auto c = std::make_unique<BrokerChannel>(network_, broker_id_, id,
                                             absl::StrCat(b.host, ":", b.port), kChannelQueueMax);
    c->start();
    channels_.emplace(id, std::move(c));
  }
}

void Controller::send_leader_and_isr(const std::set<log::TopicPartition>& partitions,
                                     const std::set<int32_t>& only_brokers) {
  std::map<int32_t, kafka::LeaderAndIsrRequest> per_broker;
  std::map<int32_t, std::set<int32_t>> leaders_of;
  for (const log::TopicPartition& tp : partitions) {
    auto st = states_.find(tp);
    auto topic = topics_.find(tp.topic);
    if (st == states_.end() || topic == topics_.end()) continue;
    const auto& replicas = topic->second.replicas[tp.partition];
    const PartitionAssignment assignment = assignment_of(tp);
    for (int32_t r : replicas) {
      if (live_.count(r) == 0 || (!only_brokers.empty() && only_brokers.count(r) == 0)) continue;
      auto& req = per_broker[r];
      if (req.topic_states.empty() || req.topic_states.back().topic_name != tp.topic) {
        auto& t = req.topic_states.emplace_back();
        t.topic_name = tp.topic;
        t.topic_id = to_wire(topic->second.id);
      }
      req.topic_states.back().partition_states.push_back(
          {.partition_index = tp.partition,
           .controller_epoch = st->second.controller_epoch,
           .leader = st->second.leader,
           .leader_epoch = st->second.leader_epoch,
           .isr = st->second.isr,
           .partition_epoch = st->second.version,
           .replicas = replicas,
           .adding_replicas = assignment.adding,
           .removing_replicas = assignment.removing});
      if (st->second.leader >= 0) leaders_of[r].insert(st->second.leader);
    }
  }
  for (auto& [b, req] : per_broker) {
    auto c = channels_.find(b);
    if (c == channels_.end()) continue;
    req.controller_id = broker_id_;
    req.controller_epoch = claim_.epoch;
    req.broker_epoch = live_[b].epoch;
    for (int32_t l : leaders_of[b]) {
      auto lb = live_.find(l);
      if (lb == live_.end()) continue;
      req.live_leaders.push_back(
          {.broker_id = l, .host_name = lb->second.host, .port = lb->second.port});
    }
    c->second->send(std::move(req));
  }
}

void Controller::send_update_metadata(const std::set<std::string>& deleted_topics) {
  kafka::UpdateMetadataRequest base;
  base.controller_id = broker_id_;
  base.controller_epoch = claim_.epoch;
  for (const auto& [id, b] : live_) {
    auto& lb = base.live_brokers.emplace_back();
    lb.id = id;
    lb.endpoints.push_back(
        {.port = b.port, .host = b.host, .listener = "PLAINTEXT", .security_protocol = 0});
    lb.rack = b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack);
  }
  for (const auto& [tp, st] : states_) {
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end()) continue;
    if (base.topic_states.empty() || base.topic_states.back().topic_name != tp.topic) {
      auto& t = base.topic_states.emplace_back();
      t.topic_name = tp.topic;
      t.topic_id = to_wire(topic->second.id);
    }
    const auto& replicas = topic->second.replicas[tp.partition];
    std::vector<int32_t> offline;
    for (int32_t r : replicas) {
      if (live_.count(r) == 0) offline.push_back(r);
    }
    base.topic_states.back().partition_states.push_back({.partition_index = tp.partition,
                                                         .controller_epoch = st.controller_epoch,
                                                         .leader = st.leader,
                                                         .leader_epoch = st.leader_epoch,
                                                         .isr = st.isr,
                                                         .zk_version = st.version,
                                                         .replicas = replicas,
                                                         .offline_replicas = offline});
  }
  for (const std::string& name : deleted_topics) {
    auto& t = base.topic_states.emplace_back();
    t.topic_name = name;
    t.partition_states.push_back({.partition_index = 0, .leader = kLeaderDeleted});
  }
  for (auto& [b, c] : channels_) {
    kafka::UpdateMetadataRequest req = base;
    req.broker_epoch = live_[b].epoch;
    c->send(std::move(req));
  }
}

void Controller::send_full_state() {
  std::set<log::TopicPartition> all;
  for (const auto& [tp, st] : states_) all.insert(tp);
  send_leader_and_isr(all);
  send_update_metadata();
}

}  // namespace weir::broker::controller
