// The Kafka load generators: the topic (created if missing), the producers' and consumer's
// loops, and the measurements. Everything runs on the runtime's one thread, so the counters
// need no locks; latencies go into LatencyHistogram (fixed memory whatever the record count).
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/client/client_cluster.h"
#include "broker/client/consumer.h"
#include "broker/client/kafka_connection.h"
#include "broker/client/producer.h"
#include "cli/bench_kafka.h"
#include "cli/latency_histogram.h"
#include "runtime/future.h"
#include "runtime/process_context.h"

namespace weir::cli {
namespace {

using broker::client::Consumer;
using broker::client::ConsumerConfig;
using broker::client::ConsumerRecord;
using broker::client::KafkaConnection;
using broker::client::OffsetReset;
using broker::client::Producer;
using broker::client::ProducerConfig;
using broker::client::RecordMetadata;
using broker::client::TopicPartition;
using kafka::ErrorCode;

class KafkaBench {
 public:
  explicit KafkaBench(const BenchKafkaOptions& options)
      : o_(options),
        ctx_(current_context()),
        clock_(*ctx_.clock),
        deadline_(clock_.now() + from_seconds(options.timeout_s)) {}

  absl::StatusOr<BenchKafkaReport> run();

 private:
  absl::StatusOr<int32_t> ensure_topic();
  absl::Status produce();
  absl::Status consume();
  absl::Status end_to_end();
  absl::StatusOr<std::unique_ptr<Producer>> make_producer(int index) const;
  absl::StatusOr<std::unique_ptr<Consumer>> make_consumer() const;
  std::vector<TopicPartition> partitions() const;
  void on_error(const absl::Status& s) {
    if (errors_++ == 0) first_error_ = s.ToString();
  }
  bool timed_out() const { return clock_.now() >= deadline_; }

  const BenchKafkaOptions& o_;
  ProcessContext& ctx_;
  IClock& clock_;
  const TimePoint deadline_;
  int32_t partitions_ = 0;
  std::string payload_;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
  TimePoint start_{}, end_{};
  uint64_t last_turn_ = UINT64_MAX;
  LatencyHistogram latency_;
};

absl::StatusOr<BenchKafkaReport> KafkaBench::run() {
  auto partitions = ensure_topic();
  if (!partitions.ok()) return partitions.status();
  partitions_ = *partitions;
  payload_.resize(o_.record_size);
  for (char& c : payload_) c = static_cast<char>('A' + ctx_.random->below(26));
  absl::Status s;
  switch (o_.mode) {
    case KafkaBenchMode::kProduce:
      s = produce();
      break;
    case KafkaBenchMode::kConsume:
      s = consume();
      break;
    case KafkaBenchMode::kEndToEnd:
      s = end_to_end();
      break;
  }
  if (!s.ok()) return s;
  BenchKafkaReport r;
  r.options = o_;
  r.partitions = partitions_;
  r.records = records_;
  r.bytes = bytes_;
  r.seconds = to_seconds(end_ - start_);
  if (r.seconds > 0) {
    r.records_per_s = static_cast<double>(records_) / r.seconds;
    r.mb_per_s = static_cast<double>(bytes_) / 1e6 / r.seconds;
  }
  r.p50_us = static_cast<double>(latency_.percentile_ns(0.50)) / 1e3;
  r.p99_us = static_cast<double>(latency_.percentile_ns(0.99)) / 1e3;
  r.p999_us = static_cast<double>(latency_.percentile_ns(0.999)) / 1e3;
  r.max_us = static_cast<double>(latency_.max_ns()) / 1e3;
  r.errors = errors_;
  r.first_error = first_error_;
  return r;
}

// The topic's partition count, after creating it with --partitions if it does not exist and
// waiting until every partition has a leader.
absl::StatusOr<int32_t> KafkaBench::ensure_topic() {
  auto servers = broker::client::parse_bootstrap_servers(o_.bootstrap);
  if (!servers.ok()) return servers.status();
  auto conn =
      KafkaConnection::connect(*ctx_.network, servers->front(), {.client_id = "weir-bench"});
  if (!conn.ok()) return conn.status();
  struct Close {
    std::shared_ptr<KafkaConnection> c;
    ~Close() { c->close(); }
  } close{*conn};
  bool created = false;
  while (true) {
    kafka::MetadataRequest req;
    req.topics = {{.name = o_.topic}};
    req.allow_auto_topic_creation = false;
    auto rsp = (*conn)->call<kafka::MetadataResponse>(req);
    if (!rsp.ok()) return rsp.status();
    if (rsp->topics.empty()) return absl::InternalError("Metadata answered no topic");
    const auto& t = rsp->topics.front();
    const auto error = static_cast<ErrorCode>(t.error_code);
    if (error == ErrorCode::kUnknownTopicOrPartition && !created) {
      kafka::CreateTopicsRequest create;
      create.topics.push_back(
          {.name = o_.topic, .num_partitions = o_.partitions, .replication_factor = -1});
      create.timeout_ms = 30000;
      auto made = (*conn)->call<kafka::CreateTopicsResponse>(create);
      if (!made.ok()) return made.status();
      for (const auto& r : made->topics) {
        const auto code = static_cast<ErrorCode>(r.error_code);
        if (code != ErrorCode::kNone && code != ErrorCode::kTopicAlreadyExists)
          return absl::FailedPreconditionError(absl::StrCat("CreateTopics ", o_.topic, ": ",
                                                            std::string(kafka::error_name(code)),
                                                            " ", r.error_message.value_or("")));
      }
      created = true;
      continue;
    }
    bool led = error == ErrorCode::kNone && !t.partitions.empty();
    for (const auto& p : t.partitions) led = led && p.leader_id >= 0 && p.error_code == 0;
    if (led) return static_cast<int32_t>(t.partitions.size());
    if (timed_out())
      return absl::DeadlineExceededError(absl::StrCat("topic ", o_.topic,
                                                      " has no leader for every partition (",
                                                      std::string(kafka::error_name(error)), ")"));
    delay(100ms);
  }
}

std::vector<TopicPartition> KafkaBench::partitions() const {
  std::vector<TopicPartition> out;
  for (int32_t p = 0; p < partitions_; ++p) out.push_back({o_.topic, p});
  return out;
}

absl::StatusOr<std::unique_ptr<Producer>> KafkaBench::make_producer(int index) const {
  ProducerConfig c;
  c.bootstrap_servers = o_.bootstrap;
  c.client_id = absl::StrCat("weir-bench-", index);
  c.acks = o_.acks;
  c.linger_ms = o_.linger_ms;
  c.batch_size = o_.batch_size;
  c.compression = o_.compression;
  c.max_in_flight = o_.max_in_flight;
  c.buffer_memory = o_.buffer_memory;
  return Producer::create(std::move(c), *ctx_.network, clock_, *ctx_.random);
}

absl::StatusOr<std::unique_ptr<Consumer>> KafkaBench::make_consumer() const {
  ConsumerConfig c;
  c.bootstrap_servers = o_.bootstrap;
  c.client_id = "weir-bench-consumer";
  c.fetch_min_bytes = o_.fetch_min_bytes;
  c.fetch_max_wait_ms = o_.fetch_max_wait_ms;
  c.max_partition_fetch_bytes = o_.max_partition_fetch_bytes;
  c.fetch_max_bytes = o_.fetch_max_bytes;
  c.max_poll_records = 1 << 30;  // hand out whole responses: the bench touches every record
  c.auto_offset_reset = OffsetReset::kEarliest;
  return Consumer::create(std::move(c), *ctx_.network, clock_);
}

}  // namespace
}  // namespace weir::cli

