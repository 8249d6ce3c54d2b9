// Committed offsets (OffsetCommit, OffsetFetch, OffsetDelete, their retention) and the group
// views of ListGroups, DescribeGroups and DeleteGroups.
#include <algorithm>

#include "broker/group/group_coordinator.h"
#include "buggify/code_probe.h"
#include "runtime/future.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::group {

using kafka::ErrorCode;

namespace {

LogRecord offset_tombstone(const std::string& group, const TopicPartition& tp) {
  return LogRecord{encode_key(OffsetKey{group, tp.topic, tp.partition}), std::nullopt};
}

}  // namespace

// Kafka's rules for who may commit: a group that does not exist accepts commits without a
// generation (a consumer assigning partitions itself); an empty group likewise; a group with
// members only from a current member of the current generation, not while it completes a
// rebalance (its assignment is not known yet).
std::vector<ErrorCode> GroupCoordinator::commit_offsets(
    const std::string& group_id, const std::string& member_id,
    const std::optional<std::string>& instance_id, int32_t generation,
    const std::vector<OffsetCommit>& offsets) {
  auto all = [&](ErrorCode e) { return std::vector<ErrorCode>(offsets.size(), e); };
  if (group_id.empty()) return all(ErrorCode::kInvalidGroupId);
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::kNone) return all(e);
  Group* existing = group(group_id);
  if (existing == nullptr && generation >= 0) return all(ErrorCode::kIllegalGeneration);
  Group& g = existing != nullptr ? *existing : get_or_create(group_id);
  if (g.is(GroupState::kDead)) return all(ErrorCode::kCoordinatorNotAvailable);
  // Broken variant: commits from fenced members accepted, so offsets can move back.
  const bool unchecked = config_.bug == "group_commit_any_generation";
  if (!unchecked && !(generation < 0 && g.is(GroupState::kEmpty))) {
    if (ErrorCode e = validate_member(g, member_id, instance_id); e != ErrorCode::kNone)
      return all(e);
    if (g.is(GroupState::kCompletingRebalance)) return all(ErrorCode::kRebalanceInProgress);
    if (generation != g.generation) return all(ErrorCode::kIllegalGeneration);
    touch(g.members.at(member_id));
  }
  std::vector<ErrorCode> out(offsets.size(), ErrorCode::kNone);
  std::vector<LogRecord> records;
  std::vector<size_t> written;  // which of `offsets` each record is
  const int64_t now_wall = now_ms();
  for (size_t i = 0; i < offsets.size(); ++i) {
    const OffsetCommit& c = offsets[i];
    const std::string metadata = c.metadata.value_or("");
    if (static_cast<int64_t>(metadata.size()) > config_.offset_metadata_max_bytes) {
      out[i] = ErrorCode::kOffsetMetadataTooLarge;
      continue;
    }
    records.push_back(
        {encode_key(OffsetKey{group_id, c.partition.topic, c.partition.partition}),
         encode_offset_value(OffsetValue{c.offset, c.leader_epoch, metadata, now_wall})});
    written.push_back(i);
  }
  if (records.empty()) return out;
  std::shared_ptr<Group> hold = groups_.at(group_id);
  const uint64_t owner = owner_generation(g);
  int64_t first = -1;
  ++hold->commits_in_flight;
  const ErrorCode e = write(g, records, first);
  if (--hold->commits_in_flight == 0) hold->commits_settled.fire_all();
  if (e == ErrorCode::kNone && !still_owned(g, owner)) {
    // Committed, but the partition moved meanwhile: the new leader has it from the log.
    CODE_PROBE(true, "group.commit_committed_after_the_partition_moved");
    return out;
  }
  for (size_t k = 0; k < written.size(); ++k) {
    const size_t i = written[k];
    if (e != ErrorCode::kNone) {
      out[i] = e;
      continue;
    }
    const OffsetCommit& c = offsets[i];
    const int64_t log_offset = first + static_cast<int64_t>(k);
    CommittedOffset& slot = g.offsets[c.partition];
    // Two commits in flight: the later record wins, whichever answer came first.
    CODE_PROBE(slot.log_offset > log_offset, "group.commit_answered_after_a_later_one");
    if (slot.log_offset < log_offset)
      slot = CommittedOffset{
          OffsetValue{c.offset, c.leader_epoch, c.metadata.value_or(""), now_wall}, log_offset};
    ++counters_.offsets_committed;
  }
  return out;
}

