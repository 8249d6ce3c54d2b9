// Partition reassignment (KIP-455, as Kafka's ZooKeeper-mode controller does it): requests are
// read from /admin/reassign_partitions, the assignment widened to original + target in the
// topic znode, and completed once the target replicas are all in the ISR. Everything the
// controller needs to resume is in the topic znodes (replicas, adding_replicas,
// removing_replicas), so a new controller carries on where the previous one stopped.
#include <algorithm>

#include "absl/strings/str_join.h"
#include "broker/controller/controller.h"
#include "buggify/code_probe.h"
#include "coord/client/errors.h"
#include "runtime/trace.h"

namespace weir::broker::controller {

using coord::client::ErrorCode;
using coord::client::OpResult;
using coord::client::zk_error;

namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<int32_t> only(const std::vector<int32_t>& v, const std::vector<int32_t>& allowed) {
  std::vector<int32_t> out;
  for (int32_t x : v) {
    if (contains(allowed, x)) out.push_back(x);
  }
  return out;
}

}  // namespace

PartitionAssignment Controller::assignment_of(const log::TopicPartition& tp) const {
  PartitionAssignment a;
  auto t = topics_.find(tp.topic);
  if (t == topics_.end()) return a;
  auto get = [&](const std::map<int32_t, std::vector<int32_t>>& m) {
    auto it = m.find(tp.partition);
    return it == m.end() ? std::vector<int32_t>{} : it->second;
  };
  a.replicas = get(t->second.replicas);
  a.adding = get(t->second.adding);
  a.removing = get(t->second.removing);
  return a;
}

absl::Status Controller::write_assignment(const log::TopicPartition& tp,
                                          const PartitionAssignment& a) {
  TopicEntry& t = topics_.at(tp.topic);
  TopicAssignment next{
      .topic_id = t.id, .replicas = t.replicas, .adding = t.adding, .removing = t.removing};
  next.replicas[tp.partition] = a.replicas;
  next.adding.erase(tp.partition);
  next.removing.erase(tp.partition);
  if (!a.adding.empty()) next.adding[tp.partition] = a.adding;
  if (!a.removing.empty()) next.removing[tp.partition] = a.removing;
  std::vector<OpResult> results;
  // Conditional on the version read: CreatePartitions may have rewritten the znode. A conflict
  // fails the step, and the controller's reload re-reads the topic and makes it again.
  absl::Status s =
      fenced_multi({coord::client::op_set_data(ClusterStore::topic_path(tp.topic),
                                               ClusterStore::topic_json(next), t.zk_version)},
                   &results);
  if (!s.ok()) return s;
  t.replicas = std::move(next.replicas);
  t.adding = std::move(next.adding);
  t.removing = std::move(next.removing);
  t.zk_version = results.empty() ? t.zk_version + 1 : results.front().stat.version;
  return absl::OkStatus();
}

void Controller::send_stop_replica(const log::TopicPartition& tp,
                                   const std::vector<int32_t>& brokers, bool remove) {
  auto st = states_.find(tp);
  const int32_t epoch = st == states_.end() ? -1 : st->second.leader_epoch;
  for (int32_t b : brokers) {
    auto c = channels_.find(b);
    if (live_.count(b) == 0 || c == channels_.end()) continue;  // a dead one keeps its copy
    kafka::StopReplicaRequest req{.controller_id = broker_id_,
                                  .controller_epoch = claim_.epoch,
                                  .broker_epoch = live_[b].epoch};
    req.topic_states.emplace_back().topic_name = tp.topic;
    req.topic_states.back().partition_states.push_back(
        {.partition_index = tp.partition, .leader_epoch = epoch, .delete_partition = remove});
    c->second->send(std::move(req));
  }
}

