// Weir's Kafka producer, on the actor runtime (INetwork, IClock and IRandom are passed in, so
// the same producer runs against real brokers and in the simulator). It exists so that Weir's
// benchmarks, workloads and tests produce the way Kafka's Java producer does, through the
// protocol codecs the broker uses: records are partitioned as Kafka partitions them (murmur2
// of the key, KIP-480 sticky partitioning without one), appended to per-partition batches that
// a sender drains to each partition's leader when full, when linger_ms has passed or on
// flush(), with Kafka's acks, retries, request timeout, in-flight bound and buffer memory.
//
// Semantics, as Kafka's producer without idempotence:
//   - send() suspends while buffer_memory is taken by unsent and in-flight batches (memory is
//     charged per batch, batch_size or the record's size if larger) and fails with
//     DeadlineExceeded after max_block_ms; it also waits for the topic's metadata that long.
//   - A batch that fails with a retriable error (a moved leader, a timeout, a lost
//     connection) is sent again with the same records and bytes after retry_backoff_ms, until
//     `retries` attempts or delivery_timeout_ms since it was created. With max_in_flight > 1 a
//     retried batch can land after a batch sent later, so records of one partition may be
//     reordered (and a batch whose response was lost may be written twice); max_in_flight = 1
//     keeps order (a partition with a batch in flight sends nothing else).
//   - acks=0 completes a record once its request is written, with offset -1.
//   - NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION and LEADER_NOT_AVAILABLE (and lost
//     connections) refresh the metadata before the retry.
//   - A batch is full when it reaches batch_size bytes uncompressed (Kafka estimates the
//     compressed size instead; Weir compresses a batch when it is sent, into one buffer).
//   - A batch too large for the broker (MESSAGE_TOO_LARGE) fails; it is not split.
//
// With enable_idempotence (Kafka's enable.idempotence; acks must be -1): the producer takes a
// producer id from InitProducerId before its first batch and numbers each partition's records
// (sequence numbers), so that the broker appends a retried batch once and refuses a gap
// (OUT_OF_ORDER_SEQUENCE_NUMBER): no duplicates and no reordering per partition, whatever
// retries, lost responses and leader changes happen. Each partition then has at most one
// batch in flight (Kafka's Java producer allows five and re-sequences them after an error;
// one keeps the ordering argument to the broker's check alone, at the cost of a round trip
// per batch and partition). A batch that fails for good after it got its sequences leaves a
// gap, so the producer bumps its epoch for the batches after it (KIP-360; a new producer id
// only when the epoch would wrap); OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID (the
// broker lost this producer's history, e.g. after producer.id.expiration.ms) do the same and
// retry the batch under the new epoch, unless an earlier attempt of it may have been written
// (then it is retried as it is: the refusal may come from a deposed leader).
//
// The hot path: each batch is built in one buffer reserved at batch_size, records are encoded
// straight into it (no per-record allocation besides the completion's own state), and the
// header and CRC are written in place when the batch is sent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/client/partitioner.h"
#include "broker/log/record_batch.h"
#include "runtime/clock.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/random.h"

namespace weir::broker::client {

struct ProducerConfig {
  std::string bootstrap_servers;  // host:port[,host:port...]
  std::string client_id = "weir-producer";
  int16_t acks = -1;           // 0, 1 or -1 (all)
  int32_t linger_ms = 0;       // how long a batch that is not full waits for more records
  int32_t batch_size = 16384;  // bytes of a batch (uncompressed) before it is full
  log::Compression compression = log::Compression::kNone;
  int32_t retries = INT32_MAX;     // attempts after the first
  int32_t retry_backoff_ms = 100;  // before a retry, and between metadata refreshes
  int32_t request_timeout_ms = 30000;
  int32_t delivery_timeout_ms = 120000;  // from send() to the final outcome of a record
  int32_t max_in_flight = 5;             // requests per connection awaiting a response
  int64_t buffer_memory = 32 << 20;      // bytes of batches not yet completed
  int32_t max_block_ms = 60000;          // how long send() waits for memory or metadata
  int32_t max_request_size = 1 << 20;    // bytes of one record, and of one request's batches
  int32_t metadata_max_age_ms = 300000;
  bool enable_idempotence = false;
};

// A header of a record to send; views, like the record.
struct ProducerHeader {
  std::string_view key;
  std::optional<std::string_view> value;
};

// What send() takes. Every field views the caller's bytes, which need only live until send()
// returns: send() copies them into a batch before it does.
struct ProducerRecord {
  std::string_view topic;
  std::optional<int32_t> partition;  // none: partitioned by key, or sticky without a key
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<ProducerHeader> headers;
  int64_t timestamp_ms = -1;  // -1: now, from IClock::wall_ms
};

// The outcome of one record. Through the future, a failed record is the future's error; the
// callback form gets every outcome here, `status` saying whether it was written.
struct RecordMetadata {
  std::string_view topic;  // valid during the callback only
  int32_t partition = -1;
  int64_t offset = -1;        // -1 with acks=0
  int64_t timestamp_ms = -1;  // the broker's LogAppendTime when the topic uses it
  absl::Status status;
};

// Called once per record, in scheduler context or in an actor; it must not suspend.
using SendCallback = absl::AnyInvocable<void(const RecordMetadata&)>;

struct ProducerStats {
  uint64_t records_sent = 0;  // completed successfully
  uint64_t records_failed = 0;
  uint64_t batches_sent = 0;  // requests' batches, retries included
  uint64_t requests_sent = 0;
  uint64_t retries = 0;
  uint64_t metadata_refreshes_asked = 0;
  uint64_t producer_ids = 0;  // taken from InitProducerId (idempotence)
  uint64_t epoch_bumps = 0;   // KIP-360: after a batch with sequences failed
};

class Producer {
 public:
  // Validates the configuration and starts the sender (inside an actor). Nothing is sent to
  // the cluster before the first send().
  static absl::StatusOr<std::unique_ptr<Producer>> create(ProducerConfig config, INetwork& network,
                                                          IClock& clock, IRandom& random);
  // Without close(), records not yet completed fail with Cancelled.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Appends the record to its partition's batch; the future completes when the broker has
  // acknowledged it (as `acks` says) or it failed for good. Suspends as described above.
  Future<RecordMetadata> send(const ProducerRecord& record);
  // The same with a callback instead of a future (no future state per record). OK: the
  // callback will be called exactly once; an error: it never will be.
  absl::Status send(const ProducerRecord& record, SendCallback callback);
  // Makes every batch sendable now and waits until every record sent before the call has
  // completed (successfully or not).
  void flush();
  // flush(), then stops the sender and closes the connections; send() fails afterwards.
  void close();

  const ProducerStats& stats() const;
  const ProducerConfig& config() const;

  class Core;

 private:
  explicit Producer(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

absl::Status validate_producer_config(const ProducerConfig& config);

}  // namespace weir::broker::client
