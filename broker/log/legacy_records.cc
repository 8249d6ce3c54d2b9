#include "broker/log/legacy_records.h"

#include <zlib.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/log/compression.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::broker::log {
namespace {

constexpr size_t kLegacyEntryOverhead = 12;  // offset int64 + message size int32
constexpr int kNestingMax = 1;               // a wrapper holds plain messages only

uint32_t crc32_ieee(std::string_view bytes) {
  return static_cast<uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::optional<std::string> read_legacy_bytes(ByteReader& r, std::string_view field) {
  const int32_t n = r.read_i32(field);
  if (n == -1 || !r.ok()) return std::nullopt;
  if (!r.check_length(n, field)) return std::nullopt;
  return std::string(r.read_bytes(static_cast<size_t>(n), field));
}

struct Collected {
  std::vector<RecordInput> records;
  Compression codec = Compression::kNone;
  bool log_append_time = false;
};

absl::Status collect(std::string_view set, int depth, size_t decompressed_bytes_max,
                     Collected& out);

// One message (after its offset and size): CRC-checked, appended to `out` or, for a
// compressed wrapper, its inner set collected.
absl::Status collect_message(std::string_view message, int depth, size_t decompressed_bytes_max,
                             Collected& out) {
  ByteReader r(message, "legacy message");
  const uint32_t crc = r.read_u32("crc");
  if (!r.ok()) return r.status();
  if (crc32_ieee(message.substr(4)) != crc)
    return absl::DataLossError("legacy message: CRC mismatch (CORRUPT_MESSAGE)");
  const int8_t magic = r.read_i8("magic");
  const int8_t attributes = r.read_i8("attributes");
  if (magic != 0 && magic != 1)
    return absl::DataLossError(absl::StrCat("legacy message: magic ", magic));
  int64_t timestamp = -1;
  if (magic == 1) timestamp = r.read_i64("timestamp");
  RecordInput rec;
  rec.key = read_legacy_bytes(r, "key");
  rec.value = read_legacy_bytes(r, "value");
  if (auto s = r.finish("legacy message"); !s.ok()) return s;
  const auto codec = static_cast<Compression>(attributes & 0x07);
  if (magic == 1 && (attributes & 0x08) != 0) out.log_append_time = true;
  if (codec == Compression::kNone) {
    rec.timestamp_ms = timestamp;
    out.records.push_back(std::move(rec));
    return absl::OkStatus();
  }
  if (depth >= kNestingMax) return absl::DataLossError("legacy message: nested compression");
  out.codec = codec;
  auto inner = decompress(codec, rec.value.value_or(""), decompressed_bytes_max);
  if (!inner.ok()) return inner.status();
  return collect(*inner, depth + 1, decompressed_bytes_max, out);
}

absl::Status collect(std::string_view set, int depth, size_t decompressed_bytes_max,
                     Collected& out) {
  ByteReader r(set, "legacy message set");
  while (!r.at_end()) {
    r.read_i64("offset");
    const int32_t size = r.read_i32("message_size");
    if (!r.check_length(size, "message")) return r.status();
    const std::string_view message = r.read_bytes(static_cast<size_t>(size), "message");
    if (auto s = collect_message(message, depth, decompressed_bytes_max, out); !s.ok()) return s;
  }
  return r.status();
}

void write_legacy_bytes(ByteWriter& w, const std::optional<std::string_view>& b) {
  if (!b.has_value()) {
    w.write_i32(-1);
    return;
  }
  w.write_i32(static_cast<int32_t>(b->size()));
  w.write_bytes(*b);
}

void write_message(ByteWriter& w, std::string& out, int8_t magic, int64_t offset, int64_t timestamp,
                   bool log_append_time, const Record& r) {
  w.write_i64(offset);
  const size_t size_at = w.reserve_u32();
  const size_t crc_at = w.reserve_u32();
  w.write_i8(magic);
  w.write_i8(magic == 1 && log_append_time ? 0x08 : 0);
  if (magic == 1) w.write_i64(timestamp);
  write_legacy_bytes(w, r.key);
  write_legacy_bytes(w, r.value);
  w.patch_u32(size_at, static_cast<uint32_t>(out.size() - size_at - 4));
  w.patch_u32(crc_at, crc32_ieee(std::string_view(out).substr(crc_at + 4)));
}

}  // namespace

int8_t records_magic(std::string_view records) {
  if (records.size() <= batch_field::kMagic) return -1;
  return static_cast<int8_t>(records[batch_field::kMagic]);
}

absl::StatusOr<std::string> upconvert_message_set(std::string_view records,
                                                  size_t decompressed_bytes_max) {
  Collected c;
  if (auto s = collect(records, 0, decompressed_bytes_max, c); !s.ok()) return s;
  if (c.records.empty()) return absl::InvalidArgumentError("legacy message set: no messages");
  // Kafka's NO_TIMESTAMP (-1) stays as it is; a v2 batch carries it the same way.
  BatchOptions options;
  options.compression = c.codec;
  return build_batch(c.records, options);
}

absl::StatusOr<std::string> downconvert_batches(std::string_view batches, int8_t magic,
                                                size_t decompressed_bytes_max) {
  std::string out;
  ByteWriter w(out);
  while (!batches.empty()) {
    auto h = parse_batch_header(batches);
    if (!h.ok()) return h.status();
    if (h->size_bytes() > batches.size()) break;  // a partial batch at the end of a fetch
    auto batch = BatchView::parse(batches.substr(0, h->size_bytes()));
    if (!batch.ok()) return batch.status();
    batches.remove_prefix(h->size_bytes());
    if (h->is_control()) continue;
    std::string storage;
    auto records = read_records(*batch, storage, decompressed_bytes_max);
    if (!records.ok()) return records.status();
    const bool append_time = h->timestamp_type() == TimestampType::kLogAppendTime;
    for (const Record& r : *records) {
      const int64_t ts = append_time ? h->max_timestamp : h->base_timestamp + r.timestamp_delta;
      write_message(w, out, magic, h->base_offset + r.offset_delta, ts, append_time, r);
    }
  }
  return out;
}

}  // namespace weir::broker::log
