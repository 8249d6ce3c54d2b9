#include "coord/tree/types.h"

#include <iterator>

namespace weir::coord {

namespace {

struct ErrorName {
  ErrorCode code;
  std::string_view name;
};

constexpr ErrorName kErrorNames[] = {
    {ErrorCode::kOk, "Ok"},
    {ErrorCode::kSystemError, "SystemError"},
    {ErrorCode::kRuntimeInconsistency, "RuntimeInconsistency"},
    {ErrorCode::kDataInconsistency, "DataInconsistency"},
    {ErrorCode::kConnectionLoss, "ConnectionLoss"},
    {ErrorCode::kMarshallingError, "MarshallingError"},
    {ErrorCode::kUnimplemented, "Unimplemented"},
    {ErrorCode::kOperationTimeout, "OperationTimeout"},
    {ErrorCode::kBadArguments, "BadArguments"},
    {ErrorCode::kUnknownSession, "UnknownSession"},
    {ErrorCode::kNewConfigNoQuorum, "NewConfigNoQuorum"},
    {ErrorCode::kReconfigInProgress, "ReconfigInProgress"},
    {ErrorCode::kAPIError, "APIError"},
    {ErrorCode::kNoNode, "NoNode"},
    {ErrorCode::kNoAuth, "NoAuth"},
    {ErrorCode::kBadVersion, "BadVersion"},
    {ErrorCode::kNoChildrenForEphemerals, "NoChildrenForEphemerals"},
    {ErrorCode::kNodeExists, "NodeExists"},
    {ErrorCode::kNotEmpty, "NotEmpty"},
    {ErrorCode::kSessionExpired, "SessionExpired"},
    {ErrorCode::kInvalidCallback, "InvalidCallback"},
    {ErrorCode::kInvalidACL, "InvalidACL"},
    {ErrorCode::kAuthFailed, "AuthFailed"},
    {ErrorCode::kSessionMoved, "SessionMoved"},
    {ErrorCode::kNotReadOnly, "NotReadOnly"},
    {ErrorCode::kEphemeralOnLocalSession, "EphemeralOnLocalSession"},
    {ErrorCode::kNoWatcher, "NoWatcher"},
    {ErrorCode::kRequestTimeout, "RequestTimeout"},
    {ErrorCode::kReconfigDisabled, "ReconfigDisabled"},
    {ErrorCode::kSessionClosedRequireSaslAuth, "SessionClosedRequireSaslAuth"},
    {ErrorCode::kQuotaExceeded, "QuotaExceeded"},
    {ErrorCode::kThrottledOp, "ThrottledOp"},
};

constexpr std::string_view kEventNames[] = {"Unknown", "NodeCreated", "NodeDeleted",
                                            "NodeDataChanged", "NodeChildrenChanged"};

}  // namespace

std::string_view error_name(ErrorCode code) {
  for (const ErrorName& e : kErrorNames) {
    if (e.code == code) return e.name;
  }
  return "Unknown";
}

std::string_view event_name(EventType type) {
  const auto i = static_cast<size_t>(type);
  return i < std::size(kEventNames) ? kEventNames[i] : kEventNames[0];
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
