// The consumer-group partition assignors of Kafka's clients, for Weir's own consumer when it
// leads a group: "range" (RangeAssignor), "roundrobin" (RoundRobinAssignor) and
// "cooperative-sticky" (CooperativeStickyAssignor), and the ConsumerProtocol bytes that carry
// a member's subscription in JoinGroup and its assignment in SyncGroup. A group may mix Weir's
// consumer with Kafka's Java client or librdkafka, and whichever member the coordinator picks
// as leader computes everyone's assignment, so the assignors follow Kafka's semantics and the
// codecs Kafka's bytes.
//
// Everything here is a pure function of its arguments: members are put in a defined order
// first, no hash container is iterated for output, and there is no randomness and no clock, so
// a simulated group rebalances the same way for the same seed.
//
// Where Weir differs from Kafka (all of it deterministic where Kafka leaves an order to a
// HashMap):
// - A subscription's topics are a set: a topic listed twice counts once.
// - Members sort by group.instance.id when both have one, members with one before members
//   without, then by member id (Kafka's MemberInfo order; Weir breaks Kafka's ties on equal
//   instance ids by member id). Strings compare bytewise (Java compares UTF-16 units: the same
//   order for ASCII ids, which is what clients generate).
// - cooperative-sticky balances by a stronger rule than Kafka's (see cooperative_sticky_assign)
//   and so may place partitions differently from Kafka's implementation in groups whose members
//   subscribe to different topics; for identical subscriptions the counts are Kafka's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/client/partitioner.h"

namespace weir::broker::client {

inline constexpr std::string_view kRangeAssignorName = "range";
inline constexpr std::string_view kRoundRobinAssignorName = "roundrobin";
inline constexpr std::string_view kCooperativeStickyAssignorName = "cooperative-sticky";

// Kafka's DEFAULT_GENERATION: a member that does not know (or does not say) its generation.
inline constexpr int32_t kUnknownGeneration = -1;

// What an assignor knows of one member of the group: decoded from the member's JoinGroup
// metadata by member_subscription() below, or built directly by tests and tools.
struct MemberSubscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::string> topics;
  // What the member owned before this rebalance (cooperative-sticky only).
  std::vector<TopicPartition> owned_partitions;
  // The generation its owned partitions come from (kUnknownGeneration when unknown).
  int32_t generation = kUnknownGeneration;
};

// The number of partitions of each topic, from the leader's metadata. A subscribed topic that
// is missing, or has a count <= 0, is not assigned (Kafka skips topics without metadata).
using PartitionCounts = std::map<std::string, int32_t, std::less<>>;

// member id -> its partitions, sorted. Every member of the input has an entry, even if empty.
using GroupAssignment = std::map<std::string, std::vector<TopicPartition>, std::less<>>;

// Kafka's RangeAssignor: for each topic on its own, its subscribers in member order; with n
// partitions and m subscribers the first n % m get n / m + 1 consecutive partitions and the
// others n / m. InvalidArgument if two members share a member id.
absl::StatusOr<GroupAssignment> range_assign(const PartitionCounts& partitions,
                                             const std::vector<MemberSubscription>& members);

// Kafka's RoundRobinAssignor: every partition of every subscribed topic, by topic then
// partition, dealt to the members in member order as a circle, skipping members not subscribed
// to the partition's topic. Balanced within one when all subscriptions are identical; with
// different subscriptions, as in Kafka, even members with identical subscriptions may differ by
// more. InvalidArgument if two members share a member id.
absl::StatusOr<GroupAssignment> roundrobin_assign(const PartitionCounts& partitions,
                                                  const std::vector<MemberSubscription>& members);

// The outcome of one cooperative rebalance.
struct CooperativeAssignment {
  // What each member is to own after this round (what goes into its SyncGroup assignment).
  GroupAssignment assignment;
  // member id -> the partitions it reported owning and does not keep, sorted (only members
  // that revoke something appear). A member revokes these before it rejoins.
  GroupAssignment revoked;
  // Partitions this round takes from one member for another: revoked from their owner and
  // assigned to nobody, so that no partition is owned twice while the owner still consumes it.
  // The owners rejoin after revoking, and that follow-up rebalance assigns them. Sorted.
  std::vector<TopicPartition> pending;
};

