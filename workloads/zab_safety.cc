#include "workloads/zab_safety.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/zab/peer.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/rpc.pb.h"
#include "runtime/rpc/server.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {
namespace {

using coord::Zxid;
constexpr uint16_t kPeerPort = 2888;
constexpr uint16_t kClientPort = 2191;  // the test's write endpoint (not the ZooKeeper protocol)
constexpr char kWrite[] = "zabtest.write";

uint64_t payload_hash(std::string_view payload) {
  return hash_bytes(0x2ab, payload);
}

// The replicated state: a running hash over every applied payload, so that two replicas with
// equal hashes applied the same history.
class HistoryMachine final : public coord::zab::IStateMachine {
 public:
  void apply(Zxid zxid, int64_t, std::string_view payload) override {
    WEIR_ASSERT_MSG(zxid > last_, "txns applied out of order");
    last_ = zxid;
    ++count_;
    hash_ = hash_bytes(hash_combine(hash_, static_cast<uint64_t>(zxid.value())), payload);
  }
  Zxid last_applied() const override { return last_; }
  std::string snapshot() const override {
    std::string out(24, '\0');
    const int64_t z = last_.value();
    std::memcpy(out.data(), &z, 8);
    std::memcpy(out.data() + 8, &count_, 8);
    std::memcpy(out.data() + 16, &hash_, 8);
    return out;
  }
  // The state is 24 bytes: one step takes it all.
  void begin_snapshot() override { pending_ = snapshot(); }
  absl::StatusOr<std::optional<std::string>> continue_snapshot(size_t) override {
    if (!pending_) return absl::AbortedError("no snapshot in progress");
    std::optional<std::string> out = std::move(pending_);
    pending_.reset();
    return out;
  }
  absl::Status restore(Zxid zxid, std::string_view snapshot) override {
    pending_.reset();
    if (snapshot.size() != 24) return absl::DataLossError("bad HistoryMachine snapshot");
    int64_t z;
    std::memcpy(&z, snapshot.data(), 8);
    std::memcpy(&count_, snapshot.data() + 8, 8);
    std::memcpy(&hash_, snapshot.data() + 16, 8);
    if (z != zxid.value()) return absl::DataLossError("snapshot zxid mismatch");
    last_ = zxid;
    return absl::OkStatus();
  }

 private:
  Zxid last_;
  uint64_t count_ = 0;
  uint64_t hash_ = 0;
  std::optional<std::string> pending_;
};

}  // namespace

struct ZabSafety::Ledger final : coord::zab::IZabObserver {
  struct Segment {
    int64_t server = 0;
    int64_t start = 0;  // zxid the state machine started from (0 or a snapshot)
    std::vector<int64_t> applied;
  };
  std::map<uint32_t, std::set<int64_t>> leaders_by_epoch;
  std::map<int64_t, uint64_t> committed;  // zxid -> payload hash, from every application
  std::vector<Segment> segments;
  std::map<int64_t, size_t> current;  // server -> its segment now
  std::map<int64_t, uint64_t> acked;  // writes acknowledged to clients
  std::vector<std::string> violations;
  uint64_t writes_ok = 0, writes_failed = 0, establishments = 0;
  double recovery_seconds = 0;
  bool stopped = false;

