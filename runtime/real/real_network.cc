#include "runtime/real/real_network.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/real/errors.h"

namespace weir::real {
namespace {

absl::Status set_int_option(int fd, int level, int name, const char* what) {
  const int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof(one)) != 0) return errno_status(errno, "set", what);
  return absl::OkStatus();
}

std::string socket_name(int fd, bool peer) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  const int rc = peer ? getpeername(fd, sa, &len) : getsockname(fd, sa, &len);
  return rc == 0 ? format_ipv4_address(addr) : std::string();
}

// sendfile(2) has no MSG_NOSIGNAL: a peer that reset the connection would kill the process
// with SIGPIPE. So every process with a connection ignores SIGPIPE (the failed call still
// returns EPIPE), as servers usually do; set once, before the first connection exists.
void ignore_sigpipe() {
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

int new_socket() {
  return ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

}  // namespace

absl::StatusOr<sockaddr_in> parse_ipv4_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address without a port: '", address, "'"));
  }
  const std::string host = address.substr(0, colon);
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  unsigned port = 0;
  auto [end, ec] = std::from_chars(first, last, port);
  if (first == last || ec != std::errc() || end != last || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in address '", address, "'"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (host.empty()) {
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (host == "localhost") {
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("host must be numeric IPv4 or localhost: '", address, "'"));
  }
  return addr;
}

std::string format_ipv4_address(const sockaddr_in& addr) {
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
  return absl::StrCat(host, ":", ntohs(addr.sin_port));
}

// ---------------------------------------------------------------------------------------------
// RealConnection

absl::StatusOr<std::shared_ptr<RealConnection>> RealConnection::adopt(EpollEventSource& source,
                                                                      int fd, std::string peer) {
  ignore_sigpipe();
  auto conn = std::make_shared<RealConnection>(source, fd, std::move(peer));
  if (auto st = set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"); !st.ok()) return st;
  if (auto st = conn->watch_.attach(fd); !st.ok()) return st;
  conn->refresh_addresses();
  return conn;
}

RealConnection::RealConnection(EpollEventSource& source, int fd, std::string peer)
    : fd_(fd), watch_(source), peer_(std::move(peer)) {
  WEIR_ASSERT(fd >= 0);
}

RealConnection::~RealConnection() {
  close();
}

void RealConnection::refresh_addresses() {
  if (std::string peer = socket_name(fd_, true); !peer.empty()) peer_ = std::move(peer);
  local_ = socket_name(fd_, false);
}

absl::Status RealConnection::closed_error(const char* op) const {
  return absl::UnavailableError(absl::StrCat(op, " ", peer_, ": connection closed locally"));
}

void RealConnection::close() {
  if (closed_) return;
  closed_ = true;
  watch_.detach();  // wakes pending readers and writers; they see closed_
  ::close(fd_);
  fd_ = -1;
}

absl::Status RealConnection::finish_connect() {
  while (true) {
    if (closed_) return closed_error("connect to");
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return errno_status(err, "connect to", peer_);
    sockaddr_in addr{};
    socklen_t addr_len = sizeof(addr);
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &addr_len) == 0) {
      refresh_addresses();
      return absl::OkStatus();
    }
    if (errno != ENOTCONN) return errno_status(errno, "connect to", peer_);
    watch_.wait_writable();  // still in progress
  }
}

absl::StatusOr<size_t> RealConnection::read(absl::Span<uint8_t> buffer) {
  if (buffer.empty()) return absl::InvalidArgumentError("read into an empty buffer");
  while (true) {
    if (closed_) return closed_error("read from");
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_status(errno, "read from", peer_);
    watch_.wait_readable();
  }
}

absl::Status RealConnection::write(absl::Span<const uint8_t> data) {
  ActorMutex::Guard lock(write_mutex_);
  size_t done = 0;
  try {
    return send_all(data, done);
  } catch (const Cancelled&) {
    if (done > 0 && done < data.size()) close();  // never leave a torn message on the stream
    throw;
  }
}

absl::Status RealConnection::send_all(absl::Span<const uint8_t> data, size_t& done) {
  while (done < data.size()) {
    if (closed_) return closed_error("write to");
    const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_status(errno, "write to", peer_);
    watch_.wait_writable();
  }
  return absl::OkStatus();
}

