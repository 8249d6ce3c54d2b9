#include "workloads/coord_ensemble.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coord/client/client.h"
#include "coord/server/coord_server.h"
#include "coord/server/tree_machine.h"
#include "coord/zab/peer.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::workloads {

using coord::Zxid;
namespace server = coord::server;

namespace {
constexpr uint16_t kPeerPort = 2888;
constexpr uint16_t kClientPort = 2181;
constexpr uint16_t kElectionPort = 3888;  // session touches, as a zoo.cfg names it
}  // namespace

// Every server's applies, outside the simulated processes: the committed history is their
// union (each committed txn is applied live by some server before anyone can restore past it).
struct CoordEnsemble::Ledger final : coord::zab::IZabObserver {
  std::map<int64_t, std::string> committed;  // zxid -> payload
  std::map<int64_t, int64_t> applied;        // server -> its state machine's last zxid
  std::vector<std::string> conflicts;
  uint64_t establishments = 0;

  void on_established(int64_t, uint32_t) override { ++establishments; }
  void on_restored(int64_t server, Zxid zxid) override { applied[server] = zxid.value(); }
  void on_applied(int64_t server, Zxid zxid, std::string_view payload) override {
    applied[server] = zxid.value();
    auto [it, inserted] = committed.emplace(zxid.value(), std::string(payload));
    if (!inserted && it->second != payload && conflicts.size() < 10) {
      conflicts.push_back(absl::StrCat("two different txns applied at zxid ", zxid.value()));
    }
  }
};

absl::StatusOr<CoordEnsembleOptions> parse_ensemble_options(WorkloadOptions& o) {
  CoordEnsembleOptions e;
  e.voters = static_cast<int>(o.get_int("voters", 3, 1, 9));
  e.observers = static_cast<int>(o.get_int("observers", 1, 0, 4));
  e.tick_ms = o.get_int("tick_ms", 100, 10, 2000);
  e.snapshot_every_txns = o.get_int("snapshot_every_txns", 500, 10, 1000000);
  // Trees in these runs are small: tiny steps make every snapshot span many applies.
  e.snapshot_step_nodes = static_cast<size_t>(o.get_int("snapshot_step_nodes", 3, 1, 1000000));
  e.max_session_timeout_ms =
      static_cast<int32_t>(o.get_int("max_session_timeout_ms", 4000, 100, 600000));
  e.container_check_ms = o.get_int("container_check_ms", 1000, 10, 600000);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "sync_without_barrier") {
    e.bug = server::CoordBug::kSyncWithoutBarrier;
  } else if (bug == "sessions_never_expire") {
    e.bug = server::CoordBug::kSessionsNeverExpire;
  } else if (bug == "watch_after_reply") {
    e.bug = server::CoordBug::kWatchAfterReply;
  } else if (bug == "reaper_idle") {
    e.bug = server::CoordBug::kReaperIdle;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("unknown coord server bug " + bug);
  }
  return e;
}

CoordEnsemble::CoordEnsemble(CoordEnsembleOptions options)
    : options_(options), ledger_(std::make_shared<Ledger>()) {}
CoordEnsemble::~CoordEnsemble() = default;

namespace {

// One server process. A storage error restarts the server from disk within the process, as a
// supervisor would restart the binary.
void run_server(ProcessContext& ctx, std::shared_ptr<server::ServerConfig> shared,
                coord::zab::IZabObserver* observer) {
  server::ServerConfig config = *shared;
  for (const auto& s : config.ensemble.servers()) {
    if (s.peer_address == ctx.address) config.my_id = s.id;
  }
  WEIR_ASSERT_MSG(config.my_id != 0, "server address not in the ensemble");
  config.data_dir = ctx.data_dir;
  while (true) {
    server::CoordServer coord_server(config, ctx);
    coord_server.peer().set_observer(observer);
    const absl::Status s = coord_server.run();
    TraceEvent(Severity::kWarn, "CoordServerRestart").detail("Status", s.ToString());
    delay(100ms);
  }
}

}  // namespace

