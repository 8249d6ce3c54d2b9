#include "broker/log/time_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/log/log_io.h"
#include "runtime/assert.h"

namespace weir::broker::log {

absl::StatusOr<TimeIndex> TimeIndex::decode(Offset base, std::string_view bytes) {
  if (bytes.size() % kEntryBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("time index of ", bytes.size(), " bytes is not a whole number of entries"));
  }
  size_t n = bytes.size() / kEntryBytes;
  auto zero = [&](size_t i) {
    const char* p = bytes.data() + i * kEntryBytes;
    return get_be(p, 8) == 0 && get_be(p + 8, 4) == 0;
  };
  while (n > 0 && zero(n - 1)) --n;  // preallocated
  TimeIndex index(base);
  index.entries_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = bytes.data() + i * kEntryBytes;
    const uint64_t relative = get_be(p + 8, 4);
    const Entry e{static_cast<int64_t>(get_be(p, 8)),
                  Offset(base.value() + static_cast<int64_t>(relative))};
    const bool increasing =
        index.entries_.empty() || (e.timestamp_ms > index.entries_.back().timestamp_ms &&
                                   e.offset >= index.entries_.back().offset);
    if (!increasing || relative > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("time index entry ", i, " (timestamp ",
                                                     e.timestamp_ms, ", offset ", e.offset.value(),
                                                     ") is inconsistent"));
    }
    index.entries_.push_back(e);
  }
  return index;
}

std::string TimeIndex::encode(size_t first_entry) const {
  std::string out((entries_.size() - std::min(first_entry, entries_.size())) * kEntryBytes, '\0');
  char* p = out.data();
  for (size_t i = first_entry; i < entries_.size(); ++i, p += kEntryBytes) {
    put_be(p, static_cast<uint64_t>(entries_[i].timestamp_ms), 8);
    put_be(p + 8, static_cast<uint64_t>(entries_[i].offset.value() - base_.value()), 4);
  }
  return out;
}

void TimeIndex::maybe_append(int64_t timestamp_ms, Offset offset) {
  if (!entries_.empty() && timestamp_ms <= entries_.back().timestamp_ms) return;
  WEIR_ASSERT(offset >= base_ && offset.value() - base_.value() <= INT32_MAX);
  WEIR_ASSERT(entries_.empty() || offset >= entries_.back().offset);
  entries_.push_back(Entry{timestamp_ms, offset});
}

TimeIndex::Entry TimeIndex::lookup(int64_t target_ms) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), target_ms,
                             [](int64_t t, const Entry& e) { return t < e.timestamp_ms; });
  if (it == entries_.begin()) return Entry{-1, base_};
  return *std::prev(it);
}

void TimeIndex::truncate_to(Offset offset) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.offset >= offset; });
  entries_.erase(it, entries_.end());
}

}  // namespace weir::broker::log