// Step A of Kafka's algorithm: the assignment becomes original + target (in the topic znode
// first, so that a new controller resumes it), replicas no longer wanted (adding replicas of a
// reassignment this one replaces) leave the ISR and are deleted, and the leader epoch is bumped
// so that every replica, the new ones included, takes the LeaderAndIsr with the new set.
absl::Status Controller::start_reassignment(const log::TopicPartition& tp,
                                            const std::vector<int32_t>& target,
                                            std::set<log::TopicPartition>& changed) {
  const PartitionAssignment current = assignment_of(tp);
  const PartitionAssignment next = reassign_to(current, target);
  if (next == current) return absl::OkStatus();
  if (auto s = write_assignment(tp, next); !s.ok()) return s;
  ++counters_.reassignments_started;
  std::vector<int32_t> unneeded;
  for (int32_t r : current.replicas) {
    if (!contains(next.replicas, r)) unneeded.push_back(r);
  }
  CODE_PROBE(!unneeded.empty(), "controller.reassignment_replaced_or_cancelled");
  TraceEvent(Severity::kInfo, "ControllerReassignmentStarted")
      .detail("Topic", tp.topic)
      .detail("Partition", tp.partition)
      .detail("Replicas", absl::StrJoin(next.replicas, ","))
      .detail("Adding", absl::StrJoin(next.adding, ","))
      .detail("Removing", absl::StrJoin(next.removing, ","))
      .detail("Unneeded", absl::StrJoin(unneeded, ","));
  if (auto s = change_partitions(
          {tp},
          [&](const log::TopicPartition&, const PartitionState& cur) {
            PartitionState n = cur;
            n.isr = only(cur.isr, next.replicas);
            n.elr = only(cur.elr, next.replicas);
            if (!contains(n.isr, n.leader) || !live_ok(n.leader)) {
              n.leader = -1;
              for (int32_t r : next.replicas) {
                if (contains(n.isr, r) && live_ok(r)) {
                  n.leader = r;
                  break;
                }
              }
            }
            return std::optional<PartitionState>(n);
          },
          changed);
      !s.ok())
    return s;
  send_stop_replica(tp, unneeded, true);
  changed.insert(tp);
  return absl::OkStatus();
}

// Step B: with every target replica in the ISR, a leader from the target (the current one if
// it is in it), ISR and assignment narrowed to the target, and the removed replicas deleted.
// False while the reassignment must still wait (a target replica out of the ISR, or no live
// target replica to lead).
absl::StatusOr<bool> Controller::complete_reassignment(const log::TopicPartition& tp,
                                                       std::set<log::TopicPartition>& changed) {
  const PartitionAssignment a = assignment_of(tp);
  auto st = states_.find(tp);
  if (!a.reassigning() || st == states_.end() || !reassignment_complete(a, st->second.isr))
    return false;
  const std::vector<int32_t> target = a.target();
  auto settled = [&](const PartitionState& s) {
    return s.leader >= 0 && contains(target, s.leader) && only(s.isr, target) == s.isr;
  };
  if (!settled(st->second)) {
    if (auto s = change_partitions(
            {tp},
            [&](const log::TopicPartition&,
                const PartitionState& cur) -> std::optional<PartitionState> {
              if (!reassignment_complete(a, cur.isr)) return std::nullopt;  // it moved
              PartitionState n = cur;
              n.isr = only(cur.isr, target);
              n.elr = only(cur.elr, target);
              if (contains(target, n.leader) && live_ok(n.leader)) return n;
              n.leader = -1;
              for (int32_t r : target) {
                if (live_ok(r) && contains(n.isr, r)) {
                  n.leader = r;
                  break;
                }
              }
              if (n.leader < 0) return std::nullopt;  // no target replica can lead yet
              return n;
            },
            changed);
        !s.ok())
      return s;
    st = states_.find(tp);
    if (st == states_.end() || !settled(st->second)) return false;
  }
  // The state already names only target replicas: a controller that stops here leaves a state
  // the next one finds settled, and it writes the assignment alone.
  if (auto s = write_assignment(tp, PartitionAssignment{.replicas = target}); !s.ok()) return s;
  ++counters_.reassignments_completed;
  TraceEvent(Severity::kInfo, "ControllerReassignmentCompleted")
      .detail("Topic", tp.topic)
      .detail("Partition", tp.partition)
      .detail("Replicas", absl::StrJoin(target, ","))
      .detail("Leader", st->second.leader)
      .detail("Removed", absl::StrJoin(a.removing, ","));
  send_stop_replica(tp, a.removing, true);
  changed.insert(tp);
  return true;
}

