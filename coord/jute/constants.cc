#include "coord/jute/constants.h"

namespace weir::coord::jute {
namespace {

template <class E>
std::ostream& print_enum(std::ostream& os, E v, std::string_view name) {
  return os << name << '(' << static_cast<int32_t>(v) << ')';
}

}  // namespace

std::string_view op_code_name(OpCode op) {
  switch (op) {
    case OpCode::kNotification:
      return "notification";
    case OpCode::kCreate:
      return "create";
    case OpCode::kDelete:
      return "delete";
    case OpCode::kExists:
      return "exists";
    case OpCode::kGetData:
      return "getData";
    case OpCode::kSetData:
      return "setData";
    case OpCode::kGetACL:
      return "getACL";
    case OpCode::kSetACL:
      return "setACL";
    case OpCode::kGetChildren:
      return "getChildren";
    case OpCode::kSync:
      return "sync";
    case OpCode::kPing:
      return "ping";
    case OpCode::kGetChildren2:
      return "getChildren2";
    case OpCode::kCheck:
      return "check";
    case OpCode::kMulti:
      return "multi";
    case OpCode::kCreate2:
      return "create2";
    case OpCode::kReconfig:
      return "reconfig";
    case OpCode::kCheckWatches:
      return "checkWatches";
    case OpCode::kRemoveWatches:
      return "removeWatches";
    case OpCode::kCreateContainer:
      return "createContainer";
    case OpCode::kDeleteContainer:
      return "deleteContainer";
    case OpCode::kCreateTTL:
      return "createTTL";
    case OpCode::kMultiRead:
      return "multiRead";
    case OpCode::kAuth:
      return "auth";
    case OpCode::kSetWatches:
      return "setWatches";
    case OpCode::kSasl:
      return "sasl";
    case OpCode::kGetEphemerals:
      return "getEphemerals";
    case OpCode::kGetAllChildrenNumber:
      return "getAllChildrenNumber";
    case OpCode::kSetWatches2:
      return "setWatches2";
    case OpCode::kAddWatch:
      return "addWatch";
    case OpCode::kWhoAmI:
      return "whoAmI";
    case OpCode::kCreateSession:
      return "createSession";
    case OpCode::kCloseSession:
      return "closeSession";
    case OpCode::kError:
      return "error";
  }
  return "unknown";
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "Ok";
    case ErrorCode::kSystemError:
      return "SystemError";
    case ErrorCode::kRuntimeInconsistency:
      return "RuntimeInconsistency";
    case ErrorCode::kDataInconsistency:
      return "DataInconsistency";
    case ErrorCode::kConnectionLoss:
      return "ConnectionLoss";
    case ErrorCode::kMarshallingError:
      return "MarshallingError";
    case ErrorCode::kUnimplemented:
      return "Unimplemented";
    case ErrorCode::kOperationTimeout:
      return "OperationTimeout";
    case ErrorCode::kBadArguments:
      return "BadArguments";
    case ErrorCode::kUnknownSession:
      return "UnknownSession";
    case ErrorCode::kNewConfigNoQuorum:
      return "NewConfigNoQuorum";
    case ErrorCode::kReconfigInProgress:
      return "ReconfigInProgress";
    case ErrorCode::kAPIError:
      return "APIError";
    case ErrorCode::kNoNode:
      return "NoNode";
    case ErrorCode::kNoAuth:
      return "NoAuth";
    case ErrorCode::kBadVersion:
      return "BadVersion";
    case ErrorCode::kNoChildrenForEphemerals:
      return "NoChildrenForEphemerals";
    case ErrorCode::kNodeExists:
      return "NodeExists";
    case ErrorCode::kNotEmpty:
      return "NotEmpty";
    case ErrorCode::kSessionExpired:
      return "SessionExpired";
    case ErrorCode::kInvalidCallback:
      return "InvalidCallback";
    case ErrorCode::kInvalidACL:
      return "InvalidACL";
    case ErrorCode::kAuthFailed:
      return "AuthFailed";
    case ErrorCode::kSessionMoved:
      return "SessionMoved";
    case ErrorCode::kNotReadOnly:
      return "NotReadOnly";
    case ErrorCode::kEphemeralOnLocalSession:
      return "EphemeralOnLocalSession";
    case ErrorCode::kNoWatcher:
      return "NoWatcher";
    case ErrorCode::kRequestTimeout:
      return "RequestTimeout";
    case ErrorCode::kReconfigDisabled:
      return "ReconfigDisabled";
    case ErrorCode::kSessionClosedRequireSaslAuth:
      return "SessionClosedRequireSaslAuth";
    case ErrorCode::kQuotaExceeded:
      return "QuotaExceeded";
    case ErrorCode::kThrottledOp:
      return "ThrottledOp";
  }
  return "unknown";
}

