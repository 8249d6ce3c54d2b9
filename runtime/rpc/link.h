// Pieces shared by RpcClient and RpcServer: one framed connection (Link) and a FIFO counting
// semaphore for actors (ActorSemaphore). Internal to runtime/rpc; other code uses client.h
// and server.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/assert.h"
#include "runtime/network.h"
#include "runtime/rpc/frame.h"
#include "runtime/scheduler.h"
#include "runtime/sync.h"
#include "runtime/wait_list.h"

namespace weir::rpc {

// Abseil 20220623 pins its own string_view; StrCat and friends need it spelled out.
inline absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

struct LinkOptions {
  size_t frame_bytes_max = kDefaultFrameBytesMax;
  size_t send_buffer_bytes_max = 4 << 20;
  size_t read_chunk_bytes = 32 << 10;
  std::string_view side = "client";  // for trace events: "client" or "server"
};

// One framed RPC connection, either side. It exists so that many actors (callers, handlers)
// can share one byte stream safely: senders only queue whole frames, and a single writer actor
// owned by the connection writes them, so a sender cancelled by its timeout can never leave
// half a frame on the stream, and frames from many senders coalesce into few writes.
//
// The owner runs run_reader() and run_writer() as two actors. The first failure closes the
// link (closing the connection, waking both actors and every blocked sender); its reason
// sticks and is what later senders are told.
class Link {
 public:
  Link(std::shared_ptr<IConnection> connection, LinkOptions options);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Queues one frame. Suspends while the send buffer is full (backpressure). Unavailable once
  // the link is closed; InvalidArgument if the payload cannot fit a frame. Throws Cancelled.
  absl::Status send(FrameKind kind, uint64_t token, uint64_t request_id, std::string_view payload);

  // Writer actor body: writes queued frames until the link closes.
  void run_writer();
  // Reader actor body: decodes frames and hands each to `on_frame`, which may suspend (the
  // reader then stops reading: backpressure). Returns, with the link closed, when the stream
  // ends or fails, a frame is malformed, or `on_frame` returns an error (DataLoss from
  // `on_frame` means the peer violated the protocol). Returns the close reason.
  absl::Status run_reader(const std::function<absl::Status(Frame&&)>& on_frame);

  // Closes the link (idempotent; the first reason wins). A DataLoss reason is traced as
  // RpcMalformedFrame. Never suspends.
  void close(absl::Status why);
  bool closed() const { return closed_; }
  const absl::Status& close_reason() const { return close_reason_; }
  const std::string& peer() const { return connection_->peer_address(); }
  size_t queued_bytes() const { return queue_.size() + writing_bytes_; }

 private:
  absl::Status read_loop(const std::function<absl::Status(Frame&&)>& on_frame);

  std::shared_ptr<IConnection> connection_;
  LinkOptions options_;
  std::string queue_;  // encoded frames waiting for the writer
  size_t writing_bytes_ = 0;
  WaitList writer_waiters_;
  WaitList space_waiters_;
  bool closed_ = false;
  absl::Status close_reason_;
};

// An IConnection error as a call or connection error: everything is Unavailable, except our
// own protocol verdicts (DataLoss) which keep their code.
absl::Status connection_error(std::string_view what, const std::string& peer,
                              const absl::Status& cause);

}  // namespace weir::rpc
