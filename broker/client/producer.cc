#include "broker/client/producer.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/client/client_cluster.h"
#include "broker/log/compression.h"
#include "buggify/code_probe.h"
#include "runtime/actor_collection.h"
#include "runtime/bytes/byte_writer.h"
#include "runtime/crc32c.h"
#include "runtime/sync.h"
#include "runtime/trace.h"

namespace weir::broker::client {
namespace {

using kafka::ErrorCode;

constexpr size_t kHeaderBytes = log::kBatchHeaderBytes;
// The most a record's length prefix and its two deltas can add to body_size(r, 0, 0).
constexpr size_t kRecordOverheadMaxBytes = 5 + 10 + 5;

// Abseil here has its own string_view: std::string_view must be converted for StrCat.
absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

size_t nullable_size(const std::optional<std::string_view>& s) {
  return s ? varint_size(static_cast<int64_t>(s->size())) + s->size() : varint_size(-1);
}

// The encoded record without its length prefix, at the given deltas.
size_t body_size(const ProducerRecord& r, int64_t timestamp_delta, int32_t offset_delta) {
  size_t n = 1 + varint_size(timestamp_delta) + varint_size(offset_delta) + nullable_size(r.key) +
             nullable_size(r.value) + varint_size(static_cast<int64_t>(r.headers.size()));
  for (const ProducerHeader& h : r.headers) {
    n += varint_size(static_cast<int64_t>(h.key.size())) + h.key.size() + nullable_size(h.value);
  }
  return n;
}

// Writes a record's fields into memory already sized for them (zig-zag varints as Kafka's
// records use them).
class RecordWriter {
 public:
  explicit RecordWriter(char* at) : p_(at) {}
  void byte(uint8_t v) { *p_++ = static_cast<char>(v); }
  void varint(int64_t v) {
    uint64_t u = zigzag_encode(v);
    while (u >= 0x80) {
      *p_++ = static_cast<char>((u & 0x7f) | 0x80);
      u >>= 7;
    }
    *p_++ = static_cast<char>(u);
  }
  void bytes(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void nullable(const std::optional<std::string_view>& s) {
    if (!s) {
      varint(-1);
      return;
    }
    varint(static_cast<int64_t>(s->size()));
    bytes(*s);
  }
  const char* end() const { return p_; }

 private:
  char* p_;
};

void store_be(char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}

// Outcomes after which the batch may be in the log (every other error refuses it before the
// append).
bool maybe_appended(ErrorCode code) {
  return code == ErrorCode::kNetworkException || code == ErrorCode::kRequestTimedOut ||
         code == ErrorCode::kNotEnoughReplicasAfterAppend || code == ErrorCode::kKafkaStorageError;
}

bool needs_metadata_refresh(ErrorCode code) {
  return code == ErrorCode::kNotLeaderOrFollower || code == ErrorCode::kUnknownTopicOrPartition ||
         code == ErrorCode::kLeaderNotAvailable || code == ErrorCode::kKafkaStorageError ||
         code == ErrorCode::kFencedLeaderEpoch || code == ErrorCode::kNetworkException;
}

absl::Status kafka_status(ErrorCode code, std::string_view message) {
  std::string text =
      absl::StrCat(av(kafka::error_name(code)), " (", kafka::error_code_value(code), ")");
  if (!message.empty()) absl::StrAppend(&text, ": ", av(message));
  if (kafka::is_retriable(code)) return absl::UnavailableError(text);
  switch (code) {
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
    case ErrorCode::kInvalidRecord:
    case ErrorCode::kCorruptMessage:
    case ErrorCode::kInvalidRequiredAcks:
    case ErrorCode::kInvalidTopicException:
      return absl::InvalidArgumentError(text);
    case ErrorCode::kTopicAuthorizationFailed:
    case ErrorCode::kClusterAuthorizationFailed:
    case ErrorCode::kTransactionalIdAuthorizationFailed:
      return absl::PermissionDeniedError(text);
    default:
      return absl::InternalError(text);
  }
}

// Memory for batches, handed out first come, first served: a send() that waits is never
// overtaken by a later one, however small.
class BufferPool {
 public:
  explicit BufferPool(int64_t total) : total_(total) {}

  // Suspends until `bytes` fit; false when `deadline` (scheduler time) passes first.
  bool allocate(int64_t bytes, TimePoint deadline) {
    if (queue_.empty() && used_ + bytes <= total_) {
      used_ += bytes;
      return true;
    }
    queue_.push_back(bytes);
    auto me = std::prev(queue_.end());
    struct Leave {
      BufferPool& pool;
      std::list<int64_t>::iterator me;
      ~Leave() {
        pool.queue_.erase(me);
        pool.changed_.fire_all();
      }
    } leave{*this, me};
    const bool ok = wait_until(
        changed_, [&] { return queue_.begin() == me && used_ + bytes <= total_; }, deadline);
    if (ok) used_ += bytes;
    return ok;
  }
  void release(int64_t bytes) {
    used_ -= bytes;
    changed_.fire_all();
  }
  size_t waiters() const { return queue_.size(); }
  int64_t used() const { return used_; }

