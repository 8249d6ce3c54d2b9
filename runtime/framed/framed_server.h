// A server for length-prefixed request/reply protocols (ZooKeeper's and Kafka's wire
// protocols both frame this way, and both answer each connection's requests in request order
// while clients pipeline). It owns everything about connections that is not the protocol:
// the accept loop and connection limit; per connection a reader, a responder and a writer
// actor; the frame size limit; at most `in_flight_max` requests being handled per connection
// (the reader stops reading beyond it, so TCP pushes back on the client); replies written in
// request order; a bounded send queue (a client that does not read its replies is
// disconnected, never buffered without bound); an idle timeout; per-connection and
// per-listener counters.
//
// The protocol is a FramedHandler: it sees each request frame's body and answers with a
// Future of the reply bytes, so handlers may take as long as they need (a produce waiting for
// replication, a write waiting for its quorum) while later requests are already being handled.
// A protocol may also push bytes of its own (ZooKeeper's watch events) with
// FramedConnection::send: they go out at once, ahead of replies not yet due.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/filesystem.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir::framed {

struct FramedServerOptions {
  std::string name = "framed";               // names the listener in trace events
  std::string_view protocol = "frame";       // names the framing in errors ("kafka frame")
  size_t frame_bytes_max = 1 << 20;          // a longer request frame closes its connection
  size_t connections_max = 1024;             // more are accepted and closed at once
  size_t in_flight_max = 100;                // requests per connection handled at once
  size_t send_queue_bytes_max = 16 << 20;    // unsent bytes per connection before it is closed
  Duration idle_timeout = Duration::zero();  // no frame for this long closes; zero: never
  size_t read_chunk_bytes = 64 << 10;
  // Bytes the handler's on_preamble sees before framing starts; 0: no preamble.
  size_t preamble_bytes = 0;
};

// Why a connection ended; counted per listener.
enum class CloseReason {
  kPeerClosed,     // end of stream or a reset
  kBadFrame,       // a length prefix over the limit or negative
  kSlowReader,     // its send queue passed send_queue_bytes_max
  kIdle,           // no frame within idle_timeout
  kHandlerClosed,  // the protocol asked (a failed reply, close_after, close())
  kServerStopped,
};
const char* close_reason_name(CloseReason reason);

struct ConnectionStats {
  uint64_t frames_received = 0;
  uint64_t replies_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  size_t in_flight = 0;         // requests handled, reply not yet queued
  size_t send_queue_bytes = 0;  // queued, not yet written
  size_t send_queue_bytes_peak = 0;
  TimePoint established;
  TimePoint last_frame;
};

struct ListenerStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;  // over connections_max
  uint64_t frames_received = 0;
  uint64_t replies_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  std::map<CloseReason, uint64_t> closed;  // by reason
};

// A range of an open file that goes out through IConnection::send_file (sendfile(2) in the
// real runtime). The shared_ptr keeps the file open until the range is written, even if its
// owner (a log segment) is deleted meanwhile.
struct FileRange {
  std::shared_ptr<IFile> file;
  uint64_t offset = 0;
  size_t length = 0;
};

// A range placed in a byte stream: it goes out after the stream's bytes [0, at) and before the
// rest.
struct FilePiece {
  size_t at = 0;
  FileRange range;
};

// A reply to one request: the framed bytes to send, with file ranges spliced into them (empty
// and none: no reply, as for Kafka's acks=0 produce), and whether the connection closes once
// they are written (later requests are then dropped unanswered, as ZooKeeper drops what follows
// a closeSession). The pieces are sent in order: bytes[0, files[0].at), files[0], bytes[
// files[0].at, files[1].at), ...; `at` never decreases and is at most bytes.size(). Every
// piece counts toward send_queue_bytes_max.
struct Reply {
  std::string bytes;
  bool close_after = false;
  std::vector<FilePiece> files;  // after close_after: Reply{bytes, close_after} stays valid
};

