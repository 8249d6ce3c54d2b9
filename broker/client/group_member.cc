#include "broker/client/group_member.h"

#include <algorithm>

#include "buggify/code_probe.h"
#include "runtime/assert.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::client {

using kafka::ErrorCode;

namespace {

// The versions this member speaks (all served by Kafka 2.3+): static membership and KIP-394.
constexpr int16_t kFindCoordinatorVersion = 3;
constexpr int16_t kJoinGroupVersion = 5;
constexpr int16_t kSyncGroupVersion = 3;
constexpr int16_t kHeartbeatVersion = 3;
constexpr int16_t kLeaveGroupVersion = 3;
constexpr int16_t kOffsetCommitVersion = 7;
constexpr int16_t kOffsetFetchVersion = 7;

bool coordinator_moved(ErrorCode e) {
  return e == ErrorCode::kNotCoordinator || e == ErrorCode::kCoordinatorNotAvailable;
}

}  // namespace

GroupMember::GroupMember(std::shared_ptr<ClientCluster> cluster, GroupMemberConfig config)
    : cluster_(std::move(cluster)), config_(std::move(config)) {
  for (const std::string& t : config_.topics) cluster_->add_topic(t);
  last_poll_ = cluster_->clock().now();
}

GroupMember::~GroupMember() {
  stopped_ = true;
  heartbeats_.reset();
}

void GroupMember::note_poll() {
  last_poll_ = cluster_->clock().now();
}

void GroupMember::coordinator_failed() {
  coordinator_node_.reset();
  coordinator_conn_.reset();
}

absl::StatusOr<std::shared_ptr<KafkaConnection>> GroupMember::coordinator(TimePoint deadline) {
  if (coordinator_conn_ != nullptr && !coordinator_conn_->closed()) return coordinator_conn_;
  if (!coordinator_node_.has_value()) {
    // Any broker answers FindCoordinator: a leader of a subscribed topic is one we know.
    std::optional<int32_t> any;
    for (const std::string& t : config_.topics) {
      const TopicMetadata* m = cluster_->topic(t);
      if (m != nullptr && !m->available.empty())
        any = m->partitions[static_cast<size_t>(m->available.front())].leader;
    }
    if (!any.has_value()) {
      cluster_->request_refresh();
      (void)cluster_->await_refresh(deadline);
      return absl::UnavailableError("no broker known yet");
    }
    auto conn = cluster_->connection(*any, ConnectionPurpose::kControl);
    if (!conn.ok()) return conn.status();
    kafka::FindCoordinatorRequest req;
    req.key = config_.group_id;
    auto rsp = call_with_deadline<kafka::FindCoordinatorResponse>(
        *conn, req, std::chrono::milliseconds(config_.request_timeout_ms), kFindCoordinatorVersion);
    if (!rsp.ok()) {
      cluster_->connection_failed(*any, *conn);
      return rsp.status();
    }
    if (rsp->body.error_code != 0)
      return absl::UnavailableError(
          std::string(kafka::error_name(static_cast<ErrorCode>(rsp->body.error_code))));
    coordinator_node_ = rsp->body.node_id;
  }
  // The coordinator's own connection: a JoinGroup parked there must not hold up fetches.
  auto conn = cluster_->connection(*coordinator_node_, ConnectionPurpose::kControl);
  if (!conn.ok()) {
    coordinator_failed();
    return conn.status();
  }
  coordinator_conn_ = *conn;
  return coordinator_conn_;
}

absl::StatusOr<GroupGeneration> GroupMember::ensure_active(TimePoint deadline) {
  WEIR_ASSERT_MSG(!stopped_, "ensure_active after leave or abandon");
  while (!active()) {
    if (Scheduler::current().now() >= deadline)
      return absl::DeadlineExceededError("the group did not take this member in time");
    const ErrorCode e = join_and_sync(deadline);
    if (e == ErrorCode::kNone) break;
    if (e != ErrorCode::kMemberIdRequired)
      delay(std::chrono::milliseconds(config_.retry_backoff_ms));
  }
  note_poll();
  if (!heartbeats_.valid()) heartbeats_ = spawn("group-heartbeats", [this] { run_heartbeats(); });
  return current_;
}