 private:
  int64_t total_;
  int64_t used_ = 0;
  std::list<int64_t> queue_;  // the sizes waited for, oldest first
  WaitList changed_;
};

struct PendingRecord {
  int64_t timestamp_ms;
  SendCallback done;
};

// One batch of one partition, built in one buffer: room for the 61-byte header, then the
// records as they are appended; seal() writes the header (and compresses) in place.
struct Batch {
  uint64_t id = 0;
  std::string_view topic;  // the TopicState's name
  int32_t partition = 0;
  std::string buffer;
  int64_t capacity = 0;  // bytes charged to the buffer pool
  int32_t record_count = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  TimePoint created{};   // local clock
  TimePoint retry_at{};  // local clock
  int32_t attempts = 0;
  bool closed = false;  // a record did not fit: no more appends
  bool sealed = false;
  // Idempotence: the producer id, epoch and first sequence in the header (-1: none yet);
  // restamp asks for new ones before the next attempt (the broker lost the producer).
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool restamp = false;
  // An attempt ended without a definite refusal (no answer, or appended but not committed):
  // the batch may be in the log under its sequences, so it must never be restamped.
  bool maybe_written = false;
  std::vector<PendingRecord> pending;
};

struct PartitionQueue {
  std::deque<std::unique_ptr<Batch>> batches;  // oldest first; only the last takes records
  bool in_flight = false;
  int32_t next_sequence = 0;         // idempotence: of the next batch's first record ...
  uint64_t sequence_generation = 0;  // ... under this producer id generation
};

struct TopicState {
  std::string name;
  int32_t partition_count = 0;  // 0: not known yet
  ErrorCode error = ErrorCode::kNone;
  std::vector<int32_t> leaders;
  std::vector<int32_t> available;
  std::deque<PartitionQueue> queues;  // a deque: growing it keeps references valid
};

struct NodeState {
  std::shared_ptr<KafkaConnection> connection;
  int32_t in_flight = 0;
  bool connecting = false;
  TimePoint retry_at{};  // local clock
};

}  // namespace

class Producer::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(ProducerConfig config, IClock& clock, IRandom& random,
       std::shared_ptr<ClientCluster> cluster)
      : config_(std::move(config)),
        clock_(clock),
        sticky_(random),
        cluster_(std::move(cluster)),
        pool_(config_.buffer_memory) {}

  void start();
  absl::Status send(const ProducerRecord& record, SendCallback callback);
  void flush();
  void close();
  void shutdown(const absl::Status& why);

  ProducerConfig config_;
  ProducerStats stats_;

 private:
  TopicState& topic_state(std::string_view name);
  absl::Status await_partitions(TopicState& t, TimePoint deadline);
  void sync_metadata();
  int32_t choose_partition(TopicState& t, const ProducerRecord& r);
  bool try_append(TopicState& t, int32_t partition, const ProducerRecord& r, int64_t timestamp,
                  SendCallback& callback);
  void open_batch(TopicState& t, int32_t partition, int64_t capacity);
  void wake() {
    ++events_;
    wake_.fire_all();
  }

  void run_sender();
  void run_metadata_watch();
  bool drain_pass(TimePoint now, TimePoint& next_wake);
  bool expire(PartitionQueue& q, TimePoint now);
  bool node_ready(int32_t node, TimePoint now, TimePoint& next_wake);
  absl::Status seal(Batch& b);
  void write_producer_fields(Batch& b);
  void assign_sequences(Batch& b, PartitionQueue& q);
  bool producer_id_ready(TimePoint now, TimePoint& next_wake);
  void run_init_producer_id();
  absl::Status init_producer_id_once();
  void reset_producer_id(int64_t stale_id, int16_t stale_epoch);
  void fail_queue(PartitionQueue& q, const absl::Status& status);
  void send_request(int32_t node, std::vector<Batch*> batches);
  void run_request(int32_t node, std::shared_ptr<KafkaConnection> connection,
                   std::vector<Batch*> batches);
  void handle_response(int32_t node, const std::shared_ptr<KafkaConnection>& connection,
                       const std::vector<Batch*>& batches,
                       const absl::StatusOr<kafka::ProduceResponse>& rsp);
  void request_done(int32_t node, const std::vector<Batch*>& batches);
  void retry_or_fail(Batch* b, ErrorCode code, const absl::Status& status);
  void complete(Batch* b, int64_t base_offset, int64_t log_append_time_ms,
                const absl::Status& status);
  std::unique_ptr<Batch> take_in_flight(Batch* b);
  Duration ms(int64_t v) const { return std::chrono::milliseconds(v); }

  IClock& clock_;
  StickyPartitioner sticky_;
  std::shared_ptr<ClientCluster> cluster_;
  BufferPool pool_;
  std::map<std::string, std::unique_ptr<TopicState>, std::less<>> topics_;
  TopicState* last_topic_ = nullptr;
  std::map<int32_t, NodeState> nodes_;
  std::map<uint64_t, std::unique_ptr<Batch>> in_flight_;  // drained batches, by id
  std::set<uint64_t> incomplete_;                         // every batch not yet completed
  uint64_t next_batch_id_ = 1;
  uint64_t applied_metadata_ = UINT64_MAX;
  uint64_t events_ = 0;
  int flushing_ = 0;
  bool closing_ = false;
  bool shut_down_ = false;
  absl::Status shutdown_status_;
  // Idempotence: the current producer id (-1: none; the sender fetches one), and a generation
  // bumped with each new id so that every partition's sequences restart at 0 under it.
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  uint64_t producer_generation_ = 0;
  bool producer_id_pending_ = false;
  TimePoint producer_id_retry_at_{};  // local clock
  uint64_t producer_id_attempts_ = 0;
  absl::Status producer_id_fatal_;  // a broker refused InitProducerId for good
  WaitList wake_;                   // the sender's
  WaitList completed_;              // a batch completed (flush waits on it)
  ActorCollection actors_;
};

// ---- send ------------------------------------------------------------------------------------

void Producer::Core::start() {
  actors_.add(spawn("producer-sender", [self = shared_from_this()] { self->run_sender(); }));
  actors_.add(
      spawn("producer-metadata", [self = shared_from_this()] { self->run_metadata_watch(); }));
}

TopicState& Producer::Core::topic_state(std::string_view name) {
  if (last_topic_ != nullptr && last_topic_->name == name) return *last_topic_;
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    auto t = std::make_unique<TopicState>();
    t->name = std::string(name);
    it = topics_.emplace(t->name, std::move(t)).first;
    cluster_->add_topic(name);
  }
  last_topic_ = it->second.get();
  return *last_topic_;
}

