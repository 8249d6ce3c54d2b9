#include "broker/server/partition.h"

#include "runtime/assert.h"

namespace weir::broker {

Partition::Partition(std::string topic, int32_t index, log::PartitionLog* log,
                     LeaderEpoch leader_epoch, AppendSignal* appended, StorageHealth* health)
    : topic_(std::move(topic)),
      index_(index),
      log_(log),
      leader_epoch_(leader_epoch),
      high_watermark_(log_->log_end_offset()),
      appended_(appended),
      health_(health) {}

absl::StatusOr<log::AppendInfo> Partition::append(absl::Span<uint8_t> records) {
  if (closed_) return absl::UnavailableError("partition closed");
  auto info = log_->append(records, leader_epoch_);
  if (!info.ok()) {
    if (!log_->failure().ok() && health_ != nullptr) health_->fail(log_->failure());
    return info.status();
  }
  const Offset end = log_->log_end_offset();
  WEIR_ASSERT_MSG(end >= high_watermark_, "the high watermark never moves back");
  high_watermark_ = end;
  if (appended_ != nullptr) appended_->fire();
  return info;
}

}  // namespace weir::broker