ErrorCode GroupMember::join_and_sync(TimePoint deadline) {
  auto conn = coordinator(deadline);
  if (!conn.ok()) return ErrorCode::kCoordinatorNotAvailable;
  active_ = false;
  kafka::JoinGroupRequest join;
  join.group_id = config_.group_id;
  join.session_timeout_ms = config_.session_timeout_ms;
  join.rebalance_timeout_ms = config_.rebalance_timeout_ms;
  join.member_id = member_id_;
  join.group_instance_id = config_.group_instance_id;
  join.protocol_type = "consumer";
  ConsumerSubscription sub{.version = 0, .topics = config_.topics};
  if (cooperative()) {
    // KIP-429: what this member still owns, and from which generation, so that the leader
    // keeps it here and revokes only what must move.
    sub.version = 1;
    sub.owned_partitions = group_by_topic(current_.assignment);
    sub.user_data = encode_cooperative_user_data(current_.generation);
  }
  join.protocols.push_back({config_.assignor, encode_subscription(sub)});
  const auto join_timeout =
      std::chrono::milliseconds(config_.rebalance_timeout_ms + config_.request_timeout_ms);
  auto joined =
      call_with_deadline<kafka::JoinGroupResponse>(*conn, join, join_timeout, kJoinGroupVersion);
  if (!joined.ok()) {
    coordinator_failed();
    return ErrorCode::kCoordinatorNotAvailable;
  }
  const auto& j = joined->body;
  const auto je = static_cast<ErrorCode>(j.error_code);
  if (je == ErrorCode::kMemberIdRequired) member_id_ = j.member_id;
  if (je != ErrorCode::kNone) {
    handle_group_error(je);
    return je;
  }
  member_id_ = j.member_id;
  kafka::SyncGroupRequest sync;
  sync.group_id = config_.group_id;
  sync.generation_id = j.generation_id;
  sync.member_id = member_id_;
  sync.group_instance_id = config_.group_instance_id;
  if (j.leader == j.member_id) {
    auto assignments = assign(j);
    // Without an assignment it rejoins: the group, still completing, answers the same join.
    if (!assignments.ok()) return ErrorCode::kUnknownServerError;
    for (auto& [id, bytes] : *assignments) sync.assignments.push_back({id, bytes});
  }
  auto synced = call_with_deadline<kafka::SyncGroupResponse>(
      *conn, sync, std::chrono::milliseconds(config_.request_timeout_ms), kSyncGroupVersion);
  if (!synced.ok()) {
    coordinator_failed();
    return ErrorCode::kCoordinatorNotAvailable;
  }
  const auto se = static_cast<ErrorCode>(synced->body.error_code);
  if (se != ErrorCode::kNone) {
    handle_group_error(se);
    return se;
  }
  auto assignment = decode_assignment(synced->body.assignment);
  std::vector<TopicPartition> next =
      assignment.ok() ? flatten(assignment->partitions) : std::vector<TopicPartition>{};
  std::sort(next.begin(), next.end());
  revoked_.clear();
  for (const TopicPartition& tp : current_.assignment)
    if (!std::binary_search(next.begin(), next.end(), tp)) revoked_.push_back(tp);
  current_ = GroupGeneration{j.generation_id, member_id_, j.leader == j.member_id, std::move(next)};
  active_ = true;
  // Cooperative: a member that gave partitions up rejoins at once, so that the round that
  // left them unassigned is followed by the one that assigns them.
  needs_rejoin_ = cooperative() && !revoked_.empty();
  ++rebalances_;
  return ErrorCode::kNone;
}

