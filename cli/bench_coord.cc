// The coord load generator: sessions, workers, the measured window and the cleanup.
#include "cli/bench_coord.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/latency_histogram.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/trace.h"

namespace weir::cli {
namespace {

using coord::client::CoordClient;
using coord::client::CoordClientOptions;
using coord::client::SessionState;

enum class Phase { kWarmup, kMeasure, kDone };

// One run. Everything happens on the runtime's one thread, so the counters need no locks;
// each of the sessions x outstanding workers is an actor with one request in flight at a time.
class CoordBench {
 public:
  explicit CoordBench(const BenchCoordOptions& options);
  absl::StatusOr<BenchCoordReport> run();

 private:
  absl::Status connect_sessions();
  absl::StatusOr<std::unique_ptr<CoordClient>> connect_one(const std::string& server,
                                                           const CoordClientOptions& client_options,
                                                           TimePoint deadline);
  absl::Status create_tree();
  void measure();
  void run_worker(size_t worker);
  absl::Status one_request(size_t worker, bool& is_read);
  void on_completed(TimePoint started, bool is_read, const absl::Status& status);
  void finish_window();
  void cleanup();
  void close_sessions();
  // Runs fn(worker) on every worker (sessions x outstanding actors) and waits for them all;
  // the first error, if any.
  absl::Status on_every_worker(const std::function<absl::Status(size_t)>& fn);
  CoordClient& session_of(size_t worker) { return *sessions_[worker % sessions_.size()]; }
  std::string key_path(size_t i) const { return absl::StrCat(root_, "/k-", i); }
  std::string created_path(size_t worker, uint64_t seq) const {
    return absl::StrCat(root_, "/c-", worker, "-", seq);
  }
  BenchCoordReport report() const;