std::string_view create_mode_name(CreateMode mode) {
  switch (mode) {
    case CreateMode::kPersistent:
      return "PERSISTENT";
    case CreateMode::kEphemeral:
      return "EPHEMERAL";
    case CreateMode::kPersistentSequential:
      return "PERSISTENT_SEQUENTIAL";
    case CreateMode::kEphemeralSequential:
      return "EPHEMERAL_SEQUENTIAL";
    case CreateMode::kContainer:
      return "CONTAINER";
    case CreateMode::kPersistentWithTtl:
      return "PERSISTENT_WITH_TTL";
    case CreateMode::kPersistentSequentialWithTtl:
      return "PERSISTENT_SEQUENTIAL_WITH_TTL";
  }
  return "unknown";
}

std::string_view keeper_state_name(KeeperState state) {
  switch (state) {
    case KeeperState::kUnknown:
      return "Unknown";
    case KeeperState::kDisconnected:
      return "Disconnected";
    case KeeperState::kNoSyncConnected:
      return "NoSyncConnected";
    case KeeperState::kSyncConnected:
      return "SyncConnected";
    case KeeperState::kAuthFailed:
      return "AuthFailed";
    case KeeperState::kConnectedReadOnly:
      return "ConnectedReadOnly";
    case KeeperState::kSaslAuthenticated:
      return "SaslAuthenticated";
    case KeeperState::kExpired:
      return "Expired";
    case KeeperState::kClosed:
      return "Closed";
  }
  return "unknown";
}

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::kNone:
      return "None";
    case EventType::kNodeCreated:
      return "NodeCreated";
    case EventType::kNodeDeleted:
      return "NodeDeleted";
    case EventType::kNodeDataChanged:
      return "NodeDataChanged";
    case EventType::kNodeChildrenChanged:
      return "NodeChildrenChanged";
    case EventType::kDataWatchRemoved:
      return "DataWatchRemoved";
    case EventType::kChildWatchRemoved:
      return "ChildWatchRemoved";
    case EventType::kPersistentWatchRemoved:
      return "PersistentWatchRemoved";
  }
  return "unknown";
}

std::string_view watcher_type_name(WatcherType type) {
  switch (type) {
    case WatcherType::kChildren:
      return "Children";
    case WatcherType::kData:
      return "Data";
    case WatcherType::kAny:
      return "Any";
  }
  return "unknown";
}

std::string_view add_watch_mode_name(AddWatchMode mode) {
  switch (mode) {
    case AddWatchMode::kPersistent:
      return "PERSISTENT";
    case AddWatchMode::kPersistentRecursive:
      return "PERSISTENT_RECURSIVE";
  }
  return "unknown";
}

bool is_known_op_code(int32_t value) {
  return op_code_name(static_cast<OpCode>(value)) != "unknown";
}
bool is_known_error_code(int32_t value) {
  return error_code_name(static_cast<ErrorCode>(value)) != "unknown";
}

std::ostream& operator<<(std::ostream& os, OpCode v) {
  return print_enum(os, v, op_code_name(v));
}
std::ostream& operator<<(std::ostream& os, ErrorCode v) {
  return print_enum(os, v, error_code_name(v));
}
std::ostream& operator<<(std::ostream& os, CreateMode v) {
  return print_enum(os, v, create_mode_name(v));
}
std::ostream& operator<<(std::ostream& os, KeeperState v) {
  return print_enum(os, v, keeper_state_name(v));
}
std::ostream& operator<<(std::ostream& os, EventType v) {
  return print_enum(os, v, event_type_name(v));
}
std::ostream& operator<<(std::ostream& os, WatcherType v) {
  return print_enum(os, v, watcher_type_name(v));
}
std::ostream& operator<<(std::ostream& os, AddWatchMode v) {
  return print_enum(os, v, add_watch_mode_name(v));
}

}  // namespace weir::coord::jute