// The partition counts of `topics`, from metadata; a topic without them yet is asked for again
// (within the request timeout): a leader that assigned from missing metadata would leave its
// partitions unowned for the whole generation.
absl::StatusOr<PartitionCounts> GroupMember::partition_counts(const std::set<std::string>& topics) {
  const TimePoint deadline =
      cluster_->deadline_after(std::chrono::milliseconds(config_.request_timeout_ms));
  while (true) {
    PartitionCounts counts;
    bool complete = true;
    for (const std::string& t : topics) {
      const TopicMetadata* tm = cluster_->topic(t);
      if (tm == nullptr || tm->partitions.empty()) {
        complete = false;
        cluster_->add_topic(t);
        continue;
      }
      counts[t] = static_cast<int32_t>(tm->partitions.size());
    }
    if (complete) return counts;
    CODE_PROBE(true, "group_member.leader_waited_for_topic_metadata");
    if (Scheduler::current().now() >= deadline)
      return absl::UnavailableError("no metadata for a subscribed topic");
    cluster_->request_refresh();
    (void)cluster_->await_refresh(deadline);
  }
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GroupMember::assign(
    const kafka::JoinGroupResponse& join) {
  std::vector<MemberSubscription> members;
  std::set<std::string> topics;
  for (const auto& m : join.members) {
    auto sub = decode_subscription(m.metadata);
    if (!sub.ok()) return sub.status();
    topics.insert(sub->topics.begin(), sub->topics.end());
    members.push_back(member_subscription(m.member_id, m.group_instance_id, *sub));
  }
  auto counts = partition_counts(topics);
  if (!counts.ok()) return counts.status();
  absl::StatusOr<GroupAssignment> result = absl::InternalError("no assignor");
  if (cooperative()) {
    auto c = cooperative_sticky_assign(*counts, members);
    if (!c.ok()) return c.status();
    result = std::move(c->assignment);
  } else if (config_.assignor == kRoundRobinAssignorName) {
    result = roundrobin_assign(*counts, members);
  } else {
    result = range_assign(*counts, members);
  }
  if (!result.ok()) return result.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, partitions] : *result)
    out.emplace_back(
        id, encode_assignment(ConsumerAssignment{.partitions = group_by_topic(partitions)}));
  return out;
}

void GroupMember::handle_group_error(ErrorCode e) {
  if (coordinator_moved(e)) coordinator_failed();
  if (e == ErrorCode::kUnknownMemberId || e == ErrorCode::kFencedInstanceId) member_id_.clear();
  if (e == ErrorCode::kUnknownMemberId || e == ErrorCode::kFencedInstanceId ||
      e == ErrorCode::kIllegalGeneration) {
    // Out of the group: whatever it owned is lost, not kept (Kafka's onPartitionsLost).
    current_.assignment.clear();
    current_.generation = -1;
  }
  if (e == ErrorCode::kRebalanceInProgress || e == ErrorCode::kIllegalGeneration ||
      e == ErrorCode::kUnknownMemberId || e == ErrorCode::kFencedInstanceId) {
    needs_rejoin_ = true;
  }
}

void GroupMember::run_heartbeats() {
  while (!stopped_) {
    delay(std::chrono::milliseconds(config_.heartbeat_interval_ms));
    if (stopped_) break;
    if (!active_ || needs_rejoin_) continue;
    const Duration idle = cluster_->clock().now() - last_poll_;
    if (idle > std::chrono::milliseconds(config_.rebalance_timeout_ms)) {
      // max.poll.interval.ms passed without a poll: leave, so the others get the partitions.
      TraceEvent(Severity::kInfo, "GroupMemberPollTimeout").detail("Member", member_id_);
      leave();
      return;
    }
    auto conn = coordinator(Scheduler::current().now() +
                            std::chrono::milliseconds(config_.request_timeout_ms));
    if (!conn.ok()) continue;
    kafka::HeartbeatRequest req;
    req.group_id = config_.group_id;
    req.generation_id = current_.generation;
    req.member_id = member_id_;
    req.group_instance_id = config_.group_instance_id;
    auto rsp = call_with_deadline<kafka::HeartbeatResponse>(
        *conn, req, std::chrono::milliseconds(config_.request_timeout_ms), kHeartbeatVersion);
    if (!rsp.ok()) {
      coordinator_failed();
      continue;
    }
    handle_group_error(static_cast<ErrorCode>(rsp->body.error_code));
  }
}

