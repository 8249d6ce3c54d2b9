// A partition log's settings, named after Kafka's topic properties (segment.bytes,
// segment.ms, index.interval.bytes, retention.ms, retention.bytes, flush.messages, flush.ms,
// message.timestamp.type, max.message.bytes) with the unit last, and with Kafka's defaults.
#pragma once

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "runtime/time.h"

namespace weir::broker::log {

struct LogConfig {
  // A segment is rolled when the next batch would take it beyond this (segment.bytes).
  int64_t segment_bytes_max = int64_t{1} << 30;
  // ... or when it is older than this (segment.ms; age counted from when this process created
  // or opened the segment, on the monotonic clock).
  Duration segment_ms = std::chrono::hours(24 * 7);
  // One index entry per this many bytes of log (index.interval.bytes).
  int32_t index_interval_bytes = 4096;
  // Whole segments whose largest timestamp is older than this are deleted (retention.ms);
  // -1 keeps them forever.
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;
  // Oldest segments are deleted while the log is larger than this (retention.bytes); -1: no
  // limit.
  int64_t retention_bytes = -1;
  // fsync after this many messages (flush.messages; 1: every append) ...
  int64_t flush_interval_messages = std::numeric_limits<int64_t>::max();
  // ... or when the last flush is this old (flush.ms).
  int64_t flush_interval_ms = std::numeric_limits<int64_t>::max();
  // message.timestamp.type=LogAppendTime: the broker stamps each batch with its wall clock.
  bool log_append_time = false;
  // The largest batch accepted (max.message.bytes).
  int32_t max_message_bytes = 1048588;

  // cleanup.policy: "delete" (retention by time and size), "compact" (the log cleaner keeps
  // the latest record of each key, broker/log/compaction.h), or both.
  bool delete_policy = true;
  bool compact = false;
  // A tombstone (null value) is kept this long after its segment's newest record, so that a
  // consumer reading from the start sees the deletion (delete.retention.ms).
  int64_t delete_retention_ms = 86400000;
  // A record stays uncompacted at least this long (min.compaction.lag.ms): the cleaner stops
  // before the first segment holding a younger one.
  int64_t min_compaction_lag_ms = 0;
  // The cleaner takes a log when its dirty bytes are at least this share of its cleanable
  // bytes (min.cleanable.dirty.ratio).
  double min_cleanable_dirty_ratio = 0.5;

  // An idempotent producer is forgotten after this long without a batch
  // (producer.id.expiration.ms, a broker-level key in Kafka).
  int64_t producer_id_expiration_ms = 86400000;

  // Weir's own, not Kafka properties:
  // Recovery writes back every batch it validated before fsyncing (see README: a failed fsync
  // may have dropped pages the page cache still shows).
  bool recovery_rewrite_validated = true;
  // TEST ONLY, the broken variant: recovery trusts batch CRCs without checking them.
  bool unsafe_skip_recovery_crc_check = false;
  // TEST ONLY, the broken variant: recovery trusts every segment whose index files look sane,
  // whatever the recovery point (the last segment too): such a segment is neither validated
  // nor rewritten nor fsynced, yet the recovery point becomes the log end.
  bool unsafe_trust_index = false;
  // TEST ONLY, the broken variant: a retried idempotent batch is appended again instead of
  // being answered with its original offsets.
  bool unsafe_accept_duplicates = false;
  // TEST ONLY, the broken variant: the cleaner drops the latest record of a key too (whenever
  // the map names the record's own offset), so compaction loses what it must keep.
  bool unsafe_cleaner_drops_latest = false;
};

// InvalidArgument when a setting is out of its valid range.
absl::Status validate(const LogConfig& config);

}  // namespace weir::broker::log