  const BenchCoordOptions& options_;
  IClock& clock_;
  IRandom& random_;
  const size_t workers_;
  std::string root_;
  std::string payload_;
  std::vector<std::unique_ptr<CoordClient>> sessions_;
  bool root_created_ = false;
  size_t keys_created_ = 0;        // a prefix of key indices may exist
  std::vector<uint64_t> created_;  // per worker: create requests issued
  Phase phase_ = Phase::kWarmup;
  TimePoint window_start_{}, window_end_{};
  Promise<void> ops_reached_;
  uint64_t completed_in_window_ = 0;  // ok or not: what --ops counts
  uint64_t ops_ = 0, reads_ = 0, errors_ = 0, cleanup_errors_ = 0;
  std::string first_error_;
  LatencyHistogram latency_;
};

CoordBench::CoordBench(const BenchCoordOptions& options)
    : options_(options),
      clock_(*current_context().clock),
      random_(*current_context().random),
      workers_(options.sessions * options.outstanding),
      payload_(options.payload_bytes, 'x'),
      created_(workers_, 0) {
  // A random suffix, so that runs against one ensemble (or a crashed run's leftovers) never
  // collide.
  root_ = absl::StrCat(options.root, "-", absl::Hex(random_.next_u64() & 0xffffffffff));
}

absl::StatusOr<BenchCoordReport> CoordBench::run() {
  absl::Status s = connect_sessions();
  if (s.ok()) s = create_tree();
  if (s.ok()) measure();
  cleanup();
  close_sessions();
  if (!s.ok()) return s;
  return report();
}

// Session i goes to server i % n: an even spread, the same for every system under test.
absl::Status CoordBench::connect_sessions() {
  std::vector<std::string> servers = absl::StrSplit(options_.servers, ',', absl::SkipEmpty());
  if (servers.empty()) return absl::InvalidArgumentError("no servers");
  CoordClientOptions client_options;
  client_options.session_timeout = std::chrono::milliseconds(options_.session_timeout_ms);
  client_options.request_timeout = from_seconds(options_.request_timeout_s);
  client_options.outstanding_requests_max = options_.outstanding;
  const TimePoint deadline = clock_.now() + from_seconds(options_.connect_timeout_s);
  std::vector<Future<std::unique_ptr<CoordClient>>> connecting;
  for (size_t i = 0; i < options_.sessions; ++i) {
    connecting.push_back(spawn(
        "bench-connect", [this, server = servers[i % servers.size()], client_options, deadline] {
          return connect_one(server, client_options, deadline);
        }));
  }
  absl::Status first;
  for (auto& f : connecting) {
    auto client = await(std::move(f));
    if (client.ok()) {
      sessions_.push_back(std::move(*client));
    } else if (first.ok()) {
      first = client.status();
    }
  }
  return first;
}

// An ensemble without a leader refuses new sessions (weir answers with an expired session,
// ZooKeeper drops the connection), so a refused session is retried until the deadline.
absl::StatusOr<std::unique_ptr<CoordClient>> CoordBench::connect_one(
    const std::string& server, const CoordClientOptions& client_options, TimePoint deadline) {
  while (true) {
    auto client = CoordClient::create(server, client_options);
    if (!client.ok()) return client.status();
    const Duration left = std::max<Duration>(deadline - clock_.now(), 1ms);
    absl::Status s = await((*client)->await_state(SessionState::kConnected, left));
    if (s.ok()) return std::move(*client);
    if ((*client)->state() != SessionState::kExpired || clock_.now() >= deadline) {
      return absl::UnavailableError(absl::StrCat("no session with ", server, ": ", s.message()));
    }
    delay(200ms);
  }
}

absl::Status CoordBench::create_tree() {
  auto made = await(sessions_[0]->create(root_, "", coord::client::open_acl_unsafe()));
  if (!made.ok()) return made.status();
  root_created_ = true;
  if (options_.op == BenchOp::kCreate) return absl::OkStatus();
  keys_created_ = options_.keys;  // cleanup deletes them all, ignoring the ones never made
  const auto acl = coord::client::open_acl_unsafe();
  return on_every_worker([&](size_t worker) -> absl::Status {
    for (size_t i = worker; i < options_.keys; i += workers_) {
      auto r = await(session_of(worker).create(key_path(i), payload_, acl));
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  });
}

absl::Status CoordBench::on_every_worker(const std::function<absl::Status(size_t)>& fn) {
  std::vector<Future<void>> running;
  running.reserve(workers_);
  for (size_t w = 0; w < workers_; ++w) {
    running.push_back(spawn("bench-worker", [&fn, w] { return fn(w); }));
  }
  absl::Status first;
  for (auto& f : running) {
    absl::Status s = await(f);
    if (first.ok()) first = s;
  }
  return first;
}

}  // namespace
}  // namespace weir::cli

// ---- the measured run -------------------------------------------------------------------------

namespace weir::cli {
namespace {

void CoordBench::measure() {
  std::vector<Future<void>> workers;
  for (size_t w = 0; w < workers_; ++w) {
    workers.push_back(spawn("bench-worker", [this, w] { run_worker(w); }));
  }
  if (options_.warmup_s > 0) delay(from_seconds(options_.warmup_s));
  phase_ = Phase::kMeasure;
  window_start_ = clock_.now();
  if (options_.ops > 0) {
    (void)await(ops_reached_.future());
  } else {
    delay(from_seconds(options_.duration_s));
    finish_window();
  }
  for (auto& f : workers) (void)await(f);  // each ends after its request in flight
}

void CoordBench::finish_window() {
  if (phase_ == Phase::kDone) return;
  phase_ = Phase::kDone;
  window_end_ = clock_.now();
  ops_reached_.try_set(absl::OkStatus());
}

void CoordBench::run_worker(size_t worker) {
  while (phase_ != Phase::kDone) {
    const TimePoint started = clock_.now();
    bool is_read = false;
    const absl::Status status = one_request(worker, is_read);
    on_completed(started, is_read, status);
    // A dead session fails at once: do not let its workers spin and starve the others.
    if (!status.ok()) delay(1ms);
  }
}

absl::Status CoordBench::one_request(size_t worker, bool& is_read) {
  CoordClient& zk = session_of(worker);
  switch (options_.op) {
    case BenchOp::kCreate: {
      static const auto acl = coord::client::open_acl_unsafe();
      return await(zk.create(created_path(worker, created_[worker]++), payload_, acl)).status();
    }
    case BenchOp::kSet:
      return await(zk.set_data(key_path(random_.below(options_.keys)), payload_)).status();
    case BenchOp::kGet:
      is_read = true;
      return await(zk.get_data(key_path(random_.below(options_.keys)))).status();
    case BenchOp::kMixed:
      is_read = random_.uniform01() < options_.read_ratio;
      if (is_read) return await(zk.get_data(key_path(random_.below(options_.keys)))).status();
      return await(zk.set_data(key_path(random_.below(options_.keys)), payload_)).status();
  }
  return absl::InternalError("unknown op");
}

void CoordBench::on_completed(TimePoint started, bool is_read, const absl::Status& status) {
  if (!status.ok()) {
    if (++errors_ == 1) first_error_ = status.ToString();
  }
  if (phase_ != Phase::kMeasure || started < window_start_) return;
  if (status.ok()) {
    ++ops_;
    if (is_read) ++reads_;
    latency_.record((clock_.now() - started).count());
  }
  if (options_.ops > 0 && ++completed_in_window_ >= options_.ops) finish_window();
}

// Deletes what the run created, every worker in parallel (the same pipelining as the run). A
// worker stops at its first failure: with its server gone, each further delete would cost a
// request timeout. What is left stays under the root, which the report names.
void CoordBench::cleanup() {
  if (sessions_.empty() || !root_created_) return;
  (void)on_every_worker([&](size_t worker) -> absl::Status {
    CoordClient& zk = session_of(worker);
    auto gone = [&](const std::string& path) {
      const absl::Status s = await(zk.remove(path));
      return s.ok() || coord::client::zk_error(s) == coord::client::ErrorCode::kNoNode;
    };
    bool ok = true;
    for (uint64_t seq = 0; ok && seq < created_[worker]; ++seq)
      ok = gone(created_path(worker, seq));
    for (size_t i = worker; ok && i < keys_created_; i += workers_) ok = gone(key_path(i));
    if (!ok) ++cleanup_errors_;
    return absl::OkStatus();
  });
  if (cleanup_errors_ == 0 && !await(sessions_[0]->remove(root_)).ok()) ++cleanup_errors_;
}

void CoordBench::close_sessions() {
  std::vector<Future<void>> closing;
  for (auto& s : sessions_) closing.push_back(s->close());
  for (auto& f : closing) (void)await(f);
  sessions_.clear();
}

BenchCoordReport CoordBench::report() const {
  BenchCoordReport r;
  r.options = options_;
  r.seconds = to_seconds(window_end_ - window_start_);
  r.ops = ops_;
  r.reads = reads_;
  r.errors = errors_;
  r.first_error = first_error_;
  r.cleanup_errors = cleanup_errors_;
  r.root = root_;
  r.ops_per_s = r.seconds > 0 ? static_cast<double>(ops_) / r.seconds : 0;
  r.mean_us = latency_.mean_ns() / 1e3;
  r.p50_us = static_cast<double>(latency_.percentile_ns(0.50)) / 1e3;
  r.p99_us = static_cast<double>(latency_.percentile_ns(0.99)) / 1e3;
  r.p999_us = static_cast<double>(latency_.percentile_ns(0.999)) / 1e3;
  r.max_us = static_cast<double>(latency_.max_ns()) / 1e3;
  return r;
}

}  // namespace

absl::StatusOr<BenchCoordReport> run_bench_coord(const BenchCoordOptions& options) {
  CoordBench bench(options);
  return bench.run();
}

}  // namespace weir::cli
