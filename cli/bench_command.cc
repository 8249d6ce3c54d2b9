// `weir bench ...`: argument parsing and report formatting of the coord load generator (the
// run itself is in bench_coord.cc), and the dispatch to the Kafka ones (bench_kafka.cc).
#include <cstdio>
#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/bench_coord.h"
#include "cli/bench_flags.h"
#include "cli/bench_kafka.h"
#include "runtime/real/real_runtime.h"
#include "runtime/trace.h"

namespace weir::cli {
namespace {

constexpr char kUsage[] = R"(usage: weir bench coord --servers HOST:PORT[,HOST:PORT...] [options]
  --op create|set|get|mixed   what each request does (default mixed)
  --read-ratio F              mixed: share of gets, the rest are sets (default 0.9)
  --sessions N                sessions, spread round-robin over the servers (default 16)
  --outstanding K             requests in flight per session (default 8)
  --payload-bytes B           data of each create/set (default 100)
  --duration-s S | --ops N    measure S seconds (default 10), or until N requests completed
  --warmup-s S                unmeasured load first (default 2)
  --keys N                    set/get/mixed: nodes created up front, picked uniformly (1000)
  --root PATH                 prefix of the bench root (a random suffix is added; /weir-bench)
  --session-timeout-ms MS     asked of the servers (default 10000)
  --connect-timeout-s S       for every session to be established (default 30)
  --request-timeout-s S       a request slower than this is an error (default 10)
  --json                      also print the report as one JSON line
  --trace FILE                client trace events as JSON lines
exit codes: 0 ran without request errors, 1 errors or could not run, 2 usage
)";

absl::StatusOr<BenchOp> parse_op(const std::string& s) {
  if (s == "create") return BenchOp::kCreate;
  if (s == "set") return BenchOp::kSet;
  if (s == "get") return BenchOp::kGet;
  if (s == "mixed") return BenchOp::kMixed;
  return absl::InvalidArgumentError(absl::StrCat("unknown --op ", s));
}

absl::Status validate(const BenchCoordOptions& o) {
  if (o.servers.empty()) return absl::InvalidArgumentError("--servers is required");
  if (o.sessions < 1 || o.sessions > 4096) return absl::InvalidArgumentError("--sessions: 1..4096");
  if (o.outstanding < 1 || o.outstanding > 1000) {
    return absl::InvalidArgumentError("--outstanding: 1..1000 (ZooKeeper's per-server limit)");
  }
  if (o.payload_bytes > (1 << 20) - 1024)
    return absl::InvalidArgumentError("--payload-bytes: at most 1 MiB - 1 KiB");
  if (o.read_ratio > 1) return absl::InvalidArgumentError("--read-ratio: 0..1");
  if (o.op != BenchOp::kCreate && o.keys < 1)
    return absl::InvalidArgumentError("--keys: at least 1");
  if (o.ops == 0 && o.duration_s <= 0)
    return absl::InvalidArgumentError("--duration-s must be > 0");
  if (o.root.empty() || o.root[0] != '/' || o.root.back() == '/') {
    return absl::InvalidArgumentError("--root: an absolute path without a trailing /");
  }
  if (o.session_timeout_ms <= 0)
    return absl::InvalidArgumentError("--session-timeout-ms must be > 0");
  return absl::OkStatus();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// JSON string escaping for error messages (quotes, backslashes, control characters).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

const char* bench_op_name(BenchOp op) {
  switch (op) {
    case BenchOp::kCreate:
      return "create";
    case BenchOp::kSet:
      return "set";
    case BenchOp::kGet:
      return "get";
    case BenchOp::kMixed:
      return "mixed";
  }
  return "unknown";
}

absl::StatusOr<BenchCoordOptions> parse_bench_coord_args(const std::vector<std::string>& args) {
  BenchCoordOptions o;
  std::string op = "mixed";
  const FlagTable flags = {
      {"--servers",
       [&](const std::string& v) {
         o.servers = v;
         return true;
       }},
      {"--op",
       [&](const std::string& v) {
         op = v;
         return true;
       }},
      {"--read-ratio", number_into(&o.read_ratio)},
      {"--sessions", number_into(&o.sessions)},
      {"--outstanding", number_into(&o.outstanding)},
      {"--payload-bytes", number_into(&o.payload_bytes)},
      {"--duration-s", number_into(&o.duration_s)},
      {"--ops", number_into(&o.ops)},
      {"--warmup-s", number_into(&o.warmup_s)},
      {"--keys", number_into(&o.keys)},
      {"--root",
       [&](const std::string& v) {
         o.root = v;
         return true;
       }},
      {"--session-timeout-ms", number_into(&o.session_timeout_ms)},
      {"--connect-timeout-s", number_into(&o.connect_timeout_s)},
      {"--request-timeout-s", number_into(&o.request_timeout_s)},
      {"--trace",
       [&](const std::string& v) {
         o.trace = v;
         return true;
       }},
  };
  if (auto s = parse_bench_flags(args, flags, &o.json); !s.ok()) return s;
  auto parsed_op = parse_op(op);
  if (!parsed_op.ok()) return parsed_op.status();
  o.op = *parsed_op;
  if (absl::Status s = validate(o); !s.ok()) return s;
  return o;
}

std::string format_report_line(const BenchCoordReport& r) {
  const BenchCoordOptions& o = r.options;
  std::string op(bench_op_name(o.op));
  if (o.op == BenchOp::kMixed) absl::StrAppend(&op, "(read ", fixed(o.read_ratio, 2), ")");
  std::string line = absl::StrCat(
      "bench coord ", op, ": ", o.sessions, " sessions x ", o.outstanding, " outstanding, ",
      o.payload_bytes, " B: ", fixed(r.ops_per_s, 0), " ops/s (", r.ops, " in ",
      fixed(r.seconds, 2), " s); latency us p50 ", fixed(r.p50_us, 0), " p99 ", fixed(r.p99_us, 0),
      " p999 ", fixed(r.p999_us, 0), " max ", fixed(r.max_us, 0), "; errors ", r.errors);
  if (!r.first_error.empty()) absl::StrAppend(&line, " (first: ", r.first_error, ")");
  if (r.cleanup_errors > 0)
    absl::StrAppend(&line, "; cleanup incomplete: nodes left under ", r.root);
  return line;
}

std::string format_report_json(const BenchCoordReport& r) {
  const BenchCoordOptions& o = r.options;
  return absl::StrCat(
      "{\"op\":\"", bench_op_name(o.op), "\",\"read_ratio\":", fixed(o.read_ratio, 3),
      ",\"sessions\":", o.sessions, ",\"outstanding\":", o.outstanding,
      ",\"payload_bytes\":", o.payload_bytes, ",\"keys\":", o.keys,
      ",\"seconds\":", fixed(r.seconds, 3), ",\"ops\":", r.ops, ",\"reads\":", r.reads,
      ",\"ops_per_s\":", fixed(r.ops_per_s, 1), ",\"mean_us\":", fixed(r.mean_us, 1),
      ",\"p50_us\":", fixed(r.p50_us, 1), ",\"p99_us\":", fixed(r.p99_us, 1),
      ",\"p999_us\":", fixed(r.p999_us, 1), ",\"max_us\":", fixed(r.max_us, 1),
      ",\"errors\":", r.errors, ",\"first_error\":", json_string(r.first_error),
      ",\"cleanup_errors\":", r.cleanup_errors, "}");
}

int bench_command(const std::vector<std::string>& args) {
  const std::vector<std::string> rest(args.empty() ? args.end() : args.begin() + 1, args.end());
  if (!args.empty() && args[0] == "produce")
    return bench_kafka_command(KafkaBenchMode::kProduce, rest);
  if (!args.empty() && args[0] == "consume")
    return bench_kafka_command(KafkaBenchMode::kConsume, rest);
  if (!args.empty() && args[0] == "e2e")
    return bench_kafka_command(KafkaBenchMode::kEndToEnd, rest);
  if (args.empty() || args[0] != "coord") {
    std::fputs(kUsage, stderr);
    std::fputs(kafka_bench_usage(), stderr);
    return 2;
  }
  auto options = parse_bench_coord_args(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!options.ok()) {
    std::fprintf(stderr, "weir bench coord: %s\n%s",
                 std::string(options.status().message()).c_str(), kUsage);
    return 2;
  }
  std::unique_ptr<JsonLinesFileSink> sink;
  if (!options->trace.empty()) {
    sink = std::make_unique<JsonLinesFileSink>(options->trace);
    Tracer::instance().add_sink(sink.get());
    Tracer::instance().set_min_severity(Severity::kInfo);
  }
  absl::StatusOr<BenchCoordReport> report;
  {
    real::RealRuntimeOptions rt_options;
    rt_options.name = "bench";
    real::RealRuntime rt(rt_options);
    report = rt.run([&options] { return run_bench_coord(*options); });
  }
  if (sink) Tracer::instance().remove_sink(sink.get());
  if (!report.ok()) {
    std::fprintf(stderr, "weir bench coord: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", format_report_line(*report).c_str());
  if (options->json) std::printf("%s\n", format_report_json(*report).c_str());
  std::fflush(stdout);
  return report->errors == 0 ? 0 : 1;
}

}  // namespace weir::cli
