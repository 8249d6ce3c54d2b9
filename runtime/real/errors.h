// errno values as absl::Status. Every real syscall failure goes through here so that the same
// errno always means the same status code, whichever module hit it, and so that the simulator
// can inject the same codes (see README.md for the table).
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace weir::real {

// The status code an errno value maps to (ENOENT->NotFound, EEXIST->AlreadyExists,
// ENOSPC->ResourceExhausted, EIO->DataLoss, ECONNREFUSED->Unavailable, ...).
absl::StatusCode errno_code(int err);

// "<op> <subject>: <description> [ENAME]" with the mapped code. Thread-safe (the I/O pool
// threads build their statuses themselves).
absl::Status errno_status(int err, std::string_view op, std::string_view subject);

}  // namespace weir::real
