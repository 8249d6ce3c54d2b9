// `weir bench produce|consume|e2e`: load generators for any Kafka-protocol cluster (weir
// broker, Apache Kafka, Redpanda), driving Weir's own Producer and Consumer
// (broker/client), so a run measures the clients Weir's workloads use as well as the broker.
//
//   weir bench produce --bootstrap 127.0.0.1:9092 --topic t --records 1000000 --record-size 100
//                      --acks 1 --linger-ms 5 --batch-size 65536 --compression lz4
//                      --partitions 4 --producers 2
//   weir bench consume --bootstrap 127.0.0.1:9092 --topic t      (the whole topic from 0)
//   weir bench e2e --bootstrap 127.0.0.1:9092 --topic t --rate 50000 --records 500000
//
// produce: K producers send --records in total (values of --record-size random letters, no
// key: sticky partitioning) as fast as the producers let them; reports records/s, MB/s of
// values and the send-to-acknowledgement latency. consume: reads every partition from its
// first offset to the end offset it had when the run started. e2e: one producer at a fixed
// rate stamps each value with the time it sends it; a consumer (same process, same clock)
// measures produce-to-consume latency. --partitions creates the topic with CreateTopics when
// it does not exist. Each run prints one summary line (and with --json one JSON line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/log/record_batch.h"

namespace weir::cli {

enum class KafkaBenchMode { kProduce, kConsume, kEndToEnd };

struct BenchKafkaOptions {
  KafkaBenchMode mode = KafkaBenchMode::kProduce;
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "weir-bench";
  uint64_t records = 1'000'000;  // consume: at most this many (0: the whole topic)
  size_t record_size = 100;      // bytes of each value
  int16_t acks = 1;
  int32_t linger_ms = 0;
  int32_t batch_size = 16384;
  broker::log::Compression compression = broker::log::Compression::kNone;
  int32_t partitions = 1;  // of a topic the run creates
  int32_t producers = 1;
  int32_t max_in_flight = 5;
  int64_t buffer_memory = 32 << 20;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_wait_ms = 500;
  int32_t max_partition_fetch_bytes = 1 << 20;
  int32_t fetch_max_bytes = 50 << 20;
  double rate = 10'000;  // e2e: records per second
  double timeout_s = 300;
  bool json = false;
  bool records_given = false;
};

struct BenchKafkaReport {
  BenchKafkaOptions options;
  int32_t partitions = 0;  // of the topic as it was used
  uint64_t records = 0;    // acknowledged (produce, e2e) or read (consume)
  uint64_t bytes = 0;      // of keys and values
  double seconds = 0;
  double records_per_s = 0;
  double mb_per_s = 0;  // 10^6 bytes of keys and values per second
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  uint64_t errors = 0;
  std::string first_error;
};

absl::StatusOr<BenchKafkaOptions> parse_bench_kafka_args(KafkaBenchMode mode,
                                                         const std::vector<std::string>& args);
std::string format_kafka_report_line(const BenchKafkaReport& report);
std::string format_kafka_report_json(const BenchKafkaReport& report);
const char* kafka_bench_usage();

// Runs the benchmark inside an actor of a real (or simulated) runtime.
absl::StatusOr<BenchKafkaReport> run_bench_kafka(const BenchKafkaOptions& options);

// `weir bench produce|consume|e2e ...` on the real runtime. Exit codes: 0 ran without errors,
// 1 errors or could not run, 2 usage.
int bench_kafka_command(KafkaBenchMode mode, const std::vector<std::string>& args);

}  // namespace weir::cli
