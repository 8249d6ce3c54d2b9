// The records of Kafka's internal `__consumer_offsets` topic, in Kafka's own formats, so that a
// group coordinator's log reads as Kafka's does to an operator's tools (kafka-console-consumer
// with the offsets formatter) and so that nothing about a group lives anywhere but that log.
//
// Keys: version 0 or 1 is an offset commit (group, topic, partition); version 2 is a group's
// metadata (group). Values: offset commit v0-v3 (Weir writes v3: offset, leader epoch, metadata,
// commit timestamp) and group metadata v0-v3 (Weir writes v3). A null value is a tombstone: the
// offset or the group is deleted. Decoders refuse what they cannot read with a status, checking
// every length and count against the bytes left.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::broker::group {

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const OffsetKey&, const OffsetKey&) = default;
};

struct GroupKey {
  std::string group;
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};

using RecordKey = std::variant<OffsetKey, GroupKey>;

struct OffsetValue {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = 0;
  friend bool operator==(const OffsetValue&, const OffsetValue&) = default;
};

// One member as a group's metadata record stores it.
struct MemberValue {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string subscription;  // the chosen protocol's metadata
  std::string assignment;
  friend bool operator==(const MemberValue&, const MemberValue&) = default;
};

struct GroupValue {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp_ms = -1;
  std::vector<MemberValue> members;
  friend bool operator==(const GroupValue&, const GroupValue&) = default;
};

std::string encode_key(const RecordKey& key);
std::string encode_offset_value(const OffsetValue& value);
std::string encode_group_value(const GroupValue& value);

absl::StatusOr<RecordKey> decode_key(std::string_view bytes);
absl::StatusOr<OffsetValue> decode_offset_value(std::string_view bytes);
absl::StatusOr<GroupValue> decode_group_value(std::string_view bytes);

}  // namespace weir::broker::group
