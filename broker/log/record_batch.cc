#include "broker/log/record_batch.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/bytes/byte_reader.h"
#include "runtime/crc32c.h"

namespace weir::broker::log {
namespace {

void store_be(absl::Span<uint8_t> out, size_t at, uint64_t v, size_t n) {
  WEIR_ASSERT(at + n <= out.size());
  for (size_t i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

std::string_view as_view(absl::Span<const uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void check_header(ByteReader& r, const BatchHeader& h) {
  if (h.magic != kMagicV2) {
    r.fail("magic", absl::StrCat("message format v", static_cast<int>(h.magic),
                                 " is not supported (Weir stores RecordBatch v2 only)"));
    return;
  }
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderBytes - kLogOverheadBytes)) {
    r.fail("batchLength", absl::StrCat(h.batch_length, " is shorter than the batch header"));
  } else if ((h.attributes & kCompressionMask) > static_cast<int>(Compression::kZstd)) {
    r.fail("attributes", absl::StrCat("unknown compression codec ", h.attributes & 7));
  } else if (h.record_count < 0) {
    r.fail("recordCount", absl::StrCat("negative count ", h.record_count));
  } else if (h.last_offset_delta < 0) {
    r.fail("lastOffsetDelta", absl::StrCat("negative delta ", h.last_offset_delta));
  } else if (h.record_count > 0 && h.last_offset_delta < h.record_count - 1) {
    r.fail("lastOffsetDelta",
           absl::StrCat(h.last_offset_delta, " is below recordCount ", h.record_count, " - 1"));
  } else if (h.base_offset < 0 ||
             h.base_offset > std::numeric_limits<int64_t>::max() - h.last_offset_delta) {
    r.fail("baseOffset", absl::StrCat("out of range: ", h.base_offset));
  }
}

}  // namespace

Compression BatchHeader::compression() const {
  return static_cast<Compression>(attributes & kCompressionMask);
}

absl::StatusOr<BatchHeader> parse_batch_header(std::string_view bytes) {
  ByteReader r(bytes.substr(0, std::min(bytes.size(), kBatchHeaderBytes)), "RecordBatch");
  BatchHeader h;
  h.base_offset = r.read_i64("baseOffset");
  h.batch_length = r.read_i32("batchLength");
  h.partition_leader_epoch = r.read_i32("partitionLeaderEpoch");
  h.magic = r.read_i8("magic");
  if (r.ok() && h.magic != kMagicV2) {
    check_header(r, h);  // names the format before complaining about the length
    return r.status();
  }
  h.crc = r.read_u32("crc");
  h.attributes = r.read_i16("attributes");
  h.last_offset_delta = r.read_i32("lastOffsetDelta");
  h.base_timestamp = r.read_i64("baseTimestamp");
  h.max_timestamp = r.read_i64("maxTimestamp");
  h.producer_id = r.read_i64("producerId");
  h.producer_epoch = r.read_i16("producerEpoch");
  h.base_sequence = r.read_i32("baseSequence");
  h.record_count = r.read_i32("recordCount");
  if (r.ok()) check_header(r, h);
  if (!r.ok()) return r.status();
  return h;
}

uint32_t compute_batch_crc(std::string_view batch) {
  WEIR_ASSERT(batch.size() >= kBatchHeaderBytes);
  return crc32c(batch.data() + batch_field::kAttributes, batch.size() - batch_field::kAttributes);
}

absl::StatusOr<BatchView> BatchView::parse(std::string_view bytes) {
  auto header = parse_batch_header(bytes);
  if (!header.ok()) return header.status();
  if (header->size_bytes() != bytes.size()) {
    return absl::DataLossError(absl::StrCat("RecordBatch: batchLength ", header->batch_length,
                                            " does not match the ", bytes.size(),
                                            " bytes of the batch"));
  }
  const uint32_t crc = compute_batch_crc(bytes);
  if (crc != header->crc) {
    return absl::DataLossError(absl::StrCat("RecordBatch: CRC mismatch at base offset ",
                                            header->base_offset, " (stored ", header->crc,
                                            ", computed ", crc, ")"));
  }
  return BatchView(*header, bytes);
}

void BatchView::reload_header() {
  auto header = parse_batch_header(bytes_);
  WEIR_ASSERT_MSG(header.ok(), "an in-place edit broke a batch header");
  header_ = *header;
}

absl::StatusOr<std::vector<BatchView>> split_batches(std::string_view records,
                                                     size_t batch_bytes_max) {
  if (records.empty()) return absl::InvalidArgumentError("RecordBatch: no batch in records");
  std::vector<BatchView> out;
  size_t pos = 0;
  while (pos < records.size()) {
    const std::string_view rest = records.substr(pos);
    auto header = parse_batch_header(rest);
    if (!header.ok()) {
      return absl::DataLossError(
          absl::StrCat("batch at byte ", pos, ": ", header.status().message()));
    }
    if (header->size_bytes() > batch_bytes_max) {
      return absl::OutOfRangeError(absl::StrCat("MESSAGE_TOO_LARGE: batch of ",
                                                header->size_bytes(), " bytes exceeds ",
                                                batch_bytes_max));
    }
    if (header->size_bytes() > rest.size()) {
      return absl::DataLossError(absl::StrCat("RecordBatch: partial batch at byte ", pos, " (",
                                              rest.size(), " of ", header->size_bytes(),
                                              " bytes)"));
    }
    auto view = BatchView::parse(rest.substr(0, header->size_bytes()));
    if (!view.ok()) return view.status();
    out.push_back(*view);
    pos += header->size_bytes();
  }
  return out;
}

absl::Status validate_client_batch(const BatchView& batch) {
  const BatchHeader& h = batch.header();
  if (h.record_count <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("INVALID_RECORD: batch reports ", h.record_count, " records"));
  }
  if (h.last_offset_delta != h.record_count - 1) {
    return absl::InvalidArgumentError(absl::StrCat("INVALID_RECORD: lastOffsetDelta ",
                                                   h.last_offset_delta, " inconsistent with ",
                                                   h.record_count, " records"));
  }
  if (h.is_control()) {
    return absl::InvalidArgumentError("INVALID_RECORD: clients may not send control batches");
  }
  if (h.producer_id >= 0 && h.base_sequence < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("INVALID_RECORD: producer ", h.producer_id, " batch without a sequence"));
  }
  return absl::OkStatus();
}

