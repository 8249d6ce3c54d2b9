#include "broker/server/group_log.h"

#include "broker/kafka/handlers/log_errors.h"
#include "broker/log/records.h"
#include "buggify/buggify.h"
#include "runtime/sync.h"

namespace weir::broker {

using kafka::ErrorCode;

absl::StatusOr<int64_t> PartitionGroupLog::append(int32_t partition, LeaderEpoch epoch,
                                                  const std::vector<group::LogRecord>& records,
                                                  ErrorCode& error) {
  std::shared_ptr<Partition> p = replicas_.partition(group::kOffsetsTopic, partition);
  if (p == nullptr || !p->is_leader() || p->leader_epoch() != epoch) {
    error = ErrorCode::kNotLeaderOrFollower;
    return absl::FailedPreconditionError("not the leader of this offsets partition");
  }
  const bool all = config_.offsets_commit_required_acks == -1;
  if (all && static_cast<int32_t>(p->state().isr.size()) < p->min_insync_replicas()) {
    error = ErrorCode::kNotEnoughReplicas;
    return absl::UnavailableError("the ISR is smaller than min.insync.replicas");
  }
  std::vector<log::RecordInput> inputs;
  inputs.reserve(records.size());
  const int64_t now_ms = clock_.wall_ms();
  for (const auto& r : records) inputs.push_back({r.key, r.value, {}, now_ms});
  auto batch = log::build_batch(inputs);
  if (!batch.ok()) {
    error = ErrorCode::kUnknownServerError;
    return batch.status();
  }
  auto info =
      p->append_as_leader(absl::MakeSpan(reinterpret_cast<uint8_t*>(batch->data()), batch->size()));
  if (!info.ok()) {
    error = error_for_log_status(info.status());
    return info.status();
  }
  if (all) error = await_commit(*p, epoch, Offset(info->last_offset.value() + 1));
  // A slow answer: commits of one partition then come back out of order, and the partition may
  // move before this one is told (the coordinator's rare paths for both).
  if (BUGGIFY_WITH_PROB(0.05)) delay(std::chrono::milliseconds(20));
  if (error != ErrorCode::kNone)
    return absl::UnavailableError(std::string(kafka::error_name(error)));
  return info->first_offset.value();
}

// As an acks=-1 produce waits (produce.cc), bounded by offsets.commit.timeout.ms.
ErrorCode PartitionGroupLog::await_commit(Partition& p, LeaderEpoch epoch, Offset end) {
  const TimePoint deadline =
      Scheduler::current().now() +
      clock_.to_scheduler(std::chrono::milliseconds(config_.offsets_commit_timeout_ms));
  auto moved = [&] { return p.closed() || !p.is_leader() || p.leader_epoch() != epoch; };
  (void)wait_until(
      p.changed(), [&] { return moved() || p.high_watermark() >= end; }, deadline);
  if (p.high_watermark() >= end && p.leader_epoch() == epoch) return ErrorCode::kNone;
  if (moved()) return ErrorCode::kNotLeaderOrFollower;
  if (static_cast<int32_t>(p.state().isr.size()) < p.min_insync_replicas())
    return ErrorCode::kNotEnoughReplicasAfterAppend;
  return ErrorCode::kRequestTimedOut;
}

absl::Status PartitionGroupLog::replay(
    int32_t partition,
    const std::function<void(int64_t, std::string_view, std::optional<std::string_view>)>& fn) {
  std::shared_ptr<Partition> p = replicas_.partition(group::kOffsetsTopic, partition);
  if (p == nullptr || p->closed()) return absl::UnavailableError("no such offsets partition");
  const Offset end = p->log_end_offset();
  Offset next = p->log_start_offset();
  const size_t decompressed_max = static_cast<size_t>(config_.message_max_bytes) * 64;
  while (next < end) {
    auto read = p->log().read(next, 1 << 20, end, true, log::ReadMode::kCopy);
    if (!read.ok()) return read.status();
    auto batches = log::split_batches(read->records, read->records.size());
    if (!batches.ok()) return batches.status();
    if (batches->empty()) break;
    for (const log::BatchView& b : *batches) {
      next = Offset(b.header().base_offset + b.header().last_offset_delta + 1);
      if (b.header().is_control()) continue;
      std::string storage;
      auto recs = log::read_records(b, storage, decompressed_max);
      if (!recs.ok()) return recs.status();
      for (const log::Record& r : *recs) {
        if (!r.key.has_value()) continue;
        fn(b.header().base_offset + r.offset_delta, *r.key, r.value);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace weir::broker
