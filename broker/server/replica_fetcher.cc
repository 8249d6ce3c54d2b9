#include "broker/server/replica_fetcher.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "broker/kafka/protocol/error_codes.h"
#include "broker/log/record_batch.h"
#include "broker/server/truncation.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
constexpr int16_t kFetchVersion = 12;
constexpr int16_t kEpochVersion = 4;

ErrorCode code_of(int16_t c) {
  return static_cast<ErrorCode>(c);
}

// A leader sends file ranges, which the byte limit may cut inside a batch (as Kafka's file
// slices): the whole batches at the front are appended, the partial one is fetched again.
std::string_view whole_batches(std::string_view bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    auto h = log::parse_batch_header(bytes.substr(at));
    if (!h.ok() || h->size_bytes() > bytes.size() - at) break;
    at += h->size_bytes();
  }
  return bytes.substr(0, at);
}

}  // namespace

ReplicaFetcher::ReplicaFetcher(const BrokerConfig& config, INetwork& network, int32_t broker_id,
                               int32_t leader_id, std::string leader_address)
    : config_(config),
      network_(network),
      broker_id_(broker_id),
      leader_id_(leader_id),
      leader_address_(std::move(leader_address)) {}

ReplicaFetcher::~ReplicaFetcher() {
  if (connection_ != nullptr) connection_->close();
}

void ReplicaFetcher::start() {
  done_ = spawn(absl::StrCat("replica-fetcher-", leader_id_), [this] { run(); });
}

void ReplicaFetcher::add(std::shared_ptr<Partition> partition, uint64_t generation) {
  const log::TopicPartition tp{partition->topic(), partition->index()};
  auto& slot = partitions_[tp];
  if (slot != nullptr) slot->removed = true;
  slot = std::make_shared<Entry>(Entry{std::move(partition), generation, true});
  changed_.fire_all();
}

void ReplicaFetcher::remove(const log::TopicPartition& tp) {
  if (auto it = partitions_.find(tp); it != partitions_.end()) {
    it->second->removed = true;
    partitions_.erase(it);
  }
  changed_.fire_all();
}

std::vector<std::pair<log::TopicPartition, std::shared_ptr<ReplicaFetcher::Entry>>>
ReplicaFetcher::snapshot() const {
  return {partitions_.begin(), partitions_.end()};
}

void ReplicaFetcher::stop() {
  stopping_ = true;
  if (connection_ != nullptr) connection_->close();
  changed_.fire_all();
}

bool ReplicaFetcher::current(const Entry& entry) const {
  const Partition& p = *entry.partition;
  return !stopping_ && !entry.removed && !p.closed() && p.role() == ReplicaRole::kFollower &&
         p.generation() == entry.generation;
}

void ReplicaFetcher::backoff() {
  const TimePoint deadline =
      Scheduler::current().now() + to_scheduler_duration(std::chrono::milliseconds(
                                       std::max<int32_t>(config_.replica_fetch_backoff_ms, 1)));
  (void)wait_until(
      changed_, [this] { return stopping_; }, deadline);
}

absl::Status ReplicaFetcher::ensure_connection() {
  if (connection_ != nullptr && !connection_->closed()) return absl::OkStatus();
  connection_ = nullptr;
  auto c = client::KafkaConnection::connect(
      network_, leader_address_,
      {.client_id = absl::StrCat("broker-", broker_id_, "-fetcher-", leader_id_),
       .in_flight_max = 1,
       .response_bytes_max =
           static_cast<size_t>(config_.replica_fetch_response_max_bytes) + (4 << 20)});
  if (!c.ok()) return c.status();
  connection_ = *std::move(c);
  return absl::OkStatus();
}

void ReplicaFetcher::run() {
  while (!stopping_) {
    wait_for(changed_, [this] { return stopping_ || !partitions_.empty(); });
    if (stopping_) break;
    absl::Status s = ensure_connection();
    if (s.ok()) s = truncate_pending();
    if (s.ok()) s = fetch_once();
    if (!s.ok() && !stopping_) {
      ++counters_.errors;
      TraceEvent(Severity::kInfo, "ReplicaFetchFailed")
          .detail("Leader", leader_id_)
          .detail("Error", s.ToString());
      if (connection_ != nullptr) connection_->close();
      connection_ = nullptr;
      backoff();
    }
  }
}