void Producer::Core::sync_metadata() {
  if (applied_metadata_ == cluster_->version()) return;
  applied_metadata_ = cluster_->version();
  for (auto& [name, t] : topics_) {
    const TopicMetadata* m = cluster_->topic(name);
    if (m == nullptr) continue;
    t->error = m->error;
    if (m->partitions.empty()) continue;
    const auto count = static_cast<int32_t>(m->partitions.size());
    if (count > t->partition_count) {
      t->partition_count = count;
      t->queues.resize(static_cast<size_t>(count));
    }
    t->leaders.assign(static_cast<size_t>(t->partition_count), -1);
    for (int32_t p = 0; p < count; ++p) t->leaders[p] = m->partitions[p].leader;
    t->available = m->available;
  }
}

absl::Status Producer::Core::await_partitions(TopicState& t, TimePoint deadline) {
  while (true) {
    sync_metadata();
    if (t.partition_count > 0) return absl::OkStatus();
    if (t.error == ErrorCode::kInvalidTopicException ||
        t.error == ErrorCode::kTopicAuthorizationFailed) {
      return kafka_status(t.error, absl::StrCat("topic ", t.name));
    }
    if (shut_down_ || closing_) return absl::FailedPreconditionError("producer closed");
    if (!cluster_->await_refresh(deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "topic ", t.name, " not present in metadata after max_block_ms (", config_.max_block_ms,
          " ms; last refresh: ", cluster_->last_refresh_error().ToString(), ")"));
    }
  }
}

int32_t Producer::Core::choose_partition(TopicState& t, const ProducerRecord& r) {
  if (r.partition) return *r.partition;
  if (r.key) return partition_for_key(*r.key, t.partition_count);
  return sticky_.partition(t.name, t.partition_count, t.available);
}

// Appends to the partition's open batch if the record fits; closes the batch if it does not.
bool Producer::Core::try_append(TopicState& t, int32_t partition, const ProducerRecord& r,
                                int64_t timestamp, SendCallback& callback) {
  PartitionQueue& q = t.queues[static_cast<size_t>(partition)];
  if (q.batches.empty()) return false;
  Batch& b = *q.batches.back();
  if (b.closed || b.sealed) return false;
  const int64_t base_timestamp = b.record_count == 0 ? timestamp : b.base_timestamp;
  const int64_t timestamp_delta = timestamp - base_timestamp;
  const int32_t offset_delta = b.record_count;
  const size_t body = body_size(r, timestamp_delta, offset_delta);
  const size_t bytes = varint_size(static_cast<int64_t>(body)) + body;
  if (b.record_count > 0 && b.buffer.size() + bytes > static_cast<size_t>(b.capacity)) {
    b.closed = true;  // Kafka's closeForRecordAppends: the batch is full now
    wake();
    return false;
  }
  b.base_timestamp = base_timestamp;
  // The exact size is known: grow once (within the reserved capacity) and write in place.
  const size_t at = b.buffer.size();
  b.buffer.resize(at + bytes);
  RecordWriter w(b.buffer.data() + at);
  w.varint(static_cast<int64_t>(body));
  w.byte(0);
  w.varint(timestamp_delta);
  w.varint(offset_delta);
  w.nullable(r.key);
  w.nullable(r.value);
  w.varint(static_cast<int64_t>(r.headers.size()));
  for (const ProducerHeader& h : r.headers) {
    w.varint(static_cast<int64_t>(h.key.size()));
    w.bytes(h.key);
    w.nullable(h.value);
  }
  WEIR_ASSERT(w.end() == b.buffer.data() + b.buffer.size());
  b.max_timestamp = b.record_count == 0 ? timestamp : std::max(b.max_timestamp, timestamp);
  ++b.record_count;
  b.pending.push_back({timestamp, std::move(callback)});
  if (b.buffer.size() >= static_cast<size_t>(b.capacity)) {
    b.closed = true;
    wake();
  }
  return true;
}

void Producer::Core::open_batch(TopicState& t, int32_t partition, int64_t capacity) {
  auto b = std::make_unique<Batch>();
  b->id = next_batch_id_++;
  b->topic = t.name;
  b->partition = partition;
  b->capacity = capacity;
  b->buffer.reserve(static_cast<size_t>(capacity));
  b->buffer.resize(kHeaderBytes);
  b->created = clock_.now();
  incomplete_.insert(b->id);
  t.queues[static_cast<size_t>(partition)].batches.push_back(std::move(b));
  wake();  // with linger 0 it is ready at once; otherwise its linger timer starts
}

