// INetwork over real TCP/IPv4 sockets: non-blocking fds, edge-triggered epoll readiness, and no
// buffering of our own (backpressure is the kernel's socket buffers: a writer suspends while
// they are full).
#pragma once

#include <netinet/in.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/network.h"
#include "runtime/real/epoll_event_source.h"
#include "runtime/real/real_file_system.h"
#include "runtime/sync.h"

namespace weir::real {

// Parses "host:port": host is a numeric IPv4 address, "localhost", or empty (any address);
// port is 0..65535 (0: ephemeral, for listeners). InvalidArgument otherwise.
absl::StatusOr<sockaddr_in> parse_ipv4_address(const std::string& address);
std::string format_ipv4_address(const sockaddr_in& addr);

// One TCP connection. read() and write() try the syscall first and suspend on EAGAIN. Writes
// are serialized (one message never interleaves with another); a write cancelled after sending
// part of its data closes the connection, so the peer never sees a torn message followed by
// more data.
class RealConnection final : public IConnection {
 public:
  // Takes ownership of `fd` (a non-blocking TCP socket). `peer` names the peer until connected.
  static absl::StatusOr<std::shared_ptr<RealConnection>> adopt(EpollEventSource& source, int fd,
                                                               std::string peer);
  RealConnection(EpollEventSource& source, int fd, std::string peer);
  ~RealConnection() override;

  absl::StatusOr<size_t> read(absl::Span<uint8_t> buffer) override;
  absl::Status write(absl::Span<const uint8_t> data) override;
  // sendfile(2) from a RealFile's descriptor (after RealFile::prefetch), else the copying
  // default (IConnection::send_file). Serialized with write(); an error or cancellation after
  // part of the range went out closes the connection (no torn message followed by more data).
  absl::Status send_file(IFile& file, uint64_t offset, size_t length) override;
  void close() override;
  const std::string& peer_address() const override { return peer_; }
  const std::string& local_address() const override { return local_; }

  // Waits for a non-blocking connect() on this socket to finish (writable, then SO_ERROR).
  absl::Status finish_connect();
  bool closed() const { return closed_; }

 private:
  absl::Status closed_error(const char* op) const;
  absl::Status send_all(absl::Span<const uint8_t> data, size_t& done);
  absl::Status sendfile_all(RealFile& file, uint64_t offset, size_t length, size_t& done);
  void refresh_addresses();

  int fd_;
  FdWatch watch_;
  ActorMutex write_mutex_;
  std::string peer_;
  std::string local_;
  bool closed_ = false;
};

// A listening TCP socket (SO_REUSEADDR, backlog SOMAXCONN). close() fails pending accepts.
class RealListener final : public IListener {
 public:
  // Takes ownership of `fd` (a bound, listening, non-blocking socket).
  static absl::StatusOr<std::unique_ptr<RealListener>> adopt(EpollEventSource& source, int fd);
  RealListener(EpollEventSource& source, int fd, std::string address);
  ~RealListener() override;

  absl::StatusOr<std::shared_ptr<IConnection>> accept() override;
  void close() override;
  const std::string& address() const override { return address_; }

 private:
  EpollEventSource& source_;
  int fd_;
  FdWatch watch_;
  std::string address_;
  bool closed_ = false;
};

// The network of a real process. Addresses are numeric IPv4 (no name lookups except
// "localhost"), every connection has TCP_NODELAY, and SIGPIPE is never raised (MSG_NOSIGNAL).
class RealNetwork final : public INetwork {
 public:
  explicit RealNetwork(EpollEventSource& source) : source_(source) {}

  absl::StatusOr<std::unique_ptr<IListener>> listen(const std::string& address) override;
  absl::StatusOr<std::shared_ptr<IConnection>> connect(const std::string& address) override;

 private:
  EpollEventSource& source_;
};

}  // namespace weir::real