// Cuts the log of `e` where the leader's answer says (truncation.h); `e` stays truncating
// when the answer calls for another question.
absl::Status ReplicaFetcher::apply_epoch_answer(std::shared_ptr<Entry> entry, EpochAnswer answer,
                                                LeaderEpoch asked) {
  Entry& e = *entry;
  Partition& p = *e.partition;  // alive while `entry` is, whatever StopReplica does
  ActorMutex::Guard locked(p.replica_lock());
  if (!current(e)) return absl::OkStatus();
  Truncation t{p.high_watermark(), false};  // the pre-KIP-101 rule, broken on purpose
  if (config_.weir_bug != "truncate_to_high_watermark") {
    log::LeaderEpochCache mine;
    mine.reset(p.log().leader_epochs());
    t = follower_truncation(mine, p.log_end_offset(), p.log_start_offset(), answer, asked);
  }
  CODE_PROBE(t.ask_again, "replica.truncation_walked_back_an_epoch");
  const Offset cut = std::min(t.cut, p.log_end_offset());
  const bool again = t.ask_again;
  if (cut < p.log_end_offset()) {
    ++counters_.truncations;
    CODE_PROBE(true, "replica.follower_truncated_by_epoch");
    TraceEvent(Severity::kInfo, "ReplicaTruncated")
        .detail("Topic", p.topic())
        .detail("Partition", p.index())
        .detail("From", p.log_end_offset().value())
        .detail("To", cut.value());
  }
  // Even at the log end: an epoch that starts there with nothing in it must go too.
  if (auto s = p.truncate_to(cut); !s.ok()) return s;
  e.truncating = again;
  return absl::OkStatus();
}

// KIP-101/KIP-279: ask the leader where our latest epoch ends in its log; cut there.
absl::Status ReplicaFetcher::truncate_pending() {
  kafka::OffsetForLeaderEpochRequest req;
  req.replica_id = broker_id_;
  std::map<log::TopicPartition, std::optional<LeaderEpoch>> asked;
  const TimePoint now = Scheduler::current().now();
  for (auto& [tp, entry] : snapshot()) {
    Entry& e = *entry;
    if (!e.truncating || now < e.epoch_retry_at) continue;
    if (!current(e)) continue;
    if (config_.weir_bug == "truncate_to_high_watermark") {
      // The pre-KIP-101 rule, broken on purpose: cut at the high watermark, asking nobody.
      if (auto st = apply_epoch_answer(entry, {}, LeaderEpoch(0)); !st.ok()) return st;
      continue;
    }
    const auto& epochs = e.partition->log().leader_epochs();
    if (epochs.empty()) {
      e.truncating = false;  // nothing of ours to disagree with
      continue;
    }
    asked[tp] = epochs.back().epoch;
    auto& t = req.topics.emplace_back();
    t.topic = tp.topic;
    t.partitions.push_back({.partition = tp.partition,
                            .current_leader_epoch = e.partition->leader_epoch().value(),
                            .leader_epoch = epochs.back().epoch.value()});
  }
  if (asked.empty()) return absl::OkStatus();
  auto rsp = connection_->call<kafka::OffsetForLeaderEpochResponse>(req, kEpochVersion);
  if (!rsp.ok()) return rsp.status();
  std::set<log::TopicPartition> answered;
  for (const auto& t : rsp->topics) {
    for (const auto& r : t.partitions) {
      const log::TopicPartition tp{t.topic, r.partition};
      auto it = partitions_.find(tp);
      if (it == partitions_.end() || !it->second->truncating) continue;
      auto a = asked.find(tp);
      if (a == asked.end() || !a->second.has_value()) continue;  // not asked about
      if (code_of(r.error_code) != ErrorCode::kNone) continue;   // retried after a backoff
      if (auto st = apply_epoch_answer(it->second, {r.leader_epoch, r.end_offset}, *a->second);
          !st.ok())
        return st;
      answered.insert(tp);
    }
  }
  // One partition the leader cannot answer for (it no longer leads it, or has not heard of it
  // yet) must not hold up the others: it waits out a backoff alone.
  for (const auto& [tp, epoch] : asked) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end() || !it->second->truncating || answered.count(tp) != 0) continue;
    CODE_PROBE(true, "replica.epoch_query_failed_for_one_partition");
    it->second->epoch_retry_at =
        now + to_scheduler_duration(std::chrono::milliseconds(
                  std::max<int32_t>(config_.replica_fetch_backoff_ms, 100)));
    TraceEvent(Severity::kInfo, "ReplicaEpochQueryFailed")
        .detail("Leader", leader_id_)
        .detail("Partition", tp.dir_name());
  }
  return absl::OkStatus();
}

