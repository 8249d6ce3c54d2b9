// Files as code above the runtime sees them. Calls suspend the calling actor (the real build
// moves the blocking syscall off the actor thread). Durability follows POSIX: data is durable
// only after sync(), a new or renamed name only after sync_directory() of its parent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace weir {

class IFile {
 public:
  virtual ~IFile() = default;
  // Reads up to buffer.size() bytes at `offset`; fewer only at end of file.
  virtual absl::StatusOr<size_t> read(uint64_t offset, absl::Span<uint8_t> buffer) = 0;
  // Reads for IConnection::send_file's copy: bytes bound for a socket, never looked at by the
  // caller (in the real runtime they never leave the kernel). The same as read(), except that
  // a simulated disk injects no bit flip here: its corrupt read models a fault of the copy into
  // a buffer the caller checks, and the caller of send_file has nothing to check (what the
  // broker's log relies on instead: broker/log/README.md). Read errors and slowness apply.
  virtual absl::StatusOr<size_t> read_to_send(uint64_t offset, absl::Span<uint8_t> buffer) {
    return read(offset, buffer);
  }
  virtual absl::Status write(uint64_t offset, absl::Span<const uint8_t> data) = 0;
  virtual absl::Status append(absl::Span<const uint8_t> data) = 0;
  virtual absl::Status sync() = 0;
  virtual absl::Status truncate(uint64_t size) = 0;
  virtual absl::StatusOr<uint64_t> size() = 0;
  virtual const std::string& path() const = 0;
};

enum class OpenMode {
  kRead,            // existing file, read only
  kReadWrite,       // existing file
  kCreate,          // read-write, created if missing
  kCreateExclusive  // read-write, error AlreadyExists if present
};

class IFileSystem {
 public:
  virtual ~IFileSystem() = default;
  virtual absl::StatusOr<std::unique_ptr<IFile>> open(const std::string& path, OpenMode mode) = 0;
  virtual absl::Status rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status remove(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual absl::Status create_directories(const std::string& dir) = 0;
  virtual absl::Status sync_directory(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// Reads a whole file (bounded by size_max: ResourceExhausted beyond it).
absl::StatusOr<std::vector<uint8_t>> read_file(IFileSystem& fs, const std::string& path,
                                               uint64_t size_max);

}  // namespace weir
