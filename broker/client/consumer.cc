#include "broker/client/consumer.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "broker/client/client_cluster.h"
#include "broker/log/compression.h"
#include "runtime/actor_collection.h"
#include "runtime/future.h"
#include "runtime/sync.h"

namespace weir::broker::client {
namespace {

using kafka::ErrorCode;

constexpr int64_t kLatestTimestamp = -1;
constexpr int64_t kEarliestTimestamp = -2;

// Abseil here has its own string_view: std::string_view must be converted for StrCat.
absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

struct PartitionState {
  TopicPartition tp;
  std::shared_ptr<const std::string> topic;  // what the records' topic views point into
  std::optional<int64_t> position;
  std::optional<OffsetReset> reset;  // a lookup asked for by seek_to_* or auto_offset_reset
  uint64_t epoch = 0;                // unique per assignment and seek: stale data is dropped
  uint64_t fetch_token = 0;          // the fetch in flight, 0: none
  bool buffered = false;             // a response not yet fully handed out
  bool held = false;                 // OFFSET_OUT_OF_RANGE with reset none: until a seek
  bool paused = false;               // pause(): not fetched, nothing handed out
  int64_t high_watermark = -1;
  TimePoint retry_at{};  // scheduler time: no fetch before (after an error)
};

// One partition's part of a fetch response, parsed: records at or above the position it was
// fetched from, and the bytes they view.
struct CompletedFetch {
  TopicPartition tp;
  uint64_t epoch = 0;
  std::vector<ConsumerRecord> records;
  size_t next = 0;
  int64_t next_fetch_offset = 0;
  std::vector<std::shared_ptr<const void>> keep;
};

bool is_metadata_error(ErrorCode code) {
  return code == ErrorCode::kNotLeaderOrFollower || code == ErrorCode::kUnknownTopicOrPartition ||
         code == ErrorCode::kLeaderNotAvailable || code == ErrorCode::kFencedLeaderEpoch ||
         code == ErrorCode::kUnknownLeaderEpoch || code == ErrorCode::kKafkaStorageError ||
         code == ErrorCode::kReplicaNotAvailable || code == ErrorCode::kOffsetNotAvailable;
}

absl::Status kafka_error(ErrorCode code, std::string_view what) {
  return absl::UnavailableError(absl::StrCat(av(what), ": ", av(kafka::error_name(code)), " (",
                                             kafka::error_code_value(code), ")"));
}

int32_t batch_length_field(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + log::batch_field::kBatchLength;
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

}  // namespace

class Consumer::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(ConsumerConfig config, IClock& clock, std::shared_ptr<ClientCluster> cluster)
      : config_(std::move(config)), clock_(clock), cluster_(std::move(cluster)) {}

