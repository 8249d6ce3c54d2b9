// Kafka's message formats before RecordBatch v2 (magic 0 and 1, KIP-32), which Produce v0-v2
// and Fetch v0-v3 carry. The log stores v2 only, so, as a Kafka 3.0 broker does, a legacy
// message set is converted up on produce (one v2 batch of the same records, compressed as the
// producer compressed them) and v2 batches are converted down for a fetch at a version that
// cannot carry them. Old clients (kafka-go 0.2, librdkafka before 0.11) speak only these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weir::broker::log {

// The magic byte of the first entry of a records blob (byte 16 in every format), or -1.
int8_t records_magic(std::string_view records);

// A legacy message set (magic 0/1; compressed wrappers holding inner sets) as one v2 batch.
// Every message's CRC is checked (DataLoss naming the message otherwise); the records keep
// their keys, values and (v1) timestamps; the batch uses the wrapper's codec. Decompression is
// bounded by decompressed_bytes_max.
absl::StatusOr<std::string> upconvert_message_set(std::string_view records,
                                                  size_t decompressed_bytes_max);

// Whole v2 batches as an uncompressed message set of `magic` (0 or 1), one message per record
// with its absolute offset (headers have no place there and are dropped, as Kafka drops them).
absl::StatusOr<std::string> downconvert_batches(std::string_view batches, int8_t magic,
                                                size_t decompressed_bytes_max);

}  // namespace weir::broker::log
