#include "cli/sim_runner.h"

#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "buggify/knobs.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/trace.h"
#include "sim/cluster.h"
#include "sim/faults/injectors.h"
#include "sim/simulator.h"
#include "workloads/registry.h"

namespace weir::cli {
namespace {

using Workloads = std::vector<std::unique_ptr<Workload>>;

// The run in progress, for the crash handler (an assertion or a signal mid-run).
struct ActiveRun {
  const RunConfig* config = nullptr;
  RunResult* result = nullptr;
  sim::Simulator* sim = nullptr;
  sim::SimCluster* cluster = nullptr;
};
ActiveRun g_active;

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void write_replay(const RunConfig& config, RunResult& result, sim::Simulator* sim,
                  sim::SimCluster* cluster) {
  if (!config.write_replay) return;
  sim::Replay replay;
  replay.set_build_id(build_id());
  replay.set_seed(config.seed);
  *replay.mutable_spec() = config.spec;
  replay.set_spec_path(config.spec_path);
  for (const auto& [name, value] : Knobs::changed()) (*replay.mutable_knobs())[name] = value;
  for (const auto& k : config.knob_overrides) replay.add_knob_overrides(k);
  for (const auto& i : result.injectors) replay.add_injectors(i);
  if (cluster != nullptr) {
    for (const auto& f : cluster->fault_schedule()) replay.add_fault_schedule(f);
  }
  if (sim != nullptr) {
    for (const auto& e : sim->unseed().recent()) replay.add_last_events(e);
    replay.set_unseed(hex64(sim->unseed().value()));
  }
  replay.set_verdict(result.verdict);
  replay.set_violation(result.violation);
  std::error_code ec;
  std::filesystem::create_directories(config.replay_dir, ec);
  const std::string path = std::filesystem::absolute(
      std::filesystem::path(config.replay_dir) /
      absl::StrCat("replay-", config.spec.name().empty() ? "spec" : config.spec.name(), "-",
                   config.seed, ".txtpb"));
  std::string text;
  google::protobuf::TextFormat::PrintToString(replay, &text);
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (out.good()) result.replay_path = path;
}

void crash_handler(std::string_view message) {
  if (g_active.config == nullptr) return;
  RunResult& r = *g_active.result;
  r.exit_code = kExitCrash;
  r.verdict = "crash";
  r.violation = std::string(message);
  if (g_active.sim != nullptr) {
    r.unseed = hex64(g_active.sim->unseed().value());
    r.sim_seconds = to_seconds(g_active.sim->now());
    r.events = g_active.sim->unseed().events();
  }
  write_replay(*g_active.config, r, g_active.sim, g_active.cluster);
  std::string line = r.summary_json() + "\n";
  (void)!::write(STDOUT_FILENO, line.data(), line.size());
  if (!g_active.config->expect_unseed.empty()) report_replay(*g_active.config, r);
  if (!r.replay_path.empty()) {
    std::string cmd =
        absl::StrCat("replay with: ", self_path(), " sim replay ", r.replay_path, "\n");
    (void)!::write(STDERR_FILENO, cmd.data(), cmd.size());
  }
}

void signal_handler(int sig) {
  crash_handler(absl::StrCat("fatal signal ", sig));
  _exit(kExitCrash);
}

// Prints the events a person wants on a timeline: faults, process lives, warnings, violations.
class TimelineSink final : public ITraceSink {
 public:
  void write(const TraceRecord& r) override {
    const bool wanted = r.type.rfind("Sim", 0) == 0 || r.severity >= Severity::kWarnAlways ||
                        r.type.find("Leader") != std::string::npos ||
                        r.type.find("Election") != std::string::npos ||
                        r.type.find("Violation") != std::string::npos;
    if (!wanted || r.type == "SimMachineAdded") return;
    std::string details;
    for (const auto& [k, v] : r.details) absl::StrAppend(&details, " ", k, "=", v);
    std::fprintf(stderr, "%12.6fs  %-10s %-12s %-24s%s\n", to_seconds(r.time), r.machine.c_str(),
                 r.process.c_str(), r.type.c_str(), details.c_str());
  }
};

absl::Status apply_knobs(const RunConfig& config, sim::Simulator& sim) {
  Knobs::reset_defaults();
  Knobs::randomize(sim.random(), config.spec.knob_randomize_probability());
  for (const std::string& kv : config.knob_overrides) {
    const size_t eq = kv.find('=');
    int64_t v = 0;
    if (eq == std::string::npos || !absl::SimpleAtoi(kv.substr(eq + 1), &v)) {
      return absl::InvalidArgumentError("bad --knob " + kv + " (want name=integer)");
    }
    if (auto s = Knobs::set(kv.substr(0, eq), v); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Workloads first, then the injectors this seed draws (swarm: each with some probability).
absl::StatusOr<Workloads> build_workloads(const sim::Spec& spec, sim::SimCluster& cluster,
                                          std::vector<std::string>* injector_names) {
  Workloads out;
  for (const auto& w : spec.workloads()) {
    std::map<std::string, std::string> options(w.options().begin(), w.options().end());
    auto made = workloads::make_workload(w.name(), options);
    if (!made.ok()) return made.status();
    out.push_back(std::move(*made));
  }
  const bool swarm = spec.swarm().enabled();
  std::vector<int> chosen;
  for (int i = 0; i < spec.injectors_size(); ++i) {
    if (!swarm || cluster.random().coinflip(spec.swarm().injector_probability()))
      chosen.push_back(i);
  }
  if (swarm && chosen.empty() && spec.injectors_size() > 0) {
    chosen.push_back(
        static_cast<int>(cluster.random().below(static_cast<uint64_t>(spec.injectors_size()))));
  }
  for (int i : chosen) {
    const auto& inj = spec.injectors(i);
    std::map<std::string, std::string> options(inj.options().begin(), inj.options().end());
    auto made = sim::make_injector(inj.name(), options, cluster, swarm);
    if (!made.ok()) return made.status();
    injector_names->push_back(inj.name());
    out.push_back(std::move(*made));
  }
  return out;
}

// The harness actor: fault phase, healing, quiescence, then every check within its bound.
Verdict drive(const sim::Spec& spec, sim::SimCluster& cluster, Workloads& workloads,
              std::map<std::string, double>& metrics) {
  std::vector<Future<void>> starts;
  for (auto& w : workloads) {
    Workload* raw = w.get();
    starts.push_back(spawn(std::string(raw->name()), [raw, &cluster] { raw->start(cluster); }));
  }
  delay(from_seconds(spec.fault_seconds()));
  for (auto& w : workloads) {
    if (w->is_injector()) w->stop();
  }
  for (auto& w : workloads) {
    if (!w->is_injector()) w->stop();
  }
  const TimePoint healed_at = Scheduler::current().now();
  auto stopped = await(timeout(when_all(starts), from_seconds(spec.quiesce_seconds())));
  if (!stopped.ok()) {
    for (size_t i = 0; i < starts.size(); ++i) {
      if (!starts[i].is_ready()) {
        return Verdict::liveness(absl::StrCat(std::string(workloads[i]->name()),
                                              " did not stop within ", spec.quiesce_seconds(),
                                              "s after the fault phase"));
      }
    }
  }
  for (auto& w : workloads) {
    if (w->is_injector()) continue;
    Workload* raw = w.get();
    auto verdict = await(timeout(spawn("check", [raw, &cluster] { return raw->check(cluster); }),
                                 from_seconds(spec.check_seconds())));
    if (!verdict.ok()) {
      return Verdict::liveness(absl::StrCat(std::string(raw->name()),
                                            " check did not finish within ", spec.check_seconds(),
                                            "s after healing: ", verdict.status().ToString()));
    }
    if (!verdict->ok()) return *verdict;
  }
  metrics["harness.recovery_seconds"] = to_seconds(Scheduler::current().now() - healed_at);
  return Verdict::pass();
}

void fill_defaults(sim::Spec& spec) {
  if (spec.fault_seconds() <= 0) spec.set_fault_seconds(30);
  if (spec.quiesce_seconds() <= 0) spec.set_quiesce_seconds(20);
  if (spec.check_seconds() <= 0) spec.set_check_seconds(60);
  if (spec.client_processes() <= 0) spec.set_client_processes(2);
}

}  // namespace

absl::StatusOr<sim::Spec> load_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read spec " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  sim::Spec spec;
  if (!google::protobuf::TextFormat::ParseFromString(ss.str(), &spec)) {
    return absl::InvalidArgumentError("spec " + path + " is not a valid weir.sim.Spec text proto");
  }
  return spec;
}

std::string RunResult::summary_json() const {
  std::string out = "{";
  absl::StrAppend(&out, "\"verdict\":\"", verdict, "\"");
  char buf[128];
  std::snprintf(buf, sizeof(buf), ",\"sim_seconds\":%.3f,\"wall_seconds\":%.3f", sim_seconds,
                wall_seconds);
  out += buf;
  absl::StrAppend(&out, ",\"events\":", events, ",\"unseed\":\"", unseed, "\"");
  absl::StrAppend(&out, ",\"probes_hit\":", probes_hit.size(), ",\"probes\":[");
  for (size_t i = 0; i < probes_hit.size(); ++i) {
    if (i > 0) out += ",";
    append_json_string(out, probes_hit[i]);
  }
  out += "],\"injectors\":[";
  for (size_t i = 0; i < injectors.size(); ++i) {
    if (i > 0) out += ",";
    append_json_string(out, injectors[i]);
  }
  out += "],\"metrics\":{";
  bool first = true;
  for (const auto& [k, v] : metrics) {
    if (!first) out += ",";
    first = false;
    append_json_string(out, k);
    std::snprintf(buf, sizeof(buf), ":%.6g", v);
    out += buf;
  }
  out += "},\"violation\":";
  append_json_string(out, violation);
  out += ",\"replay\":";
  append_json_string(out, replay_path);
  out += "}";
  return out;
}

RunResult run_simulation(const RunConfig& original) {
  const auto wall_start = std::chrono::steady_clock::now();
  RunConfig config = original;
  fill_defaults(config.spec);
  RunResult result;
  probes::reset_counts();

  sim::Simulator sim(config.seed);
  std::unique_ptr<JsonLinesFileSink> trace_file;
  if (!config.trace_path.empty()) {
    trace_file = std::make_unique<JsonLinesFileSink>(config.trace_path);
    Tracer::instance().add_sink(trace_file.get());
  }
  TimelineSink timeline;
  if (config.timeline) Tracer::instance().add_sink(&timeline);
  if (!config.digest_path.empty()) sim.unseed().open_digest(config.digest_path);
  g_active = ActiveRun{&config, &result, &sim, nullptr};
  set_failure_handler(&crash_handler);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, &signal_handler);

  if (config.spec.buggify()) buggify::enable(config.seed, &sim.random());
  Verdict verdict;
  if (auto s = apply_knobs(config, sim); !s.ok()) {
    verdict = Verdict::correctness("spec error: " + s.ToString());
    result.exit_code = kExitUsage;
  }
  sim::SimCluster cluster(sim, config.spec.client_processes());
  g_active.cluster = &cluster;
  Workloads workloads;
  if (verdict.ok()) {
    auto built = build_workloads(config.spec, cluster, &result.injectors);
    absl::Status s = built.status();
    if (built.ok()) {
      workloads = std::move(*built);
      for (auto& w : workloads) {
        if (s.ok()) s = w->setup(cluster);
      }
    }
    if (!s.ok()) {
      verdict = Verdict::correctness("spec error: " + s.ToString());
      result.exit_code = kExitUsage;
    }
  }
  std::map<std::string, double> harness_metrics;
  if (verdict.ok()) {
    auto driver = spawn_in(cluster.tester(), "harness",
                           [&] { return drive(config.spec, cluster, workloads, harness_metrics); });
    const double limit = config.spec.fault_seconds() + config.spec.quiesce_seconds() +
                         config.spec.check_seconds() * (static_cast<double>(workloads.size()) + 1) +
                         60;
    driver.on_ready([&sim] { sim.scheduler().stop(); });
    sim.scheduler().run_until(TimePoint(from_seconds(limit)));
    if (!driver.is_ready()) {
      verdict = Verdict::liveness("the harness did not finish by simulated time " +
                                  std::to_string(limit) + "s");
    } else if (!driver.get().ok()) {
      verdict = Verdict::liveness("harness failed: " + driver.get().status().ToString());
    } else {
      verdict = *driver.get();
    }
    result.metrics = harness_metrics;
    for (auto& w : workloads) {
      for (const auto& [k, v] : w->metrics())
        result.metrics[absl::StrCat(std::string(w->name()), ".", k)] = v;
    }
  }
  if (verdict.ok() && !sim.unseed().first_error().empty()) {
    verdict = Verdict::correctness("error trace event: " + sim.unseed().first_error());
  }
  result.sim_seconds = to_seconds(sim.now());
  sim.shutdown();
  result.events = sim.unseed().events();
  result.unseed = hex64(sim.unseed().value());
  for (const auto* p : probes::all()) {
    if (p->hits > 0) result.probes_hit.push_back(p->name);
  }
  if (!verdict.ok()) {
    result.verdict = std::string(verdict_kind_name(verdict.kind));
    result.violation = verdict.reason;
    if (result.exit_code == kExitPass) {
      result.exit_code =
          verdict.kind == Verdict::Kind::kLiveness ? kExitLiveness : kExitCorrectness;
    }
    if (result.exit_code != kExitUsage) write_replay(config, result, &sim, &cluster);
  }
  workloads.clear();
  set_failure_handler(nullptr);
  g_active = ActiveRun{};
  if (trace_file) Tracer::instance().remove_sink(trace_file.get());
  if (config.timeline) Tracer::instance().remove_sink(&timeline);
  buggify::disable();
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

bool report_replay(const RunConfig& config, const RunResult& r) {
  const bool same = r.unseed == config.expect_unseed && r.verdict == config.expect_verdict;
  std::fprintf(stderr,
               "replay of seed %llu: %s (unseed %s, recorded %s; verdict %s, recorded %s)\n",
               static_cast<unsigned long long>(config.seed), same ? "reproduced" : "DIVERGED",
               r.unseed.c_str(), config.expect_unseed.c_str(), r.verdict.c_str(),
               config.expect_verdict.c_str());
  if (!r.violation.empty()) std::fprintf(stderr, "violation: %s\n", r.violation.c_str());
  std::fflush(stderr);
  return same;
}

std::string self_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "weir" : p.string();
}

std::string build_id() {
  static const std::string id = [] {
    std::ifstream in(self_path(), std::ios::binary);
    uint64_t h = 0xb111d;
    std::vector<char> buf(1 << 16);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      h = hash_bytes(h, std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
    }
    return hex64(h);
  }();
  return id;
}

}  // namespace weir::cli