absl::Status Producer::Core::send(const ProducerRecord& r, SendCallback callback) {
  if (closing_ || shut_down_) return absl::FailedPreconditionError("producer closed");
  const TimePoint deadline = cluster_->deadline_after(ms(config_.max_block_ms));
  TopicState& t = topic_state(r.topic);
  if (auto s = await_partitions(t, deadline); !s.ok()) return s;
  if (r.partition && (*r.partition < 0 || *r.partition >= t.partition_count)) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", *r.partition, " of ", t.name,
                                                   " does not exist (", t.partition_count, ")"));
  }
  const size_t record_max = body_size(r, 0, 0) + kRecordOverheadMaxBytes;
  const auto first_batch = static_cast<int64_t>(kHeaderBytes + record_max);
  if (first_batch > config_.max_request_size || first_batch > config_.buffer_memory) {
    return absl::InvalidArgumentError(
        absl::StrCat("MESSAGE_TOO_LARGE: the record is ", record_max,
                     " bytes, more than max_request_size or buffer_memory"));
  }
  const int64_t timestamp = r.timestamp_ms == -1 ? clock_.wall_ms() : r.timestamp_ms;
  const uint64_t events_before = events_;
  int32_t partition = choose_partition(t, r);
  if (!try_append(t, partition, r, timestamp, callback)) {
    // KIP-480: a record that would open a new batch moves the sticky partition first.
    sticky_.on_new_batch(t.name, t.partition_count, t.available, partition);
    partition = choose_partition(t, r);
    if (!try_append(t, partition, r, timestamp, callback)) {
      const int64_t capacity = std::max<int64_t>(config_.batch_size, first_batch);
      if (!pool_.allocate(capacity, deadline)) {
        return absl::DeadlineExceededError(absl::StrCat("no buffer memory for ", capacity,
                                                        " bytes within max_block_ms (",
                                                        config_.max_block_ms, " ms)"));
      }
      if (closing_ || shut_down_) {
        pool_.release(capacity);
        return absl::FailedPreconditionError("producer closed");
      }
      // Someone may have opened a batch there while we waited.
      if (try_append(t, partition, r, timestamp, callback)) {
        pool_.release(capacity);
      } else {
        open_batch(t, partition, capacity);
        const bool appended = try_append(t, partition, r, timestamp, callback);
        WEIR_ASSERT(appended);
      }
    }
  }
  // A batch became sendable: let the sender run before more records come.
  if (events_ != events_before) yield_now();
  return absl::OkStatus();
}

void Producer::Core::flush() {
  const uint64_t upto = next_batch_id_ - 1;
  ++flushing_;
  struct Done {
    int& flushing;
    ~Done() { --flushing; }
  } done{flushing_};
  wake();
  wait_for(completed_,
           [&] { return shut_down_ || incomplete_.empty() || *incomplete_.begin() > upto; });
}

void Producer::Core::close() {
  if (shut_down_) return;
  closing_ = true;
  flush();
  shutdown(absl::FailedPreconditionError("producer closed"));
}

void Producer::Core::shutdown(const absl::Status& why) {
  if (shut_down_) return;
  shut_down_ = true;
  shutdown_status_ = why;
  actors_.clear();
  for (auto& [name, t] : topics_) {
    for (PartitionQueue& q : t->queues) {
      for (auto& b : q.batches) in_flight_.emplace(b->id, std::move(b));
      q.batches.clear();
    }
  }
  while (!in_flight_.empty()) {
    complete(
        in_flight_.begin()->second.get(), -1, -1,
        absl::CancelledError(absl::StrCat(why.message(), " before the record was acknowledged")));
  }
  cluster_->shutdown();
  nodes_.clear();
  completed_.fire_all();
  wake();
}

}  // namespace weir::broker::client

// ---- the sender ------------------------------------------------------------------------------

