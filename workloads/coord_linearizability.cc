#include "workloads/coord_linearizability.h"

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "workloads/coord_reads.h"
#include "workloads/linearizability/checker.h"
#include "workloads/linearizability/znode_model.h"

namespace weir::workloads {

namespace cc = coord::client;
using coord::jute::ErrorCode;
using lin::ZnodeModel;
using lin::ZnodeOp;
using lin::ZnodeResult;

namespace {

// Answers the server gave on purpose: the operation did (or did not) take effect as they say.
// Anything else (ConnectionLoss, timeouts, SessionExpired) leaves the outcome unknown.
bool definitive(ErrorCode code) {
  return code == ErrorCode::kOk || code == ErrorCode::kNoNode || code == ErrorCode::kNodeExists ||
         code == ErrorCode::kBadVersion || code == ErrorCode::kNotEmpty;
}

int32_t zk_code(ErrorCode code) {
  return static_cast<int32_t>(code);
}

}  // namespace

struct CoordLinearizability::Recorder {
  lin::HistoryOf<ZnodeModel> history;
  std::vector<PlainRead> plain_reads;
  bool stopped = false;
  int32_t next_client = 1;
  uint64_t sessions = 0, expired = 0, unknown = 0, synced_reads = 0, moved_reads = 0;
  uint64_t lin_steps = 0, partitions = 0;
  double recovery_seconds = 0;
};

namespace {

using Recorder = CoordLinearizability::Recorder;

// One session's activity: strictly one operation at a time, so that the session's last seen
// zxid brackets each plain read.
class LinSession {
 public:
  LinSession(Recorder& rec, cc::CoordClient& client, int32_t id, int paths, IRandom& random)
      : rec_(rec), client_(client), id_(id), paths_(paths), random_(random) {}

  void step() {
    const int p = static_cast<int>(random_.below(static_cast<uint64_t>(paths_)));
    const std::string path = path_of(p);
    const uint64_t dice = random_.below(100);
    if (dice < 14) return do_create(path);
    if (dice < 34) return do_set(path);
    if (dice < 44) return do_remove(path);
    if (dice < 56) return do_multi(p);
    if (dice < 76) return do_synced_read(path);
    return do_plain_read(path);
  }

 private:
  static std::string path_of(int p) { return absl::StrCat("/k", p); }
  std::string fresh_data() { return absl::StrCat("c", id_, "n", ++seq_); }
  // An expected version: usually the last one seen, sometimes any (-1) or a stale guess.
  int32_t pick_version(const std::string& path) {
    const uint64_t dice = random_.below(10);
    if (dice < 3) return -1;
    auto it = known_.find(path);
    const int32_t known = it == known_.end() ? 0 : it->second;
    return dice < 8 ? known : std::max(0, known - 1);
  }

  // The session completed an operation, or ended: writes it lost earlier took effect by now or
  // never. The server guarantees it: a session's txns carry their connection's token, and the
  // move to a new connection commits before the client can use it, fencing the old one's txns
  // (SessionMoved); a txn of a closed session fails.
  void settle() {
    const int64_t now = now_us();
    for (size_t index : unknown_) rec_.history[index].effect_deadline = now;
    unknown_.clear();
  }

  void record(ZnodeOp op, int64_t invoke, const absl::Status& status, ZnodeResult result) {
    lin::OperationOf<ZnodeModel> entry{.client = id_, .invoke = invoke, .input = std::move(op)};
    const ErrorCode code = cc::zk_error(status);
    if (status.ok() || definitive(code)) {
      settle();
      entry.ret = now_us();
      entry.output = status.ok() ? std::move(result) : ZnodeResult::error(zk_code(code));
    } else {
      ++rec_.unknown;
      unknown_.push_back(rec_.history.size());
    }
    rec_.history.push_back(std::move(entry));
  }

 public:
  void ended() { settle(); }

 private:
  void do_create(const std::string& path) {
    const int64_t invoke = now_us();
    std::string data = fresh_data();
    auto got = await(client_.create(path, data, cc::open_acl_unsafe()));
    if (got.ok()) known_[path] = 0;
    record(ZnodeOp::create(path, std::move(data)), invoke, got.status(), ZnodeResult::ok());
  }

  void do_set(const std::string& path) {
    const int64_t invoke = now_us();
    std::string data = fresh_data();
    const int32_t version = pick_version(path);
    auto got = await(client_.set_data(path, data, version));
    ZnodeResult result;
    if (got.ok()) {
      known_[path] = got->version;
      result = ZnodeResult::stat(got->version);
    }
    record(ZnodeOp::set_data(path, std::move(data), version), invoke, got.status(), result);
  }

