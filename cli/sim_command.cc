#include "cli/sim_command.h"

#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "buggify/code_probe.h"
#include "cli/child.h"
#include "cli/sim_args.h"
#include "cli/sim_runner.h"

namespace weir::cli {

const char* kSimUsage = R"(usage:
  weir sim run --spec FILE --seed N [--check-determinism] [--knob name=value]...
               [--trace FILE] [--timeline] [--replay-dir DIR]
  weir sim replay FILE [--timeline] [--trace FILE]
  weir sim sweep --spec FILE --seeds A..B [--jobs N] [--check-determinism] [--replay-dir DIR]
exit codes: 0 pass, 2 usage, 3 crash, 4 correctness, 5 liveness, 6 nondeterminism
)";

namespace {

void print_failure_hint(const RunResult& r) {
  if (r.exit_code == kExitPass) return;
  std::fprintf(stderr, "%s: %s\n", r.verdict.c_str(), r.violation.c_str());
  if (!r.replay_path.empty()) {
    std::fprintf(stderr, "replay with: %s sim replay %s\n", self_path().c_str(),
                 r.replay_path.c_str());
  }
}

// Finds the first line at which two digest files differ: the first diverging trace event.
std::string first_divergence(const std::string& a_path, const std::string& b_path) {
  std::ifstream a(a_path), b(b_path);
  std::string la, lb;
  for (uint64_t n = 1;; ++n) {
    const bool ga = static_cast<bool>(std::getline(a, la));
    const bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb)
      return "the event streams are identical; the runs differ in scheduling after the last event";
    if (ga != gb || la.substr(0, 16) != lb.substr(0, 16)) {
      auto event = [](const std::string& l) {
        return l.size() > 17 ? l.substr(17) : "(end of run)";
      };
      const std::string ea = ga ? event(la) : "(end of run)", eb = gb ? event(lb) : "(end of run)";
      // Equal text with different running hashes: the scheduling diverged just before it.
      const char* note = ea == eb ? " (same event, but scheduling diverged just before it)" : "";
      return absl::StrCat("first diverging event is #", n, note, ":\n  run A: ", ea,
                          "\n  run B: ", eb);
    }
  }
}

}  // namespace

std::string absolute(const std::string& p) {
  return std::filesystem::absolute(p).string();
}

std::vector<std::string> child_run_args(const Args& args, uint64_t seed) {
  std::vector<std::string> v = {self_path(),
                                "sim",
                                "run",
                                "--spec",
                                absolute(args.spec_path),
                                "--seed",
                                std::to_string(seed),
                                "--replay-dir",
                                absolute(args.replay_dir)};
  for (const auto& k : args.knobs) {
    v.push_back("--knob");
    v.push_back(k);
  }
  return v;
}