namespace weir::broker::client {

void Producer::Core::run_metadata_watch() {
  uint64_t seen = cluster_->version();
  while (!shut_down_) {
    wait_for(cluster_->changed(), [&] { return cluster_->version() != seen || shut_down_; });
    seen = cluster_->version();
    wake();
  }
}

void Producer::Core::run_sender() {
  Scheduler& s = Scheduler::current();
  while (!shut_down_) {
    const uint64_t seen = events_;
    sync_metadata();
    TimePoint next_wake = TimePoint::max();
    bool sent = true;
    while (sent) {
      next_wake = TimePoint::max();
      sent = drain_pass(clock_.now(), next_wake);
    }
    TimePoint deadline = TimePoint::max();
    if (next_wake != TimePoint::max()) {
      deadline = s.now() + clock_.to_scheduler(std::max<Duration>(next_wake - clock_.now(), 0ns));
    }
    wait_until(
        wake_, [&] { return events_ != seen || shut_down_; }, deadline);
  }
}

// Fails the front batches whose delivery timeout passed while they waited; true if any did.
bool Producer::Core::expire(PartitionQueue& q, TimePoint now) {
  bool any = false;
  while (!q.batches.empty() &&
         now >= q.batches.front()->created + ms(config_.delivery_timeout_ms)) {
    Batch* b = q.batches.front().get();
    in_flight_.emplace(b->id, std::move(q.batches.front()));
    q.batches.pop_front();
    complete(b, -1, -1,
             absl::DeadlineExceededError(absl::StrCat(
                 "expiring ", b->record_count, " record(s) for ", av(b->topic), "-", b->partition,
                 ": delivery_timeout_ms (", config_.delivery_timeout_ms, ") passed")));
    any = true;
  }
  return any;
}

// Whether requests can go to `node` now; starts connecting when it cannot.
bool Producer::Core::node_ready(int32_t node, TimePoint now, TimePoint& next_wake) {
  NodeState& n = nodes_[node];
  if (n.connection != nullptr && n.connection->closed()) n.connection.reset();
  if (n.connection != nullptr) return true;
  if (n.connecting) return false;
  if (now < n.retry_at) {
    next_wake = std::min(next_wake, n.retry_at);
    return false;
  }
  n.connecting = true;
  actors_.add(spawn("producer-connect", [self = shared_from_this(), node] {
    auto c = self->cluster_->connection(node, ConnectionPurpose::kData);
    NodeState& n = self->nodes_[node];
    n.connecting = false;
    if (c.ok()) {
      n.connection = *c;
    } else {
      n.retry_at = self->clock_.now() + self->ms(self->config_.retry_backoff_ms);
    }
    self->wake();
  }));
  return false;
}

// One pass over every partition: the front batch of each partition that is sendable goes into
// its leader's request (at most one batch per partition per request, as Kafka drains).
// Returns whether it sent anything.
bool Producer::Core::drain_pass(TimePoint now, TimePoint& next_wake) {
  std::map<int32_t, std::vector<Batch*>> requests;
  std::map<int32_t, size_t> request_bytes;
  bool need_metadata = false;
  const bool all_ready = flushing_ > 0 || closing_ || pool_.waiters() > 0;
  const Duration linger = ms(config_.linger_ms);
  const bool idempotent = config_.enable_idempotence;
  const bool can_send = !idempotent || producer_id_ready(now, next_wake);
  for (auto& [name, t] : topics_) {
    for (size_t p = 0; p < t->queues.size(); ++p) {
      PartitionQueue& q = t->queues[p];
      const bool expired = expire(q, now);
      if (q.batches.empty()) continue;
      // Whatever holds the front batch back (no leader, no producer id, a batch in flight), its
      // expiry must wake the sender: nothing else may.
      next_wake = std::min(next_wake, q.batches.front()->created + ms(config_.delivery_timeout_ms));
      if (expired) continue;
      // Per partition: a batch completed with an error earlier in this pass may have dropped
      // the producer id.
      if (!can_send || (idempotent && producer_id_ < 0)) {
        if (!producer_id_fatal_.ok()) fail_queue(q, producer_id_fatal_);
        continue;
      }
      Batch& b = *q.batches.front();
      if (now < b.retry_at) {
        next_wake = std::min(next_wake, b.retry_at);
        continue;
      }
      const bool ready = all_ready || b.closed || q.batches.size() > 1 || now >= b.created + linger;
      if (!ready) {
        next_wake = std::min(next_wake, b.created + linger);
        continue;
      }
      if ((config_.max_in_flight == 1 || idempotent) && q.in_flight) continue;
      const int32_t leader = p < t->leaders.size() ? t->leaders[p] : -1;
      if (leader < 0) {
        need_metadata = true;
        continue;
      }
      const bool adding = requests.contains(leader);
      if (!adding && (nodes_[leader].in_flight >= config_.max_in_flight ||
                      !node_ready(leader, now, next_wake))) {
        continue;
      }
      if (idempotent && (!b.sealed || b.restamp)) assign_sequences(b, q);
      if (auto s = seal(b); !s.ok()) {
        Batch* raw = q.batches.front().get();
        in_flight_.emplace(raw->id, std::move(q.batches.front()));
        q.batches.pop_front();
        complete(raw, -1, -1, s);
        continue;
      }
      size_t& bytes = request_bytes[leader];
      if (adding && bytes + b.buffer.size() > static_cast<size_t>(config_.max_request_size))
        continue;
      bytes += b.buffer.size();
      Batch* raw = q.batches.front().get();
      in_flight_.emplace(raw->id, std::move(q.batches.front()));
      q.batches.pop_front();
      q.in_flight = true;
      requests[leader].push_back(raw);
    }
  }
  for (auto& [node, batches] : requests) send_request(node, std::move(batches));
  if (need_metadata) {
    ++stats_.metadata_refreshes_asked;
    cluster_->request_refresh();
  }
  return !requests.empty();
}

// Writes the header (compressing the records first if asked) and the CRC, in place. A batch
// is sealed once: a retry sends the same bytes.
absl::Status Producer::Core::seal(Batch& b) {
  if (b.sealed) return absl::OkStatus();
  b.closed = true;
  if (config_.compression != log::Compression::kNone) {
    auto packed =
        log::compress(config_.compression, std::string_view(b.buffer).substr(kHeaderBytes));
    if (!packed.ok()) return packed.status();
    b.buffer.resize(kHeaderBytes);
    b.buffer.append(*packed);
  }
  char* h = b.buffer.data();
  namespace f = log::batch_field;
  store_be(h + f::kBaseOffset, 0, 8);
  store_be(h + f::kBatchLength, b.buffer.size() - log::kLogOverheadBytes, 4);
  store_be(h + f::kPartitionLeaderEpoch, static_cast<uint32_t>(-1), 4);
  h[f::kMagic] = static_cast<char>(log::kMagicV2);
  store_be(h + f::kAttributes, static_cast<uint16_t>(config_.compression), 2);
  store_be(h + f::kLastOffsetDelta, static_cast<uint32_t>(b.record_count - 1), 4);
  store_be(h + f::kBaseTimestamp, static_cast<uint64_t>(b.base_timestamp), 8);
  store_be(h + f::kMaxTimestamp, static_cast<uint64_t>(b.max_timestamp), 8);
  store_be(h + f::kRecordCount, static_cast<uint32_t>(b.record_count), 4);
  b.sealed = true;
  write_producer_fields(b);
  return absl::OkStatus();
}

// The producer fields of a sealed batch's header, and the CRC that covers them.
void Producer::Core::write_producer_fields(Batch& b) {
  WEIR_ASSERT(b.sealed);
  char* h = b.buffer.data();
  namespace f = log::batch_field;
  store_be(h + f::kProducerId, static_cast<uint64_t>(b.producer_id), 8);
  store_be(h + f::kProducerEpoch, static_cast<uint16_t>(b.producer_epoch), 2);
  store_be(h + f::kBaseSequence, static_cast<uint32_t>(b.base_sequence), 4);
  store_be(h + f::kCrc, crc32c(h + f::kAttributes, b.buffer.size() - f::kAttributes), 4);
}

// A batch's first attempt (or its first after the broker lost this producer) takes the current
// producer id and its partition's next sequences; a retry keeps them, which is what lets the
// broker recognise it.
void Producer::Core::assign_sequences(Batch& b, PartitionQueue& q) {
  WEIR_ASSERT(producer_id_ >= 0);
  if (q.sequence_generation != producer_generation_) {
    q.sequence_generation = producer_generation_;
    q.next_sequence = 0;
  }
  b.producer_id = producer_id_;
  b.producer_epoch = producer_epoch_;
  b.base_sequence = q.next_sequence;
  constexpr int64_t kWrap = int64_t{INT32_MAX} + 1;
  q.next_sequence = static_cast<int32_t>((int64_t{q.next_sequence} + b.record_count) % kWrap);
  if (b.sealed) write_producer_fields(b);
  b.restamp = false;
}

}  // namespace weir::broker::client

