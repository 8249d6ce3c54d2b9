#include "broker/log/leader_epoch_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/log/checkpoint_file.h"

namespace weir::broker::log {

absl::StatusOr<std::vector<LeaderEpochCache::Entry>> LeaderEpochCache::load(
    IFileSystem& fs, const std::string& dir) {
  auto text = read_text_file(fs, absl::StrCat(dir, "/", kLeaderEpochCheckpointName), 1 << 20);
  if (absl::IsNotFound(text.status())) return std::vector<Entry>{};
  if (!text.ok()) return text.status();
  return decode(*text);
}

absl::StatusOr<std::vector<LeaderEpochCache::Entry>> LeaderEpochCache::decode(
    std::string_view text) {
  auto lines = parse_checkpoint(text, 2);
  if (!lines.ok()) return lines.status();
  std::vector<Entry> out;
  for (const CheckpointLine& line : *lines) {
    int64_t epoch = 0;
    int64_t start = 0;
    if (!parse_int64(line[0], epoch) || !parse_int64(line[1], start) || epoch < 0 ||
        epoch > INT32_MAX || start < 0 ||
        (!out.empty() &&
         (epoch <= out.back().epoch.value() || start < out.back().start_offset.value()))) {
      return absl::DataLossError("leader-epoch-checkpoint: entries not increasing");
    }
    out.push_back(Entry{LeaderEpoch(static_cast<int32_t>(epoch)), Offset(start)});
  }
  return out;
}

std::string LeaderEpochCache::encode() const {
  std::vector<CheckpointLine> lines;
  for (const Entry& e : entries_) {
    lines.push_back({absl::StrCat(e.epoch.value()), absl::StrCat(e.start_offset.value())});
  }
  return encode_checkpoint(lines);
}

bool LeaderEpochCache::assign(LeaderEpoch epoch, Offset start_offset) {
  if (epoch.value() < 0) return false;
  if (!entries_.empty() && (epoch <= entries_.back().epoch)) return false;
  // A newer epoch starting below the latest's start means the log was cut; the caller
  // truncates first, so this only drops entries it no longer covers.
  truncate_from_end(start_offset);
  entries_.push_back(Entry{epoch, start_offset});
  return true;
}

bool LeaderEpochCache::truncate_from_end(Offset end_offset) {
  const size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  return entries_.size() != before;
}

bool LeaderEpochCache::truncate_from_start(Offset start_offset) {
  bool changed = false;
  while (entries_.size() > 1 && entries_[1].start_offset <= start_offset) {
    entries_.erase(entries_.begin());
    changed = true;
  }
  if (!entries_.empty() && entries_[0].start_offset < start_offset) {
    entries_[0].start_offset = start_offset;
    changed = true;
  }
  return changed;
}

std::optional<std::pair<LeaderEpoch, Offset>> LeaderEpochCache::end_offset_for(
    LeaderEpoch epoch, Offset log_end_offset) const {
  if (entries_.empty() || epoch.value() < 0) return std::nullopt;
  if (epoch == entries_.back().epoch) return std::make_pair(epoch, log_end_offset);
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), epoch,
                                 [](LeaderEpoch e, const Entry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return std::nullopt;
  if (higher == entries_.begin()) return std::make_pair(epoch, higher->start_offset);
  return std::make_pair(std::prev(higher)->epoch, higher->start_offset);
}

std::optional<LeaderEpoch> LeaderEpochCache::epoch_for(Offset offset) const {
  auto after = std::upper_bound(entries_.begin(), entries_.end(), offset,
                                [](Offset o, const Entry& e) { return o < e.start_offset; });
  if (after == entries_.begin()) return std::nullopt;
  return std::prev(after)->epoch;
}

std::optional<LeaderEpoch> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

}  // namespace weir::broker::log