// One accepted connection, as its protocol handler sees it. Shared by the connection's actors
// and the handler; it outlives the socket, so a handler's late reply finds it closed.
class FramedConnection : public std::enable_shared_from_this<FramedConnection> {
 public:
  FramedConnection(uint64_t id, std::shared_ptr<IConnection> io, size_t send_queue_bytes_max);
  FramedConnection(const FramedConnection&) = delete;
  FramedConnection& operator=(const FramedConnection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  const ConnectionStats& stats() const { return stats_; }
  bool closed() const { return closed_; }
  std::optional<CloseReason> close_reason() const { return reason_; }

  // Queues already-framed bytes to go out at once (ahead of replies not yet due). False if
  // the connection is closed, or has just been closed because its send queue is full.
  bool send(std::string_view bytes);
  // Queues a reply's bytes and file ranges, in order (what the responder does with a reply).
  bool send_reply(Reply reply);
  // The same, with the bytes written by encode(std::string& out) straight into the send queue
  // (appending only): no copy of a reply that was encoded elsewhere first.
  template <class Encode>
  bool send_encoded(Encode&& encode) {
    if (closed_) return false;
    const size_t before = send_queue_.size();
    encode(send_queue_);
    return account_sent(before);
  }
  // Closes now: queued bytes are dropped, pending requests are cancelled.
  void close(CloseReason reason = CloseReason::kHandlerClosed);
  // Stops reading requests; closes once the replies already due and every byte queued are
  // written (or after a short grace period).
  void close_after_flush();

 private:
  friend class ServerCore;
  // Counts what was appended to send_queue_ after `before`, plus `file_bytes` queued in
  // send_files_, against the bound (closing the connection as a slow reader beyond it) and
  // wakes the writer.
  bool account_sent(size_t before, size_t file_bytes = 0);
  uint64_t id_;
  std::shared_ptr<IConnection> io_;
  std::string peer_;
  size_t send_queue_bytes_max_;
  ConnectionStats stats_;
  std::string send_queue_;
  std::vector<FilePiece> send_files_;  // `at`: positions in send_queue_
  std::deque<Future<Reply>> replies_;  // in request order (the responder's FIFO)
  WaitList send_changed_;              // bytes queued, or closed
  WaitList state_changed_;             // a reply queued, a request done, or closed
  bool closing_after_flush_ = false;
  bool closed_ = false;
  std::optional<CloseReason> reason_;
};

// The protocol. Every call runs on the server's thread, in the connection's own actor: a call
// may suspend briefly (coord's write submission may wait for its log), which holds up only
// that connection's reading; anything longer belongs in the actors behind its futures.
class FramedHandler {
 public:
  virtual ~FramedHandler() = default;
  // The connection's first preamble_bytes bytes, before any frame: a protocol may answer a
  // preamble that is no frame (ZooKeeper's four-letter words) by returning the answer, which is
  // sent before the connection closes. nullopt: the bytes are the start of the first frame.
  virtual std::optional<std::string> on_preamble(FramedConnection&, std::string_view) {
    return std::nullopt;
  }
  virtual void on_open(FramedConnection&) {}
  // Starts handling one request frame (its body, without the length). The reply goes out
  // after every earlier request's; a failed future closes the connection. `frame` is valid
  // only during the call: copy what the future needs.
  virtual Future<Reply> on_frame(FramedConnection& connection, std::string_view frame) = 0;
  // After the connection closed and its pending requests were dropped.
  virtual void on_close(FramedConnection&) {}
};

class ServerCore;

// Owns a listener and its connections. Stopping (or destroying) it closes every connection.
class FramedServer {
 public:
  FramedServer(INetwork& network, FramedHandler& handler, FramedServerOptions options);
  ~FramedServer();
  FramedServer(const FramedServer&) = delete;
  FramedServer& operator=(const FramedServer&) = delete;

  absl::Status start(const std::string& address);
  void stop();
  const std::string& address() const;
  const ListenerStats& stats() const;
  const FramedServerOptions& options() const;
  // Open connections in accept order.
  std::vector<std::shared_ptr<FramedConnection>> connections() const;

 private:
  std::shared_ptr<ServerCore> core_;
};

}  // namespace weir::framed
