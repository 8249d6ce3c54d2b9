// The network as code above the runtime sees it: TCP-like reliable byte streams between
// addresses "host:port". Calls suspend the calling actor; errors come back as absl::Status
// (Unavailable: refused/reset/closed; DeadlineExceeded is left to callers' timeouts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace weir {

class IFile;

// One end of a connected byte stream. Bytes arrive in order; a stream never reorders.
class IConnection {
 public:
  virtual ~IConnection() = default;
  // Reads at least 1 byte into `buffer` (suspending until data arrives). Returns 0 at orderly
  // end of stream, or an error if the connection was reset or closed locally.
  virtual absl::StatusOr<size_t> read(absl::Span<uint8_t> buffer) = 0;
  // Writes all of `data` (suspending under backpressure). Error if the connection broke.
  virtual absl::Status write(absl::Span<const uint8_t> data) = 0;
  // Writes `length` bytes of `file` from `offset` as write() would (in order with writes, all
  // or an error), without them passing through the caller's memory where the runtime can:
  // sendfile(2) in the real runtime. This default copies (IFile::read_to_send, then write(), in
  // chunks of kSendFileChunkBytes), which is what the simulator and any file the real runtime
  // cannot hand to the kernel get, so every fault of reads and writes applies. A file that ends
  // before offset + length is an error (OutOfRange), never a hang; after an error part of the
  // range may have been sent, so the caller must treat the stream as broken.
  virtual absl::Status send_file(IFile& file, uint64_t offset, size_t length);
  static constexpr size_t kSendFileChunkBytes = 256 << 10;
  // Closes both directions; pending reads and writes on either end fail or see end of stream.
  virtual void close() = 0;
  virtual const std::string& peer_address() const = 0;
  virtual const std::string& local_address() const = 0;
};

class IListener {
 public:
  virtual ~IListener() = default;
  // Suspends until a peer connects. Error once the listener is closed.
  virtual absl::StatusOr<std::shared_ptr<IConnection>> accept() = 0;
  virtual void close() = 0;
  // The bound address (with the real port when 0 was asked for).
  virtual const std::string& address() const = 0;
};

class INetwork {
 public:
  virtual ~INetwork() = default;
  virtual absl::StatusOr<std::unique_ptr<IListener>> listen(const std::string& address) = 0;
  virtual absl::StatusOr<std::shared_ptr<IConnection>> connect(const std::string& address) = 0;
};

// send_file's copying implementation, for overrides that fall back to it: `write` sends each
// chunk. `done` counts the bytes written so far (for a caller that must know whether an error
// tore a message).
absl::Status copy_file_to(IFile& file, uint64_t offset, size_t length, size_t& done,
                          const std::function<absl::Status(absl::Span<const uint8_t>)>& write);

// Reads exactly buffer.size() bytes. OutOfRange if the stream ends first.
absl::Status read_exact(IConnection& conn, absl::Span<uint8_t> buffer);

}  // namespace weir
