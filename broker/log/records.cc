#include "broker/log/records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/log/compression.h"
#include "runtime/bytes/byte_writer.h"
#include "runtime/crc32c.h"

namespace weir::broker::log {
namespace {

// A nullable byte string: varint length, -1 for null.
std::optional<std::string_view> read_nullable(ByteReader& r, std::string_view field) {
  const int32_t length = r.read_varint32(field);
  if (!r.ok() || length == -1) return std::nullopt;
  if (!r.check_length(length, field)) return std::nullopt;
  return r.read_bytes(static_cast<size_t>(length), field);
}

void decode_body(ByteReader& r, Record& record) {
  record.attributes = r.read_i8("attributes");
  record.timestamp_delta = r.read_varint64("timestampDelta");
  record.offset_delta = r.read_varint32("offsetDelta");
  record.key = read_nullable(r, "key");
  record.value = read_nullable(r, "value");
  const int32_t headers = r.read_varint32("headersCount");
  record.headers.clear();
  if (!r.ok() || !r.check_count(headers, 2, "headersCount")) return;
  record.headers.reserve(static_cast<size_t>(headers));
  for (int32_t i = 0; i < headers && r.ok(); ++i) {
    RecordHeader h;
    auto key = read_nullable(r, "headerKey");
    if (r.ok() && !key.has_value()) r.fail("headerKey", "null header key");
    h.key = key.value_or(std::string_view());
    h.value = read_nullable(r, "headerValue");
    if (r.ok()) record.headers.push_back(h);
  }
}

void write_nullable(ByteWriter& w, const std::optional<std::string>& s) {
  if (!s.has_value()) {
    w.write_varint(-1);
    return;
  }
  w.write_varint(static_cast<int64_t>(s->size()));
  w.write_bytes(*s);
}

void encode_record(const RecordInput& in, int64_t timestamp_delta, int32_t offset_delta,
                   std::string& body, ByteWriter& out) {
  body.clear();
  ByteWriter w(body);
  w.write_i8(0);
  w.write_varint(timestamp_delta);
  w.write_varint(offset_delta);
  write_nullable(w, in.key);
  write_nullable(w, in.value);
  w.write_varint(static_cast<int64_t>(in.headers.size()));
  for (const auto& [key, value] : in.headers) {
    w.write_varint(static_cast<int64_t>(key.size()));
    w.write_bytes(key);
    write_nullable(w, value);
  }
  out.write_varint(static_cast<int64_t>(body.size()));
  out.write_bytes(body);
}

}  // namespace

bool RecordIterator::next(Record& record) {
  if (!reader_.ok() || remaining_ <= 0) return false;
  const int32_t length = reader_.read_varint32("length");
  if (!reader_.ok() || !reader_.check_length(length, "length")) return false;
  ByteReader body(reader_.read_bytes(static_cast<size_t>(length), "record"), "Record");
  decode_body(body, record);
  if (body.ok() && !body.at_end()) body.fail("record", "bytes left after the headers");
  if (!body.ok()) {
    reader_.fail(absl::StrCat("record[", index_, "]"), std::string(body.status().message()));
    return false;
  }
  --remaining_;
  ++index_;
  return true;
}

absl::Status RecordIterator::status() const {
  if (!reader_.ok()) return reader_.status();
  if (remaining_ > 0) {
    return absl::DataLossError(absl::StrCat("Record: ", remaining_, " records missing"));
  }
  return reader_.finish("records");
}

absl::StatusOr<std::vector<Record>> read_records(const BatchView& batch, std::string& storage,
                                                 size_t decompressed_bytes_max) {
  const BatchHeader& h = batch.header();
  std::string_view area = batch.records_bytes();
  if (h.compression() != Compression::kNone) {
    auto plain = decompress(h.compression(), area, decompressed_bytes_max);
    if (!plain.ok()) return plain.status();
    storage = std::move(*plain);
    area = storage;
  }
  std::vector<Record> out;
  // Each record takes at least 7 bytes, so the count cannot make us reserve more than that.
  out.reserve(std::min<size_t>(static_cast<size_t>(h.record_count), area.size() / 7));
  RecordIterator it(area, h.record_count);
  Record record;
  while (it.next(record)) out.push_back(record);
  if (auto s = it.status(); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> build_batch(absl::Span<const RecordInput> records,
                                        const BatchOptions& options) {
  const int64_t base_timestamp = records.empty() ? -1 : records.front().timestamp_ms;
  int64_t max_timestamp = base_timestamp;
  std::string area;
  std::string body;
  ByteWriter area_writer(area);
  for (size_t i = 0; i < records.size(); ++i) {
    max_timestamp = std::max(max_timestamp, records[i].timestamp_ms);
    encode_record(records[i], records[i].timestamp_ms - base_timestamp, static_cast<int32_t>(i),
                  body, area_writer);
  }
  if (options.compression != Compression::kNone) {
    auto packed = compress(options.compression, area);
    if (!packed.ok()) return packed.status();
    area = std::move(*packed);
  }
  uint16_t attributes = static_cast<uint16_t>(options.compression);
  if (options.transactional) attributes |= kTransactionalBit;
  if (options.control) attributes |= kControlBit;
  std::string out;
  out.reserve(kBatchHeaderBytes + area.size());
  ByteWriter w(out);
  w.write_i64(options.base_offset.value());
  w.write_i32(static_cast<int32_t>(kBatchHeaderBytes - kLogOverheadBytes + area.size()));
  w.write_i32(options.partition_leader_epoch.value());
  w.write_i8(kMagicV2);
  const size_t crc_at = w.reserve_u32();
  w.write_u16(attributes);
  w.write_i32(records.empty() ? 0 : static_cast<int32_t>(records.size() - 1));
  w.write_i64(base_timestamp);
  w.write_i64(max_timestamp);
  w.write_i64(options.producer_id);
  w.write_i16(options.producer_epoch);
  w.write_i32(options.base_sequence);
  w.write_i32(static_cast<int32_t>(records.size()));
  w.write_bytes(area);
  w.patch_u32(crc_at, compute_batch_crc(out));
  return out;
}

}  // namespace weir::broker::log