absl::Status CoordEnsemble::setup(ICluster& cluster, const std::string& role_name) {
  auto config = std::make_shared<server::ServerConfig>();
  config->zab.tick = std::chrono::milliseconds(options_.tick_ms);
  config->zab.snapshot_every_txns = options_.snapshot_every_txns;
  config->zab.snapshot_step_nodes = options_.snapshot_step_nodes;
  config->max_session_timeout_ms = options_.max_session_timeout_ms;
  config->container_check_interval = std::chrono::milliseconds(options_.container_check_ms);
  config->bug = options_.bug;
  RoleSpec role;
  role.name = role_name;
  role.count = options_.voters + options_.observers;
  role.port = kPeerPort;
  role.boot = [config, ledger = ledger_](ProcessContext& ctx) {
    run_server(ctx, config, ledger.get());
  };
  auto addresses = cluster.start_role(role);
  if (!addresses.ok()) return addresses.status();
  // The boot functions run on the next turn of the scheduler: the config is complete by then.
  std::vector<coord::zab::ServerSpec> specs;
  std::vector<std::string> clients;
  for (size_t i = 0; i < addresses->size(); ++i) {
    const std::string& a = (*addresses)[i];
    coord::zab::ServerSpec s;
    s.id = static_cast<int64_t>(i) + 1;
    s.peer_address = a;
    s.election_address = absl::StrCat(a.substr(0, a.rfind(':')), ":", kElectionPort);
    s.client_address = absl::StrCat(a.substr(0, a.rfind(':')), ":", kClientPort);
    s.observer = static_cast<int>(i) >= options_.voters;
    clients.push_back(s.client_address);
    specs.push_back(std::move(s));
  }
  config->ensemble = coord::zab::EnsembleConfig(std::move(specs));
  connect_string_ = absl::StrJoin(clients, ",");
  return absl::OkStatus();
}

void CoordEnsemble::await_converged() {
  const size_t servers = static_cast<size_t>(options_.voters + options_.observers);
  while (true) {
    const int64_t newest = ledger_->committed.empty() ? 0 : ledger_->committed.rbegin()->first;
    bool converged = ledger_->applied.size() == servers;
    for (const auto& [server, zxid] : ledger_->applied) converged = converged && zxid == newest;
    if (converged) return;
    delay(100ms);
  }
}

void CoordEnsemble::await_writable() const {
  auto client = coord::client::CoordClient::create(connect_string_, {.request_timeout = 5s});
  WEIR_ASSERT_MSG(client.ok(), "the ensemble's connect string parses");
  while (!await((*client)->set_data("/", "recheck")).ok()) delay(100ms);
  (void)await(timeout((*client)->close(), 5s));
}

void run_on_clients(ICluster& cluster, int per_client, std::string_view name,
                    std::function<void()> body, const bool& stopped) {
  std::vector<Future<void>> workers;
  for (int c = 0; c < cluster.client_count(); ++c) {
    for (int s = 0; s < per_client; ++s) workers.push_back(spawn_in(cluster.client(c), name, body));
  }
  while (!stopped) delay(100ms);
  (void)await(timeout(when_all(workers), 15s));
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             Scheduler::current().now().time_since_epoch())
      .count();
}

uint64_t CoordEnsemble::committed_count() const {
  return ledger_->committed.size();
}
uint64_t CoordEnsemble::elections() const {
  return ledger_->establishments;
}

namespace {

// Zxids are (epoch << 32 | counter) and each leader counts from 1: a missing counter means
// the ledger missed a committed txn, and the replay would be wrong.
absl::Status check_no_gap(int64_t prev, int64_t zxid) {
  const int64_t counter = zxid & 0xffffffff;
  const bool same_epoch = prev >> 32 == zxid >> 32;
  if ((same_epoch && counter == (prev & 0xffffffff) + 1) || (!same_epoch && counter == 1)) {
    return absl::OkStatus();
  }
  return absl::DataLossError(
      absl::StrCat("committed history has a gap between zxid ", prev, " and ", zxid));
}

CommittedValue read_value(const coord::DataTree& tree, const std::string& path, int64_t zxid) {
  const coord::Id super{"super", ""};
  auto got = tree.get_data(path, absl::Span<const coord::Id>(&super, 1));
  CommittedValue v;
  v.zxid = zxid;
  if (got.err == coord::ErrorCode::kOk) {
    v.data = got.data ? *got.data : "";
    v.version = got.stat.version;
  }
  return v;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::vector<CommittedValue>>> CoordEnsemble::replay(
    const std::vector<std::string>& paths) const {
  if (!ledger_->conflicts.empty()) return absl::DataLossError(ledger_->conflicts.front());
  server::WatchManager watches;
  server::TreeMachine machine(watches);
  std::map<std::string, std::vector<CommittedValue>> timelines;
  for (const auto& p : paths) timelines[p].push_back(CommittedValue{});
  int64_t prev = 0;
  for (const auto& [zxid, payload] : ledger_->committed) {
    if (absl::Status s = check_no_gap(prev, zxid); !s.ok()) return s;
    prev = zxid;
    machine.apply(Zxid(zxid), 0, payload);
    for (auto& [path, timeline] : timelines) {
      CommittedValue now = read_value(machine.tree(), path, zxid);
      if (!(now == timeline.back())) timeline.push_back(std::move(now));
    }
  }
  return timelines;
}

const CommittedValue& value_at(const std::vector<CommittedValue>& timeline, int64_t zxid) {
  WEIR_ASSERT(!timeline.empty());
  auto it = std::upper_bound(timeline.begin(), timeline.end(), zxid,
                             [](int64_t z, const CommittedValue& v) { return z < v.zxid; });
  WEIR_ASSERT(it != timeline.begin());
  return *std::prev(it);
}

}  // namespace weir::workloads