  void violation(std::string what) {
    TraceEvent(Severity::kWarnAlways, "ZabSafetyViolation").detail("What", what);
    if (violations.size() < 50) violations.push_back(std::move(what));
  }
  void begin_segment(int64_t server, int64_t start) {
    segments.push_back({server, start, {}});
    current[server] = segments.size() - 1;
  }
  void on_established(int64_t server, uint32_t epoch) override {
    ++establishments;
    auto& leaders = leaders_by_epoch[epoch];
    leaders.insert(server);
    if (leaders.size() > 1) violation(absl::StrCat("two leaders established in epoch ", epoch));
  }
  void on_restored(int64_t server, Zxid zxid) override { begin_segment(server, zxid.value()); }
  void on_applied(int64_t server, Zxid zxid, std::string_view payload) override {
    const uint64_t h = payload_hash(payload);
    auto [it, inserted] = committed.emplace(zxid.value(), h);
    if (!inserted && it->second != h) {
      violation(absl::StrCat("two different txns committed at zxid ", zxid.value()));
    }
    segments[current.at(server)].applied.push_back(zxid.value());
  }
  // Every segment must apply the committed history without skipping a txn.
  void check_contiguity() {
    for (const Segment& s : segments) {
      int64_t prev = s.start;
      for (int64_t z : s.applied) {
        auto next = committed.upper_bound(prev);
        if (next != committed.end() && next->first != z) {
          violation(absl::StrCat("server ", s.server, " applied zxid ", z, " after ", prev,
                                 ", skipping committed zxid ", next->first));
          return;
        }
        prev = z;
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<Workload>> ZabSafety::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.voters = static_cast<int>(o.get_int("voters", 3, 1, 9));
  options.observers = static_cast<int>(o.get_int("observers", 1, 0, 4));
  options.writers_per_client = static_cast<int>(o.get_int("writers_per_client", 2, 1, 64));
  options.tick_ms = o.get_int("tick_ms", 100, 10, 2000);
  options.snapshot_every_txns = o.get_int("snapshot_every_txns", 200, 10, 1000000);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "commit_without_quorum") {
    options.bug_commit_without_quorum = true;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("ZabSafety: unknown bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<ZabSafety>(options));
}

ZabSafety::ZabSafety(Options options) : options_(options), ledger_(std::make_shared<Ledger>()) {}
ZabSafety::~ZabSafety() = default;

namespace {

// One server process: a ZAB peer plus the test's write endpoint. A storage error restarts the
// peer from disk within the same process, as a supervisor would restart the binary.
void run_server(ProcessContext& ctx, std::shared_ptr<coord::zab::EnsembleConfig> config,
                ZabSafety::Options options, std::shared_ptr<ZabSafety::Ledger> ledger) {
  int64_t id = 0;
  for (const auto& s : config->servers()) {
    if (s.peer_address == ctx.address) id = s.id;
  }
  WEIR_ASSERT_MSG(id != 0, "server address not in the ensemble");
  coord::zab::ZabOptions zab;
  zab.tick = std::chrono::milliseconds(options.tick_ms);
  zab.snapshot_every_txns = options.snapshot_every_txns;
  while (true) {
    ledger->begin_segment(id, 0);
    HistoryMachine machine;
    coord::zab::ZabPeer peer(id, *config, zab, machine, ctx);
    peer.set_observer(ledger.get());
    if (options.bug_commit_without_quorum) peer.set_bug(coord::zab::ZabBug::kCommitWithoutQuorum);
    rpc::RpcServer writes(*ctx.network);
    writes.handle<rpc::EchoRequest, rpc::EchoReply>(
        kWrite, [&peer](const rpc::EchoRequest& r) -> absl::StatusOr<rpc::EchoReply> {
          auto zxid = peer.submit(r.payload(), 2s);
          if (!zxid.ok()) return zxid.status();
          if (auto s = peer.wait_applied(*zxid, 2s); !s.ok()) return s;
          rpc::EchoReply rep;
          rep.set_sequence(static_cast<uint64_t>(zxid->value()));
          return rep;
        });
    const std::string ip = ctx.address.substr(0, ctx.address.rfind(':'));
    if (auto s = writes.start(absl::StrCat(ip, ":", kClientPort)); !s.ok()) {
      TraceEvent(Severity::kWarn, "ZabSafetyServerPortBusy").detail("Status", s.ToString());
    }
    const absl::Status s = peer.run();
    TraceEvent(Severity::kWarn, "ZabServerRestart").detail("Status", s.ToString());
    writes.stop();
    delay(100ms);
  }
}

absl::StatusOr<uint64_t> write_once(rpc::RpcClient& client, const std::string& server,
                                    const std::string& payload) {
  rpc::EchoRequest req;
  req.set_payload(payload);
  auto rep = client.call<rpc::EchoRequest, rpc::EchoReply>(server, kWrite, req, 3s);
  if (!rep.ok()) return rep.status();
  return rep->sequence();
}

}  // namespace

absl::Status ZabSafety::setup(ICluster& cluster) {
  auto config = std::make_shared<coord::zab::EnsembleConfig>();
  RoleSpec role;
  role.name = "zab";
  role.count = options_.voters + options_.observers;
  role.port = kPeerPort;
  role.boot = [config, options = options_, ledger = ledger_](ProcessContext& ctx) {
    run_server(ctx, config, options, ledger);
  };
  auto addresses = cluster.start_role(role);
  if (!addresses.ok()) return addresses.status();
  // The boot functions run on the next turn of the scheduler: the config is complete by then.
  std::vector<coord::zab::ServerSpec> specs;
  for (size_t i = 0; i < addresses->size(); ++i) {
    const std::string& a = (*addresses)[i];
    const std::string ip = a.substr(0, a.rfind(':'));
    coord::zab::ServerSpec s;
    s.id = static_cast<int64_t>(i) + 1;
    s.peer_address = a;
    s.client_address = absl::StrCat(ip, ":", kClientPort);
    s.observer = static_cast<int>(i) >= options_.voters;
    specs.push_back(s);
    client_addresses_.push_back(s.client_address);
  }
  *config = coord::zab::EnsembleConfig(std::move(specs));
  return absl::OkStatus();
}

void ZabSafety::start(ICluster& cluster) {
  std::vector<Future<void>> writers;
  for (int c = 0; c < cluster.client_count(); ++c) {
    writers.push_back(spawn_in(cluster.client(c), "zab-writers", [this, c] {
      rpc::RpcClient client;
      std::vector<Future<void>> mine;
      for (int w = 0; w < options_.writers_per_client; ++w) {
        mine.push_back(spawn("zab-writer", [this, &client, c, w] {
          IRandom& random = *current_context().random;
          for (uint64_t seq = 0; !ledger_->stopped; ++seq) {
            const std::string payload = absl::StrCat("c", c, "w", w, "s", seq);
            const std::string& server = client_addresses_[random.below(client_addresses_.size())];
            auto zxid = write_once(client, server, payload);
            if (zxid.ok()) {
              ++ledger_->writes_ok;
              ledger_->acked[static_cast<int64_t>(*zxid)] = payload_hash(payload);
            } else {
              ++ledger_->writes_failed;
              delay(from_seconds(0.05 + random.uniform01() * 0.1));
            }
          }
        }));
      }
      (void)await(when_all(mine));
    }));
  }
  while (!ledger_->stopped) delay(100ms);
  (void)await(timeout(when_all(writers), 5s));
}

void ZabSafety::stop() {
  ledger_->stopped = true;
}

Verdict ZabSafety::check(ICluster& cluster) {
  const TimePoint healed = Scheduler::current().now();
  // Liveness: every server takes a write again (a leader exists and a quorum works).
  auto recheck = spawn_in(cluster.client(0), "zab-recheck", [this] {
    rpc::RpcClient client;
    for (size_t i = 0; i < client_addresses_.size(); ++i) {
      while (!write_once(client, client_addresses_[i], absl::StrCat("recheck", i)).ok()) {
        CODE_PROBE(true, "zab_safety.recheck_retried");
        delay(200ms);
      }
    }
  });
  (void)await(recheck);
  ledger_->recovery_seconds = to_seconds(Scheduler::current().now() - healed);
  // Convergence: every server's current state machine reaches the newest committed zxid.
  auto last_of = [](const Ledger::Segment& s) {
    return s.applied.empty() ? s.start : s.applied.back();
  };
  while (true) {
    const int64_t newest = ledger_->committed.empty() ? 0 : ledger_->committed.rbegin()->first;
    bool converged = true;
    for (const auto& [server, index] : ledger_->current) {
      converged = converged && last_of(ledger_->segments[index]) == newest;
    }
    if (converged) break;
    delay(100ms);
  }
  ledger_->check_contiguity();
  for (const auto& [zxid, h] : ledger_->acked) {
    auto it = ledger_->committed.find(zxid);
    if (it == ledger_->committed.end() || it->second != h) {
      ledger_->violation(
          absl::StrCat("acknowledged write at zxid ", zxid, " is not what was committed"));
      break;
    }
  }
  if (!ledger_->violations.empty()) return Verdict::correctness(ledger_->violations.front());
  return Verdict::pass();
}

std::map<std::string, double> ZabSafety::metrics() const {
  return {{"writes_ok", static_cast<double>(ledger_->writes_ok)},
          {"writes_failed", static_cast<double>(ledger_->writes_failed)},
          {"committed", static_cast<double>(ledger_->committed.size())},
          {"establishments", static_cast<double>(ledger_->establishments)},
          {"epochs", static_cast<double>(ledger_->leaders_by_epoch.size())},
          {"recovery_seconds", ledger_->recovery_seconds}};
}

}  // namespace weir::workloads
