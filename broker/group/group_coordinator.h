// The group coordinator (Kafka's GroupCoordinator and GroupMetadataManager): the rebalance
// protocol of the groups whose `__consumer_offsets` partition this broker leads, and their
// committed offsets. A group lives on partition abs(java_hash(group id)) % partitions, as in
// Kafka, so clients find the same coordinator through FindCoordinator.
//
// Everything a group is lives in that partition's log: offset commits and, after every
// completed rebalance, the group's metadata (members and assignments), in Kafka's record
// formats (offsets_records.h). A request is answered only after its record is committed (the
// partition's high watermark passed it), so an answer never reports state a new leader could
// lose. When this broker becomes leader of a partition it replays the log into memory (the
// partition's groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile); when it stops leading it
// drops the partition's groups, and parked requests answer NOT_COORDINATOR.
//
// The protocol: JoinGroup requests are parked until every member has rejoined (or the
// rebalance timeout removes those who did not), then the generation advances, a protocol is
// chosen and the leader receives the members; SyncGroup requests are parked until the leader's
// assignment is committed. Heartbeats keep members alive within session.timeout.ms. One actor
// (the timer) expires sessions, rebalance timeouts and the initial rebalance delay, and runs
// offsets retention. All of it runs on one thread of actors: a state change between two
// suspensions is atomic.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/group/group.h"
#include "broker/ids.h"
#include "broker/kafka/protocol/error_codes.h"
#include "runtime/actor_collection.h"
#include "runtime/clock.h"
#include "runtime/random.h"
#include "runtime/wait_list.h"

namespace weir::broker::group {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

// Kafka's partition for a group: abs(String.hashCode()) % partitions, hashCode over the
// UTF-16 code units of the id (group ids are UTF-8 on the wire).
int32_t partition_for_group(std::string_view group_id, int32_t partitions);

// One record for the offsets partition: a null value is a tombstone.
struct LogRecord {
  std::string key;
  std::optional<std::string> value;
};

// Where the coordinator's records go and come from: a partition of __consumer_offsets that
// this broker leads (GroupLog over a Partition in the broker; in memory in tests).
class GroupLog {
 public:
  virtual ~GroupLog() = default;
  // Appends `records` as one batch to `partition` while this broker leads it at `epoch`, then
  // waits until the batch is committed. Returns the offset of its first record, or a Kafka
  // error (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, ...).
  virtual absl::StatusOr<int64_t> append(int32_t partition, LeaderEpoch epoch,
                                         const std::vector<LogRecord>& records,
                                         kafka::ErrorCode& error) = 0;
  // Calls fn(offset, key, value) for every record of `partition` from its log start to its log
  // end as this call began (value nullopt for a tombstone).
  virtual absl::Status replay(int32_t partition,
                              const std::function<void(int64_t, std::string_view,
                                                       std::optional<std::string_view>)>& fn) = 0;
};

// Kafka's broker keys for groups (names in broker_config.h).
struct GroupConfig {
  int32_t offsets_topic_partitions = 50;
  int32_t session_timeout_min_ms = 6000;
  int32_t session_timeout_max_ms = 1800000;
  int32_t initial_rebalance_delay_ms = 3000;
  int32_t group_max_size = 2147483647;
  int32_t offset_metadata_max_bytes = 4096;
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offsets_commit_timeout_ms = 5000;
  // A broken rule for the simulation's checkers (weir.bug): group_reuse_generation,
  // group_commit_any_generation.
  std::string bug;
};

struct GroupCounters {
  uint64_t rebalances = 0;
  uint64_t joins = 0;
  uint64_t members_expired = 0;
  uint64_t offsets_committed = 0;
  uint64_t offsets_expired = 0;
  uint64_t partitions_loaded = 0;
  uint64_t load_failures = 0;
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, std::string>> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+ (KIP-394)
  std::string connection;                // the client's address, for on_connection_closed
};

struct SyncRequest {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;                      // v5+
  std::optional<std::string> protocol_name;                      // v5+
  std::vector<std::pair<std::string, std::string>> assignments;  // the leader's
  std::string connection;
};

struct MemberIdentity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct OffsetCommit {
  TopicPartition partition;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct CommittedOffsetOut {
  TopicPartition partition;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
};

struct GroupOverview {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

struct GroupDescription {
  kafka::ErrorCode error = kafka::ErrorCode::kNone;
  std::string group_id;
  GroupState state = GroupState::kDead;
  std::string protocol_type;
  std::string protocol_name;
  struct MemberOut {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;
    std::string assignment;
  };
  std::vector<MemberOut> members;
};

class GroupCoordinator {
 public:
  GroupCoordinator(const GroupConfig& config, GroupLog& log, IClock& clock, IRandom& random);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  void start();
  // Ends the timer and answers parked requests NOT_COORDINATOR.
  void stop();

  // This broker now leads `partition` of __consumer_offsets at `epoch` (loads it), or no longer
  // does (drops its groups). Neither suspends: loading runs as its own actor.
  void on_elected(int32_t partition, LeaderEpoch epoch);
  void on_resigned(int32_t partition);

  // NONE when the group's partition is loaded here, else NOT_COORDINATOR or
  // COORDINATOR_LOAD_IN_PROGRESS (INVALID_GROUP_ID for an empty id where Kafka refuses one).
  kafka::ErrorCode check_coordinator(const std::string& group_id) const;
  // The offsets topic's partition count as the cluster has it (a topic created under another
  // offsets.topic.num.partitions keeps its count, as in Kafka).
  void set_partition_count(int32_t partitions) {
    if (partitions > 0) config_.offsets_topic_partitions = partitions;
  }

