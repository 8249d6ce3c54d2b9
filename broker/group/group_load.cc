// The coordinator's log: what it writes to its __consumer_offsets partitions, and how it reads a
// partition back when it becomes that partition's leader.
#include <map>

#include "broker/group/group_coordinator.h"
#include "buggify/code_probe.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::broker::group {

using kafka::ErrorCode;

namespace {

// Kafka's mapping from an append's error to what a group client is told.
ErrorCode coordinator_error(ErrorCode append_error) {
  switch (append_error) {
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
      return ErrorCode::kCoordinatorNotAvailable;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
      return ErrorCode::kNotCoordinator;
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kInvalidFetchSize:
      return ErrorCode::kInvalidCommitOffsetSize;
    default:
      return append_error;
  }
}

// A partition's records as replay leaves them: the last value of every key.
struct Replayed {
  std::map<std::string, std::pair<GroupValue, int64_t>> groups;
  std::map<std::string, std::map<TopicPartition, CommittedOffset>> offsets;
  uint64_t bad_records = 0;
};

void replay_record(Replayed& out, int64_t offset, std::string_view key_bytes,
                   std::optional<std::string_view> value) {
  auto key = decode_key(key_bytes);
  if (!key.ok()) {
    ++out.bad_records;
    return;
  }
  if (const auto* k = std::get_if<OffsetKey>(&*key)) {
    const TopicPartition tp{k->topic, k->partition};
    if (!value.has_value()) {
      out.offsets[k->group].erase(tp);
      return;
    }
    auto v = decode_offset_value(*value);
    if (!v.ok()) {
      ++out.bad_records;
      return;
    }
    out.offsets[k->group][tp] = CommittedOffset{*std::move(v), offset};
    return;
  }
  const std::string& group = std::get<GroupKey>(*key).group;
  if (!value.has_value()) {
    out.groups.erase(group);
    return;
  }
  auto v = decode_group_value(*value);
  if (!v.ok()) {
    ++out.bad_records;
    return;
  }
  out.groups[group] = {*std::move(v), offset};
}

}  // namespace

GroupValue GroupCoordinator::group_value(const Group& g) const {
  GroupValue v;
  v.protocol_type = g.protocol_type.value_or("");
  v.generation = g.generation;
  v.protocol = g.protocol_name;
  v.leader = g.leader_id;
  v.current_state_timestamp_ms = g.state_since_ms();
  for (const auto& [id, m] : g.members) {
    const std::string* md = g.protocol_name ? m.metadata_for(*g.protocol_name) : nullptr;
    v.members.push_back(MemberValue{id, m.group_instance_id, m.client_id, m.client_host,
                                    m.rebalance_timeout_ms, m.session_timeout_ms,
                                    md != nullptr ? *md : std::string(), m.assignment});
  }
  return v;
}

ErrorCode GroupCoordinator::write(Group& g, const std::vector<LogRecord>& records,
                                  int64_t& first_offset) {
  std::shared_ptr<Group> hold = groups_.at(g.id());
  ++hold->writes_in_flight;
  const ErrorCode e = append_records(g.offsets_partition(), records, first_offset);
  --hold->writes_in_flight;
  return e;
}

ErrorCode GroupCoordinator::append_records(int32_t partition, const std::vector<LogRecord>& records,
                                           int64_t& first_offset, bool loading) {
  auto it = owned_.find(partition);
  const PartitionState wanted = loading ? PartitionState::kLoading : PartitionState::kActive;
  if (stopping_ || it == owned_.end() || it->second.state != wanted)
    return ErrorCode::kNotCoordinator;
  ErrorCode error = ErrorCode::kNone;
  auto appended = log_.append(partition, it->second.epoch, records, error);
  if (appended.ok()) {
    first_offset = *appended;
    return ErrorCode::kNone;
  }
  if (error == ErrorCode::kNone) error = ErrorCode::kUnknownServerError;
  TraceEvent(Severity::kWarn, "GroupWriteFailed")
      .detail("Partition", partition)
      .detail("Error", kafka::error_name(error))
      .detail("Status", appended.status().ToString());
  return coordinator_error(error);
}

// A read answered from memory could come from a coordinator that has been replaced without
// hearing of it yet (a paused or cut-off leader of the offsets partition): a consumer would
// then start from offsets older than the new coordinator's. So a read first commits a record
// here (the tombstone of the empty group id, which no group can have): it commits only while
// min.insync replicas still follow this leader, and once it has, no other leader can have
// committed anything, so the memory it is read from is the latest (Raft's read barrier).
ErrorCode GroupCoordinator::read_barrier(int32_t partition, bool loading) {
  const std::vector<LogRecord> barrier{{encode_key(GroupKey{""}), std::nullopt}};
  int64_t offset = -1;
  return append_records(partition, barrier, offset, loading);
}

ErrorCode GroupCoordinator::persist_group(Group& g) {
  const std::vector<LogRecord> records{
      {encode_key(GroupKey{g.id()}), encode_group_value(group_value(g))}};
  int64_t offset = -1;
  return write(g, records, offset);
}