std::vector<CommittedOffsetOut> GroupCoordinator::fetch_offsets(
    const std::string& group_id, const std::optional<std::vector<TopicPartition>>& partitions,
    ErrorCode& group_error) {
  std::vector<CommittedOffsetOut> out;
  group_error = check_coordinator(group_id);
  if (group_error != ErrorCode::kNone) return out;
  group_error = read_barrier(partition_for_group(group_id, config_.offsets_topic_partitions));
  CODE_PROBE(group_error != ErrorCode::kNone, "group.read_barrier_refused_a_read");
  if (group_error != ErrorCode::kNone) return out;
  if (Group* pending = group(group_id); pending != nullptr && pending->commits_in_flight > 0) {
    CODE_PROBE(true, "group.offset_fetch_waited_for_commits");
    std::shared_ptr<Group> hold = groups_.at(group_id);
    const TimePoint deadline =
        Scheduler::current().now() +
        clock_.to_scheduler(std::chrono::milliseconds(config_.offsets_commit_timeout_ms));
    (void)wait_until(
        hold->commits_settled, [&] { return hold->commits_in_flight == 0; }, deadline);
    group_error = check_coordinator(group_id);
    if (group_error != ErrorCode::kNone) return out;
  }
  const Group* g = find_group(group_id);
  if (!partitions.has_value()) {
    if (g == nullptr) return out;
    for (const auto& [tp, c] : g->offsets)
      out.push_back({tp, c.value.offset, c.value.leader_epoch, c.value.metadata});
    return out;
  }
  for (const TopicPartition& tp : *partitions) {
    CommittedOffsetOut o{.partition = tp};
    if (g != nullptr) {
      auto it = g->offsets.find(tp);
      if (it != g->offsets.end()) {
        o.offset = it->second.value.offset;
        o.leader_epoch = it->second.value.leader_epoch;
        o.metadata = it->second.value.metadata;
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<GroupOverview> GroupCoordinator::list_groups(ErrorCode& error) const {
  error = ErrorCode::kNone;
  for (const auto& [p, owned] : owned_)
    if (owned.state == PartitionState::kLoading) error = ErrorCode::kCoordinatorLoadInProgress;
  std::vector<GroupOverview> out;
  for (const auto& [id, g] : groups_) {
    if (check_coordinator(id) != ErrorCode::kNone || g->is(GroupState::kDead)) continue;
    out.push_back({id, g->protocol_type.value_or(""), g->state()});
  }
  return out;
}

GroupDescription GroupCoordinator::describe(const std::string& group_id) const {
  GroupDescription d;
  d.group_id = group_id;
  d.error = check_coordinator(group_id);
  const Group* g = d.error == ErrorCode::kNone ? find_group(group_id) : nullptr;
  if (g == nullptr) return d;  // Kafka describes an unknown group as Dead, without an error
  d.state = g->state();
  d.protocol_type = g->protocol_type.value_or("");
  const bool stable = g->is(GroupState::kStable);
  if (stable) d.protocol_name = g->protocol_name.value_or("");
  for (const auto& [id, m] : g->members) {
    GroupDescription::MemberOut out{id, m.group_instance_id, m.client_id, m.client_host, {}, {}};
    if (stable && g->protocol_name.has_value()) {
      if (const std::string* md = m.metadata_for(*g->protocol_name)) out.metadata = *md;
      out.assignment = m.assignment;
    }
    d.members.push_back(std::move(out));
  }
  return d;
}

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  if (group_id.empty()) return ErrorCode::kInvalidGroupId;
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::kNone) return e;
  Group* g = group(group_id);
  if (g == nullptr || g->is(GroupState::kDead)) return ErrorCode::kGroupIdNotFound;
  if (!g->is(GroupState::kEmpty)) return ErrorCode::kNonEmptyGroup;
  std::vector<LogRecord> records;
  for (const auto& [tp, c] : g->offsets) records.push_back(offset_tombstone(group_id, tp));
  records.push_back({encode_key(GroupKey{group_id}), std::nullopt});
  std::shared_ptr<Group> hold = groups_.at(group_id);
  const uint64_t owner = owner_generation(*g);
  int64_t first = -1;
  if (ErrorCode e = write(*g, records, first); e != ErrorCode::kNone) return e;
  if (still_owned(*hold, owner) && hold->is(GroupState::kEmpty)) {
    hold->transition_to(GroupState::kDead, now(), now_ms());
    groups_.erase(group_id);
  }
  return ErrorCode::kNone;
}

std::vector<ErrorCode> GroupCoordinator::delete_offsets(
    const std::string& group_id, const std::vector<TopicPartition>& partitions,
    ErrorCode& group_error) {
  std::vector<ErrorCode> out(partitions.size(), ErrorCode::kNone);
  group_error = group_id.empty() ? ErrorCode::kInvalidGroupId : check_coordinator(group_id);
  if (group_error != ErrorCode::kNone) return out;
  Group* g = group(group_id);
  if (g == nullptr || g->is(GroupState::kDead)) {
    group_error = ErrorCode::kGroupIdNotFound;
    return out;
  }
  // A live consumer group keeps the offsets of the topics it reads (Kafka's rule).
  std::optional<std::set<std::string>> subscribed;
  if (!g->is(GroupState::kEmpty)) subscribed = g->subscribed_topics();
  std::vector<LogRecord> records;
  std::vector<TopicPartition> removed;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (subscribed.has_value() && subscribed->count(partitions[i].topic) > 0) {
      out[i] = ErrorCode::kGroupSubscribedToTopic;
      continue;
    }
    if (g->offsets.count(partitions[i]) == 0) continue;
    records.push_back(offset_tombstone(group_id, partitions[i]));
    removed.push_back(partitions[i]);
  }
  if (records.empty()) return out;
  std::shared_ptr<Group> hold = groups_.at(group_id);
  int64_t first = -1;
  if (ErrorCode e = write(*g, records, first); e != ErrorCode::kNone) {
    group_error = e;
    return out;
  }
  for (const TopicPartition& tp : removed) hold->offsets.erase(tp);
  return out;
}

// Offsets retention (offsets.retention.minutes, Kafka 2.1+): an empty group's offsets expire
// that long after it became empty (a group that never had members: after each commit); a
// stable consumer group's offsets of topics it no longer reads expire after their commit. A
// live group's offsets of the topics it reads never expire. An empty group left without
// offsets is deleted.
void GroupCoordinator::expire_offsets() {
  const int64_t now_wall = now_ms();
  std::vector<std::shared_ptr<Group>> groups;
  for (const auto& [id, g] : groups_)
    if (check_coordinator(id) == ErrorCode::kNone) groups.push_back(g);
  for (const auto& g : groups) {
    std::optional<std::set<std::string>> subscribed;
    if (g->is(GroupState::kStable)) subscribed = g->subscribed_topics();
    if (!g->is(GroupState::kEmpty) && !subscribed.has_value()) continue;
    if (g->writes_in_flight > 0) continue;
    std::vector<LogRecord> records;
    std::vector<TopicPartition> expired;
    for (const auto& [tp, c] : g->offsets) {
      if (subscribed.has_value() && subscribed->count(tp.topic) > 0) continue;
      const bool by_state = g->is(GroupState::kEmpty) && g->protocol_type.has_value();
      const int64_t base = by_state ? g->state_since_ms() : c.value.commit_timestamp_ms;
      if (base + config_.offsets_retention_ms > now_wall) continue;
      records.push_back(offset_tombstone(g->id(), tp));
      expired.push_back(tp);
    }
    const bool delete_group = g->is(GroupState::kEmpty) && expired.size() == g->offsets.size();
    if (delete_group) records.push_back({encode_key(GroupKey{g->id()}), std::nullopt});
    if (records.empty()) continue;
    const uint64_t owner = owner_generation(*g);
    int64_t first = -1;
    if (write(*g, records, first) != ErrorCode::kNone || !still_owned(*g, owner)) continue;
    for (const TopicPartition& tp : expired) g->offsets.erase(tp);
    counters_.offsets_expired += expired.size();
    if (delete_group && g->is(GroupState::kEmpty) && g->offsets.empty()) {
      g->transition_to(GroupState::kDead, now(), now_ms());
      groups_.erase(g->id());
    }
  }
}

}  // namespace weir::broker::group