namespace {

// Runs the seed twice in children, in different directories and with ASLR on and off.
int check_determinism(const Args& args) {
  char tmpl[] = "/tmp/weir-determinism-XXXXXX";
  const char* base = mkdtemp(tmpl);
  if (base == nullptr) return std::fprintf(stderr, "cannot create a temp dir\n"), kExitUsage;
  std::string out[2], digest[2];
  pid_t pids[2];
  for (int i = 0; i < 2; ++i) {
    const std::string dir = absl::StrCat(base, i == 0 ? "/a" : "/b/nested");
    std::filesystem::create_directories(dir);
    digest[i] = dir + "/digest";
    out[i] = dir + "/stdout";
    ChildSpec c;
    c.args = child_run_args(args, args.seed);
    c.args.push_back("--digest");
    c.args.push_back(digest[i]);
    c.cwd = dir;
    c.disable_aslr = i == 1;
    c.stdout_path = out[i];
    c.stderr_path = dir + "/stderr";
    auto pid = start_child(c);
    if (!pid.ok()) return std::fprintf(stderr, "%s\n", pid.status().ToString().c_str()), kExitUsage;
    pids[i] = *pid;
  }
  ChildExit exits[2] = {wait_child(pids[0]), wait_child(pids[1])};
  const std::string ja = read_text_file(out[0]), jb = read_text_file(out[1]);
  const std::string ua = json_string_field(ja, "unseed"), ub = json_string_field(jb, "unseed");
  if (ua.empty() || ua != ub || exits[0].exit_code != exits[1].exit_code) {
    std::printf(
        "{\"seed\":%llu,\"verdict\":\"nondeterministic\",\"unseed_a\":\"%s\",\"unseed_b\":\"%s\"}"
        "\n",
        static_cast<unsigned long long>(args.seed), ua.c_str(), ub.c_str());
    std::fprintf(stderr, "nondeterminism: seed %llu gave unseeds %s and %s (exit %d and %d)\n%s\n",
                 static_cast<unsigned long long>(args.seed), ua.c_str(), ub.c_str(),
                 exits[0].exit_code, exits[1].exit_code,
                 first_divergence(digest[0], digest[1]).c_str());
    return kExitNondeterminism;
  }
  std::fputs(ja.c_str(), stdout);
  std::fputs(read_text_file(absl::StrCat(base, "/a/stderr")).c_str(), stderr);
  std::filesystem::remove_all(base);
  return exits[0].exit_code;
}

int run_command(const Args& args) {
  if (args.spec_path.empty()) return std::fputs(kSimUsage, stderr), kExitUsage;
  if (args.check_determinism) return check_determinism(args);
  auto spec = load_spec(args.spec_path);
  if (!spec.ok()) return std::fprintf(stderr, "%s\n", spec.status().ToString().c_str()), kExitUsage;
  RunConfig config;
  config.spec = *spec;
  config.spec_path = args.spec_path;
  config.seed = args.seed;
  config.knob_overrides = args.knobs;
  config.digest_path = args.digest_path;
  config.trace_path = args.trace_path;
  config.replay_dir = args.replay_dir;
  config.timeline = args.timeline;
  RunResult r = run_simulation(config);
  std::string line = r.summary_json();
  line.insert(1, absl::StrCat("\"seed\":", args.seed, ",\"spec\":\"", config.spec.name(), "\","));
  std::printf("%s\n", line.c_str());
  print_failure_hint(r);
  return r.exit_code;
}

int replay_command(const Args& args) {
  if (args.positional.size() != 1) return std::fputs(kSimUsage, stderr), kExitUsage;
  sim::Replay replay;
  std::ifstream in(args.positional[0]);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in || !google::protobuf::TextFormat::ParseFromString(ss.str(), &replay)) {
    std::fprintf(stderr, "cannot read replay file %s\n", args.positional[0].c_str());
    return kExitUsage;
  }
  if (replay.build_id() != build_id()) {
    std::fprintf(stderr, "warning: replay was written by build %s, this is %s; it may diverge\n",
                 replay.build_id().c_str(), build_id().c_str());
  }
  RunConfig config;
  config.spec = replay.spec();
  config.spec_path = replay.spec_path();
  config.seed = replay.seed();
  config.knob_overrides.assign(replay.knob_overrides().begin(), replay.knob_overrides().end());
  config.trace_path = args.trace_path;
  config.timeline = args.timeline;
  config.write_replay = false;
  config.expect_unseed = replay.unseed();
  config.expect_verdict = replay.verdict();
  RunResult r = run_simulation(config);
  std::printf("%s\n", r.summary_json().c_str());
  const bool same = report_replay(config, r);
  return same ? r.exit_code : kExitNondeterminism;
}

}  // namespace

int sim_command(const std::vector<std::string>& a) {
  if (a.empty()) return std::fputs(kSimUsage, stderr), kExitUsage;
  auto args = parse_sim_args(std::vector<std::string>(a.begin() + 1, a.end()));
  if (!args.ok()) {
    std::fprintf(stderr, "%s\n%s", std::string(args.status().message()).c_str(), kSimUsage);
    return kExitUsage;
  }
  if (a[0] == "run") return run_command(*args);
  if (a[0] == "replay") return replay_command(*args);
  if (a[0] == "sweep") return sweep_command(*args);
  std::fputs(kSimUsage, stderr);
  return kExitUsage;
}

}  // namespace weir::cli