void set_base_offset(absl::Span<uint8_t> batch, Offset base_offset) {
  WEIR_ASSERT(batch.size() >= kBatchHeaderBytes && base_offset.value() >= 0);
  store_be(batch, batch_field::kBaseOffset, static_cast<uint64_t>(base_offset.value()), 8);
}

void set_partition_leader_epoch(absl::Span<uint8_t> batch, LeaderEpoch epoch) {
  WEIR_ASSERT(batch.size() >= kBatchHeaderBytes);
  store_be(batch, batch_field::kPartitionLeaderEpoch, static_cast<uint32_t>(epoch.value()), 4);
}

void set_log_append_time(absl::Span<uint8_t> batch, int64_t timestamp_ms) {
  WEIR_ASSERT(batch.size() >= kBatchHeaderBytes);
  const uint16_t attributes = static_cast<uint16_t>((batch[batch_field::kAttributes] << 8) |
                                                    batch[batch_field::kAttributes + 1]) |
                              kTimestampTypeBit;
  store_be(batch, batch_field::kAttributes, attributes, 2);
  store_be(batch, batch_field::kMaxTimestamp, static_cast<uint64_t>(timestamp_ms), 8);
  store_be(batch, batch_field::kCrc, compute_batch_crc(as_view(batch)), 4);
}

}  // namespace weir::broker::log
