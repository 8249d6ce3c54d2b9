#include "broker/server/partition.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::broker {

Partition::Partition(std::string topic, int32_t index, int32_t broker_id, log::PartitionLog* log,
                     AppendSignal* appended, StorageHealth* health)
    : topic_(std::move(topic)),
      index_(index),
      broker_id_(broker_id),
      log_(log),
      high_watermark_(log_->high_watermark()),
      appended_(appended),
      health_(health) {}

void Partition::mark_closed() {
  closed_ = true;
  changed_.fire_all();
}

bool Partition::in_isr(int32_t replica) const {
  return std::find(state_.isr.begin(), state_.isr.end(), replica) != state_.isr.end();
}

absl::Status Partition::become_leader(const LeaderAndIsrState& state, TimePoint now) {
  WEIR_ASSERT_MSG(state.leader == broker_id_, "become_leader names this broker");
  WEIR_ASSERT_MSG(state.leader_epoch >= state_.leader_epoch, "leader epochs never go back");
  if (auto s = log_->assign_epoch(state.leader_epoch); !s.ok()) {
    if (health_ != nullptr && !log_->failure().ok()) health_->fail(log_->failure());
    return s;
  }
  role_ = ReplicaRole::kLeader;
  ++generation_;
  state_ = state;
  leader_epoch_start_ = log_->log_end_offset();
  followers_.clear();
  pending_isr_add_.reset();
  for (int32_t r : state_.replicas) {
    if (r == broker_id_) continue;
    // ISR members get a full lag window from now: the new leader has not heard from them.
    followers_[r] = FollowerState{.last_caught_up = in_isr(r) ? now : TimePoint{}};
  }
  if (high_watermark_ > log_->log_end_offset()) set_high_watermark(log_->log_end_offset());
  maybe_advance_high_watermark();
  changed_.fire_all();
  return absl::OkStatus();
}

void Partition::become_follower(const LeaderAndIsrState& state) {
  WEIR_ASSERT_MSG(state.leader != broker_id_, "become_follower names another leader");
  WEIR_ASSERT_MSG(state.leader_epoch >= state_.leader_epoch, "leader epochs never go back");
  role_ = ReplicaRole::kFollower;
  ++generation_;
  state_ = state;
  followers_.clear();
  changed_.fire_all();
}

void Partition::set_isr(std::vector<int32_t> isr, int32_t zk_version) {
  state_.isr = std::move(isr);
  state_.zk_version = zk_version;
  maybe_advance_high_watermark();
  changed_.fire_all();
}

absl::StatusOr<log::AppendInfo> Partition::append_as_leader(absl::Span<uint8_t> records) {
  if (closed_) return absl::UnavailableError("partition closed");
  if (role_ != ReplicaRole::kLeader)
    return absl::FailedPreconditionError("NOT_LEADER_OR_FOLLOWER: not the leader");
  auto info = log_->append(records, state_.leader_epoch);
  if (!info.ok()) {
    if (!log_->failure().ok() && health_ != nullptr) health_->fail(log_->failure());
    return info.status();
  }
  maybe_advance_high_watermark();
  if (appended_ != nullptr) appended_->fire();
  return info;
}

absl::StatusOr<log::AppendInfo> Partition::append_as_follower(std::string_view records) {
  if (closed_) return absl::UnavailableError("partition closed");
  if (role_ != ReplicaRole::kFollower) return absl::FailedPreconditionError("not a follower");
  auto info = log_->append_replicated(records);
  if (!info.ok() && !log_->failure().ok() && health_ != nullptr) health_->fail(log_->failure());
  // A compacted leader's batch may have made the log cut its end first (append_replicated).
  if (high_watermark_ > log_->log_end_offset()) {
    high_watermark_ = log_->log_end_offset();
    log_->set_high_watermark(high_watermark_);
  }
  return info;
}

void Partition::set_follower_high_watermark(Offset leader_high_watermark) {
  const Offset hw = std::min(leader_high_watermark, log_->log_end_offset());
  if (hw > high_watermark_) set_high_watermark(hw);
}

absl::Status Partition::truncate_to(Offset offset) {
  WEIR_ASSERT_MSG(role_ != ReplicaRole::kLeader, "a leader never truncates its log");
  auto s = log_->truncate_to(offset);
  if (!s.ok() && !log_->failure().ok() && health_ != nullptr) health_->fail(log_->failure());
  if (high_watermark_ > log_->log_end_offset()) high_watermark_ = log_->log_end_offset();
  log_->set_high_watermark(high_watermark_);
  return s;
}

void Partition::on_follower_fetch(int32_t replica, Offset fetch_offset, TimePoint now) {
  if (role_ != ReplicaRole::kLeader || closed_) return;
  auto it = followers_.find(replica);
  if (it == followers_.end()) return;
  FollowerState& f = it->second;
  const Offset leader_end = log_->log_end_offset();
  // Kafka's rule: caught up now when it asks from the log end; caught up as of its previous
  // fetch when it asks from where the log ended then.
  if (fetch_offset >= leader_end) {
    f.last_caught_up = now;
  } else if (fetch_offset >= f.leader_end_at_last_fetch) {
    f.last_caught_up = std::max(f.last_caught_up, f.last_fetch);
  }
  f.log_end_offset = fetch_offset;
  f.last_fetch = now;
  f.leader_end_at_last_fetch = leader_end;
  maybe_advance_high_watermark();
}

std::vector<int32_t> Partition::lagging_followers(TimePoint now, Duration lag_max) const {
  std::vector<int32_t> out;
  if (role_ != ReplicaRole::kLeader) return out;
  for (int32_t r : state_.isr) {
    if (r == broker_id_) continue;
    auto it = followers_.find(r);
    if (it == followers_.end() || now - it->second.last_caught_up > lag_max) out.push_back(r);
  }
  return out;
}

bool Partition::follower_can_join(int32_t replica) const {
  if (role_ != ReplicaRole::kLeader || in_isr(replica)) return false;
  auto it = followers_.find(replica);
  if (it == followers_.end()) return false;
  const FollowerState& f = it->second;
  return f.log_end_offset >= high_watermark_ && f.log_end_offset >= leader_epoch_start_;
}

void Partition::set_pending_isr_add(std::optional<int32_t> replica) {
  pending_isr_add_ = replica;
  maybe_advance_high_watermark();
}

void Partition::maybe_advance_high_watermark() {
  // Closed: its log may be gone (StopReplica deleted it) while an ISR write still finishes.
  if (role_ != ReplicaRole::kLeader || closed_) return;
  if (bug_hw_from_leader_) {
    if (log_->log_end_offset() > high_watermark_) set_high_watermark(log_->log_end_offset());
    return;
  }
  if (static_cast<int32_t>(state_.isr.size()) < min_insync_) return;
  Offset hw = log_->log_end_offset();
  std::vector<int32_t> counted = state_.isr;
  if (pending_isr_add_.has_value() && !in_isr(*pending_isr_add_))
    counted.push_back(*pending_isr_add_);
  for (int32_t r : counted) {
    if (r == broker_id_) continue;
    auto it = followers_.find(r);
    if (it == followers_.end() || it->second.log_end_offset < Offset(0)) return;
    hw = std::min(hw, it->second.log_end_offset);
  }
  if (hw > high_watermark_) set_high_watermark(hw);
}

void Partition::set_high_watermark(Offset hw) {
  high_watermark_ = hw;
  log_->set_high_watermark(hw);
  changed_.fire_all();
  if (appended_ != nullptr) appended_->fire();
}

}  // namespace weir::broker