void GroupCoordinator::persist_group_async(Group& g) {
  std::shared_ptr<Group> hold = groups_.at(g.id());
  actors_.add(spawn("group-persist", [this, hold] { (void)persist_group(*hold); }));
}

void GroupCoordinator::on_elected(int32_t partition, LeaderEpoch epoch) {
  auto it = owned_.find(partition);
  if (it != owned_.end() && it->second.epoch == epoch) return;
  if (it != owned_.end()) drop_partition(partition);
  const uint64_t generation = ++elections_;
  owned_[partition] = OwnedPartition{epoch, PartitionState::kLoading, generation};
  TraceEvent(Severity::kInfo, "GroupPartitionLoading")
      .detail("Partition", partition)
      .detail("LeaderEpoch", epoch.value());
  actors_.add(spawn("group-load",
                    [this, partition, generation] { load_partition(partition, generation); }));
}

void GroupCoordinator::on_resigned(int32_t partition) {
  if (owned_.count(partition) == 0) return;
  drop_partition(partition);
}

void GroupCoordinator::drop_partition(int32_t partition) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    if (g.offsets_partition() != partition) {
      ++it;
      continue;
    }
    for (auto& [id, m] : g.members) {
      if (m.awaiting_join != nullptr) {
        m.awaiting_join->value.error = ErrorCode::kNotCoordinator;
        m.awaiting_join->value.member_id = id;
        m.awaiting_join->done = true;
      }
      if (m.awaiting_sync != nullptr) {
        m.awaiting_sync->value.error = ErrorCode::kNotCoordinator;
        m.awaiting_sync->done = true;
      }
    }
    g.answered.fire_all();
    it = groups_.erase(it);
  }
  owned_.erase(partition);
  TraceEvent(Severity::kInfo, "GroupPartitionUnloaded").detail("Partition", partition);
}

void GroupCoordinator::load_partition(int32_t partition, uint64_t generation) {
  auto current = [&] {
    auto it = owned_.find(partition);
    return !stopping_ && it != owned_.end() && it->second.generation == generation;
  };
  Replayed replayed;
  while (current()) {
    replayed = Replayed{};
    absl::Status s = log_.replay(
        partition, [&](int64_t offset, std::string_view key, std::optional<std::string_view> v) {
          replay_record(replayed, offset, key, v);
        });
    if (s.ok()) break;
    ++counters_.load_failures;
    TraceEvent(Severity::kWarn, "GroupPartitionLoadFailed")
        .detail("Partition", partition)
        .detail("Error", s.ToString());
    delay(std::chrono::seconds(1));
  }
  if (!current()) return;
  // What was replayed may be the uncommitted tail of this leader's log (appended by an earlier
  // term of its own that lost its followers): serving it now would hand out state a replacement
  // leader may never have (GroupChurn seed 1144: an assignment from an uncommitted group record
  // given again as Stable). A leader keeps its log, so the tail commits once followers catch up:
  // a barrier committed after it proves it did.
  // Backing off to 800 ms: below min.insync.replicas the barrier fails until replicas return,
  // and fifty partitions retrying every 100 ms filled the trace with warnings (2,100 in 4 s
  // while a cluster shut down) for nothing.
  auto backoff = std::chrono::milliseconds(100);
  while (current() && read_barrier(partition, /*loading=*/true) != ErrorCode::kNone) {
    CODE_PROBE(true, "group.load_waited_for_its_barrier");
    delay(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(800));
  }
  if (!current()) return;
  for (auto& [id, offsets] : replayed.offsets) {
    Group& g = get_or_create(id);
    g.offsets = std::move(offsets);
  }
  for (auto& [id, entry] : replayed.groups) {
    Group& g = get_or_create(id);
    const GroupValue& v = entry.first;
    g.generation = v.generation;
    if (!v.protocol_type.empty()) g.protocol_type = v.protocol_type;
    g.protocol_name = v.protocol;
    g.leader_id = v.leader;
    for (const MemberValue& mv : v.members) {
      Member m{.member_id = mv.member_id,
               .group_instance_id = mv.group_instance_id,
               .client_id = mv.client_id,
               .client_host = mv.client_host,
               .session_timeout_ms = mv.session_timeout_ms,
               .rebalance_timeout_ms = mv.rebalance_timeout_ms};
      if (v.protocol.has_value()) m.protocols.push_back({*v.protocol, mv.subscription});
      m.assignment = mv.assignment;
      m.heartbeat_deadline = now() + std::chrono::milliseconds(mv.session_timeout_ms);
      if (m.group_instance_id.has_value()) g.static_members[*m.group_instance_id] = m.member_id;
      g.members.emplace(m.member_id, std::move(m));
    }
    g.restore_state(g.members.empty() ? GroupState::kEmpty : GroupState::kStable,
                    v.current_state_timestamp_ms);
  }
  owned_.at(partition).state = PartitionState::kActive;
  ++counters_.partitions_loaded;
  TraceEvent(Severity::kInfo, "GroupPartitionLoaded")
      .detail("Partition", partition)
      .detail("Groups", replayed.groups.size())
      .detail("OffsetGroups", replayed.offsets.size())
      .detail("BadRecords", replayed.bad_records);
  wake_timer();
}

}  // namespace weir::broker::group