// ---- requests and their outcomes --------------------------------------------------------------

namespace weir::broker::client {

void Producer::Core::send_request(int32_t node, std::vector<Batch*> batches) {
  NodeState& n = nodes_[node];
  ++n.in_flight;
  ++stats_.requests_sent;
  stats_.batches_sent += batches.size();
  actors_.add(spawn("producer-request",
                    [self = shared_from_this(), node, conn = n.connection,
                     batches = std::move(batches)] { self->run_request(node, conn, batches); }));
}

void Producer::Core::run_request(int32_t node, std::shared_ptr<KafkaConnection> connection,
                                 std::vector<Batch*> batches) {
  kafka::ProduceRequest req;
  req.acks = config_.acks;
  req.timeout_ms = config_.request_timeout_ms;
  for (Batch* b : batches) {
    if (req.topic_data.empty() || req.topic_data.back().name != b->topic)
      req.topic_data.push_back({.name = std::string(b->topic)});
    req.topic_data.back().partition_data.push_back(
        {.index = b->partition, .records = {.bytes = b->buffer, .is_null = false}});
  }
  const std::optional<int16_t> version = connection->version_for(kafka::ApiKey::kProduce);
  if (!version) {
    request_done(node, batches);
    for (Batch* b : batches)
      complete(b, -1, -1, absl::UnimplementedError("the broker does not serve Produce"));
    return;
  }
  if (config_.acks == 0) {
    const absl::Status s = connection->send_only(req, *version);
    request_done(node, batches);
    if (!s.ok()) {
      handle_response(node, connection, batches, s);
      return;
    }
    for (Batch* b : batches) complete(b, -1, -1, absl::OkStatus());
    return;
  }
  auto rsp = call_with_deadline<kafka::ProduceResponse>(connection, req,
                                                        ms(config_.request_timeout_ms), version);
  request_done(node, batches);
  if (!rsp.ok()) {
    handle_response(node, connection, batches, rsp.status());
  } else {
    handle_response(node, connection, batches, std::move(rsp->body));
  }
}

void Producer::Core::request_done(int32_t node, const std::vector<Batch*>& batches) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) --it->second.in_flight;
  for (Batch* b : batches) {
    auto t = topics_.find(b->topic);
    if (t != topics_.end()) t->second->queues[static_cast<size_t>(b->partition)].in_flight = false;
  }
  wake();
}

void Producer::Core::handle_response(int32_t node,
                                     const std::shared_ptr<KafkaConnection>& connection,
                                     const std::vector<Batch*>& batches,
                                     const absl::StatusOr<kafka::ProduceResponse>& rsp) {
  if (!rsp.ok()) {
    cluster_->connection_failed(node, connection);
    auto n = nodes_.find(node);
    if (n != nodes_.end() && n->second.connection == connection) n->second.connection.reset();
    for (Batch* b : batches) retry_or_fail(b, ErrorCode::kNetworkException, rsp.status());
    return;
  }
  std::map<std::pair<std::string_view, int32_t>,
           const kafka::ProduceResponse::PartitionProduceResponse*>
      answers;
  for (const auto& t : rsp->responses) {
    for (const auto& p : t.partition_responses) answers[{t.name, p.index}] = &p;
  }
  for (Batch* b : batches) {
    auto it = answers.find({b->topic, b->partition});
    if (it == answers.end()) {
      retry_or_fail(b, ErrorCode::kNetworkException,
                    absl::UnavailableError("the produce response does not answer this partition"));
      continue;
    }
    const auto& p = *it->second;
    const auto code = static_cast<ErrorCode>(p.error_code);
    if (code == ErrorCode::kNone) {
      complete(b, p.base_offset, p.log_append_time_ms, absl::OkStatus());
    } else {
      retry_or_fail(b, code, kafka_status(code, p.error_message.value_or("")));
    }
  }
}

std::unique_ptr<Batch> Producer::Core::take_in_flight(Batch* b) {
  auto it = in_flight_.find(b->id);
  WEIR_ASSERT(it != in_flight_.end());
  std::unique_ptr<Batch> owned = std::move(it->second);
  in_flight_.erase(it);
  return owned;
}