  // These suspend (a parked join or sync, a commit's write).
  JoinResult join(const JoinRequest& req);
  SyncResult sync(const SyncRequest& req);
  kafka::ErrorCode heartbeat(const std::string& group_id, const std::string& member_id,
                             const std::optional<std::string>& group_instance_id,
                             int32_t generation, std::string_view connection = {});
  // A client connection closed. Its dynamic members' sessions end a third of their session
  // timeout later (the heartbeat interval Kafka's clients default to) unless they speak again
  // meanwhile, over another connection; a member parked in JoinGroup or SyncGroup included,
  // whose answer can no longer reach it. Kafka waits the whole session (and for a member
  // parked in a rebalance, the whole rebalance timeout): a crashed consumer stalls its group
  // that long.
  void on_connection_closed(std::string_view connection);
  // Per member errors; `group_error` for the whole request.
  std::vector<kafka::ErrorCode> leave(const std::string& group_id,
                                      const std::vector<MemberIdentity>& members,
                                      kafka::ErrorCode& group_error);
  std::vector<kafka::ErrorCode> commit_offsets(const std::string& group_id,
                                               const std::string& member_id,
                                               const std::optional<std::string>& instance_id,
                                               int32_t generation,
                                               const std::vector<OffsetCommit>& offsets);
  // All of the group's offsets when `partitions` is nullopt. Two things Kafka does not do, so
  // that a member given a partition never starts below what was committed: the answer waits
  // for the group's commits in flight (up to the commit timeout), and it is given only after a
  // read barrier proved this broker still leads the group's offsets partition (group_load.cc).
  std::vector<CommittedOffsetOut> fetch_offsets(
      const std::string& group_id, const std::optional<std::vector<TopicPartition>>& partitions,
      kafka::ErrorCode& group_error);
  std::vector<GroupOverview> list_groups(kafka::ErrorCode& error) const;
  GroupDescription describe(const std::string& group_id) const;
  kafka::ErrorCode delete_group(const std::string& group_id);
  std::vector<kafka::ErrorCode> delete_offsets(const std::string& group_id,
                                               const std::vector<TopicPartition>& partitions,
                                               kafka::ErrorCode& group_error);

  const GroupCounters& counters() const { return counters_; }
  const Group* find_group(const std::string& group_id) const;

 private:
  enum class PartitionState { kLoading, kActive };
  struct OwnedPartition {
    LeaderEpoch epoch{0};
    PartitionState state = PartitionState::kLoading;
    uint64_t generation = 0;  // which election this is, for a load that outlives it
  };

  TimePoint now() const;
  int64_t now_ms() const { return clock_.wall_ms(); }
  Group* group(const std::string& group_id);
  Group& get_or_create(const std::string& group_id);
  bool still_owned(const Group& g, uint64_t generation) const;
  uint64_t owner_generation(const Group& g) const;

  JoinResult join_new_member(Group& g, const JoinRequest& req);
  JoinResult join_known_member(Group& g, const JoinRequest& req);
  JoinResult replace_static_member(Group& g, const JoinRequest& req);
  JoinResult add_member_and_rebalance(Group& g, const JoinRequest& req, std::string member_id);
  JoinResult update_member_and_rebalance(Group& g, Member& m, const JoinRequest& req);
  JoinResult await_join(Group& g, std::shared_ptr<Slot<JoinResult>> slot);
  JoinResult current_generation_result(const Group& g, const Member& m) const;
  void prepare_rebalance(Group& g, std::string_view reason);
  void maybe_complete_join(Group& g);
  void complete_join(Group& g);
  void remove_member(Group& g, const std::string& member_id, kafka::ErrorCode answer);
  void reset_assignments_and_answer_syncs(Group& g, kafka::ErrorCode error);
  void touch(Member& m, std::string_view connection = {});
  kafka::ErrorCode validate_member(const Group& g, const std::string& member_id,
                                   const std::optional<std::string>& instance_id) const;

  SyncResult complete_sync_as_leader(Group& g, const SyncRequest& req,
                                     std::shared_ptr<Slot<SyncResult>> slot);
  kafka::ErrorCode persist_group(Group& g);
  // The same from an actor of its own, for a state change made where nothing may suspend.
  void persist_group_async(Group& g);
  GroupValue group_value(const Group& g) const;
  kafka::ErrorCode write(Group& g, const std::vector<LogRecord>& records, int64_t& first_offset);
  // `loading`: the partition is being loaded (the barrier that ends a load), not yet active.
  kafka::ErrorCode append_records(int32_t partition, const std::vector<LogRecord>& records,
                                  int64_t& first_offset, bool loading = false);
  kafka::ErrorCode read_barrier(int32_t partition, bool loading = false);

  void load_partition(int32_t partition, uint64_t generation);
  void apply_record(int32_t partition, int64_t offset, std::string_view key,
                    std::optional<std::string_view> value);
  void drop_partition(int32_t partition);

  void wake_timer() {
    ++timer_changes_;
    timer_wake_.fire_all();
  }
  void run_timer();
  void expire(TimePoint now);
  TimePoint next_deadline() const;
  void expire_offsets();

  GroupConfig config_;
  GroupLog& log_;
  IClock& clock_;
  IRandom& random_;
  std::map<std::string, std::shared_ptr<Group>> groups_;
  std::map<int32_t, OwnedPartition> owned_;
  uint64_t elections_ = 0;
  uint64_t join_seq_ = 0;
  WaitList timer_wake_;
  uint64_t timer_changes_ = 0;
  TimePoint next_retention_{};
  ActorCollection actors_;
  GroupCounters counters_;
  bool retention_running_ = false;
  bool stopping_ = false;
};

}  // namespace weir::broker::group
