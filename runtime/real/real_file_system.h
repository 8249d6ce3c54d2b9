// IFileSystem over POSIX files. Every syscall that can touch the disk runs on the I/O thread
// pool, never on the actor thread; the calling actor waits uncancellably (it lends its buffer).
// Paths are used as given (relative paths resolve against the process's working directory).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/filesystem.h"
#include "runtime/real/io_thread_pool.h"
#include "runtime/sync.h"

namespace weir::real {

// One open file descriptor. append() writes at the current end of file; appends through one
// RealFile are serialized so that two concurrent appends never claim the same offset.
class RealFile final : public IFile {
 public:
  RealFile(IoThreadPool& pool, int fd, std::string path, bool writable);
  // Closes the fd on the calling thread (close of a regular local file does not wait for I/O).
  ~RealFile() override;

  absl::StatusOr<size_t> read(uint64_t offset, absl::Span<uint8_t> buffer) override;
  absl::Status write(uint64_t offset, absl::Span<const uint8_t> data) override;
  absl::Status append(absl::Span<const uint8_t> data) override;
  absl::Status sync() override;
  absl::Status truncate(uint64_t size) override;
  absl::StatusOr<uint64_t> size() override;
  const std::string& path() const override { return path_; }

  // For RealConnection::send_file, which hands the descriptor to sendfile(2) on the loop
  // thread: valid while this RealFile lives.
  int fd() const { return fd_; }
  // Makes sure [offset, offset + length) is in the page cache before the loop thread touches
  // it, so that a sendfile of it does not block the loop on the disk: a non-blocking probe of
  // the range's first and last byte (preadv2 RWF_NOWAIT), and only if either misses, a
  // readahead(2) of the range on the I/O pool. The probe cannot see a page evicted in the
  // middle; that sendfile then waits for one disk read on the loop thread.
  void prefetch(uint64_t offset, size_t length);

 private:
  absl::Status check_writable() const;

  IoThreadPool& pool_;
  int fd_;
  std::string path_;
  bool writable_;
  ActorMutex append_mutex_;
};

// The file system of a real process. Errors carry the errno's status code (errors.h) and the
// path. remove() deletes files and empty directories.
class RealFileSystem final : public IFileSystem {
 public:
  explicit RealFileSystem(IoThreadPool& pool) : pool_(pool) {}

  absl::StatusOr<std::unique_ptr<IFile>> open(const std::string& path, OpenMode mode) override;
  absl::Status rename(const std::string& from, const std::string& to) override;
  absl::Status remove(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> list(const std::string& dir) override;
  absl::Status create_directories(const std::string& dir) override;
  absl::Status sync_directory(const std::string& dir) override;
  bool exists(const std::string& path) override;

 private:
  IoThreadPool& pool_;
};

}  // namespace weir::real
