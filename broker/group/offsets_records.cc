#include "broker/group/offsets_records.h"

#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::broker::group {
namespace {

constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
constexpr int16_t kOffsetValueVersion = 3;
constexpr int16_t kGroupValueVersion = 3;
// The smallest encoding of a member (empty strings, null instance id, empty bytes).
constexpr size_t kMemberBytesMin = 2 + 2 + 2 + 4 + 4 + 4 + 4;

void write_string(ByteWriter& w, std::string_view s) {
  w.write_i16(static_cast<int16_t>(s.size()));
  w.write_bytes(s);
}

void write_nullable(ByteWriter& w, const std::optional<std::string>& s) {
  if (!s.has_value()) {
    w.write_i16(-1);
    return;
  }
  write_string(w, *s);
}

void write_bytes32(ByteWriter& w, std::string_view s) {
  w.write_i32(static_cast<int32_t>(s.size()));
  w.write_bytes(s);
}

std::optional<std::string> read_nullable(ByteReader& r, std::string_view field) {
  const int16_t n = r.read_i16(field);
  if (!r.ok() || n == -1) return std::nullopt;
  if (!r.check_length(n, field)) return std::nullopt;
  return std::string(r.read_bytes(static_cast<size_t>(n), field));
}

std::string read_string(ByteReader& r, std::string_view field) {
  const int16_t n = r.read_i16(field);
  if (!r.check_length(n, field)) return {};
  return std::string(r.read_bytes(static_cast<size_t>(n), field));
}

std::string read_bytes32(ByteReader& r, std::string_view field) {
  const int32_t n = r.read_i32(field);
  if (n == -1) return {};  // null bytes read as empty, as Kafka's consumer protocol treats them
  if (!r.check_length(n, field)) return {};
  return std::string(r.read_bytes(static_cast<size_t>(n), field));
}

MemberValue read_member(ByteReader& r, int16_t version) {
  MemberValue m;
  m.member_id = read_string(r, "member_id");
  if (version >= 3) m.group_instance_id = read_nullable(r, "group_instance_id");
  m.client_id = read_string(r, "client_id");
  m.client_host = read_string(r, "client_host");
  if (version >= 1) m.rebalance_timeout_ms = r.read_i32("rebalance_timeout");
  m.session_timeout_ms = r.read_i32("session_timeout");
  if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
  m.subscription = read_bytes32(r, "subscription");
  m.assignment = read_bytes32(r, "assignment");
  return m;
}

}  // namespace

std::string encode_key(const RecordKey& key) {
  std::string out;
  ByteWriter w(out);
  if (const auto* o = std::get_if<OffsetKey>(&key)) {
    w.write_i16(kOffsetKeyVersion);
    write_string(w, o->group);
    write_string(w, o->topic);
    w.write_i32(o->partition);
  } else {
    w.write_i16(kGroupKeyVersion);
    write_string(w, std::get<GroupKey>(key).group);
  }
  return out;
}

std::string encode_offset_value(const OffsetValue& value) {
  std::string out;
  ByteWriter w(out);
  w.write_i16(kOffsetValueVersion);
  w.write_i64(value.offset);
  w.write_i32(value.leader_epoch);
  write_string(w, value.metadata);
  w.write_i64(value.commit_timestamp_ms);
  return out;
}

std::string encode_group_value(const GroupValue& value) {
  std::string out;
  ByteWriter w(out);
  w.write_i16(kGroupValueVersion);
  write_string(w, value.protocol_type);
  w.write_i32(value.generation);
  write_nullable(w, value.protocol);
  write_nullable(w, value.leader);
  w.write_i64(value.current_state_timestamp_ms);
  w.write_i32(static_cast<int32_t>(value.members.size()));
  for (const MemberValue& m : value.members) {
    write_string(w, m.member_id);
    write_nullable(w, m.group_instance_id);
    write_string(w, m.client_id);
    write_string(w, m.client_host);
    w.write_i32(m.rebalance_timeout_ms);
    w.write_i32(m.session_timeout_ms);
    write_bytes32(w, m.subscription);
    write_bytes32(w, m.assignment);
  }
  return out;
}

absl::StatusOr<RecordKey> decode_key(std::string_view bytes) {
  ByteReader r(bytes, "__consumer_offsets key");
  const int16_t version = r.read_i16("version");
  RecordKey key;
  if (r.ok() && (version == 0 || version == 1)) {
    OffsetKey o;
    o.group = read_string(r, "group");
    o.topic = read_string(r, "topic");
    o.partition = r.read_i32("partition");
    key = std::move(o);
  } else if (r.ok() && version == 2) {
    key = GroupKey{read_string(r, "group")};
  } else if (r.ok()) {
    r.fail("version", "unknown key version");
  }
  if (auto s = r.finish("__consumer_offsets key"); !s.ok()) return s;
  return key;
}

absl::StatusOr<OffsetValue> decode_offset_value(std::string_view bytes) {
  ByteReader r(bytes, "offset commit value");
  const int16_t version = r.read_i16("version");
  if (r.ok() && (version < 0 || version > 3)) r.fail("version", "unknown value version");
  OffsetValue v;
  v.offset = r.read_i64("offset");
  if (version >= 3) v.leader_epoch = r.read_i32("leader_epoch");
  v.metadata = read_string(r, "metadata");
  v.commit_timestamp_ms = r.read_i64("commit_timestamp");
  if (version == 1) (void)r.read_i64("expire_timestamp");
  if (auto s = r.finish("offset commit value"); !s.ok()) return s;
  return v;
}

absl::StatusOr<GroupValue> decode_group_value(std::string_view bytes) {
  ByteReader r(bytes, "group metadata value");
  const int16_t version = r.read_i16("version");
  if (r.ok() && (version < 0 || version > 3)) r.fail("version", "unknown value version");
  GroupValue v;
  v.protocol_type = read_string(r, "protocol_type");
  v.generation = r.read_i32("generation");
  v.protocol = read_nullable(r, "protocol");
  v.leader = read_nullable(r, "leader");
  if (version >= 2) v.current_state_timestamp_ms = r.read_i64("current_state_timestamp");
  const int32_t count = r.read_i32("members");
  if (r.ok() && r.check_count(count, kMemberBytesMin, "members")) {
    v.members.reserve(static_cast<size_t>(count));
    for (int32_t i = 0; i < count && r.ok(); ++i) v.members.push_back(read_member(r, version));
  }
  if (auto s = r.finish("group metadata value"); !s.ok()) return s;
  return v;
}

}  // namespace weir::broker::group