void Producer::Core::retry_or_fail(Batch* b, ErrorCode code, const absl::Status& status) {
  const TimePoint now = clock_.now();
  if (maybe_appended(code)) b->maybe_written = true;
  // The broker has no history of this producer that the batch continues. If no attempt of
  // the batch can have been written, it starts over under a new producer id. If one may have
  // been, the refusal may come from a deposed leader that missed the batch (and the batches
  // before it) while the real leader has it: restamping would write it twice, so it is
  // retried as it is, after a metadata refresh, until the real leader answers or the delivery
  // timeout fails it (and the next batches go under a new id).
  const bool sequence_refused =
      config_.enable_idempotence &&
      (code == ErrorCode::kOutOfOrderSequenceNumber || code == ErrorCode::kUnknownProducerId);
  const bool lost_producer = sequence_refused && !b->maybe_written;
  const bool retriable =
      kafka::is_retriable(code) || code == ErrorCode::kNetworkException || sequence_refused;
  if (retriable && !shut_down_ && b->attempts < config_.retries &&
      now < b->created + ms(config_.delivery_timeout_ms)) {
    if (needs_metadata_refresh(code) || sequence_refused) {
      ++stats_.metadata_refreshes_asked;
      cluster_->request_refresh();
    }
    if (sequence_refused) {
      CODE_PROBE(b->maybe_written, "producer.sequence_refused_batch_maybe_written");
      TraceEvent(Severity::kInfo, "ProducerSequenceRefused")
          .detail("ClientId", config_.client_id)
          .detail("Topic", b->topic)
          .detail("Partition", b->partition)
          .detail("ProducerId", b->producer_id)
          .detail("BaseSequence", b->base_sequence)
          .detail("MaybeWritten", b->maybe_written)
          .detail("Error", status.ToString());
    }
    if (lost_producer) {
      b->restamp = true;
      reset_producer_id(b->producer_id, b->producer_epoch);
    }
    ++b->attempts;
    ++stats_.retries;
    b->retry_at = now + ms(config_.retry_backoff_ms);
    std::unique_ptr<Batch> owned = take_in_flight(b);
    auto t = topics_.find(b->topic);
    WEIR_ASSERT(t != topics_.end());
    // Kafka's reenqueue: back at the front of its partition's queue.
    t->second->queues[static_cast<size_t>(b->partition)].batches.push_front(std::move(owned));
    wake();
    return;
  }
  complete(b, -1, -1, status);
}

// Runs every record's callback and frees the batch (which must be in in_flight_).
void Producer::Core::complete(Batch* b, int64_t base_offset, int64_t log_append_time_ms,
                              const absl::Status& status) {
  std::unique_ptr<Batch> owned = take_in_flight(b);
  // A batch that got sequences and failed leaves a gap (or, if it was written after all, an
  // unknown outcome) in its partition's sequences: later batches go under a new producer id.
  if (!status.ok() && b->base_sequence >= 0) {
    TraceEvent(Severity::kInfo, "ProducerSequencedBatchFailed")
        .detail("ClientId", config_.client_id)
        .detail("Partition", b->partition)
        .detail("ProducerId", b->producer_id)
        .detail("BaseSequence", b->base_sequence)
        .detail("Error", status.ToString());
    reset_producer_id(b->producer_id, b->producer_epoch);
  }
  RecordMetadata md;
  md.topic = b->topic;
  md.partition = b->partition;
  md.status = status;
  for (size_t i = 0; i < b->pending.size(); ++i) {
    md.offset = status.ok() && base_offset >= 0 ? base_offset + static_cast<int64_t>(i) : -1;
    md.timestamp_ms = log_append_time_ms != -1 ? log_append_time_ms : b->pending[i].timestamp_ms;
    if (b->pending[i].done) b->pending[i].done(md);
  }
  if (status.ok()) {
    stats_.records_sent += b->pending.size();
  } else {
    stats_.records_failed += b->pending.size();
  }
  pool_.release(b->capacity);
  incomplete_.erase(b->id);
  completed_.fire_all();
}

// ---- idempotence: the producer id ------------------------------------------------------------

// Whether batches can get sequences now; otherwise starts fetching a producer id (at most one
// request at a time, retry_backoff_ms apart).
bool Producer::Core::producer_id_ready(TimePoint now, TimePoint& next_wake) {
  if (producer_id_ >= 0) return true;
  if (producer_id_pending_ || !producer_id_fatal_.ok()) return false;
  if (now < producer_id_retry_at_) {
    next_wake = std::min(next_wake, producer_id_retry_at_);
    return false;
  }
  producer_id_pending_ = true;
  actors_.add(
      spawn("producer-init-id", [self = shared_from_this()] { self->run_init_producer_id(); }));
  return false;
}

void Producer::Core::run_init_producer_id() {
  const absl::Status s = init_producer_id_once();
  producer_id_pending_ = false;
  const bool transient = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
  TraceEvent(s.ok() || transient ? Severity::kInfo : Severity::kWarn, "ProducerInitProducerId")
      .detail("ClientId", config_.client_id)
      .detail("ProducerId", producer_id_)
      .detail("Error", s.ToString());
  if (!s.ok()) {
    if (!transient) producer_id_fatal_ = s;
    producer_id_retry_at_ = clock_.now() + ms(config_.retry_backoff_ms);
  }
  wake();
}

// One InitProducerId, to the brokers in turn (any broker serves it for an idempotent
// producer). Unavailable or DeadlineExceeded: worth retrying.
absl::Status Producer::Core::init_producer_id_once() {
  const std::vector<int32_t> nodes = cluster_->node_ids();
  if (nodes.empty()) {
    cluster_->request_refresh();
    return absl::UnavailableError("no broker known yet");
  }
  const int32_t node = nodes[producer_id_attempts_++ % nodes.size()];
  auto c = cluster_->connection(node, ConnectionPurpose::kControl);
  if (!c.ok()) return absl::UnavailableError(c.status().message());
  const std::optional<int16_t> version = (*c)->version_for(kafka::ApiKey::kInitProducerId);
  if (!version) {
    return absl::UnimplementedError("enable_idempotence: the broker does not serve InitProducerId");
  }
  kafka::InitProducerIdRequest req;
  req.transactional_id = std::nullopt;
  req.transaction_timeout_ms = 60000;
  auto rsp = call_with_deadline<kafka::InitProducerIdResponse>(
      *c, req, ms(config_.request_timeout_ms), version);
  if (!rsp.ok()) {
    cluster_->connection_failed(node, *c);
    return absl::UnavailableError(rsp.status().message());
  }
  const auto code = static_cast<ErrorCode>(rsp->body.error_code);
  if (code != ErrorCode::kNone) return kafka_status(code, "InitProducerId");
  WEIR_ASSERT_MSG(rsp->body.producer_id >= 0, "InitProducerId answered without an id");
  producer_id_ = rsp->body.producer_id;
  producer_epoch_ = rsp->body.producer_epoch;
  ++producer_generation_;
  ++stats_.producer_ids;
  return absl::OkStatus();
}

