// The leader's reaper of containers and TTL nodes (ZooKeeper's ContainerManager). Only the
// leader reaps, so one server decides; what it reaps is re-checked when the DeleteContainerOp
// applies (a container that got a child, or a TTL node written since, survives), so a stale
// candidate list or a leader change in between never deletes a live node.
#include <algorithm>

#include "buggify/code_probe.h"
#include "coord/server/coord_server.h"
#include "coord/server/txn_codec.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::coord::server {

void CoordServer::reaper_loop() {
  // Deletes are paced evenly over the minute, as ZooKeeper paces them, so a mass expiry does
  // not crowd client writes out of the pipeline.
  const Duration pace = std::chrono::duration_cast<Duration>(std::chrono::minutes(1)) /
                        std::max<int64_t>(1, config_.container_max_per_minute);
  while (true) {
    delay(config_.container_check_interval);
    if (peer_->state() != zab::PeerState::kLeading || !peer_->serving()) continue;
    if (config_.bug == CoordBug::kReaperIdle) continue;
    const std::vector<std::string> paths = machine_.tree().expiry_candidates(
        ctx_.clock->wall_ms(), config_.container_max_never_used_ms);
    for (const std::string& path : paths) {
      if (peer_->state() != zab::PeerState::kLeading) break;
      reap(path);
      delay(pace);
    }
  }
}

void CoordServer::reap(const std::string& path) {
  Txn txn;
  txn.auth.push_back(Id{"super", ""});
  txn.op = DeleteContainerOp{path};
  auto zxid = peer_->submit(encode_txn(txn), config_.request_timeout);
  if (!zxid.ok()) return;  // no longer leading, or overloaded: the next pass tries again
  machine_.expect_result(*zxid);
  const absl::Status applied = peer_->wait_applied(*zxid, config_.request_timeout);
  const std::optional<TxnResult> result = machine_.take_result(*zxid);
  machine_.forget_result(*zxid);
  const bool deleted = applied.ok() && result.has_value() && result->err == ErrorCode::kOk;
  if (deleted) {
    ++stats_.nodes_reaped;
    CODE_PROBE(true, "coord.node_reaped");
  } else {
    CODE_PROBE(result.has_value(), "coord.reap_refused_at_apply");
  }
  TraceEvent(Severity::kInfo, "CoordReaped")
      .detail("Path", path)
      .detail("Deleted", deleted)
      .detail("Status", applied.ToString());
}

}  // namespace weir::coord::server
