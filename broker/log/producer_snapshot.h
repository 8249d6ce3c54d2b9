// Kafka's producer state snapshot files, `<offset>.snapshot` in a partition directory: the
// ProducerStateTable as it was when the log ended at <offset>, so that opening a log (or
// truncating one) replays only the batches after the newest snapshot instead of the whole log.
//
// Layout (Kafka's, version 1, big-endian): version i16, crc u32 (CRC32C of everything after
// it), then an array (count i32) of 46-byte entries: producerId i64, producerEpoch i16,
// lastSequence i32, lastOffset i64, offsetDelta i32, timestamp i64, coordinatorEpoch i32,
// currentTxnFirstOffset i64. Kafka writes one entry per producer (its last batch); Weir writes
// one per batch it keeps (up to five per producer, oldest first), so that a retry of any
// batch still in flight is recognised after a restart too. Kafka's reader keeps the last entry
// of each producer, which is its last batch: the files stay readable by Kafka's tools.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/log/producer_state.h"

namespace weir::broker::log {

inline constexpr char kProducerSnapshotSuffix[] = ".snapshot";
inline constexpr size_t kProducerSnapshotEntryBytes = 46;
inline constexpr size_t kProducerSnapshotHeaderBytes = 2 + 4 + 4;

std::string encode_producer_snapshot(const ProducerStateTable& table);
// DataLoss on any damage: a wrong version or CRC, a count that disagrees with the bytes, an
// entry no log could hold (negative offsets, a delta beyond its offset). Allocates nothing
// before the count has been checked against the bytes.
absl::StatusOr<ProducerStateTable> decode_producer_snapshot(std::string_view bytes);

}  // namespace weir::broker::log
