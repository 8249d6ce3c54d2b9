// `weir bench produce|consume|e2e`: arguments, the report's formats and the command (the
// runs are in bench_kafka_run.cc).
#include "cli/bench_kafka.h"

#include <cstdio>
#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/log/compression.h"
#include "cli/bench_flags.h"
#include "runtime/real/real_runtime.h"

namespace weir::cli {
namespace {

using broker::log::Compression;

constexpr char kUsage[] =
    R"(usage: weir bench produce|consume|e2e --bootstrap HOST:PORT[,HOST:PORT...] [options]
  --topic NAME               (default weir-bench)
  --records N                produce/e2e: records to send (default 1000000);
                             consume: at most N (default: the whole topic)
  --record-size BYTES        bytes of each value (default 100; e2e: at least 8)
  --acks 0|1|-1|all          (default 1; all is -1)
  --linger-ms MS             (default 0)
  --batch-size BYTES         (default 16384)
  --compression none|gzip|snappy|lz4|zstd   (default none)
  --partitions N             creates the topic with N partitions if it is missing (default 1)
  --producers K              produce: producers sharing the records (default 1)
  --max-in-flight N          requests per connection (default 5)
  --buffer-memory BYTES      per producer (default 33554432)
  --fetch-min-bytes B, --fetch-max-wait-ms MS, --max-partition-fetch-bytes B,
  --fetch-max-bytes B        consumer settings (Kafka's defaults)
  --rate R                   e2e: records per second (default 10000)
  --timeout-s S              give up after S seconds (default 300)
  --json                     also print the report as one JSON line
exit codes: 0 ran without errors, 1 errors or could not run, 2 usage
)";

std::optional<Compression> parse_compression(const std::string& s) {
  if (s == "none") return Compression::kNone;
  if (s == "gzip") return Compression::kGzip;
  if (s == "snappy") return Compression::kSnappy;
  if (s == "lz4") return Compression::kLz4;
  if (s == "zstd") return Compression::kZstd;
  return std::nullopt;
}

absl::Status validate(const BenchKafkaOptions& o) {
  if (o.bootstrap.empty()) return absl::InvalidArgumentError("--bootstrap is required");
  if (o.topic.empty()) return absl::InvalidArgumentError("--topic is required");
  if (o.acks != 0 && o.acks != 1 && o.acks != -1)
    return absl::InvalidArgumentError("--acks: 0, 1 or -1");
  if (o.mode != KafkaBenchMode::kConsume && o.records == 0)
    return absl::InvalidArgumentError("--records must be > 0");
  if (o.mode == KafkaBenchMode::kEndToEnd && o.record_size < 8)
    return absl::InvalidArgumentError("--record-size: at least 8 for e2e (the send time)");
  if (o.partitions < 1) return absl::InvalidArgumentError("--partitions must be >= 1");
  if (o.producers < 1 || o.producers > 1024)
    return absl::InvalidArgumentError("--producers: 1..1024");
  if (o.mode == KafkaBenchMode::kEndToEnd && o.rate <= 0)
    return absl::InvalidArgumentError("--rate must be > 0");
  if (o.record_size > (1 << 20)) return absl::InvalidArgumentError("--record-size: at most 1 MiB");
  return absl::OkStatus();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

const char* mode_name(KafkaBenchMode m) {
  switch (m) {
    case KafkaBenchMode::kProduce:
      return "produce";
    case KafkaBenchMode::kConsume:
      return "consume";
    case KafkaBenchMode::kEndToEnd:
      return "e2e";
  }
  return "?";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

const char* kafka_bench_usage() {
  return kUsage;
}

absl::StatusOr<BenchKafkaOptions> parse_bench_kafka_args(KafkaBenchMode mode,
                                                         const std::vector<std::string>& args) {
  BenchKafkaOptions o;
  o.mode = mode;
  if (mode == KafkaBenchMode::kConsume) o.records = 0;
  std::string compression = "none";
  int32_t acks = 1;
  auto text = [](std::string* out) {
    return [out](const std::string& v) {
      *out = v;
      return !v.empty();
    };
  };
  const FlagTable flags = {
      {"--bootstrap", text(&o.bootstrap)},
      {"--topic", text(&o.topic)},
      {"--records",
       [&](const std::string& v) {
         o.records_given = true;
         return absl::SimpleAtoi(v, &o.records);
       }},
      {"--record-size", number_into(&o.record_size)},
      {"--acks",
       [&](const std::string& v) {
         if (v == "all") {  // as Kafka's clients spell -1
           acks = -1;
           return true;
         }
         return absl::SimpleAtoi(v, &acks);
       }},
      {"--linger-ms", number_into(&o.linger_ms)},
      {"--batch-size", number_into(&o.batch_size)},
      {"--compression", text(&compression)},
      {"--partitions", number_into(&o.partitions)},
      {"--producers", number_into(&o.producers)},
      {"--max-in-flight", number_into(&o.max_in_flight)},
      {"--buffer-memory", number_into(&o.buffer_memory)},
      {"--fetch-min-bytes", number_into(&o.fetch_min_bytes)},
      {"--fetch-max-wait-ms", number_into(&o.fetch_max_wait_ms)},
      {"--max-partition-fetch-bytes", number_into(&o.max_partition_fetch_bytes)},
      {"--fetch-max-bytes", number_into(&o.fetch_max_bytes)},
      {"--rate", number_into(&o.rate)},
      {"--timeout-s", number_into(&o.timeout_s)},
  };
  if (auto s = parse_bench_flags(args, flags, &o.json); !s.ok()) return s;
  auto codec = parse_compression(compression);
  if (!codec)
    return absl::InvalidArgumentError(absl::StrCat("unknown --compression ", compression));
  o.compression = *codec;
  o.acks = static_cast<int16_t>(acks);
  if (acks < -1 || acks > 1) return absl::InvalidArgumentError("--acks: 0, 1 or -1");
  if (auto s = validate(o); !s.ok()) return s;
  return o;
}

std::string format_kafka_report_line(const BenchKafkaReport& r) {
  const BenchKafkaOptions& o = r.options;
  std::string line = absl::StrCat("bench ", mode_name(o.mode), ": topic ", o.topic, " (",
                                  r.partitions, " partitions), ");
  if (o.mode == KafkaBenchMode::kConsume) {
    absl::StrAppend(&line, "fetch max wait ", o.fetch_max_wait_ms, " ms, partition max ",
                    o.max_partition_fetch_bytes, " B: ");
  } else {
    absl::StrAppend(&line, o.record_size, " B values, acks ", o.acks, ", linger ", o.linger_ms,
                    " ms, batch ", o.batch_size, " B, ",
                    std::string(broker::log::compression_name(o.compression)));
    if (o.mode == KafkaBenchMode::kProduce) absl::StrAppend(&line, ", ", o.producers, " producers");
    if (o.mode == KafkaBenchMode::kEndToEnd)
      absl::StrAppend(&line, ", rate ", fixed(o.rate, 0), "/s");
    absl::StrAppend(&line, ": ");
  }
  absl::StrAppend(&line, fixed(r.records_per_s, 0), " records/s, ", fixed(r.mb_per_s, 1), " MB/s (",
                  r.records, " records, ", r.bytes, " B in ", fixed(r.seconds, 3), " s)");
  if (o.mode != KafkaBenchMode::kConsume) {
    absl::StrAppend(&line, "; ",
                    o.mode == KafkaBenchMode::kEndToEnd ? "produce-to-consume" : "send-to-ack",
                    " latency us p50 ", fixed(r.p50_us, 0), " p99 ", fixed(r.p99_us, 0), " p999 ",
                    fixed(r.p999_us, 0), " max ", fixed(r.max_us, 0));
  }
  absl::StrAppend(&line, "; errors ", r.errors);
  if (!r.first_error.empty()) absl::StrAppend(&line, " (first: ", r.first_error, ")");
  return line;
}

std::string format_kafka_report_json(const BenchKafkaReport& r) {
  const BenchKafkaOptions& o = r.options;
  return absl::StrCat(
      "{\"mode\":\"", mode_name(o.mode), "\",\"topic\":", json_string(o.topic),
      ",\"partitions\":", r.partitions, ",\"record_size\":", o.record_size, ",\"acks\":", o.acks,
      ",\"linger_ms\":", o.linger_ms, ",\"batch_size\":", o.batch_size, ",\"compression\":\"",
      std::string(broker::log::compression_name(o.compression)), "\",\"producers\":", o.producers,
      ",\"rate\":", fixed(o.rate, 1), ",\"records\":", r.records, ",\"bytes\":", r.bytes,
      ",\"seconds\":", fixed(r.seconds, 4), ",\"records_per_s\":", fixed(r.records_per_s, 1),
      ",\"mb_per_s\":", fixed(r.mb_per_s, 2), ",\"p50_us\":", fixed(r.p50_us, 1),
      ",\"p99_us\":", fixed(r.p99_us, 1), ",\"p999_us\":", fixed(r.p999_us, 1),
      ",\"max_us\":", fixed(r.max_us, 1), ",\"errors\":", r.errors,
      ",\"first_error\":", json_string(r.first_error), "}");
}

int bench_kafka_command(KafkaBenchMode mode, const std::vector<std::string>& args) {
  auto options = parse_bench_kafka_args(mode, args);
  if (!options.ok()) {
    std::fprintf(stderr, "weir bench %s: %s\n%s", mode_name(mode),
                 std::string(options.status().message()).c_str(), kUsage);
    return 2;
  }
  absl::StatusOr<BenchKafkaReport> report;
  {
    real::RealRuntimeOptions rt_options;
    rt_options.name = "bench";
    real::RealRuntime rt(rt_options);
    report = rt.run([&options] { return run_bench_kafka(*options); });
  }
  if (!report.ok()) {
    std::fprintf(stderr, "weir bench %s: %s\n", mode_name(mode),
                 report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", format_kafka_report_line(*report).c_str());
  if (options->json) std::printf("%s\n", format_kafka_report_json(*report).c_str());
  std::fflush(stdout);
  return report->errors == 0 ? 0 : 1;
}

}  // namespace weir::cli
