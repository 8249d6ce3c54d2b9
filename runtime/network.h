// The network as code above the runtime sees it: TCP-like reliable byte streams between
// addresses "host:port". Calls suspend the calling actor; errors come back as absl::Status
// (Unavailable: refused/reset/closed; DeadlineExceeded is left to callers' timeouts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace weir {

// One end of a connected byte stream. Bytes arrive in order; a stream never reorders.
class IConnection {
 public:
  virtual ~IConnection() = default;
  // Reads at least 1 byte into `buffer` (suspending until data arrives). Returns 0 at orderly
  // end of stream, or an error if the connection was reset or closed locally.
  virtual absl::StatusOr<size_t> read(absl::Span<uint8_t> buffer) = 0;
  // Writes all of `data` (suspending under backpressure). Error if the connection broke.
  virtual absl::Status write(absl::Span<const uint8_t> data) = 0;
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

// Reads exactly buffer.size() bytes. OutOfRange if the stream ends first.
absl::Status read_exact(IConnection& conn, absl::Span<uint8_t> buffer);

}  // namespace weir
