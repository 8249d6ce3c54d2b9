#include "workloads/coord_sessions.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "buggify/code_probe.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "workloads/coord_reaped.h"

namespace weir::workloads {

namespace cc = coord::client;
using coord::jute::ErrorCode;

namespace {

constexpr char kEphemeralParent[] = "/eph";
constexpr char kSequentialParent[] = "/seq";

// One session incarnation, as far as the checker needs it (times in simulated microseconds).
struct SessionLife {
  std::string ephemeral;            // "/eph/e<id>"
  std::optional<int64_t> created;   // the ephemeral's create was acknowledged then
  int64_t alive_write_invoke = -1;  // newest acknowledged write's invoke: alive until then
  std::optional<int64_t> ended;     // close acknowledged, or expiry observed
  const char* end_reason = "";
  std::optional<int64_t> abandoned;  // the client went away without closing
};

// sync then getChildren on one connection: a linearizable read of the ephemerals.
struct ChildrenRead {
  int64_t invoke = 0;
  int64_t ret = 0;
  std::set<std::string> children;
};

struct SequentialCreate {
  int32_t session = 0;
  int64_t invoke = 0;
  int64_t ret = 0;
  int64_t number = 0;
};

// A one-shot data watch and what the read that set it saw.
struct WatchRecord {
  std::string path;
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int fired = 0;
};

}  // namespace

struct CoordSessions::Recorder {
  std::map<int32_t, SessionLife> lives;
  std::vector<ChildrenRead> reads;
  std::vector<SequentialCreate> sequentials;
  std::vector<std::string> violations;
  bool stopped = false;
  int workers_running = 0;
  int32_t next_id = 1;
  uint64_t closed = 0, abandoned = 0, expired = 0, resumed = 0, watches_set = 0, watches_fired = 0;
  double recovery_seconds = 0, expiry_wait_seconds = 0;
  ReapedStats reaped;

  void violation(std::string what) {
    TraceEvent(Severity::kWarnAlways, "CoordSessionsViolation").detail("What", what);
    if (violations.size() < 20) violations.push_back(std::move(what));
  }
};

namespace {

using Recorder = CoordSessions::Recorder;

class SessionRunner {
 public:
  SessionRunner(std::shared_ptr<Recorder> rec, cc::CoordClient& client, int32_t id,
                int watched_paths, IRandom& random)
      : rec_(std::move(rec)),
        client_(client),
        id_(id),
        watched_paths_(watched_paths),
        random_(random) {}

  SessionLife& life() { return rec_->lives[id_]; }
  bool expired() const { return client_.state() == cc::SessionState::kExpired; }

  void create_ephemeral() {
    const int64_t invoke = now_us();
    auto got = await(
        client_.create(life().ephemeral, "", cc::open_acl_unsafe(), cc::CreateMode::kEphemeral));
    if (got.ok()) {
      life().created = now_us();
      life().alive_write_invoke = invoke;
    }
  }

  // One random action; false when the session should end by choice.
  bool step() {
    const uint64_t dice = random_.below(100);
    const std::string path =
        absl::StrCat("/w", random_.below(static_cast<uint64_t>(watched_paths_)));
    if (dice < 30) {
      touch(path);
    } else if (dice < 55) {
      read(path, /*watch=*/!active_.contains(path));
    } else if (dice < 70) {
      create_sequential();
    } else if (dice < 80) {
      read_ephemerals();
    } else if (dice < 82) {
      return false;
    } else if (dice < 86) {
      use_container(client_, random_, id_, rec_->reaped);
    } else if (dice < 88) {
      create_ttl_node(client_, random_, id_, rec_->reaped);
    }
    return true;
  }

 private:
  void alive_since(int64_t invoke) {
    life().alive_write_invoke = std::max(life().alive_write_invoke, invoke);
  }

  void touch(const std::string& path) {
    const int64_t invoke = now_us();
    if (await(client_.set_data(path, absl::StrCat("s", id_))).ok()) alive_since(invoke);
  }