// Kafka's CooperativeStickyAssignor (KIP-429 on KIP-54). A partition stays with the member
// that owns it (the owner with the highest generation when several members claim it; no owner
// when two members claim it at the same generation) as long as that member still subscribes to
// its topic and the balance allows. Balance: the assignment minimises the sum over members of
// the square of their partition counts. That implies Kafka's rule that no partition can move to
// a member eligible for it that has two fewer partitions, so members with identical
// subscriptions differ by at most one, and with identical subscriptions the counts are exactly
// Kafka's. Among the balanced assignments it takes the one that moves the fewest owned
// partitions (exactly: a min-cost flow, see StickyBalancer in assignors.cc).
//
// Then the cooperative protocol: a partition assigned to a member other than the one that keeps
// it as its owner, while another member reported owning it, is left out (see
// CooperativeAssignment::pending). Kafka leaves it in when its new member itself reported
// owning it (a stale or tied claim); Weir leaves it out then too, so that the new generation
// never has two members told they own one partition while the other has not yet revoked it.
// InvalidArgument if two members share a member id.
//
// Run again with each member owning what this round assigned it (generations advanced), the
// next round assigns every pending partition and moves nothing else: one follow-up rebalance
// completes the assignment. When one member joins a group with identical subscriptions, P
// partitions and M members before, exactly floor(P / (M + 1)) partitions are revoked (the
// newcomer's share); when one leaves, none.
//
// Cost: a greedy balancing step (a few breadth-first searches, O(members x topics) each, per
// partition that has to move) and then Bellman-Ford over members + topics nodes and
// O(members x topics + partitions) arcs, which in practice only confirms the greedy result;
// about 3 ms for 300 members and 2,000 partitions.
absl::StatusOr<CooperativeAssignment> cooperative_sticky_assign(
    const PartitionCounts& partitions, const std::vector<MemberSubscription>& members);

// ---- Kafka's ConsumerProtocol (JSON schemas ConsumerProtocolSubscription and
// ConsumerProtocolAssignment; never flexible). Every version is 0-3. A version above 3 is read
// as 3 and what follows the known fields is ignored, as Kafka does (new versions only append
// fields); at a known version any byte left over is an error. Encoding writes the struct's
// version, clamped to 0-3, and only the fields that version has.

inline constexpr int16_t kConsumerProtocolMaxVersion = 3;

// A topic's partitions, grouped as the wire carries them. The codecs keep this grouping rather
// than a TopicPartition per partition so that a decoded message costs memory in proportion to
// its bytes (a long topic name is held once, not once per partition).
struct TopicPartitions {
  std::string topic;
  std::vector<int32_t> partitions;
  friend bool operator==(const TopicPartitions&, const TopicPartitions&) = default;
};

// Groups partitions by topic, topics in sorted order, each topic's partitions in input order.
std::vector<TopicPartitions> group_by_topic(const std::vector<TopicPartition>& partitions);
// One TopicPartition per partition, in wire order.
std::vector<TopicPartition> flatten(const std::vector<TopicPartitions>& grouped);

// JoinGroup's protocol metadata for the consumer protocol type.
struct ConsumerSubscription {
  int16_t version = 1;
  std::vector<std::string> topics;
  std::optional<std::string> user_data;           // null by default
  std::vector<TopicPartitions> owned_partitions;  // v1+
  int32_t generation_id = kUnknownGeneration;     // v2+
  std::optional<std::string> rack_id;             // v3+, null by default
  friend bool operator==(const ConsumerSubscription&, const ConsumerSubscription&) = default;
};

// SyncGroup's assignment for one member.
struct ConsumerAssignment {
  int16_t version = 0;  // all versions have the same fields
  std::vector<TopicPartitions> partitions;
  std::optional<std::string> user_data;
  friend bool operator==(const ConsumerAssignment&, const ConsumerAssignment&) = default;
};

std::string encode_subscription(const ConsumerSubscription& subscription);
// DataLoss on anything malformed: a negative version, a count or length beyond the bytes left,
// a null where the schema has none, leftover bytes. The decoded version is the one the fields
// were read at (at most 3). Memory used is bounded by a small multiple of the input's size.
absl::StatusOr<ConsumerSubscription> decode_subscription(std::string_view bytes);
std::string encode_assignment(const ConsumerAssignment& assignment);
absl::StatusOr<ConsumerAssignment> decode_assignment(std::string_view bytes);

// CooperativeStickyAssignor's subscription user data: its generation as one big-endian int32
// (Kafka's COOPERATIVE_STICKY_ASSIGNOR_USER_DATA_V0 struct, a single INT32 "generation"). Kafka
// 2.4+ members send it at every subscription version; from v2 the generation also has its own
// field, which takes precedence (see member_subscription).
std::string encode_cooperative_user_data(int32_t generation);
// As Kafka reads it: null is unknown, fewer than 4 bytes unknown, anything after the first 4
// bytes ignored.
int32_t decode_cooperative_user_data(const std::optional<std::string>& user_data);

// The subscription of a member as the leader sees it in the JoinGroup response: the owned
// partitions from the v1+ field, the generation from the v2+ field, else from the user data of
// cooperative-sticky (only meaningful when the group's protocol is cooperative-sticky).
MemberSubscription member_subscription(std::string member_id,
                                       std::optional<std::string> group_instance_id,
                                       const ConsumerSubscription& subscription);

}  // namespace weir::broker::client
