#include "runtime/real/errors.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace weir::real {

absl::StatusCode errno_code(int err) {
  using C = absl::StatusCode;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return C::kNotFound;
    case EEXIST:
    case EADDRINUSE:
      return C::kAlreadyExists;
    case ENOTEMPTY:
    case EISDIR:
    case EBUSY:
    case ETXTBSY:
    case ESPIPE:
    case EXDEV:
      return C::kFailedPrecondition;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
    case EFBIG:
      return C::kResourceExhausted;
    case EIO:
      return C::kDataLoss;
    case EACCES:
    case EPERM:
    case EROFS:
      return C::kPermissionDenied;
    case EINVAL:
    case ENAMETOOLONG:
    case EBADF:
    case ELOOP:
    case EAFNOSUPPORT:
      return C::kInvalidArgument;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ENETRESET:
    case ETIMEDOUT:
    case EADDRNOTAVAIL:
    case EAGAIN:
    case ESHUTDOWN:
      return C::kUnavailable;
    case EOPNOTSUPP:
    case ENOSYS:
      return C::kUnimplemented;
    default:
      return C::kInternal;
  }
}

absl::Status errno_status(int err, std::string_view op, std::string_view subject) {
  const char* desc = strerrordesc_np(err);
  const char* name = strerrorname_np(err);
  std::string message(op);
  message.append(" ").append(subject).append(": ").append(desc != nullptr ? desc : "error");
  if (name != nullptr) {
    absl::StrAppend(&message, " [", name, "]");
  } else {
    absl::StrAppend(&message, " [errno ", err, "]");
  }
  return absl::Status(errno_code(err), message);
}

}  // namespace weir::real