  void start();
  void assign(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> assignment() const;
  absl::Status seek(const TopicPartition& tp, std::optional<int64_t> offset,
                    std::optional<OffsetReset> reset);
  absl::StatusOr<int64_t> position(const TopicPartition& tp);
  int64_t high_watermark(const TopicPartition& tp) const;
  absl::Status set_paused(const std::vector<TopicPartition>& partitions, bool paused);
  std::vector<TopicPartition> paused() const {
    std::vector<TopicPartition> out;
    for (const auto& [tp, ps] : parts_) {
      if (ps.paused) out.push_back(tp);
    }
    return out;
  }
  absl::StatusOr<ConsumerRecords> poll(Duration timeout);
  absl::StatusOr<std::map<TopicPartition, int64_t>> list_offsets(
      const std::vector<TopicPartition>& partitions, int64_t timestamp, TimePoint deadline);
  absl::StatusOr<int32_t> partition_count(const std::string& topic);
  void close();

  ConsumerConfig config_;
  ConsumerStats stats_;

 private:
  void wake() {
    ++events_;
    changed_.fire_all();
  }
  Duration ms(int64_t v) const { return std::chrono::milliseconds(v); }
  PartitionState* find(const TopicPartition& tp);
  int32_t leader_of(const TopicPartition& tp) const;
  absl::Status await_leaders(const std::vector<TopicPartition>& partitions, TimePoint deadline);
  absl::Status update_positions(TimePoint deadline);
  void ensure_fetchers();
  ConsumerRecords drain();
  bool drainable();

  void run_metadata_watch();
  void run_fetcher(int32_t node);
  std::vector<PartitionState*> fetchable(int32_t node, TimePoint& next_retry);
  kafka::FetchRequest build_fetch(const std::vector<PartitionState*>& parts);
  void handle_fetch(const KafkaConnection::Framed<kafka::FetchResponse>& rsp,
                    const std::map<TopicPartition, std::pair<uint64_t, int64_t>>& sent);
  void handle_partition(PartitionState& ps, int64_t fetched_at,
                        const kafka::FetchResponse::PartitionData& data,
                        const std::shared_ptr<const std::string>& frame);
  absl::Status parse_records(PartitionState& ps, int64_t position, std::string_view bytes,
                             CompletedFetch& out);

  IClock& clock_;
  std::shared_ptr<ClientCluster> cluster_;
  std::map<TopicPartition, PartitionState> parts_;
  std::deque<CompletedFetch> completed_;
  std::map<int32_t, bool> fetchers_;  // nodes with a fetcher
  std::deque<absl::Status> errors_;   // for poll() to return, oldest first
  uint64_t next_epoch_ = 1;
  uint64_t next_fetch_token_ = 1;
  uint64_t rotation_ = 0;  // where the next fetch request starts its partition list
  uint64_t events_ = 0;
  bool closed_ = false;
  WaitList changed_;
  ActorCollection actors_;
};

// ---- assignment and positions ----------------------------------------------------------------

void Consumer::Core::start() {
  actors_.add(
      spawn("consumer-metadata", [self = shared_from_this()] { self->run_metadata_watch(); }));
}

void Consumer::Core::run_metadata_watch() {
  uint64_t seen = cluster_->version();
  while (!closed_) {
    wait_for(cluster_->changed(), [&] { return cluster_->version() != seen || closed_; });
    seen = cluster_->version();
    wake();
  }
}

PartitionState* Consumer::Core::find(const TopicPartition& tp) {
  auto it = parts_.find(tp);
  return it == parts_.end() ? nullptr : &it->second;
}

void Consumer::Core::assign(const std::vector<TopicPartition>& partitions) {
  std::map<TopicPartition, PartitionState> next;
  std::map<std::string, std::shared_ptr<const std::string>> names;
  for (const TopicPartition& tp : partitions) {
    auto old = parts_.find(tp);
    if (old != parts_.end()) {
      next.emplace(tp, std::move(old->second));
      continue;
    }
    auto& name = names[tp.topic];
    if (name == nullptr) name = std::make_shared<const std::string>(tp.topic);
    PartitionState ps;
    ps.tp = tp;
    ps.topic = name;
    ps.epoch = next_epoch_++;
    next.emplace(tp, std::move(ps));
    cluster_->add_topic(tp.topic);
  }
  parts_ = std::move(next);
  wake();
}

std::vector<TopicPartition> Consumer::Core::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, ps] : parts_) out.push_back(tp);
  return out;
}