absl::Status ReplicaFetcher::fetch_once() {
  // BUGGIFY: a slow follower (a stalled disk or process) falling behind the ISR's lag bound.
  if (BUGGIFY_WITH_PROB(0.005)) delay(std::chrono::milliseconds(1500));
  kafka::FetchRequest req;
  req.replica_id = broker_id_;
  req.max_wait_ms = config_.replica_fetch_wait_max_ms;
  req.min_bytes = config_.replica_fetch_min_bytes;
  req.max_bytes = config_.replica_fetch_response_max_bytes;
  std::map<std::string, size_t> topic_index;
  for (auto& [tp, entry] : partitions_) {
    const Entry& e = *entry;
    if (e.truncating || !current(e)) continue;
    auto [it, inserted] = topic_index.emplace(tp.topic, req.topics.size());
    if (inserted) req.topics.emplace_back().topic = tp.topic;
    req.topics[it->second].partitions.push_back(
        {.partition = tp.partition,
         .current_leader_epoch = e.partition->leader_epoch().value(),
         .fetch_offset = e.partition->log_end_offset().value(),
         .log_start_offset = e.partition->log_start_offset().value(),
         .partition_max_bytes = config_.replica_fetch_max_bytes});
  }
  if (req.topics.empty()) {
    backoff();
    return absl::OkStatus();
  }
  auto rsp = connection_->call_framed<kafka::FetchResponse>(req, kFetchVersion);
  if (!rsp.ok()) return rsp.status();
  ++counters_.fetches;
  if (code_of(rsp->body.error_code) != ErrorCode::kNone)
    return absl::UnavailableError(
        absl::StrCat("Fetch: ", std::string(kafka::error_name(code_of(rsp->body.error_code)))));
  // BUGGIFY: a response lost on the way (the leader counted the fetch; we apply nothing).
  if (BUGGIFY_WITH_PROB(0.01)) return absl::OkStatus();
  bool any_error = false;
  for (const auto& t : rsp->body.responses) {
    for (const auto& d : t.partitions) {
      auto it = partitions_.find(log::TopicPartition{t.topic, d.partition_index});
      if (it == partitions_.end()) continue;
      if (code_of(d.error_code) != ErrorCode::kNone) any_error = true;
      apply_fetched(it->second, d);
      if (stopping_) return absl::OkStatus();
    }
  }
  if (any_error) backoff();
  return absl::OkStatus();
}

void ReplicaFetcher::apply_fetched(std::shared_ptr<Entry> entry,
                                   const kafka::FetchResponse::PartitionData& d) {
  Entry& e = *entry;
  Partition& p = *e.partition;  // alive while `entry` is, whatever StopReplica does
  const ErrorCode code = code_of(d.error_code);
  if (code == ErrorCode::kOffsetOutOfRange) {
    // Below the leader's log start (its retention or DeleteRecords moved past us), or beyond
    // its end (an unclean leader with less): ask for truncation again, which settles it.
    e.truncating = true;
    return;
  }
  if (code != ErrorCode::kNone) return;
  ActorMutex::Guard locked(p.replica_lock());
  if (!current(e)) return;
  const std::string_view records = whole_batches(d.records.bytes);
  if (!records.empty()) {
    auto info = p.append_as_follower(records);
    if (!info.ok()) {
      TraceEvent(Severity::kWarn, "ReplicaAppendFailed")
          .detail("Topic", p.topic())
          .detail("Partition", p.index())
          .detail("Error", info.status().ToString());
      e.truncating = p.log().failure().ok();
      return;
    }
    counters_.bytes += records.size();
  }
  p.set_follower_high_watermark(Offset(d.high_watermark));
}

}  // namespace weir::broker
