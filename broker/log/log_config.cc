#include "broker/log/log_config.h"

#include "broker/log/record_batch.h"

namespace weir::broker::log {

absl::Status validate(const LogConfig& c) {
  // Positions in the offset index are u32, and Kafka's segment.bytes is an int.
  if (c.segment_bytes_max < static_cast<int64_t>(kBatchHeaderBytes) ||
      c.segment_bytes_max > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError("segment.bytes out of range");
  }
  if (c.segment_ms <= Duration::zero()) return absl::InvalidArgumentError("segment.ms <= 0");
  if (c.index_interval_bytes < 0) return absl::InvalidArgumentError("index.interval.bytes < 0");
  if (c.retention_ms < -1) return absl::InvalidArgumentError("retention.ms < -1");
  if (c.retention_bytes < -1) return absl::InvalidArgumentError("retention.bytes < -1");
  if (c.flush_interval_messages < 1 || c.flush_interval_ms < 0) {
    return absl::InvalidArgumentError("flush.messages < 1 or flush.ms < 0");
  }
  if (c.max_message_bytes < static_cast<int32_t>(kBatchHeaderBytes)) {
    return absl::InvalidArgumentError("max.message.bytes below a batch header");
  }
  if (!c.delete_policy && !c.compact) {
    return absl::InvalidArgumentError("cleanup.policy names neither delete nor compact");
  }
  if (c.delete_retention_ms < 0 || c.min_compaction_lag_ms < 0) {
    return absl::InvalidArgumentError("delete.retention.ms or min.compaction.lag.ms < 0");
  }
  if (!(c.min_cleanable_dirty_ratio >= 0 && c.min_cleanable_dirty_ratio <= 1)) {
    return absl::InvalidArgumentError("min.cleanable.dirty.ratio outside [0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace weir::broker::log