// ---- the three runs --------------------------------------------------------------------------

namespace weir::cli {
namespace {

// K producers, each sending its share as fast as its buffer lets it.
absl::Status KafkaBench::produce() {
  std::vector<std::unique_ptr<Producer>> producers;
  for (int k = 0; k < o_.producers; ++k) {
    auto p = make_producer(k);
    if (!p.ok()) return p.status();
    producers.push_back(std::move(*p));
  }
  // A first record each, outside the measurement: connections and metadata.
  for (auto& p : producers) {
    if (auto md = await(p->send({.topic = o_.topic, .value = payload_})); !md.ok())
      return md.status();
  }
  start_ = clock_.now();
  end_ = start_;
  std::vector<Future<void>> running;
  const auto k = static_cast<uint64_t>(o_.producers);
  for (uint64_t i = 0; i < k; ++i) {
    const uint64_t share = o_.records / k + (i < o_.records % k ? 1 : 0);
    running.push_back(spawn("bench-producer", [this, p = producers[i].get(), share] {
      for (uint64_t n = 0; n < share && !timed_out(); ++n) {
        const TimePoint sent = clock_.now();
        const absl::Status s =
            p->send({.topic = o_.topic, .value = payload_}, [this, sent](const RecordMetadata& md) {
              if (!md.status.ok()) {
                on_error(md.status);
                return;
              }
              // Records completed in one turn of one actor (a response's batches) complete
              // at one instant: one clock read per turn.
              if (const uint64_t turn = Scheduler::current().resumes(); turn != last_turn_) {
                end_ = clock_.now();
                last_turn_ = turn;
              }
              latency_.record((end_ - sent).count());
              ++records_;
              bytes_ += o_.record_size;
            });
        if (!s.ok()) on_error(s);
      }
      p->flush();
    }));
  }
  for (auto& f : running) (void)await(f);
  for (auto& p : producers) p->close();
  if (timed_out()) on_error(absl::DeadlineExceededError("--timeout-s passed"));
  return absl::OkStatus();
}

// Every partition from its first offset to the end offset it had when the run started.
absl::Status KafkaBench::consume() {
  auto consumer = make_consumer();
  if (!consumer.ok()) return consumer.status();
  Consumer& c = **consumer;
  const std::vector<TopicPartition> tps = partitions();
  auto begins = c.beginning_offsets(tps);
  if (!begins.ok()) return begins.status();
  auto ends = c.end_offsets(tps);
  if (!ends.ok()) return ends.status();
  uint64_t target = 0;
  for (const TopicPartition& tp : tps)
    target += static_cast<uint64_t>(ends->at(tp) - begins->at(tp));
  if (o_.records > 0) target = std::min(target, o_.records);
  c.assign(tps);
  for (const TopicPartition& tp : tps) {
    if (auto s = c.seek(tp, begins->at(tp)); !s.ok()) return s;
  }
  start_ = clock_.now();
  while (records_ < target && !timed_out()) {
    auto polled = c.poll(1s);
    if (!polled.ok()) {
      on_error(polled.status());
      break;
    }
    for (const ConsumerRecord& r : *polled) {
      bytes_ += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    }
    records_ += polled->size();
  }
  end_ = clock_.now();
  if (records_ < target) {
    on_error(absl::DeadlineExceededError(
        absl::StrCat("read ", records_, " of ", target, " records before --timeout-s")));
  }
  c.close();
  return absl::OkStatus();
}

// One producer at --rate, each value stamped with its send time (this process's clock); one
// consumer from the end of every partition measuring when each record arrives.
absl::Status KafkaBench::end_to_end() {
  auto consumer = make_consumer();
  if (!consumer.ok()) return consumer.status();
  auto producer = make_producer(0);
  if (!producer.ok()) return producer.status();
  Consumer& c = **consumer;
  Producer& p = **producer;
  const std::vector<TopicPartition> tps = partitions();
  c.assign(tps);
  if (auto s = c.seek_to_end(tps); !s.ok()) return s;
  for (const TopicPartition& tp : tps) {
    if (auto pos = c.position(tp); !pos.ok()) return pos.status();
  }
  if (auto md = await(p.send({.topic = o_.topic, .value = payload_})); !md.ok()) return md.status();
  // The warm-up record (unstamped) is read too; skip it by its position.
  for (const TopicPartition& tp : tps) {
    auto end = c.end_offsets({tp});
    if (!end.ok()) return end.status();
    if (auto s = c.seek(tp, end->at(tp)); !s.ok()) return s;
  }
  const uint64_t total = o_.records;
  start_ = clock_.now();
  Future<void> reading = spawn("bench-e2e-consumer", [&] {
    while (records_ < total && !timed_out()) {
      auto polled = c.poll(1s);
      if (!polled.ok()) {
        on_error(polled.status());
        return;
      }
      const int64_t now = clock_.now().time_since_epoch().count();
      for (const ConsumerRecord& r : *polled) {
        if (!r.value || r.value->size() < 8) continue;
        int64_t stamp = 0;
        std::memcpy(&stamp, r.value->data(), 8);
        latency_.record(now - stamp);
        bytes_ += r.value->size();
        ++records_;
      }
    }
    end_ = clock_.now();
  });
  std::string value = payload_;
  uint64_t sent = 0;
  const double ns_per_record = 1e9 / o_.rate;
  while (sent < total && !timed_out()) {
    const auto due = std::min<uint64_t>(
        total, static_cast<uint64_t>(static_cast<double>((clock_.now() - start_).count()) /
                                     ns_per_record) +
                   1);
    while (sent < due) {
      const int64_t stamp = clock_.now().time_since_epoch().count();
      std::memcpy(value.data(), &stamp, 8);
      if (auto s = p.send({.topic = o_.topic, .value = value},
                          [this](const RecordMetadata& md) {
                            if (!md.status.ok()) on_error(md.status);
                          });
          !s.ok())
        on_error(s);
      ++sent;
    }
    const TimePoint next =
        start_ + Duration(static_cast<int64_t>(static_cast<double>(sent) * ns_per_record));
    if (next > clock_.now()) delay(next - clock_.now());
  }
  p.flush();
  (void)await(reading);
  p.close();
  c.close();
  if (records_ < total)
    on_error(absl::DeadlineExceededError(
        absl::StrCat("received ", records_, " of ", total, " records before --timeout-s")));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BenchKafkaReport> run_bench_kafka(const BenchKafkaOptions& options) {
  KafkaBench bench(options);
  return bench.run();
}

}  // namespace weir::cli