absl::StatusOr<std::map<TopicPartition, ErrorCode>> GroupMember::commit(
    const std::map<TopicPartition, int64_t>& offsets) {
  // Generation -1 is how a consumer without group management commits; a member that lost its
  // generation must not fall back to it (an empty group would take its stale offsets).
  if (current_.generation < 0 || member_id_.empty()) {
    CODE_PROBE(true, "group_member.commit_without_a_generation_refused");
    return absl::FailedPreconditionError("not a member of a generation of the group");
  }
  auto conn = coordinator(Scheduler::current().now() +
                          std::chrono::milliseconds(config_.request_timeout_ms));
  if (!conn.ok()) return conn.status();
  kafka::OffsetCommitRequest req;
  req.group_id = config_.group_id;
  req.generation_id_or_member_epoch = current_.generation;
  req.member_id = member_id_;
  req.group_instance_id = config_.group_instance_id;
  for (const auto& [tp, offset] : offsets) {
    if (req.topics.empty() || req.topics.back().name != tp.topic)
      req.topics.emplace_back().name = tp.topic;
    req.topics.back().partitions.push_back(
        {.partition_index = tp.partition, .committed_offset = offset});
  }
  auto rsp = call_with_deadline<kafka::OffsetCommitResponse>(
      *conn, req, std::chrono::milliseconds(config_.request_timeout_ms), kOffsetCommitVersion);
  if (!rsp.ok()) {
    coordinator_failed();
    return rsp.status();
  }
  std::map<TopicPartition, ErrorCode> out;
  for (const auto& t : rsp->body.topics) {
    for (const auto& p : t.partitions) {
      const auto e = static_cast<ErrorCode>(p.error_code);
      out[{t.name, p.partition_index}] = e;
      handle_group_error(e);
    }
  }
  return out;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> GroupMember::committed(
    const std::vector<TopicPartition>& partitions) {
  auto conn = coordinator(Scheduler::current().now() +
                          std::chrono::milliseconds(config_.request_timeout_ms));
  if (!conn.ok()) return conn.status();
  kafka::OffsetFetchRequest req;
  req.group_id = config_.group_id;
  req.topics.emplace();
  for (const auto& g : group_by_topic(partitions))
    req.topics->push_back({.name = g.topic, .partition_indexes = g.partitions});
  auto rsp = call_with_deadline<kafka::OffsetFetchResponse>(
      *conn, req, std::chrono::milliseconds(config_.request_timeout_ms), kOffsetFetchVersion);
  if (!rsp.ok()) {
    coordinator_failed();
    return rsp.status();
  }
  if (rsp->body.error_code != 0) {
    handle_group_error(static_cast<ErrorCode>(rsp->body.error_code));
    return absl::UnavailableError(
        std::string(kafka::error_name(static_cast<ErrorCode>(rsp->body.error_code))));
  }
  std::map<TopicPartition, int64_t> out;
  for (const auto& t : rsp->body.topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code != 0)
        return absl::UnavailableError(
            std::string(kafka::error_name(static_cast<ErrorCode>(p.error_code))));
      out[{t.name, p.partition_index}] = p.committed_offset;
    }
  }
  return out;
}

void GroupMember::leave() {
  if (stopped_) return;
  stopped_ = true;
  active_ = false;
  needs_rejoin_ = true;
  if (member_id_.empty()) return;
  auto conn = coordinator(Scheduler::current().now() +
                          std::chrono::milliseconds(config_.request_timeout_ms));
  if (!conn.ok()) return;
  kafka::LeaveGroupRequest req;
  req.group_id = config_.group_id;
  req.members.push_back({member_id_, config_.group_instance_id});
  (void)call_with_deadline<kafka::LeaveGroupResponse>(
      *conn, req, std::chrono::milliseconds(config_.request_timeout_ms), kLeaveGroupVersion);
}

void GroupMember::abandon() {
  stopped_ = true;
  active_ = false;
  needs_rejoin_ = true;
}

}  // namespace weir::broker::client
