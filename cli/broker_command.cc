// Runs one Kafka-compatible broker (broker/server) on the real runtime until SIGINT/SIGTERM,
// so that operators and unmodified Kafka clients (kcat, librdkafka, kafka-python) can use it.
// Like Kafka's kafka-server-start.sh it takes a server.properties and `--override key=value`.
#include "cli/broker_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/server/broker.h"
#include "runtime/real/real_runtime.h"
#include "runtime/trace.h"

namespace weir::cli {
namespace {

constexpr char kUsage[] =
    "usage: weir broker --config server.properties [--override key=value]... [--trace FILE|-]\n";

struct BrokerArgs {
  std::string config;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string trace;
};

std::optional<BrokerArgs> parse_args(const std::vector<std::string>& args) {
  BrokerArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--config" && has_value) {
      out.config = args[++i];
    } else if (args[i] == "--override" && has_value) {
      const std::string& kv = args[++i];
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) return std::nullopt;
      out.overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (args[i] == "--trace" && has_value) {
      out.trace = args[++i];
    } else {
      return std::nullopt;
    }
  }
  if (out.config.empty()) return std::nullopt;
  return out;
}

// A trace sink for stderr, so `--trace -` shows what the broker does as it happens.
class StderrSink final : public ITraceSink {
 public:
  void write(const TraceRecord& record) override {
    std::fprintf(stderr, "%s\n", record.to_json().c_str());
  }
};

absl::Status serve(real::RealRuntime& rt, broker::BrokerConfig config) {
  auto b = std::make_shared<broker::Broker>(std::move(config), current_context());
  Future<void> running = spawn("broker", [b]() -> absl::Status { return b->run(); });
  Future<void> stop = spawn("broker-signal", [&rt] { rt.await_shutdown(); });
  (void)await(when_any(std::vector<Future<void>>{running, stop}));
  if (running.is_ready()) {
    absl::Status failed = running.get();
    (void)b->stop();
    return failed;
  }
  TraceEvent(Severity::kInfo, "BrokerShutdown");
  running = Future<void>();  // cancels run() (and its housekeeping) before the clean stop
  return b->stop();
}

}  // namespace

int broker_command(const std::vector<std::string>& args) {
  auto parsed = parse_args(args);
  if (!parsed) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::ifstream in(parsed->config);
  if (!in) {
    std::fprintf(stderr, "weir broker: cannot read %s\n", parsed->config.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto props = broker::parse_properties(text.str());
  if (!props.ok()) {
    std::fprintf(stderr, "weir broker: %s: %s\n", parsed->config.c_str(),
                 std::string(props.status().message()).c_str());
    return 2;
  }
  for (const auto& [k, v] : parsed->overrides) (*props)[k] = v;
  auto config = broker::broker_config_from(*props);
  if (!config.ok()) {
    std::fprintf(stderr, "weir broker: %s: %s\n", parsed->config.c_str(),
                 std::string(config.status().message()).c_str());
    return 2;
  }
  for (const std::string& key : config->unknown_keys)
    std::fprintf(stderr, "weir broker: warning: unknown configuration key %s (ignored)\n",
                 key.c_str());
  const std::string& first_dir = config->log_dirs.front();
  std::filesystem::create_directories(first_dir);
  std::unique_ptr<ITraceSink> sink;
  if (parsed->trace == "-") {
    sink = std::make_unique<StderrSink>();
  } else {
    sink = std::make_unique<JsonLinesFileSink>(
        parsed->trace.empty() ? first_dir + "/broker-trace.jsonl" : parsed->trace);
  }
  Tracer::instance().add_sink(sink.get());
  Tracer::instance().set_min_severity(Severity::kInfo);
  int rc = 0;
  {
    real::RealRuntimeOptions options;
    options.data_dir = first_dir;
    options.name = "broker";
    real::RealRuntime rt(options);
    auto result = rt.run([&rt, &config] { return serve(rt, *config); });
    if (!result.ok()) {
      std::fprintf(stderr, "weir broker: %s\n", result.ToString().c_str());
      rc = 1;
    }
  }
  Tracer::instance().remove_sink(sink.get());
  return rc;
}

}  // namespace weir::cli
