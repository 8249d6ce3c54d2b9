// The data tree's vocabulary: error codes, permission bits, ids and ACLs, Stat, create modes and
// watch event types. These mirror ZooKeeper's wire values one for one (see
// ../shared/reference/zookeeper/wire-constants.md) so converting to and from the jute codec's
// types is a cast; the tree defines its own copies only so that it does not depend on the codec.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace weir::coord {

// ZooKeeper's KeeperException codes: the outcome of every operation, identical on every server
// because it is computed while applying the committed transaction.
enum class ErrorCode : int32_t {
  kOk = 0,
  kSystemError = -1,
  kRuntimeInconsistency = -2,
  kDataInconsistency = -3,
  kConnectionLoss = -4,
  kMarshallingError = -5,
  kUnimplemented = -6,
  kOperationTimeout = -7,
  kBadArguments = -8,
  kUnknownSession = -12,
  kNewConfigNoQuorum = -13,
  kReconfigInProgress = -14,
  kAPIError = -100,
  kNoNode = -101,
  kNoAuth = -102,
  kBadVersion = -103,
  kNoChildrenForEphemerals = -108,
  kNodeExists = -110,
  kNotEmpty = -111,
  kSessionExpired = -112,
  kInvalidCallback = -113,
  kInvalidACL = -114,
  kAuthFailed = -115,
  kSessionMoved = -118,
  kNotReadOnly = -119,
  kEphemeralOnLocalSession = -120,
  kNoWatcher = -121,
  kRequestTimeout = -122,
  kReconfigDisabled = -123,
  kSessionClosedRequireSaslAuth = -124,
  kQuotaExceeded = -125,
  kThrottledOp = -127,
};

std::string_view error_name(ErrorCode code);
inline std::ostream& operator<<(std::ostream& os, ErrorCode code) {
  return os << error_name(code) << "(" << static_cast<int32_t>(code) << ")";
}

// Permission bits of an ACL entry.
struct Perms {
  static constexpr int32_t kRead = 1;
  static constexpr int32_t kWrite = 2;
  static constexpr int32_t kCreate = 4;
  static constexpr int32_t kDelete = 8;
  static constexpr int32_t kAdmin = 16;
  static constexpr int32_t kAll = 31;
};

// An identity in some scheme: ("world", "anyone"), ("digest", "user:hash"), ("ip", "10.0.0.0/8").
// A session's authenticated ids are a list of these; so is the subject of an ACL entry.
struct Id {
  std::string scheme;
  std::string id;
  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;
};

// One ACL entry: the permission bits granted to the ids that `id` matches.
struct Acl {
  int32_t perms = 0;
  Id id;
  friend bool operator==(const Acl&, const Acl&) = default;
};

using AclList = std::vector<Acl>;

inline Id world_anyone() {
  return Id{"world", "anyone"};
}
// ZooDefs.Ids.OPEN_ACL_UNSAFE and READ_ACL_UNSAFE.
inline AclList open_acl() {
  return {Acl{Perms::kAll, world_anyone()}};
}
inline AclList read_acl() {
  return {Acl{Perms::kRead, world_anyone()}};
}

// The jute Stat record, field for field, plus the count of child creations. dataLength and
// numChildren are derived from the node when a Stat is produced; the tree never stores them.
struct Stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;
  // Not sent to clients: children ever created here. ZooKeeper 3.8's cversion counts creates
  // and deletes, while a sequential child's suffix counts creates only.
  int32_t child_creates = 0;
  friend bool operator==(const Stat&, const Stat&) = default;
};
std::ostream& operator<<(std::ostream& os, const Stat& s);

// CreateMode flag values as the client sends them.
enum class CreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  kContainer = 4,
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};

inline bool valid_create_mode(int32_t flags) {
  return flags >= 0 && flags <= 6;
}
inline bool is_sequential(CreateMode m) {
  return m == CreateMode::kPersistentSequential || m == CreateMode::kEphemeralSequential ||
         m == CreateMode::kPersistentSequentialWithTtl;
}
inline bool is_ephemeral(CreateMode m) {
  return m == CreateMode::kEphemeral || m == CreateMode::kEphemeralSequential;
}
inline bool is_container(CreateMode m) {
  return m == CreateMode::kContainer;
}
inline bool is_ttl(CreateMode m) {
  return m == CreateMode::kPersistentWithTtl || m == CreateMode::kPersistentSequentialWithTtl;
}

// Watch event types a transaction can cause (the wire's EventType values).
enum class EventType : int32_t {
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
};
std::string_view event_name(EventType type);

// A watch firing caused by an applied transaction. The watch manager maps it to watchers as
// ZooKeeper does: NodeCreated and NodeDataChanged fire data/exists watches on `path`;
// NodeDeleted fires data, exists and child watches on `path`; NodeChildrenChanged fires child
// watches on `path` (the parent of the created or deleted node).
struct WatchTrigger {
  std::string path;
  EventType type;
  friend bool operator==(const WatchTrigger&, const WatchTrigger&) = default;
};
std::ostream& operator<<(std::ostream& os, const WatchTrigger& t);

// The most data a znode may hold: ZooKeeper's default jute.maxbuffer (0xfffff bytes). ZooKeeper
// drops the connection for a bigger packet; Weir answers BadArguments instead.
inline constexpr size_t kMaxDataBytes = 0xfffff;

// Ephemeral-owner encodings of ZooKeeper's extended node types (EphemeralType): a container's
// owner is INT64_MIN; a TTL node's owner is 0xff00000000000000 | ttl, ttl in [1, 2^40 - 1].
inline constexpr int64_t kContainerOwner = INT64_MIN;
inline constexpr uint64_t kExtendedOwnerMask = 0xff00000000000000ULL;
inline constexpr int64_t kMaxTtlMs = (int64_t{1} << 40) - 1;

enum class OwnerKind { kNone, kSession, kContainer, kTtl };
OwnerKind owner_kind(int64_t ephemeral_owner);
inline int64_t ttl_owner(int64_t ttl_ms) {
  return static_cast<int64_t>(kExtendedOwnerMask | static_cast<uint64_t>(ttl_ms));
}
// now - then, saturated: times come from transactions and snapshots and may be anything.
inline int64_t elapsed_ms(int64_t now, int64_t then) {
  int64_t d;
  if (__builtin_sub_overflow(now, then, &d)) return now > then ? INT64_MAX : INT64_MIN;
  return d;
}
inline int64_t ttl_of_owner(int64_t owner) {
  return static_cast<int64_t>(static_cast<uint64_t>(owner) & ~kExtendedOwnerMask);
}

}  // namespace weir::coord