  void read(const std::string& path, bool watch);
  void create_sequential();
  void read_ephemerals();

  std::shared_ptr<Recorder> rec_;
  cc::CoordClient& client_;
  const int32_t id_;
  const int watched_paths_;
  IRandom& random_;
  std::map<std::string, std::shared_ptr<WatchRecord>> active_;  // unfired watches by path
};

// A read of a watched node must not show a version newer than an unfired watch on it saw.
void SessionRunner::read(const std::string& path, bool watch) {
  auto record = std::make_shared<WatchRecord>();
  record->path = path;
  cc::Watcher watcher;
  if (watch) {
    watcher = [record, rec = rec_, id = id_](const cc::WatchEvent& event) {
      ++rec->watches_fired;
      if (++record->fired > 1) {
        rec->violation(absl::StrCat("session ", id, ": the watch on ", record->path,
                                    " fired twice (last: ", static_cast<int>(event.type), ")"));
      }
    };
  }
  auto got = await(client_.get_data(path, std::move(watcher)));
  if (!got.ok()) return;
  if (auto it = active_.find(path); it != active_.end()) {
    const WatchRecord& w = *it->second;
    const bool changed = got->stat.czxid.value() != w.czxid || got->stat.mzxid.value() != w.mzxid;
    if (changed && w.fired == 0) {
      rec_->violation(absl::StrCat("session ", id_, " read ", path, " at mzxid ",
                                   got->stat.mzxid.value(), " before its watch set at mzxid ",
                                   w.mzxid, " fired"));
    }
    if (w.fired > 0 || changed) active_.erase(it);
  }
  if (watch) {
    ++rec_->watches_set;
    record->czxid = got->stat.czxid.value();
    record->mzxid = got->stat.mzxid.value();
    if (record->fired == 0) active_[path] = record;
  }
}

void SessionRunner::create_sequential() {
  const int64_t invoke = now_us();
  auto got = await(client_.create(absl::StrCat(kSequentialParent, "/s-"), "", cc::open_acl_unsafe(),
                                  cc::CreateMode::kPersistentSequential));
  if (!got.ok()) return;
  alive_since(invoke);
  int64_t number = -1;
  const size_t dash = got->rfind('-');
  if (dash == std::string::npos || got->size() - dash - 1 != 10 ||
      !absl::SimpleAtoi(got->substr(dash + 1), &number)) {
    rec_->violation(absl::StrCat("sequential create returned ", *got));
    return;
  }
  rec_->sequentials.push_back({id_, invoke, now_us(), number});
}

void SessionRunner::read_ephemerals() {
  const int64_t invoke = now_us();
  const uint64_t connects = client_.stats().connects;
  if (!await(client_.sync(kEphemeralParent)).ok()) return;
  auto got = await(client_.get_children(kEphemeralParent));
  if (!got.ok() || client_.stats().connects != connects) return;
  ChildrenRead r{invoke, now_us(), {}};
  for (const std::string& c : *got) r.children.insert(absl::StrCat(kEphemeralParent, "/", c));
  rec_->reads.push_back(std::move(r));
}

cc::CoordClientOptions client_options(const CoordSessions::Options& options) {
  cc::CoordClientOptions o;
  o.session_timeout = std::chrono::milliseconds(options.ensemble.max_session_timeout_ms);
  o.connect_timeout = 1s;
  o.request_timeout = 5s;
  o.reconnect_backoff_max = 500ms;
  return o;
}

// Creates the parents (and watched nodes) every session needs; any session may be first.
void ensure_nodes(cc::CoordClient& client, const CoordSessions::Options& options,
                  const Recorder& rec) {
  std::vector<std::string> paths = {kEphemeralParent, kSequentialParent, kContainerParent,
                                    kTtlParent};
  for (int w = 0; w < options.watched_paths; ++w) paths.push_back(absl::StrCat("/w", w));
  for (const std::string& p : paths) {
    while (!rec.stopped) {
      auto got = await(client.create(p, "", cc::open_acl_unsafe()));
      if (got.ok() || cc::zk_error(got.status()) == ErrorCode::kNodeExists) break;
      delay(200ms);
    }
  }
}

// Ends a session that did not expire: close it (and wait for the answer) or walk away.
void end_session(Recorder& rec, cc::CoordClient& client, SessionLife& life, IRandom& random) {
  if (client.state() == cc::SessionState::kExpired) {
    CODE_PROBE(true, "coord_sessions.expired");
    ++rec.expired;
    life.ended = now_us();
    life.end_reason = "expired";
    return;
  }
  if (random.below(2) == 0) {
    const int64_t invoke = now_us();
    if (await(timeout(client.close(), 5s)).ok()) {
      ++rec.closed;
      life.ended = now_us();
      life.end_reason = "closed";
      return;
    }
    life.abandoned = invoke;
  } else {
    life.abandoned = now_us();
  }
  ++rec.abandoned;
}

// The client walks away without a word (no closeSession: the server only notices the silence)
// and comes back around the session's expiry, as often just before it as after, resuming the
// session from a new client. Before the expiry the session lives on (the new client is
// returned); after it the server says expired. Nullptr when the session is over for the worker.
std::unique_ptr<cc::CoordClient> walk_away_and_return(Recorder& rec,
                                                      std::unique_ptr<cc::CoordClient> client,
                                                      SessionLife& life, const std::string& connect,
                                                      const CoordSessions::Options& options,
                                                      IRandom& random) {
  const auto session = client->session_id();
  const std::string password = client->session_password();
  const Duration timeout = client->negotiated_timeout();
  client.reset();
  life.abandoned = now_us();
  delay(from_seconds(to_seconds(timeout) * (0.5 + random.uniform01())));
  cc::CoordClientOptions o = client_options(options);
  o.resume_session_id = session;
  o.resume_password = password;
  auto back = cc::CoordClient::create(connect, o);
  WEIR_ASSERT_MSG(back.ok(), "the ensemble's connect string parses");
  (void)await((*back)->await_state(cc::SessionState::kConnected, 10s));
  if ((*back)->state() == cc::SessionState::kExpired) {
    CODE_PROBE(true, "coord_sessions.expired");
    CODE_PROBE(true, "coord_sessions.expired_on_return");
    ++rec.expired;
    life.ended = now_us();
    life.end_reason = "expired";
    return nullptr;
  }
  if ((*back)->state() != cc::SessionState::kConnected) return nullptr;  // still abandoned
  CODE_PROBE(true, "coord_sessions.resumed_before_expiry");
  ++rec.resumed;
  life.abandoned.reset();
  return std::move(*back);
}

void run_worker(std::shared_ptr<Recorder> rec, std::string connect,
                CoordSessions::Options options) {
  IRandom& random = *current_context().random;
  ++rec->workers_running;
  bool nodes_ready = false;
  while (!rec->stopped) {
    auto client = cc::CoordClient::create(connect, client_options(options));
    WEIR_ASSERT_MSG(client.ok(), "the ensemble's connect string parses");
    const int32_t id = rec->next_id++;
    rec->lives[id].ephemeral = absl::StrCat(kEphemeralParent, "/e", id);
    if (!await((*client)->await_state(cc::SessionState::kConnected, 10s)).ok()) {
      rec->lives[id].abandoned = now_us();  // it may exist on the server
      continue;
    }
    if (!nodes_ready) ensure_nodes(**client, options, *rec), nodes_ready = true;
    std::unique_ptr<cc::CoordClient> live = std::move(*client);
    auto run_steps = [&](cc::CoordClient& c, bool first) {
      SessionRunner session(rec, c, id, options.watched_paths, random);
      if (first) session.create_ephemeral();
      while (!rec->stopped && !session.expired() && session.step()) {
        delay(std::chrono::milliseconds(
            random.below(static_cast<uint64_t>(options.think_ms_max) + 1)));
      }
    };
    run_steps(*live, true);
    if (!rec->stopped && live->state() == cc::SessionState::kConnected && random.below(3) == 0) {
      live = walk_away_and_return(*rec, std::move(live), rec->lives[id], connect, options, random);
      if (live == nullptr) continue;
      run_steps(*live, false);
    }
    end_session(*rec, *live, rec->lives[id], random);
  }
  --rec->workers_running;
}

}  // namespace

namespace {

// Ephemerals against each synced read: present while the session provably lived, absent after
// it ended.
void check_ephemerals(Recorder& rec) {
  for (const ChildrenRead& r : rec.reads) {
    for (const auto& [id, life] : rec.lives) {
      const bool listed = r.children.contains(life.ephemeral);
      if (!listed && life.created && *life.created < r.invoke && life.alive_write_invoke > r.ret) {
        rec.violation(absl::StrCat(life.ephemeral, " missing from a read at [", r.invoke, ", ",
                                   r.ret, "] us while its session lived (created at ",
                                   *life.created, ", wrote again from ", life.alive_write_invoke,
                                   ")"));
        return;
      }
      if (listed && life.ended && *life.ended < r.invoke) {
        rec.violation(absl::StrCat(life.ephemeral, " listed by a read at [", r.invoke, ", ", r.ret,
                                   "] us after its session ended (", life.end_reason, ") at ",
                                   *life.ended));
        return;
      }
    }
  }
}

// Sequential names: unique, increasing within a session, and in real-time order.
void check_sequentials(Recorder& rec) {
  std::map<int64_t, int32_t> owner;
  std::map<int32_t, int64_t> last;
  for (const SequentialCreate& s : rec.sequentials) {
    if (auto [it, inserted] = owner.emplace(s.number, s.session); !inserted) {
      return rec.violation(absl::StrCat("sequence number ", s.number, " given to sessions ",
                                        it->second, " and ", s.session));
    }
    if (auto it = last.find(s.session); it != last.end() && it->second >= s.number) {
      return rec.violation(absl::StrCat("session ", s.session, " got sequence number ", s.number,
                                        " after ", it->second));
    }
    last[s.session] = s.number;
  }
  std::vector<SequentialCreate> by_ret = rec.sequentials;
  std::sort(by_ret.begin(), by_ret.end(),
            [](const auto& a, const auto& b) { return a.ret < b.ret; });
  std::vector<int64_t> max_upto(by_ret.size());
  for (size_t i = 0; i < by_ret.size(); ++i)
    max_upto[i] = std::max(by_ret[i].number, i ? max_upto[i - 1] : -1);
  for (const SequentialCreate& s : rec.sequentials) {
    auto end = std::lower_bound(by_ret.begin(), by_ret.end(), s.invoke,
                                [](const SequentialCreate& a, int64_t t) { return a.ret < t; });
    const size_t n = static_cast<size_t>(end - by_ret.begin());
    if (n > 0 && max_upto[n - 1] >= s.number) {
      return rec.violation(absl::StrCat("sequence number ", s.number, " (invoked at ", s.invoke,
                                        " us) is not above ", max_upto[n - 1],
                                        ", acknowledged before it began"));
    }
  }
}

// After healing, every session is over: its ephemeral must go within the expiry bound.
void await_ephemerals_gone(Recorder& rec, const std::string& connect, Duration bound) {
  const TimePoint start = Scheduler::current().now();
  auto client = cc::CoordClient::create(connect, {.request_timeout = 5s});
  WEIR_ASSERT(client.ok());
  std::vector<std::string> left = {"(no read yet)"};
  while (Scheduler::current().now() - start < bound) {
    if (await((*client)->sync(kEphemeralParent)).ok()) {
      auto got = await((*client)->get_children(kEphemeralParent));
      if (got.ok()) left = *got;
      if (got.ok() && got->empty()) break;
    }
    delay(200ms);
  }
  rec.expiry_wait_seconds = to_seconds(Scheduler::current().now() - start);
  if (!left.empty()) {
    rec.violation(absl::StrCat(left.size(), " ephemerals outlived their sessions by ",
                               to_seconds(bound), " s after healing, e.g. ", left.front()));
  }
  (void)await(timeout((*client)->close(), 5s));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> CoordSessions::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  auto ensemble = parse_ensemble_options(o);
  if (!ensemble.ok()) return ensemble.status();
  options.ensemble = *ensemble;
  options.sessions_per_client = static_cast<int>(o.get_int("sessions_per_client", 3, 1, 32));
  options.watched_paths = static_cast<int>(o.get_int("watched_paths", 3, 1, 64));
  options.think_ms_max = o.get_int("think_ms_max", 60, 0, 10000);
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<CoordSessions>(options));
}

CoordSessions::CoordSessions(Options options)
    : options_(options), ensemble_(options.ensemble), recorder_(std::make_shared<Recorder>()) {}
CoordSessions::~CoordSessions() = default;

absl::Status CoordSessions::setup(ICluster& cluster) {
  return ensemble_.setup(cluster, "coord-sessions");
}

void CoordSessions::start(ICluster& cluster) {
  run_on_clients(
      cluster, options_.sessions_per_client, "coord-sessions-worker",
      [rec = recorder_, connect = ensemble_.connect_string(), options = options_] {
        run_worker(rec, connect, options);
      },
      recorder_->stopped);
}

void CoordSessions::stop() {
  recorder_->stopped = true;
}

Verdict CoordSessions::check(ICluster& cluster) {
  while (recorder_->workers_running > 0) delay(100ms);
  const TimePoint healed = Scheduler::current().now();
  const Duration session_timeout =
      std::chrono::milliseconds(options_.ensemble.max_session_timeout_ms);
  auto probe =
      spawn_in(cluster.client(0), "coord-sessions-recheck", [this, session_timeout, healed] {
        ensemble_.await_writable();
        recorder_->recovery_seconds = to_seconds(Scheduler::current().now() - healed);
        // A new leader gives every session a full timeout; allow two and some ticks of slack.
        await_ephemerals_gone(*recorder_, ensemble_.connect_string(), 2 * session_timeout + 5s);
        // The reaper passes every check interval; a new leader's first pass comes one interval in.
        const Duration check = std::chrono::milliseconds(options_.ensemble.container_check_ms);
        const std::string left =
            await_reaped(ensemble_.connect_string(), 4 * check + 10s,
                         3 * options_.ensemble.container_check_ms, recorder_->reaped);
        if (!left.empty()) recorder_->violation("the reaper left " + left);
      });
  (void)await(probe);
  check_ephemerals(*recorder_);
  check_sequentials(*recorder_);
  if (!recorder_->violations.empty()) return Verdict::correctness(recorder_->violations.front());
  return Verdict::pass();
}

std::map<std::string, double> CoordSessions::metrics() const {
  const Recorder& r = *recorder_;
  return {{"sessions", static_cast<double>(r.lives.size())},
          {"sessions_closed", static_cast<double>(r.closed)},
          {"sessions_abandoned", static_cast<double>(r.abandoned)},
          {"sessions_expired", static_cast<double>(r.expired)},
          {"sessions_resumed", static_cast<double>(r.resumed)},
          {"ephemeral_reads", static_cast<double>(r.reads.size())},
          {"sequential_creates", static_cast<double>(r.sequentials.size())},
          {"watches_set", static_cast<double>(r.watches_set)},
          {"watches_fired", static_cast<double>(r.watches_fired)},
          {"committed", static_cast<double>(ensemble_.committed_count())},
          {"elections", static_cast<double>(ensemble_.elections())},
          {"recovery_seconds", r.recovery_seconds},
          {"expiry_wait_seconds", r.expiry_wait_seconds},
          {"containers_used", static_cast<double>(r.reaped.containers_used)},
          {"ttl_nodes", static_cast<double>(r.reaped.ttl_created)},
          {"ttl_clock_frozen", static_cast<double>(r.reaped.ttl_clock_frozen)},
          {"reap_wait_seconds", r.reaped.reap_wait_seconds}};
}

}  // namespace weir::workloads
