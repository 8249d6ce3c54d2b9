#include "coord/tree/types.h"

namespace weir::coord {

std::string_view error_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "Ok";
    case ErrorCode::kSystemError: return "SystemError";
    case ErrorCode::kRuntimeInconsistency: return "RuntimeInconsistency";
    case ErrorCode::kDataInconsistency: return "DataInconsistency";
    case ErrorCode::kConnectionLoss: return "ConnectionLoss";
    case ErrorCode::kMarshallingError: return "MarshallingError";
    case ErrorCode::kUnimplemented: return "Unimplemented";
    case ErrorCode::kOperationTimeout: return "OperationTimeout";
    case ErrorCode::kBadArguments: return "BadArguments";
    case ErrorCode::kUnknownSession: return "UnknownSession";
    case ErrorCode::kNewConfigNoQuorum: return "NewConfigNoQuorum";
    case ErrorCode::kReconfigInProgress: return "ReconfigInProgress";
    case ErrorCode::kAPIError: return "APIError";
    case ErrorCode::kNoNode: return "NoNode";
    case ErrorCode::kNoAuth: return "NoAuth";
    case ErrorCode::kBadVersion: return "BadVersion";
    case ErrorCode::kNoChildrenForEphemerals: return "NoChildrenForEphemerals";
    case ErrorCode::kNodeExists: return "NodeExists";
    case ErrorCode::kNotEmpty: return "NotEmpty";
    case ErrorCode::kSessionExpired: return "SessionExpired";
    case ErrorCode::kInvalidCallback: return "InvalidCallback";
    case ErrorCode::kInvalidACL: return "InvalidACL";
    case ErrorCode::kAuthFailed: return "AuthFailed";
    case ErrorCode::kSessionMoved: return "SessionMoved";
    case ErrorCode::kNotReadOnly: return "NotReadOnly";
    case ErrorCode::kEphemeralOnLocalSession: return "EphemeralOnLocalSession";
    case ErrorCode::kNoWatcher: return "NoWatcher";
    case ErrorCode::kRequestTimeout: return "RequestTimeout";
    case ErrorCode::kReconfigDisabled: return "ReconfigDisabled";
    case ErrorCode::kSessionClosedRequireSaslAuth: return "SessionClosedRequireSaslAuth";
    case ErrorCode::kQuotaExceeded: return "QuotaExceeded";
    case ErrorCode::kThrottledOp: return "ThrottledOp";
  }
  return "Unknown";
}

std::string_view event_name(EventType type) {
  switch (type) {
    case EventType::kNodeCreated: return "NodeCreated";
    case EventType::kNodeDeleted: return "NodeDeleted";
    case EventType::kNodeDataChanged: return "NodeDataChanged";
    case EventType::kNodeChildrenChanged: return "NodeChildrenChanged";
  }
  return "Unknown";
}

std::ostream& operator<<(std::ostream& os, const Stat& s) {
  return os << "{czxid=" << s.czxid << " mzxid=" << s.mzxid << " ctime=" << s.ctime
            << " mtime=" << s.mtime << " version=" << s.version << " cversion=" << s.cversion
            << " aversion=" << s.aversion << " owner=" << s.ephemeral_owner
            << " dataLength=" << s.data_length << " numChildren=" << s.num_children
            << " pzxid=" << s.pzxid << "}";
}

std::ostream& operator<<(std::ostream& os, const WatchTrigger& t) {
  return os << event_name(t.type) << "(" << t.path << ")";
}

OwnerKind owner_kind(int64_t owner) {
  if (owner == 0) return OwnerKind::kNone;
  if (owner == kContainerOwner) return OwnerKind::kContainer;
  if ((static_cast<uint64_t>(owner) & kExtendedOwnerMask) == kExtendedOwnerMask) {
    return OwnerKind::kTtl;
  }
  return OwnerKind::kSession;
}

}  // namespace weir::coord