  void do_remove(const std::string& path) {
    const int64_t invoke = now_us();
    const int32_t version = pick_version(path);
    auto got = await(client_.remove(path, version));
    record(ZnodeOp::remove(path, version), invoke, got, ZnodeResult::ok());
  }

  void do_multi(int p);
  void do_synced_read(const std::string& path);
  void do_plain_read(const std::string& path);

  Recorder& rec_;
  cc::CoordClient& client_;
  const int32_t id_;
  const int paths_;
  IRandom& random_;
  uint64_t seq_ = 0;
  std::map<std::string, int32_t> known_;
  std::vector<size_t> unknown_;  // history indices of this session's writes with no outcome
};

// Multis stay within a pair of paths (k0,k1), (k2,k3), ... so that the checker's partitions
// stay small.
void LinSession::do_multi(int p) {
  const std::string a = path_of(p);
  const int q = (p ^ 1) < paths_ ? (p ^ 1) : p;
  const std::string b = path_of(q);
  std::vector<ZnodeOp> model_ops;
  std::vector<cc::Op> ops;
  const uint64_t dice = random_.below(3);
  if (dice == 0) {
    const int32_t version = std::max(0, pick_version(a));
    std::string data = fresh_data();
    model_ops = {ZnodeOp::check(a, version), ZnodeOp::set_data(a, data, version)};
    ops = {cc::op_check(a, version), cc::op_set_data(a, data, version)};
  } else if (dice == 1) {
    std::string data = fresh_data();
    model_ops = {ZnodeOp::create(a, data), ZnodeOp::remove(b, -1)};
    ops = {cc::op_create(a, data, cc::open_acl_unsafe()), cc::op_remove(b, -1)};
    if (a == b) model_ops.pop_back(), ops.pop_back();
  } else {
    std::string d1 = fresh_data(), d2 = fresh_data();
    model_ops = {ZnodeOp::set_data(a, d1, -1), ZnodeOp::set_data(b, d2, -1)};
    ops = {cc::op_set_data(a, d1, -1), cc::op_set_data(b, d2, -1)};
  }
  const int64_t invoke = now_us();
  auto got = await(client_.multi(std::move(ops)));
  ZnodeResult result;
  if (got.ok()) {
    int32_t code = lin::zk::kOk;
    for (const cc::OpResult& r : *got) {
      ZnodeResult one = ZnodeResult::error(zk_code(r.error));
      if (r.error == ErrorCode::kOk && r.type == coord::jute::OpCode::kSetData)
        one.version = r.stat.version;
      if (code == lin::zk::kOk && r.error != ErrorCode::kOk &&
          r.error != ErrorCode::kRuntimeInconsistency) {
        code = zk_code(r.error);
      }
      result.results.push_back(std::move(one));
    }
    result.code = code;
  }
  record(ZnodeOp::multi(std::move(model_ops)), invoke, got.status(), std::move(result));
}

// sync then getData on the same connection reads the latest committed value. If the session
// moved to another server in between, the read was not synced there: check it as a plain read.
void LinSession::do_synced_read(const std::string& path) {
  const int64_t invoke = now_us();
  const int64_t zxid_before = client_.last_zxid_seen().value();
  const uint64_t connects = client_.stats().connects;
  if (!await(client_.sync(path)).ok()) return;
  auto got = await(client_.get_data(path));
  const ErrorCode code = cc::zk_error(got.status());
  if (!got.ok() && code != ErrorCode::kNoNode) return;
  settle();
  if (client_.stats().connects != connects) {
    ++rec_.moved_reads;
    PlainRead r{id_,          path, zxid_before, client_.last_zxid_seen().value(), got.ok(),
                std::nullopt, 0};
    if (got.ok()) r.data = got->data, r.version = got->stat.version;
    rec_.plain_reads.push_back(std::move(r));
    return;
  }
  ++rec_.synced_reads;
  if (got.ok()) known_[path] = got->stat.version;
  record(ZnodeOp::get_data(path), invoke, got.status(),
         got.ok() ? ZnodeResult::get(got->data, got->stat.version) : ZnodeResult{});
}

void LinSession::do_plain_read(const std::string& path) {
  const int64_t zxid_before = client_.last_zxid_seen().value();
  PlainRead r{id_, path, zxid_before, 0, false, std::nullopt, 0};
  if (random_.below(2) == 0) {
    auto got = await(client_.exists(path));
    if (!got.ok()) return;
    r.exists = got->has_value();
    if (r.exists) r.version = (*got)->version;
  } else {
    auto got = await(client_.get_data(path));
    if (!got.ok() && cc::zk_error(got.status()) != ErrorCode::kNoNode) return;
    r.exists = got.ok();
    if (r.exists) r.data = got->data, r.version = got->stat.version;
  }
  settle();
  if (r.exists) known_[path] = r.version;
  r.zxid_after = client_.last_zxid_seen().value();
  rec_.plain_reads.push_back(std::move(r));
}

void run_worker(std::shared_ptr<Recorder> rec, std::string connect,
                CoordLinearizability::Options options) {
  IRandom& random = *current_context().random;
  cc::CoordClientOptions client_options;
  client_options.session_timeout =
      std::chrono::milliseconds(options.ensemble.max_session_timeout_ms);
  client_options.connect_timeout = 1s;
  client_options.request_timeout = 5s;
  client_options.reconnect_backoff_max = 500ms;
  while (!rec->stopped) {
    auto client = cc::CoordClient::create(connect, client_options);
    WEIR_ASSERT_MSG(client.ok(), "the ensemble's connect string parses");
    ++rec->sessions;
    if (!await((*client)->await_state(cc::SessionState::kConnected, 10s)).ok()) continue;
    LinSession session(*rec, **client, rec->next_client++, options.paths, random);
    while (!rec->stopped && (*client)->state() != cc::SessionState::kExpired) {
      session.step();
      delay(
          std::chrono::milliseconds(random.below(static_cast<uint64_t>(options.think_ms_max) + 1)));
    }
    if ((*client)->state() == cc::SessionState::kExpired) {
      CODE_PROBE(true, "coord_lin.session_expired");
      ++rec->expired;
      session.ended();
    } else if (await(timeout((*client)->close(), 5s)).ok()) {
      session.ended();
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> CoordLinearizability::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  auto ensemble = parse_ensemble_options(o);
  if (!ensemble.ok()) return ensemble.status();
  options.ensemble = *ensemble;
  options.sessions_per_client = static_cast<int>(o.get_int("sessions_per_client", 3, 1, 32));
  options.paths = static_cast<int>(o.get_int("paths", 5, 1, 64));
  options.think_ms_max = o.get_int("think_ms_max", 40, 0, 10000);
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<CoordLinearizability>(options));
}

CoordLinearizability::CoordLinearizability(Options options)
    : options_(options), ensemble_(options.ensemble), recorder_(std::make_shared<Recorder>()) {}
CoordLinearizability::~CoordLinearizability() = default;

absl::Status CoordLinearizability::setup(ICluster& cluster) {
  return ensemble_.setup(cluster, "coord-lin");
}

void CoordLinearizability::start(ICluster& cluster) {
  run_on_clients(
      cluster, options_.sessions_per_client, "coord-lin-worker",
      [rec = recorder_, connect = ensemble_.connect_string(), options = options_] {
        run_worker(rec, connect, options);
      },
      recorder_->stopped);
}

void CoordLinearizability::stop() {
  recorder_->stopped = true;
}

Verdict CoordLinearizability::check(ICluster& cluster) {
  const TimePoint healed = Scheduler::current().now();
  auto probe =
      spawn_in(cluster.client(0), "coord-lin-recheck", [this] { ensemble_.await_writable(); });
  (void)await(probe);
  recorder_->recovery_seconds = to_seconds(Scheduler::current().now() - healed);
  ensemble_.await_converged();
  std::vector<std::string> paths;
  for (int p = 0; p < options_.paths; ++p) paths.push_back(absl::StrCat("/k", p));
  auto timelines = ensemble_.replay(paths);
  if (!timelines.ok()) return Verdict::correctness(std::string(timelines.status().message()));
  if (auto bad = check_plain_reads(recorder_->plain_reads, *timelines))
    return Verdict::correctness(*bad);
  lin::CheckResult result = lin::check<ZnodeModel>(recorder_->history);
  recorder_->lin_steps = result.steps;
  recorder_->partitions = result.partitions;
  if (result.illegal()) return Verdict::correctness("not linearizable: " + result.to_string());
  if (result.unknown())
    return Verdict::correctness("linearizability undecided: " + result.to_string());
  return Verdict::pass();
}

std::map<std::string, double> CoordLinearizability::metrics() const {
  const Recorder& r = *recorder_;
  return {{"ops", static_cast<double>(r.history.size())},
          {"unknown_ops", static_cast<double>(r.unknown)},
          {"plain_reads", static_cast<double>(r.plain_reads.size())},
          {"synced_reads", static_cast<double>(r.synced_reads)},
          {"sessions", static_cast<double>(r.sessions)},
          {"sessions_expired", static_cast<double>(r.expired)},
          {"committed", static_cast<double>(ensemble_.committed_count())},
          {"elections", static_cast<double>(ensemble_.elections())},
          {"lin_steps", static_cast<double>(r.lin_steps)},
          {"recovery_seconds", r.recovery_seconds}};
}

}  // namespace weir::workloads
