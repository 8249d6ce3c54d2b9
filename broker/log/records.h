// The records inside a RecordBatch v2, for the few places that must look at them (a timestamp
// lookup, tests, Weir's own clients): an iterator over an uncompressed records area, a reader
// that decompresses first, and a builder that encodes records into one batch with a correct
// CRC. The append and fetch paths never come here: they work on whole batches.
//
// Record layout: length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
// keyLength varint (-1: null) + key, valueLength varint (-1: null) + value, headersCount
// varint, then per header keyLength varint + key, valueLength varint (-1: null) + value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "broker/log/record_batch.h"
#include "runtime/bytes/byte_reader.h"

namespace weir::broker::log {

struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;
};

// One decoded record; its views point into the records area it was read from.
struct Record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<RecordHeader> headers;
};

// Walks `record_count` records of an uncompressed records area, each bounded by its length
// prefix (a record must use exactly its length).
class RecordIterator {
 public:
  RecordIterator(std::string_view records, int32_t record_count)
      : reader_(records, "Record"), remaining_(record_count) {}
  // The next record, or false at the end or at the first error (see status()).
  bool next(Record& record);
  // After next() returned false: OK when exactly record_count records filled the area.
  absl::Status status() const;
  // Bytes of the area consumed so far: the record next() returned last spans the bytes
  // between the positions before and after that call (the cleaner copies records whole).
  size_t position() const { return reader_.position(); }

 private:
  ByteReader reader_;
  int32_t remaining_;
  int32_t index_ = 0;
};

// Every record of `batch`, decompressing into `storage` first when the batch is compressed
// (the records then point into `storage`, which must outlive them). Decompressed records are
// bounded by decompressed_bytes_max.
absl::StatusOr<std::vector<Record>> read_records(const BatchView& batch, std::string& storage,
                                                 size_t decompressed_bytes_max);

// What a producer puts in one record.
struct RecordInput {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = 0;
};

struct BatchOptions {
  Compression compression = Compression::kNone;
  Offset base_offset{0};
  LeaderEpoch partition_leader_epoch = kNoLeaderEpoch;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
};

// One batch holding `records` (offset deltas 0..n-1, baseTimestamp the first record's
// timestamp, maxTimestamp the largest), compressed as asked, with the CRC computed.
absl::StatusOr<std::string> build_batch(absl::Span<const RecordInput> records,
                                        const BatchOptions& options = {});

}  // namespace weir::broker::log
