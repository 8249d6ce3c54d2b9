// Kafka's RecordBatch v2 (magic 2) as the log stores and serves it: a validated view over the
// bytes a producer sent, plus the few in-place edits a broker makes before it appends them
// (base offset, partition leader epoch, LogAppendTime). The broker never re-encodes a batch:
// the bytes written to a segment are the bytes the producer sent, with those header fields
// patched, so that a fetch can hand segment bytes straight to the network.
//
// Layout (big-endian): baseOffset i64, batchLength i32 (bytes after this field),
// partitionLeaderEpoch i32, magic i8, crc u32 (CRC32C of attributes..end), attributes i16,
// lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64, producerId i64, producerEpoch
// i16, baseSequence i32, recordCount i32, then the records (compressed as a whole when the
// codec bits are set). See /work/shared/reference/kafka/implementation.html, 5.3.1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"

namespace weir::broker::log {

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

// Byte positions of the header fields.
namespace batch_field {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kBatchLength = 8;
inline constexpr size_t kPartitionLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordCount = 57;
}  // namespace batch_field

inline constexpr size_t kBatchHeaderBytes = 61;
// baseOffset and batchLength: what precedes the length-counted part (Kafka's LOG_OVERHEAD).
inline constexpr size_t kLogOverheadBytes = 12;
inline constexpr int8_t kMagicV2 = 2;

inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeBit = 0x08;
inline constexpr uint16_t kTransactionalBit = 0x10;
inline constexpr uint16_t kControlBit = 0x20;

// The decoded 61-byte header.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = kMagicV2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  Compression compression() const;
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return (attributes & kTransactionalBit) != 0; }
  bool is_control() const { return (attributes & kControlBit) != 0; }
  Offset base() const { return Offset(base_offset); }
  Offset last() const { return Offset(base_offset + last_offset_delta); }
  // The whole batch, header included.
  size_t size_bytes() const { return static_cast<size_t>(batch_length) + kLogOverheadBytes; }
};

// Decodes and checks the header in the first 61 bytes of `bytes` (which may hold more):
// magic 2 (older formats are refused by name), a batchLength that covers at least the header,
// a known codec, recordCount >= 0, lastOffsetDelta >= 0 and not below recordCount - 1. No
// CRC check: the records may not be in `bytes`. DataLoss on any failure.
absl::StatusOr<BatchHeader> parse_batch_header(std::string_view bytes);

// CRC32C of attributes..end of a whole batch (what the crc field must hold).
uint32_t compute_batch_crc(std::string_view batch);

// One whole, validated batch inside a caller's buffer; valid while the buffer lives.
class BatchView {
 public:
  // `bytes` must be exactly one batch: header valid, batchLength == bytes.size() - 12, CRC
  // matching. DataLoss otherwise.
  static absl::StatusOr<BatchView> parse(std::string_view bytes);

  const BatchHeader& header() const { return header_; }
  std::string_view bytes() const { return bytes_; }
  // What follows the header: the records, compressed as a whole if the codec says so.
  std::string_view records_bytes() const { return bytes_.substr(kBatchHeaderBytes); }
  size_t size_bytes() const { return bytes_.size(); }
  // Decodes the header again after an in-place edit of the bytes (set_base_offset & co.).
  void reload_header();

 private:
  BatchView(BatchHeader header, std::string_view bytes) : header_(header), bytes_(bytes) {}
  BatchHeader header_;
  std::string_view bytes_;
};

// The batches of a produce request's records field, each validated (parse above). A partial
// trailing batch is an error (DataLoss), as is an empty input (InvalidArgument). A batch
// larger than batch_bytes_max gives OutOfRange naming MESSAGE_TOO_LARGE.
absl::StatusOr<std::vector<BatchView>> split_batches(std::string_view records,
                                                     size_t batch_bytes_max);

// Kafka's checks on a batch that a client (not a replica) produced: records in it, an offset
// range that matches the record count, no control batch, a sequence when a producer id is
// set. InvalidArgument (Kafka's INVALID_RECORD) on failure.
absl::Status validate_client_batch(const BatchView& batch);

// In-place edits of one whole batch (batch.size() >= 61; asserted).
// Outside the CRC: no recomputation.
void set_base_offset(absl::Span<uint8_t> batch, Offset base_offset);
void set_partition_leader_epoch(absl::Span<uint8_t> batch, LeaderEpoch epoch);
// Sets the LogAppendTime bit and maxTimestamp, then recomputes the CRC (the records are not
// touched: consumers take every record's timestamp from maxTimestamp).
void set_log_append_time(absl::Span<uint8_t> batch, int64_t timestamp_ms);

}  // namespace weir::broker::log