// `stale_id` at `stale_epoch` can no longer be trusted to continue its sequences: the next
// batches go under the next epoch (KIP-360: an idempotent producer bumps its own epoch, and a
// broker takes a newer epoch's sequence 0), or under a new id when the epoch would wrap. A
// no-op when they were already replaced (several partitions may report one loss). No round
// trip: a burst of expiring batches must not cost one InitProducerId each.
void Producer::Core::reset_producer_id(int64_t stale_id, int16_t stale_epoch) {
  if (stale_id < 0 || stale_id != producer_id_ || stale_epoch != producer_epoch_) return;
  const bool bump = producer_epoch_ < std::numeric_limits<int16_t>::max() - 1;
  CODE_PROBE(bump, "producer.epoch_bumped");
  CODE_PROBE(!bump, "producer.epoch_exhausted_new_id");
  if (bump) {
    ++producer_epoch_;
    ++producer_generation_;
    ++stats_.epoch_bumps;
  } else {
    producer_id_ = -1;
  }
  wake();
}

void Producer::Core::fail_queue(PartitionQueue& q, const absl::Status& status) {
  while (!q.batches.empty()) {
    Batch* b = q.batches.front().get();
    in_flight_.emplace(b->id, std::move(q.batches.front()));
    q.batches.pop_front();
    complete(b, -1, -1, status);
  }
}

}  // namespace weir::broker::client

// ---- the public face -------------------------------------------------------------------------

namespace weir::broker::client {

absl::Status validate_producer_config(const ProducerConfig& c) {
  if (c.acks != 0 && c.acks != 1 && c.acks != -1)
    return absl::InvalidArgumentError("acks must be 0, 1 or -1");
  if (c.linger_ms < 0) return absl::InvalidArgumentError("linger_ms must be >= 0");
  if (c.batch_size < 1) return absl::InvalidArgumentError("batch_size must be >= 1");
  if (c.retries < 0) return absl::InvalidArgumentError("retries must be >= 0");
  if (c.retry_backoff_ms < 0) return absl::InvalidArgumentError("retry_backoff_ms must be >= 0");
  if (c.request_timeout_ms < 1)
    return absl::InvalidArgumentError("request_timeout_ms must be >= 1");
  if (c.delivery_timeout_ms < 1)
    return absl::InvalidArgumentError("delivery_timeout_ms must be >= 1");
  if (c.max_in_flight < 1) return absl::InvalidArgumentError("max_in_flight must be >= 1");
  if (c.enable_idempotence && c.acks != -1)
    return absl::InvalidArgumentError("enable_idempotence needs acks=-1 (all)");
  if (c.enable_idempotence && c.max_in_flight > 5)
    return absl::InvalidArgumentError("enable_idempotence needs max_in_flight <= 5");
  if (c.enable_idempotence && c.retries < 1)
    return absl::InvalidArgumentError("enable_idempotence needs retries >= 1");
  if (c.buffer_memory < static_cast<int64_t>(kHeaderBytes) + 64)
    return absl::InvalidArgumentError("buffer_memory is too small");
  if (c.max_block_ms < 0) return absl::InvalidArgumentError("max_block_ms must be >= 0");
  if (c.max_request_size < static_cast<int32_t>(kHeaderBytes) + 64)
    return absl::InvalidArgumentError("max_request_size is too small");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::create(ProducerConfig config, INetwork& network,
                                                           IClock& clock, IRandom& random) {
  if (auto s = validate_producer_config(config); !s.ok()) return s;
  ClientClusterOptions o;
  o.bootstrap_servers = config.bootstrap_servers;
  o.client_id = config.client_id;
  o.in_flight_max = static_cast<size_t>(config.max_in_flight);
  o.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  o.retry_backoff = std::chrono::milliseconds(config.retry_backoff_ms);
  o.metadata_max_age = std::chrono::milliseconds(config.metadata_max_age_ms);
  o.allow_auto_topic_creation = true;
  auto cluster = ClientCluster::create(network, clock, std::move(o));
  if (!cluster.ok()) return cluster.status();
  auto core = std::make_shared<Core>(std::move(config), clock, random, std::move(*cluster));
  core->start();
  return std::unique_ptr<Producer>(new Producer(std::move(core)));
}

Producer::~Producer() {
  core_->shutdown(absl::CancelledError("producer destroyed"));
}

Future<RecordMetadata> Producer::send(const ProducerRecord& record) {
  Promise<RecordMetadata> promise;
  Future<RecordMetadata> result = promise.future();
  absl::Status s = core_->send(record, [p = std::move(promise)](const RecordMetadata& md) mutable {
    if (md.status.ok()) {
      p.set_value(md);
    } else {
      p.set_error(md.status);
    }
  });
  if (!s.ok()) return Future<RecordMetadata>::ready(s);
  return result;
}

absl::Status Producer::send(const ProducerRecord& record, SendCallback callback) {
  return core_->send(record, std::move(callback));
}

void Producer::flush() {
  core_->flush();
}

void Producer::close() {
  core_->close();
}

const ProducerStats& Producer::stats() const {
  return core_->stats_;
}

const ProducerConfig& Producer::config() const {
  return core_->config_;
}

}  // namespace weir::broker::client