absl::Status Consumer::Core::seek(const TopicPartition& tp, std::optional<int64_t> offset,
                                  std::optional<OffsetReset> reset) {
  PartitionState* ps = find(tp);
  if (ps == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  if (offset && *offset < 0) return absl::InvalidArgumentError("a negative offset");
  ps->position = offset;
  ps->reset = reset;
  ps->epoch = next_epoch_++;
  ps->buffered = false;
  ps->held = false;
  ps->retry_at = TimePoint{};
  wake();
  return absl::OkStatus();
}

int32_t Consumer::Core::leader_of(const TopicPartition& tp) const {
  const TopicMetadata* m = cluster_->topic(tp.topic);
  if (m == nullptr || tp.partition < 0 || static_cast<size_t>(tp.partition) >= m->partitions.size())
    return -1;
  return m->partitions[static_cast<size_t>(tp.partition)].leader;
}

absl::Status Consumer::Core::await_leaders(const std::vector<TopicPartition>& partitions,
                                           TimePoint deadline) {
  for (const TopicPartition& tp : partitions) cluster_->add_topic(tp.topic);
  while (true) {
    bool all = true;
    std::string missing;  // a topic or partition the metadata says does not exist
    for (const TopicPartition& tp : partitions) {
      const TopicMetadata* m = cluster_->topic(tp.topic);
      if (m != nullptr && m->error == ErrorCode::kUnknownTopicOrPartition)
        missing = absl::StrCat("topic ", tp.topic, " does not exist");
      if (m != nullptr && !m->partitions.empty() &&
          static_cast<size_t>(tp.partition) >= m->partitions.size())
        missing = absl::StrCat(tp.topic, "-", tp.partition, " does not exist");
      all = all && leader_of(tp) >= 0;
    }
    if (all) return absl::OkStatus();
    if (closed_) return absl::FailedPreconditionError("consumer closed");
    // The metadata may be older than the topic: only a deadline makes "missing" final.
    if (!cluster_->await_refresh(deadline)) {
      if (!missing.empty()) return absl::NotFoundError(missing);
      return absl::DeadlineExceededError(absl::StrCat(
          "no leader known in time (last refresh: ", cluster_->last_refresh_error().ToString(),
          ")"));
    }
  }
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::Core::list_offsets(
    const std::vector<TopicPartition>& partitions, int64_t timestamp, TimePoint deadline) {
  std::map<TopicPartition, int64_t> out;
  std::vector<TopicPartition> left = partitions;
  while (!left.empty()) {
    if (auto s = await_leaders(left, deadline); !s.ok()) return s;
    std::map<int32_t, kafka::ListOffsetsRequest> requests;
    for (const TopicPartition& tp : left) {
      kafka::ListOffsetsRequest& req = requests[leader_of(tp)];
      req.replica_id = -1;
      if (req.topics.empty() || req.topics.back().name != tp.topic)
        req.topics.push_back({.name = tp.topic});
      req.topics.back().partitions.push_back(
          {.partition_index = tp.partition, .timestamp = timestamp});
    }
    std::vector<TopicPartition> retry;
    for (auto& [node, req] : requests) {
      auto conn = cluster_->connection(node, ConnectionPurpose::kControl);
      absl::StatusOr<KafkaConnection::Framed<kafka::ListOffsetsResponse>> rsp =
          conn.ok() ? call_with_deadline<kafka::ListOffsetsResponse>(*conn, req,
                                                                     ms(config_.request_timeout_ms))
                    : conn.status();
      if (!rsp.ok()) {
        if (conn.ok()) cluster_->connection_failed(node, *conn);
        for (const auto& t : req.topics)
          for (const auto& p : t.partitions) retry.push_back({t.name, p.partition_index});
        continue;
      }
      for (const auto& t : rsp->body.topics) {
        for (const auto& p : t.partitions) {
          const auto code = static_cast<ErrorCode>(p.error_code);
          const TopicPartition tp{t.name, p.partition_index};
          if (code == ErrorCode::kNone) {
            out[tp] = p.offset;
          } else if (kafka::is_retriable(code)) {
            retry.push_back(tp);
          } else {
            return kafka_error(code, absl::StrCat("ListOffsets ", tp.topic, "-", tp.partition));
          }
        }
      }
    }
    left = std::move(retry);
    if (!left.empty()) {
      if (Scheduler::current().now() >= deadline)
        return absl::DeadlineExceededError("ListOffsets did not succeed in time");
      cluster_->request_refresh();
      delay(ms(config_.retry_backoff_ms));
    }
  }
  return out;
}

// Looks up the positions that a seek_to_* or auto_offset_reset asks for.
absl::Status Consumer::Core::update_positions(TimePoint deadline) {
  std::map<OffsetReset, std::vector<TopicPartition>> wanted;
  for (auto& [tp, ps] : parts_) {
    if (ps.position && !ps.reset) continue;
    if (!ps.reset) {
      if (config_.auto_offset_reset == OffsetReset::kNone) {
        return absl::FailedPreconditionError(absl::StrCat(
            "no offset for ", tp.topic, "-", tp.partition, " and auto_offset_reset is none"));
      }
      ps.reset = config_.auto_offset_reset;
    }
    wanted[*ps.reset].push_back(tp);
  }
  for (auto& [reset, tps] : wanted) {
    std::map<TopicPartition, uint64_t> epochs;
    for (const TopicPartition& tp : tps) epochs[tp] = parts_.at(tp).epoch;
    auto offsets = list_offsets(
        tps, reset == OffsetReset::kEarliest ? kEarliestTimestamp : kLatestTimestamp, deadline);
    if (!offsets.ok()) return offsets.status();
    for (const auto& [tp, offset] : *offsets) {
      PartitionState* ps = find(tp);
      if (ps == nullptr || ps->epoch != epochs[tp] || !ps->reset) continue;  // seeked meanwhile
      ps->position = offset;
      ps->reset.reset();
      ps->epoch = next_epoch_++;
      ++stats_.resets;
    }
  }
  if (!wanted.empty()) wake();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::Core::position(const TopicPartition& tp) {
  PartitionState* ps = find(tp);
  if (ps == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  if (!ps->position || ps->reset) {
    if (auto s = update_positions(cluster_->deadline_after(ms(config_.request_timeout_ms)));
        !s.ok())
      return s;
    ps = find(tp);
    if (ps == nullptr || !ps->position) return absl::UnavailableError("position unknown");
  }
  return *ps->position;
}

int64_t Consumer::Core::high_watermark(const TopicPartition& tp) const {
  auto it = parts_.find(tp);
  return it == parts_.end() ? -1 : it->second.high_watermark;
}

absl::StatusOr<int32_t> Consumer::Core::partition_count(const std::string& topic) {
  const TimePoint deadline = cluster_->deadline_after(ms(config_.request_timeout_ms));
  cluster_->add_topic(topic);
  bool refreshed = false;
  while (true) {
    const TopicMetadata* m = cluster_->topic(topic);
    if (m != nullptr && !m->partitions.empty()) return static_cast<int32_t>(m->partitions.size());
    if (m != nullptr && refreshed && m->error == ErrorCode::kUnknownTopicOrPartition)
      return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
    if (!cluster_->await_refresh(deadline))
      return absl::DeadlineExceededError(absl::StrCat("no metadata for ", topic, " in time"));
    refreshed = true;
  }
}

void Consumer::Core::close() {
  if (closed_) return;
  closed_ = true;
  actors_.clear();
  cluster_->shutdown();
  completed_.clear();
  wake();
}

}  // namespace weir::broker::client

// ---- poll ------------------------------------------------------------------------------------

namespace weir::broker::client {

absl::StatusOr<ConsumerRecords> Consumer::Core::poll(Duration timeout) {
  if (closed_) return absl::FailedPreconditionError("consumer closed");
  const TimePoint deadline = cluster_->deadline_after(timeout);
  while (true) {
    if (!errors_.empty()) {
      absl::Status s = errors_.front();
      errors_.pop_front();
      return s;
    }
    if (auto s = update_positions(deadline); !s.ok()) {
      // A topic not there (yet) or no leader: as Kafka, poll waits rather than fails.
      if (!absl::IsDeadlineExceeded(s) && !absl::IsNotFound(s)) return s;
      return ConsumerRecords();
    }
    ensure_fetchers();
    if (drainable()) {
      ConsumerRecords out = drain();
      // Let the fetchers ask for the next data before the application handles this.
      yield_now();
      if (!out.empty()) return out;
      continue;
    }
    const uint64_t seen = events_;
    if (!wait_until(
            changed_, [&] { return events_ != seen || closed_; }, deadline))
      return ConsumerRecords();
    if (closed_) return absl::FailedPreconditionError("consumer closed");
  }
}

void Consumer::Core::ensure_fetchers() {
  for (const auto& [tp, ps] : parts_) {
    const int32_t leader = leader_of(tp);
    if (leader < 0) {
      cluster_->request_refresh();
      continue;
    }
    if (fetchers_[leader]) continue;
    fetchers_[leader] = true;
    actors_.add(spawn("consumer-fetcher",
                      [self = shared_from_this(), leader] { self->run_fetcher(leader); }));
  }
}

// Whether drain() has anything to hand out or drop (paused partitions' data only waits).
bool Consumer::Core::drainable() {
  for (const CompletedFetch& cf : completed_) {
    const PartitionState* ps = find(cf.tp);
    if (ps == nullptr || ps->epoch != cf.epoch || !ps->paused) return true;
  }
  return false;
}

absl::Status Consumer::Core::set_paused(const std::vector<TopicPartition>& partitions,
                                        bool paused) {
  for (const TopicPartition& tp : partitions) {
    if (find(tp) == nullptr)
      return absl::InvalidArgumentError(
          absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  }
  for (const TopicPartition& tp : partitions) find(tp)->paused = paused;
  wake();
  return absl::OkStatus();
}

ConsumerRecords Consumer::Core::drain() {
  ConsumerRecords out;
  const auto max = static_cast<size_t>(config_.max_poll_records);
  for (auto it = completed_.begin(); it != completed_.end() && out.records_.size() < max;) {
    CompletedFetch& cf = *it;
    PartitionState* ps = find(cf.tp);
    if (ps == nullptr || ps->epoch != cf.epoch) {  // unassigned or seeked since
      it = completed_.erase(it);
      continue;
    }
    if (ps->paused) {  // kept for resume()
      ++it;
      continue;
    }
    const size_t take = std::min(cf.records.size() - cf.next, max - out.records_.size());
    if (take > 0) {
      if (out.records_.empty()) out.records_.reserve(std::min(max, cf.records.size() - cf.next));
      for (size_t i = 0; i < take; ++i) out.records_.push_back(std::move(cf.records[cf.next + i]));
      cf.next += take;
      ps->position = out.records_.back().offset + 1;
      out.keep_.insert(out.keep_.end(), cf.keep.begin(), cf.keep.end());
    }
    if (cf.next == cf.records.size()) {
      ps->position = std::max(*ps->position, cf.next_fetch_offset);
      ps->buffered = false;
      it = completed_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.records += out.records_.size();
  wake();
  return out;
}

}  // namespace weir::broker::client

// ---- fetchers --------------------------------------------------------------------------------

namespace weir::broker::client {

// The partitions `node` leads that may be fetched now; `next_retry` is the earliest time one
// held back by an error may be.
std::vector<PartitionState*> Consumer::Core::fetchable(int32_t node, TimePoint& next_retry) {
  std::vector<PartitionState*> out;
  const TimePoint now = Scheduler::current().now();
  for (auto& [tp, ps] : parts_) {
    if (!ps.position || ps.reset || ps.fetch_token != 0 || ps.buffered || ps.held || ps.paused)
      continue;
    if (leader_of(tp) != node) continue;
    if (now < ps.retry_at) {
      next_retry = std::min(next_retry, ps.retry_at);
      continue;
    }
    out.push_back(&ps);
  }
  if (out.size() > 1) {  // a different first partition each time: KIP-74 fairness
    std::rotate(out.begin(), out.begin() + static_cast<ptrdiff_t>(rotation_++ % out.size()),
                out.end());
  }
  return out;
}

kafka::FetchRequest Consumer::Core::build_fetch(const std::vector<PartitionState*>& parts) {
  kafka::FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = config_.fetch_max_wait_ms;
  req.min_bytes = config_.fetch_min_bytes;
  req.max_bytes = config_.fetch_max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;  // no fetch session: every request is a full one
  for (PartitionState* ps : parts) {
    if (req.topics.empty() || req.topics.back().topic != ps->tp.topic)
      req.topics.push_back({.topic = ps->tp.topic});
    req.topics.back().partitions.push_back(
        {.partition = ps->tp.partition,
         .fetch_offset = *ps->position,
         .partition_max_bytes = config_.max_partition_fetch_bytes});
  }
  return req;
}

void Consumer::Core::run_fetcher(int32_t node) {
  Scheduler& s = Scheduler::current();
  while (!closed_) {
    std::vector<PartitionState*> parts;
    while (!closed_) {
      TimePoint next_retry = TimePoint::max();
      parts = fetchable(node, next_retry);
      if (!parts.empty()) break;
      const uint64_t seen = events_;
      wait_until(
          changed_, [&] { return events_ != seen || closed_; }, next_retry);
    }
    if (closed_) return;
    parts.clear();  // connecting may suspend, and the assignment change meanwhile
    auto conn = cluster_->connection(node, ConnectionPurpose::kData);
    TimePoint unused = TimePoint::max();
    parts = fetchable(node, unused);
    if (!conn.ok()) {
      for (PartitionState* ps : parts)
        ps->retry_at = cluster_->deadline_after(ms(config_.retry_backoff_ms));
      continue;
    }
    if (parts.empty()) continue;
    const kafka::FetchRequest req = build_fetch(parts);
    std::map<TopicPartition, std::pair<uint64_t, int64_t>> sent;  // token, offset
    for (PartitionState* ps : parts) {
      ps->fetch_token = next_fetch_token_++;
      sent[ps->tp] = {ps->fetch_token, *ps->position};
    }
    parts.clear();  // the states may go away while the request is out
    ++stats_.fetches;
    auto rsp = call_with_deadline<kafka::FetchResponse>(
        *conn, req, ms(config_.request_timeout_ms + config_.fetch_max_wait_ms));
    for (const auto& [tp, token_offset] : sent) {
      PartitionState* ps = find(tp);
      if (ps != nullptr && ps->fetch_token == token_offset.first) ps->fetch_token = 0;
    }
    if (!rsp.ok()) {
      cluster_->connection_failed(node, *conn);
      for (const auto& [tp, token_offset] : sent) {
        if (PartitionState* ps = find(tp))
          ps->retry_at = s.now() + clock_.to_scheduler(ms(config_.retry_backoff_ms));
      }
    } else {
      handle_fetch(*rsp, sent);
    }
    wake();
  }
}

void Consumer::Core::handle_fetch(
    const KafkaConnection::Framed<kafka::FetchResponse>& rsp,
    const std::map<TopicPartition, std::pair<uint64_t, int64_t>>& sent) {
  const auto top = static_cast<ErrorCode>(rsp.body.error_code);
  if (top != ErrorCode::kNone) {
    errors_.push_back(kafka_error(top, "Fetch"));
    return;
  }
  for (const auto& t : rsp.body.responses) {
    for (const auto& p : t.partitions) {
      const TopicPartition tp{t.topic, p.partition_index};
      auto it = sent.find(tp);
      PartitionState* ps = find(tp);
      if (it == sent.end() || ps == nullptr) continue;
      // Seeked (or reset) while the fetch was out: the position it answers is gone.
      if (!ps->position || *ps->position != it->second.second || ps->reset || ps->buffered)
        continue;
      handle_partition(*ps, it->second.second, p, rsp.frame);
    }
  }
}

void Consumer::Core::handle_partition(PartitionState& ps, int64_t fetched_at,
                                      const kafka::FetchResponse::PartitionData& data,
                                      const std::shared_ptr<const std::string>& frame) {
  const auto code = static_cast<ErrorCode>(data.error_code);
  const TimePoint backoff = cluster_->deadline_after(ms(config_.retry_backoff_ms));
  const std::string where = absl::StrCat(ps.tp.topic, "-", ps.tp.partition);
  if (code == ErrorCode::kOffsetOutOfRange) {
    if (config_.auto_offset_reset == OffsetReset::kNone) {
      ps.held = true;
      errors_.push_back(absl::OutOfRangeError(
          absl::StrCat("OFFSET_OUT_OF_RANGE: offset ", fetched_at, " of ", where,
                       " is out of range and auto_offset_reset is none")));
    } else {
      ps.reset = config_.auto_offset_reset;
    }
    return;
  }
  if (code != ErrorCode::kNone) {
    ps.retry_at = backoff;
    if (is_metadata_error(code)) {
      cluster_->request_refresh();
    } else if (!kafka::is_retriable(code)) {
      errors_.push_back(kafka_error(code, absl::StrCat("Fetch ", where)));
    }
    return;
  }
  ps.high_watermark = data.high_watermark;
  if (data.records.is_null || data.records.bytes.empty()) return;
  stats_.fetch_bytes += data.records.bytes.size();
  CompletedFetch cf;
  cf.tp = ps.tp;
  cf.epoch = ps.epoch;
  cf.next_fetch_offset = fetched_at;
  cf.keep.push_back(frame);
  cf.keep.push_back(ps.topic);
  if (auto s = parse_records(ps, fetched_at, data.records.bytes, cf); !s.ok()) {
    ps.held = true;  // a corrupt batch does not go away by fetching it again
    errors_.push_back(s);
    return;
  }
  if (cf.records.empty()) {
    // Only records below the position, or control batches: move past them.
    ps.position = std::max(fetched_at, cf.next_fetch_offset);
    return;
  }
  ps.buffered = true;
  completed_.push_back(std::move(cf));
}

// Walks the whole batches of a partition's records (a trailing partial batch, cut by the
// byte limits, is left for the next fetch), checks them and collects the records at or above
// `position`.
absl::Status Consumer::Core::parse_records(PartitionState& ps, int64_t position,
                                           std::string_view bytes, CompletedFetch& out) {
  const std::string where = absl::StrCat(ps.tp.topic, "-", ps.tp.partition);
  log::Record rec;
  while (bytes.size() >= log::kBatchHeaderBytes) {
    const int32_t length = batch_length_field(bytes);
    if (length >= 0 && static_cast<size_t>(length) + log::kLogOverheadBytes > bytes.size()) {
      break;  // partial
    }
    auto header = log::parse_batch_header(bytes);
    if (!header.ok())
      return absl::DataLossError(absl::StrCat(where, ": ", header.status().message()));
    const std::string_view batch_bytes = bytes.substr(0, header->size_bytes());
    bytes.remove_prefix(header->size_bytes());
    const int64_t last = header->last().value();
    out.next_fetch_offset = std::max(out.next_fetch_offset, last + 1);
    if (last < position) continue;
    if (config_.check_crcs) {
      if (auto v = log::BatchView::parse(batch_bytes); !v.ok())
        return absl::DataLossError(
            absl::StrCat(where, " at offset ", header->base_offset, ": ", v.status().message()));
    }
    if (header->is_control()) continue;
    std::string_view area = batch_bytes.substr(log::kBatchHeaderBytes);
    if (header->compression() != log::Compression::kNone) {
      auto plain =
          log::decompress(header->compression(), area, config_.batch_decompressed_bytes_max);
      if (!plain.ok())
        return absl::DataLossError(absl::StrCat(where, " at offset ", header->base_offset, ": ",
                                                plain.status().message()));
      auto storage = std::make_shared<const std::string>(std::move(*plain));
      area = *storage;
      out.keep.push_back(std::move(storage));
    }
    const bool log_append = header->timestamp_type() == log::TimestampType::kLogAppendTime;
    log::RecordIterator it(area, header->record_count);
    while (it.next(rec)) {
      const int64_t offset = header->base_offset + rec.offset_delta;
      if (offset < position) continue;
      ConsumerRecord& r = out.records.emplace_back();
      r.topic = *ps.topic;
      r.partition = ps.tp.partition;
      r.offset = offset;
      r.timestamp_type = header->timestamp_type();
      r.timestamp_ms =
          log_append ? header->max_timestamp : header->base_timestamp + rec.timestamp_delta;
      r.leader_epoch = header->partition_leader_epoch;
      r.key = rec.key;
      r.value = rec.value;
      if (!rec.headers.empty()) r.headers = rec.headers;
    }
    if (auto s = it.status(); !s.ok())
      return absl::DataLossError(
          absl::StrCat(where, " at offset ", header->base_offset, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace weir::broker::client

// ---- the public face -------------------------------------------------------------------------

namespace weir::broker::client {

absl::Status validate_consumer_config(const ConsumerConfig& c) {
  if (c.fetch_min_bytes < 0) return absl::InvalidArgumentError("fetch_min_bytes must be >= 0");
  if (c.fetch_max_wait_ms < 0) return absl::InvalidArgumentError("fetch_max_wait_ms must be >= 0");
  if (c.max_partition_fetch_bytes < 1)
    return absl::InvalidArgumentError("max_partition_fetch_bytes must be >= 1");
  if (c.fetch_max_bytes < 1) return absl::InvalidArgumentError("fetch_max_bytes must be >= 1");
  if (c.max_poll_records < 1) return absl::InvalidArgumentError("max_poll_records must be >= 1");
  if (c.request_timeout_ms < 1)
    return absl::InvalidArgumentError("request_timeout_ms must be >= 1");
  if (c.retry_backoff_ms < 0) return absl::InvalidArgumentError("retry_backoff_ms must be >= 0");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::create(ConsumerConfig config, INetwork& network,
                                                           IClock& clock) {
  if (auto s = validate_consumer_config(config); !s.ok()) return s;
  ClientClusterOptions o;
  o.bootstrap_servers = config.bootstrap_servers;
  o.client_id = config.client_id;
  o.in_flight_max = 1;  // one fetch per broker at a time; ListOffsets on its own connection
  o.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  o.retry_backoff = std::chrono::milliseconds(config.retry_backoff_ms);
  o.metadata_max_age = std::chrono::milliseconds(config.metadata_max_age_ms);
  o.allow_auto_topic_creation = false;
  auto cluster = ClientCluster::create(network, clock, std::move(o));
  if (!cluster.ok()) return cluster.status();
  auto core = std::make_shared<Core>(std::move(config), clock, std::move(*cluster));
  core->start();
  return std::unique_ptr<Consumer>(new Consumer(std::move(core)));
}

Consumer::~Consumer() {
  core_->close();
}

void Consumer::assign(const std::vector<TopicPartition>& partitions) {
  core_->assign(partitions);
}

std::vector<TopicPartition> Consumer::assignment() const {
  return core_->assignment();
}

absl::Status Consumer::pause(const std::vector<TopicPartition>& partitions) {
  return core_->set_paused(partitions, true);
}

absl::Status Consumer::resume(const std::vector<TopicPartition>& partitions) {
  return core_->set_paused(partitions, false);
}

std::vector<TopicPartition> Consumer::paused() const {
  return core_->paused();
}

absl::Status Consumer::seek(const TopicPartition& tp, int64_t offset) {
  return core_->seek(tp, offset, std::nullopt);
}

absl::Status Consumer::seek_to_beginning(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    if (auto s = core_->seek(tp, std::nullopt, OffsetReset::kEarliest); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Consumer::seek_to_end(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    if (auto s = core_->seek(tp, std::nullopt, OffsetReset::kLatest); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::position(const TopicPartition& tp) {
  return core_->position(tp);
}

int64_t Consumer::high_watermark(const TopicPartition& tp) const {
  return core_->high_watermark(tp);
}

absl::StatusOr<ConsumerRecords> Consumer::poll(Duration timeout) {
  return core_->poll(timeout);
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::beginning_offsets(
    const std::vector<TopicPartition>& partitions) {
  return core_->list_offsets(
      partitions, kEarliestTimestamp,
      Scheduler::current().now() +
          to_scheduler_duration(std::chrono::milliseconds(core_->config_.request_timeout_ms)));
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::end_offsets(
    const std::vector<TopicPartition>& partitions) {
  return core_->list_offsets(
      partitions, kLatestTimestamp,
      Scheduler::current().now() +
          to_scheduler_duration(std::chrono::milliseconds(core_->config_.request_timeout_ms)));
}

absl::StatusOr<int32_t> Consumer::partition_count(const std::string& topic) {
  return core_->partition_count(topic);
}

void Consumer::close() {
  core_->close();
}

const ConsumerStats& Consumer::stats() const {
  return core_->stats_;
}

const ConsumerConfig& Consumer::config() const {
  return core_->config_;
}

}  // namespace weir::broker::client
