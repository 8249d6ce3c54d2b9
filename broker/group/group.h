// One consumer group as its coordinator holds it (Kafka's GroupMetadata): the state of its
// rebalance protocol, its members and what each is waiting for, and its committed offsets.
// Every state change goes through transition_to(), which asserts Kafka's allowed moves, so a
// coordinator bug shows as a failed assertion at the move, not as a group that drifts.
//
//   Empty ---------------> PreparingRebalance <-----------------+
//     ^                      |        ^                          |
//     |   (no member left)   v        | (join, leave, expiry)    |
//     +----------- CompletingRebalance ------------> Stable -----+
//   Dead: deleted, or its offsets partition moved away.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group/offsets_records.h"
#include "broker/kafka/protocol/error_codes.h"
#include "broker/log/log_manager.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir::broker::group {

using log::TopicPartition;

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// Kafka's names ("Empty", "PreparingRebalance", ...), as DescribeGroups and ListGroups show.
std::string_view state_name(GroupState state);
// The state a ListGroups filter names (case-insensitive), nullopt for an unknown name.
std::optional<GroupState> parse_state_name(std::string_view name);

// What a JoinGroup gets back once its rebalance completes (or at once, on an error).
struct JoinResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  struct MemberOut {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string metadata;
  };
  std::vector<MemberOut> members;  // the leader's only
};

struct SyncResult {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

// An answer a parked request waits for; filled once, then `done`.
template <class T>
struct Slot {
  T value;
  bool done = false;
};

struct Member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<std::pair<std::string, std::string>> protocols;  // (name, metadata), preferred first
  std::string assignment;
  std::shared_ptr<Slot<JoinResult>> awaiting_join;
  std::shared_ptr<Slot<SyncResult>> awaiting_sync;
  TimePoint heartbeat_deadline{};
  uint64_t joined_seq = 0;  // order of joins: the first to join leads a new group
  // The client connection it last spoke over; `disconnected` once that connection closed and
  // it has not spoken since (its session then ends sooner, see on_connection_closed).
  std::string connection;
  bool disconnected = false;

  const std::string* metadata_for(std::string_view protocol) const;
};

struct CommittedOffset {
  OffsetValue value;
  int64_t log_offset = -1;  // where the commit is in the offsets partition
};

class Group {
 public:
  Group(std::string id, int32_t offsets_partition, TimePoint now, int64_t now_ms)
      : id_(std::move(id)),
        partition_(offsets_partition),
        state_since_(now),
        state_since_ms_(now_ms) {}

  const std::string& id() const { return id_; }
  int32_t offsets_partition() const { return partition_; }
  GroupState state() const { return state_; }
  bool is(GroupState s) const { return state_ == s; }
  void transition_to(GroupState next, TimePoint now, int64_t now_ms);
  // A group read back from its log starts in the state its record implies (Stable with
  // members, else Empty), without the moves that led there.
  void restore_state(GroupState state, int64_t since_ms);
  int64_t state_since_ms() const { return state_since_ms_; }

  int32_t generation = 0;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::optional<std::string> leader_id;
  std::map<std::string, Member> members;              // by member id
  std::map<std::string, std::string> static_members;  // instance id -> member id
  std::map<std::string, TimePoint> pending_members;   // KIP-394: id handed out
  std::map<TopicPartition, CommittedOffset> offsets;
  TimePoint rebalance_deadline{};
  bool initial_delay = false;  // the first rebalance of an empty group waits for more joins
  TimePoint initial_delay_end_max{};
  uint64_t rebalances = 0;
  int32_t writes_in_flight = 0;  // retention leaves a group alone while it is being written
  // Offset commits accepted but not yet committed to the log: OffsetFetch waits for them, so
  // a member that takes over a partition never starts from an offset about to be replaced.
  int32_t commits_in_flight = 0;
  WaitList commits_settled;
  // Fired whenever a parked JoinGroup or SyncGroup of this group got its answer.
  WaitList answered;

  bool has_member(const std::string& member_id) const { return members.count(member_id) > 0; }
  // Every member has a JoinGroup parked and no KIP-394 member is still on its way.
  bool all_members_joined() const;
  // The longest rebalance timeout of the members: how long a rebalance may wait for joins.
  int32_t rebalance_timeout_ms() const;
  // Can members speaking `protocol_type` with these protocols join this group?
  bool supports_protocols(std::string_view protocol_type,
                          const std::vector<std::pair<std::string, std::string>>& protocols) const;
  // The protocol every member supports that most members prefer (Kafka's vote).
  std::string select_protocol() const;
  // The topics the members subscribe to, for the "consumer" protocol; nullopt if unknown.
  std::optional<std::set<std::string>> subscribed_topics() const;

 private:
  std::string id_;
  int32_t partition_;
  GroupState state_ = GroupState::kEmpty;
  TimePoint state_since_;
  int64_t state_since_ms_;
};

}  // namespace weir::broker::group
