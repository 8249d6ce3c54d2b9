#include "coord/client/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weir::coord::client {
namespace {
constexpr char kPayloadUrl[] = "weir.coord/zookeeper-error";

absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
}  // namespace

absl::StatusCode canonical_code(ErrorCode code) {
  using C = absl::StatusCode;
  switch (code) {
    case ErrorCode::kOk:
      return C::kOk;
    case ErrorCode::kNoNode:
      return C::kNotFound;
    case ErrorCode::kNodeExists:
      return C::kAlreadyExists;
    case ErrorCode::kBadVersion:
    case ErrorCode::kNotEmpty:
    case ErrorCode::kNoChildrenForEphemerals:
    case ErrorCode::kNotReadOnly:
    case ErrorCode::kEphemeralOnLocalSession:
      return C::kFailedPrecondition;
    case ErrorCode::kNoAuth:
      return C::kPermissionDenied;
    case ErrorCode::kAuthFailed:
    case ErrorCode::kSessionClosedRequireSaslAuth:
      return C::kUnauthenticated;
    case ErrorCode::kBadArguments:
    case ErrorCode::kInvalidACL:
    case ErrorCode::kInvalidCallback:
      return C::kInvalidArgument;
    case ErrorCode::kConnectionLoss:
      return C::kUnavailable;
    case ErrorCode::kSessionExpired:
    case ErrorCode::kSessionMoved:
    case ErrorCode::kUnknownSession:
      return C::kAborted;
    case ErrorCode::kOperationTimeout:
    case ErrorCode::kRequestTimeout:
      return C::kDeadlineExceeded;
    case ErrorCode::kUnimplemented:
    case ErrorCode::kReconfigDisabled:
      return C::kUnimplemented;
    case ErrorCode::kMarshallingError:
      return C::kDataLoss;
    case ErrorCode::kNoWatcher:
      return C::kNotFound;
    case ErrorCode::kQuotaExceeded:
    case ErrorCode::kThrottledOp:
      return C::kResourceExhausted;
    default:
      return C::kInternal;
  }
}

absl::Status zk_status(ErrorCode code, std::string_view context) {
  if (code == ErrorCode::kOk) return absl::OkStatus();
  std::string message = absl::StrCat(av(jute::error_code_name(code)), "(",
                                     static_cast<int32_t>(code), "): ", av(context));
  absl::Status status(canonical_code(code), message);
  status.SetPayload(kPayloadUrl, absl::Cord(std::to_string(static_cast<int32_t>(code))));
  return status;
}

ErrorCode zk_error(const absl::Status& status) {
  if (status.ok()) return ErrorCode::kOk;
  auto payload = status.GetPayload(kPayloadUrl);
  int32_t value = 0;
  if (payload && absl::SimpleAtoi(std::string(*payload), &value)) {
    return static_cast<ErrorCode>(value);
  }
  return ErrorCode::kSystemError;
}

}  // namespace weir::coord::client
