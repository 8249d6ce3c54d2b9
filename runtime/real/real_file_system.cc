#include "runtime/real/real_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/real/errors.h"

// Everything in the anonymous namespace runs on an I/O worker thread: plain blocking syscalls.
namespace weir::real {
namespace {

int open_flags(OpenMode mode) {
  switch (mode) {
    case OpenMode::kRead:
      return O_RDONLY;
    case OpenMode::kReadWrite:
      return O_RDWR;
    case OpenMode::kCreate:
      return O_RDWR | O_CREAT;
    case OpenMode::kCreateExclusive:
      return O_RDWR | O_CREAT | O_EXCL;
  }
  WEIR_UNREACHABLE();
}

absl::StatusOr<int> open_blocking(const std::string& path, int flags) {
  while (true) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EINTR) return errno_status(errno, "open", path);
  }
}

absl::StatusOr<size_t> pread_full(int fd, uint64_t offset, absl::Span<uint8_t> buffer,
                                  const std::string& path) {
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n =
        ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status(errno, "read", path);
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status pwrite_full(int fd, uint64_t offset, absl::Span<const uint8_t> data,
                         const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status(errno, "write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> fstat_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status(errno, "stat", path);
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::vector<std::string>> list_blocking(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_status(errno, "list", dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return errno_status(err, "list", dir);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status mkdir_one(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return absl::OkStatus();
  const int err = errno;
  struct stat st {};
  if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  return errno_status(err == EEXIST ? ENOTDIR : err, "create directory", dir);
}

absl::Status mkdirs_blocking(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("create_directories of an empty path");
  for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1)) {
    if (auto st = mkdir_one(dir.substr(0, pos)); !st.ok()) return st;
  }
  return dir.back() == '/' ? absl::OkStatus() : mkdir_one(dir);
}

absl::Status sync_dir_blocking(const std::string& dir) {
  auto fd = open_blocking(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  absl::Status st;
  if (::fsync(*fd) != 0) st = errno_status(errno, "sync directory", dir);
  ::close(*fd);
  return st;
}

absl::Status remove_blocking(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return absl::OkStatus();
  if (errno == EISDIR && ::rmdir(path.c_str()) == 0) return absl::OkStatus();
  return errno_status(errno, "remove", path);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RealFile

RealFile::RealFile(IoThreadPool& pool, int fd, std::string path, bool writable)
    : pool_(pool), fd_(fd), path_(std::move(path)), writable_(writable) {
  WEIR_ASSERT(fd >= 0);
}

RealFile::~RealFile() {
  ::close(fd_);
}

absl::Status RealFile::check_writable() const {
  if (writable_) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("file opened read-only: ", path_));
}

absl::StatusOr<size_t> RealFile::read(uint64_t offset, absl::Span<uint8_t> buffer) {
  return pool_.run([&] { return pread_full(fd_, offset, buffer, path_); });
}

absl::Status RealFile::write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (auto st = check_writable(); !st.ok()) return st;
  return pool_.run([&] { return pwrite_full(fd_, offset, data, path_); });
}

absl::Status RealFile::append(absl::Span<const uint8_t> data) {
  if (auto st = check_writable(); !st.ok()) return st;
  ActorMutex::Guard lock(append_mutex_);
  return pool_.run([&]() -> absl::Status {
    auto end = fstat_size(fd_, path_);
    if (!end.ok()) return end.status();
    return pwrite_full(fd_, *end, data, path_);
  });
}

absl::Status RealFile::sync() {
  return pool_.run([&]() -> absl::Status {
    if (::fsync(fd_) != 0) return errno_status(errno, "sync", path_);
    return absl::OkStatus();
  });
}

absl::Status RealFile::truncate(uint64_t size) {
  if (auto st = check_writable(); !st.ok()) return st;
  return pool_.run([&]() -> absl::Status {
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return errno_status(errno, "truncate", path_);
    }
    return absl::OkStatus();
  });
}

void RealFile::prefetch(uint64_t offset, size_t length) {
  if (length == 0) return;
  const auto cached = [&](uint64_t at) {
    char byte = 0;
    iovec iov{.iov_base = &byte, .iov_len = 1};
    // RWF_NOWAIT: EAGAIN instead of waiting for the disk. Any other failure (an old kernel,
    // EOF) is left to the sendfile that follows to report.
    const ssize_t n = ::preadv2(fd_, &iov, 1, static_cast<off_t>(at), RWF_NOWAIT);
    return n >= 0 || errno != EAGAIN;
  };
  if (cached(offset) && cached(offset + length - 1)) return;
  // Best effort: a failure here shows again, with its errno, in the sendfile.
  (void)pool_.run([&]() -> absl::Status {
    ::readahead(fd_, static_cast<off64_t>(offset), length);
    return absl::OkStatus();
  });
}

absl::StatusOr<uint64_t> RealFile::size() {
  return pool_.run([&] { return fstat_size(fd_, path_); });
}

// ---------------------------------------------------------------------------------------------
// RealFileSystem

absl::StatusOr<std::unique_ptr<IFile>> RealFileSystem::open(const std::string& path,
                                                            OpenMode mode) {
  auto fd = pool_.run([&] { return open_blocking(path, open_flags(mode)); });
  if (!fd.ok()) return fd.status();
  return std::make_unique<RealFile>(pool_, *fd, path, mode != OpenMode::kRead);
}

absl::Status RealFileSystem::rename(const std::string& from, const std::string& to) {
  return pool_.run([&]() -> absl::Status {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return errno_status(errno, "rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  });
}

absl::Status RealFileSystem::remove(const std::string& path) {
  return pool_.run([&] { return remove_blocking(path); });
}

absl::StatusOr<std::vector<std::string>> RealFileSystem::list(const std::string& dir) {
  return pool_.run([&] { return list_blocking(dir); });
}

absl::Status RealFileSystem::create_directories(const std::string& dir) {
  return pool_.run([&] { return mkdirs_blocking(dir); });
}

absl::Status RealFileSystem::sync_directory(const std::string& dir) {
  return pool_.run([&] { return sync_dir_blocking(dir); });
}

bool RealFileSystem::exists(const std::string& path) {
  auto found = pool_.run([&]() -> absl::StatusOr<bool> {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  });
  return found.ok() && *found;
}

}  // namespace weir::real