absl::Status RealConnection::send_file(IFile& file, uint64_t offset, size_t length) {
  ActorMutex::Guard lock(write_mutex_);
  size_t done = 0;
  absl::Status s;
  try {
    if (auto* real = dynamic_cast<RealFile*>(&file)) {
      s = sendfile_all(*real, offset, length, done);
    } else {              // a wrapper (tests' faulty files): it must see the reads
      size_t copied = 0;  // read and handed to send_all; `done` counts what reached the socket
      s = copy_file_to(file, offset, length, copied, [&](absl::Span<const uint8_t> bytes) {
        size_t sent = 0;
        absl::Status st = send_all(bytes, sent);
        done += sent;
        return st;
      });
    }
  } catch (const Cancelled&) {
    if (done > 0 && done < length) close();
    throw;
  }
  if (!s.ok() && done > 0) close();
  return s;
}

// The loop thread's sendfile: the socket is non-blocking (EAGAIN: wait for room, as send), the
// pages come from the page cache (prefetch put them there), so nothing here waits for a disk.
absl::Status RealConnection::sendfile_all(RealFile& file, uint64_t offset, size_t length,
                                          size_t& done) {
  uint64_t prefetched = 0;  // bytes from `offset` prefetched (partial sends stay inside them)
  while (done < length) {
    if (closed_) return closed_error("send file to");
    const size_t chunk = std::min(length - done, kSendFileChunkBytes);
    if (done >= prefetched) {
      file.prefetch(offset + done, chunk);
      prefetched = done + chunk;
      if (closed_) return closed_error("send file to");  // closed while the pool read ahead
    }
    off_t at = static_cast<off_t>(offset + done);
    const ssize_t n = ::sendfile(fd_, file.fd(), &at, chunk);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      return absl::OutOfRangeError(absl::StrCat("send file ", file.path(), " to ", peer_,
                                                ": ends before ", offset + length, " (at ",
                                                offset + done, ")"));
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return errno_status(errno, "send file to", absl::StrCat(peer_, " from ", file.path()));
    }
    watch_.wait_writable();
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// RealListener

absl::StatusOr<std::unique_ptr<RealListener>> RealListener::adopt(EpollEventSource& source,
                                                                  int fd) {
  auto listener = std::make_unique<RealListener>(source, fd, socket_name(fd, false));
  if (auto st = listener->watch_.attach(fd); !st.ok()) return st;
  return listener;
}

RealListener::RealListener(EpollEventSource& source, int fd, std::string address)
    : source_(source), fd_(fd), watch_(source), address_(std::move(address)) {}

RealListener::~RealListener() {
  close();
}

void RealListener::close() {
  if (closed_) return;
  closed_ = true;
  watch_.detach();
  ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::shared_ptr<IConnection>> RealListener::accept() {
  while (true) {
    if (closed_) return absl::UnavailableError(absl::StrCat("listener ", address_, " closed"));
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      auto conn = RealConnection::adopt(source_, fd, "");
      if (!conn.ok()) return conn.status();
      return std::shared_ptr<IConnection>(std::move(*conn));
    }
    // A connection that died in the backlog is not the listener's failure.
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_status(errno, "accept on", address_);
    watch_.wait_readable();
  }
}

// ---------------------------------------------------------------------------------------------
// RealNetwork

absl::StatusOr<std::unique_ptr<IListener>> RealNetwork::listen(const std::string& address) {
  auto addr = parse_ipv4_address(address);
  if (!addr.ok()) return addr.status();
  const int fd = new_socket();
  if (fd < 0) return errno_status(errno, "socket for listener", address);
  absl::Status st = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
  if (st.ok() && ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    st = errno_status(errno, "bind", address);
  }
  if (st.ok() && ::listen(fd, SOMAXCONN) != 0) st = errno_status(errno, "listen on", address);
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  auto listener = RealListener::adopt(source_, fd);  // owns fd, even on error
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<IListener>(std::move(*listener));
}

absl::StatusOr<std::shared_ptr<IConnection>> RealNetwork::connect(const std::string& address) {
  auto addr = parse_ipv4_address(address);
  if (!addr.ok()) return addr.status();
  const int fd = new_socket();
  if (fd < 0) return errno_status(errno, "socket to", address);
  auto conn = RealConnection::adopt(source_, fd, address);  // owns fd, even on error
  if (!conn.ok()) return conn.status();
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return errno_status(errno, "connect to", address);
    if (auto st = (*conn)->finish_connect(); !st.ok()) return st;
  } else {
    (*conn)->finish_connect().IgnoreError();  // connected at once: just fetch the addresses
  }
  return std::shared_ptr<IConnection>(std::move(*conn));
}

}  // namespace weir::real
