#include "broker/log/offset_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/log/log_io.h"
#include "runtime/assert.h"

namespace weir::broker::log {

absl::StatusOr<OffsetIndex> OffsetIndex::decode(Offset base, std::string_view bytes,
                                                uint64_t log_bytes) {
  if (bytes.size() % kEntryBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset index of ", bytes.size(), " bytes is not a whole number of entries"));
  }
  size_t n = bytes.size() / kEntryBytes;
  // Preallocated space (Kafka): an entry at position 0 never exists, the first batch is never
  // indexed, so all-zero entries are padding.
  while (n > 0 && get_be(bytes.data() + (n - 1) * kEntryBytes, 8) == 0) --n;
  OffsetIndex index(base);
  index.entries_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = bytes.data() + i * kEntryBytes;
    const Entry e{Offset(base.value() + static_cast<int64_t>(get_be(p, 4))),
                  static_cast<uint32_t>(get_be(p + 4, 4))};
    const bool increasing = index.entries_.empty() || (e.offset > index.entries_.back().offset &&
                                                       e.position > index.entries_.back().position);
    if (!increasing || e.position >= log_bytes || get_be(p, 4) > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("offset index entry ", i, " (offset ",
                                                     e.offset.value(), ", position ", e.position,
                                                     ") is inconsistent"));
    }
    index.entries_.push_back(e);
  }
  return index;
}

std::string OffsetIndex::encode(size_t first_entry) const {
  std::string out((entries_.size() - std::min(first_entry, entries_.size())) * kEntryBytes, '\0');
  char* p = out.data();
  for (size_t i = first_entry; i < entries_.size(); ++i, p += kEntryBytes) {
    put_be(p, static_cast<uint64_t>(entries_[i].offset.value() - base_.value()), 4);
    put_be(p + 4, entries_[i].position, 4);
  }
  return out;
}

void OffsetIndex::append(Offset offset, uint32_t position) {
  WEIR_ASSERT(offset >= base_ && offset.value() - base_.value() <= INT32_MAX);
  WEIR_ASSERT(entries_.empty() ||
              (offset > entries_.back().offset && position > entries_.back().position));
  entries_.push_back(Entry{offset, position});
}

OffsetIndex::Entry OffsetIndex::lookup(Offset target) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                             [](Offset t, const Entry& e) { return t < e.offset; });
  if (it == entries_.begin()) return Entry{base_, 0};
  return *std::prev(it);
}

void OffsetIndex::truncate_to(Offset offset) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                             [](const Entry& e, Offset o) { return e.offset < o; });
  entries_.erase(it, entries_.end());
}

}  // namespace weir::broker::log