absl::Status Controller::on_reassignments(const std::shared_ptr<Signals>& signals) {
  signals->reassign = false;
  PendingReassignments pending;
  auto data =
      await(store_.coord().get_data(kReassignPartitionsPath, watch(signals, &Signals::reassign)));
  if (!data.ok()) {
    if (zk_error(data.status()) != ErrorCode::kNoNode) return data.status();
    // Told when it is created.
    auto exists =
        await(store_.coord().exists(kReassignPartitionsPath, watch(signals, &Signals::reassign)));
    if (!exists.ok()) return exists.status();
    if (exists->has_value()) signals->reassign = true;  // created in between: again
  } else if (auto parsed = parse_reassignments_json(data->data); parsed.ok()) {
    pending = *std::move(parsed);
  } else {
    TraceEvent(Severity::kWarnAlways, "ControllerBadReassignZnode")
        .detail("Error", parsed.status().ToString());
  }
  std::set<int32_t> brokers;
  for (const auto& [id, b] : live_) brokers.insert(id);
  std::set<log::TopicPartition> changed, done;
  for (const auto& [tp, target] : pending) {
    auto t = topics_.find(tp.topic);
    std::optional<std::string> invalid;
    if (t == topics_.end() || t->second.replicas.count(tp.partition) == 0) {
      invalid = "no such partition";
    } else {
      invalid = invalid_target(target, brokers);
    }
    if (invalid.has_value()) {
      TraceEvent(Severity::kWarn, "ControllerReassignmentRefused")
          .detail("Topic", tp.topic)
          .detail("Partition", tp.partition)
          .detail("Reason", *invalid);
      done.insert(tp);
      continue;
    }
    if (states_.count(tp) == 0) continue;  // not created yet: when it is
    if (auto s = start_reassignment(tp, target, changed); !s.ok()) return s;
  }
  std::vector<log::TopicPartition> all;  // complete_reassignment may change states_
  for (const auto& [tp, state] : states_) all.push_back(tp);
  for (const log::TopicPartition& tp : all) {
    auto completed = complete_reassignment(tp, changed);
    if (!completed.ok()) return completed.status();
  }
  for (const auto& [tp, target] : pending) {
    const PartitionAssignment a = assignment_of(tp);
    if (!a.reassigning() && a.replicas == target) done.insert(tp);
  }
  if (!changed.empty()) {
    send_leader_and_isr(changed);
    send_update_metadata();
  }
  return remove_pending(done, signals);
}

// The finished (or refused) entries leave /admin/reassign_partitions; the znode goes with the
// last. Conditional on the version read: a request added meanwhile makes it all run again.
absl::Status Controller::remove_pending(const std::set<log::TopicPartition>& done,
                                        const std::shared_ptr<Signals>& signals) {
  if (done.empty()) return absl::OkStatus();
  auto data = await(store_.coord().get_data(kReassignPartitionsPath));
  if (!data.ok())
    return zk_error(data.status()) == ErrorCode::kNoNode ? absl::OkStatus() : data.status();
  auto pending = parse_reassignments_json(data->data);
  if (!pending.ok()) return absl::OkStatus();  // reported when read
  for (const log::TopicPartition& tp : done) pending->erase(tp);
  absl::Status s =
      pending->empty()
          ? fenced_multi({coord::client::op_remove(kReassignPartitionsPath, data->stat.version)})
          : fenced_multi({coord::client::op_set_data(
                kReassignPartitionsPath, reassignments_json(*pending), data->stat.version)});
  if (s.code() == absl::StatusCode::kAborted) return s;
  if (!s.ok()) {
    const ErrorCode e = zk_error(s);
    if (e != ErrorCode::kBadVersion && e != ErrorCode::kNoNode) return s;
    signals->reassign = true;
  }
  return absl::OkStatus();
}

}  // namespace weir::broker::controller
