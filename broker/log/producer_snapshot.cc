#include "broker/log/producer_snapshot.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "broker/log/log_io.h"
#include "runtime/crc32c.h"

namespace weir::broker::log {
namespace {

constexpr int16_t kVersion = 1;
constexpr size_t kCrcAt = 2;
constexpr size_t kEntriesAt = 6;

// Kafka's sequences wrap: the first sequence of a batch whose last is `last` and that holds
// delta + 1 records.
int32_t first_sequence_of(int32_t last, int32_t delta) {
  if (last >= delta) return last - delta;
  return std::numeric_limits<int32_t>::max() - (delta - last) + 1;
}

void put_entry(std::string& out, int64_t producer_id, const ProducerEntry& e,
               const ProducerBatch& b) {
  char entry[kProducerSnapshotEntryBytes];
  char* p = entry;
  auto put = [&p](uint64_t v, size_t n) {
    put_be(p, v, n);
    p += n;
  };
  put(static_cast<uint64_t>(producer_id), 8);
  put(static_cast<uint16_t>(e.epoch), 2);
  put(static_cast<uint32_t>(b.last_sequence), 4);
  put(static_cast<uint64_t>(b.last_offset), 8);
  put(static_cast<uint32_t>(b.last_offset - b.first_offset), 4);
  put(static_cast<uint64_t>(b.timestamp_ms), 8);
  put(static_cast<uint32_t>(-1), 4);  // coordinatorEpoch: no transactions
  put(static_cast<uint64_t>(-1), 8);  // currentTxnFirstOffset: none
  out.append(entry, sizeof(entry));
}

}  // namespace

std::string encode_producer_snapshot(const ProducerStateTable& table) {
  size_t count = 0;
  for (const auto& [id, e] : table.producers()) count += e.batches.size();
  std::string out(kEntriesAt + 4, '\0');
  out.reserve(kEntriesAt + 4 + count * kProducerSnapshotEntryBytes);
  put_be(out.data(), static_cast<uint16_t>(kVersion), 2);
  put_be(out.data() + kEntriesAt, count, 4);
  for (const auto& [id, e] : table.producers()) {
    for (const ProducerBatch& b : e.batches) put_entry(out, id, e, b);
  }
  put_be(out.data() + kCrcAt, crc32c(out.data() + kEntriesAt, out.size() - kEntriesAt), 4);
  return out;
}

absl::StatusOr<ProducerStateTable> decode_producer_snapshot(std::string_view bytes) {
  if (bytes.size() < kProducerSnapshotHeaderBytes)
    return absl::DataLossError("producer snapshot: shorter than its header");
  const auto version = static_cast<int16_t>(get_be(bytes.data(), 2));
  if (version != kVersion)
    return absl::DataLossError(absl::StrCat("producer snapshot: unknown version ", version));
  const auto crc = static_cast<uint32_t>(get_be(bytes.data() + kCrcAt, 4));
  if (crc != crc32c(bytes.data() + kEntriesAt, bytes.size() - kEntriesAt))
    return absl::DataLossError("producer snapshot: CRC mismatch");
  const auto count = static_cast<int32_t>(get_be(bytes.data() + kEntriesAt, 4));
  const size_t left = bytes.size() - kProducerSnapshotHeaderBytes;
  if (count < 0 || left % kProducerSnapshotEntryBytes != 0 ||
      static_cast<size_t>(count) != left / kProducerSnapshotEntryBytes)
    return absl::DataLossError(
        absl::StrCat("producer snapshot: ", count, " entries in ", left, " bytes"));
  ProducerStateTable table;
  const char* p = bytes.data() + kProducerSnapshotHeaderBytes;
  auto get = [&p](size_t n) {
    const uint64_t v = get_be(p, n);
    p += n;
    return v;
  };
  for (int32_t i = 0; i < count; ++i) {
    const auto producer_id = static_cast<int64_t>(get(8));
    const auto epoch = static_cast<int16_t>(get(2));
    const auto last_sequence = static_cast<int32_t>(get(4));
    const auto last_offset = static_cast<int64_t>(get(8));
    const auto delta = static_cast<int32_t>(get(4));
    const auto timestamp_ms = static_cast<int64_t>(get(8));
    p += 4 + 8;  // coordinatorEpoch, currentTxnFirstOffset: transactions are not served
    if (producer_id < 0 || last_offset < 0 || last_sequence < 0 || delta < 0 || delta > last_offset)
      return absl::DataLossError(
          absl::StrCat("producer snapshot: entry ", i, " describes no batch a log can hold"));
    table.record(producer_id, epoch,
                 {.first_sequence = first_sequence_of(last_sequence, delta),
                  .last_sequence = last_sequence,
                  .first_offset = last_offset - delta,
                  .last_offset = last_offset,
                  .timestamp_ms = timestamp_ms});
  }
  return table;
}

}  // namespace weir::broker::log
