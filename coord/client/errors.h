// ZooKeeper error codes as absl::Status. Callers above coord want absl::Status everywhere (it is
// what Futures carry), but some decisions need the exact ZooKeeper code (NodeExists on a create
// is success for an idempotent retry, BadVersion means "re-read", ConnectionLoss means "maybe
// applied"). So each status carries both: a canonical absl code chosen for generic handling, and
// the ZooKeeper code as a payload, with the ZooKeeper name at the front of the message.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "coord/jute/constants.h"

namespace weir::coord::client {

using ErrorCode = jute::ErrorCode;

// The canonical absl code a ZooKeeper error maps to (NoNode -> NotFound, NodeExists ->
// AlreadyExists, BadVersion/NotEmpty -> FailedPrecondition, NoAuth -> PermissionDenied,
// ConnectionLoss -> Unavailable, SessionExpired -> Aborted, ...). kOk maps to kOk.
absl::StatusCode canonical_code(ErrorCode code);

// "NoNode: <context>" with canonical_code(code) and the ZooKeeper code attached.
absl::Status zk_status(ErrorCode code, std::string_view context);

// The ZooKeeper code a status carries: kOk for OK, the attached code when there is one, and
// kSystemError for other errors (timeouts, client closed: not the server's verdict).
ErrorCode zk_error(const absl::Status& status);

}  // namespace weir::coord::client
