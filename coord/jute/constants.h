// The numeric vocabulary of the ZooKeeper wire protocol: op codes, error codes, create modes,
// permission bits, watch event types, session states and reserved xids. Every value is fixed
// by the protocol (real clients send and expect these exact integers), so none may change.
//
// The enums have an int32_t underlying type and may hold values outside the listed ones: a
// decoded record keeps whatever the peer sent, and validation is the receiver's decision.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace weir::coord::jute {

enum class OpCode : int32_t {
  kNotification = 0,
  kCreate = 1,
  kDelete = 2,
  kExists = 3,
  kGetData = 4,
  kSetData = 5,
  kGetACL = 6,
  kSetACL = 7,
  kGetChildren = 8,
  kSync = 9,
  kPing = 11,
  kGetChildren2 = 12,
  kCheck = 13,
  kMulti = 14,
  kCreate2 = 15,
  kReconfig = 16,
  kCheckWatches = 17,
  kRemoveWatches = 18,
  kCreateContainer = 19,
  kDeleteContainer = 20,
  kCreateTTL = 21,
  kMultiRead = 22,
  kAuth = 100,
  kSetWatches = 101,
  kSasl = 102,
  kGetEphemerals = 103,
  kGetAllChildrenNumber = 104,
  kSetWatches2 = 105,
  kAddWatch = 106,
  kWhoAmI = 107,
  kCreateSession = -10,
  kCloseSession = -11,
  kError = -1,
};

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

// The `flags` of a create request.
enum class CreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  kContainer = 4,
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};

// WatcherEvent.state: the client's view of its session.
enum class KeeperState : int32_t {
  kUnknown = -1,
  kDisconnected = 0,
  kNoSyncConnected = 1,
  kSyncConnected = 3,
  kAuthFailed = 4,
  kConnectedReadOnly = 5,
  kSaslAuthenticated = 6,
  kExpired = -112,
  kClosed = 7,
};

// WatcherEvent.type.
enum class EventType : int32_t {
  kNone = -1,
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
  kDataWatchRemoved = 5,
  kChildWatchRemoved = 6,
  kPersistentWatchRemoved = 7,
};

// The `type` of checkWatches/removeWatches: which watches of a path are meant.
enum class WatcherType : int32_t {
  kChildren = 1,
  kData = 2,
  kAny = 3,
};

// AddWatchRequest.mode.
enum class AddWatchMode : int32_t {
  kPersistent = 0,
  kPersistentRecursive = 1,
};

// ACL permission bits (ACL.perms is a mask of these).
namespace perms {
inline constexpr int32_t kRead = 1;
inline constexpr int32_t kWrite = 2;
inline constexpr int32_t kCreate = 4;
inline constexpr int32_t kDelete = 8;
inline constexpr int32_t kAdmin = 16;
inline constexpr int32_t kAll = kRead | kWrite | kCreate | kDelete | kAdmin;
}  // namespace perms

// Reserved xids: replies that answer no numbered request carry these.
inline constexpr int32_t kNotificationXid = -1;
inline constexpr int32_t kPingXid = -2;
inline constexpr int32_t kAuthXid = -4;
inline constexpr int32_t kSetWatchesXid = -8;

// Names as ZooKeeper spells them in its documentation ("NoNode", "createContainer"); values
// outside the enum give "unknown".
std::string_view op_code_name(OpCode op);
std::string_view error_code_name(ErrorCode code);
std::string_view create_mode_name(CreateMode mode);
std::string_view keeper_state_name(KeeperState state);
std::string_view event_type_name(EventType type);
std::string_view watcher_type_name(WatcherType type);
std::string_view add_watch_mode_name(AddWatchMode mode);

bool is_known_op_code(int32_t value);
bool is_known_error_code(int32_t value);

// A peer may send any int as create flags; only these seven mean something.
constexpr bool is_valid_create_mode(int32_t flags) {
  return flags >= 0 && flags <= 6;
}
constexpr bool is_ephemeral(CreateMode mode) {
  return mode == CreateMode::kEphemeral || mode == CreateMode::kEphemeralSequential;
}
constexpr bool is_sequential(CreateMode mode) {
  return mode == CreateMode::kPersistentSequential || mode == CreateMode::kEphemeralSequential ||
         mode == CreateMode::kPersistentSequentialWithTtl;
}
constexpr bool is_container(CreateMode mode) {
  return mode == CreateMode::kContainer;
}
constexpr bool is_ttl(CreateMode mode) {
  return mode == CreateMode::kPersistentWithTtl || mode == CreateMode::kPersistentSequentialWithTtl;
}

// Printing shows the name and the number ("NoNode(-101)"), so logs of hostile input that
// carry unknown values stay unambiguous.
std::ostream& operator<<(std::ostream& os, OpCode v);
std::ostream& operator<<(std::ostream& os, ErrorCode v);
std::ostream& operator<<(std::ostream& os, CreateMode v);
std::ostream& operator<<(std::ostream& os, KeeperState v);
std::ostream& operator<<(std::ostream& os, EventType v);
std::ostream& operator<<(std::ostream& os, WatcherType v);
std::ostream& operator<<(std::ostream& os, AddWatchMode v);

}  // namespace weir::coord::jute
