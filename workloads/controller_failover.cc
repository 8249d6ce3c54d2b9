#include "workloads/controller_failover.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/client/client_cluster.h"
#include "broker/client/kafka_connection.h"
#include "broker/log/records.h"
#include "broker/server/cluster_store.h"
#include "coord/client/client.h"
#include "coord/client/errors.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"
#include "workloads/broker_role.h"

namespace weir::workloads {
namespace {

using broker::ClusterStore;
using broker::PartitionState;
using broker::client::ClientCluster;
using broker::client::KafkaConnection;

constexpr char kSteady[] = "steady";
constexpr size_t kProblemsMax = 10;
constexpr int kChurnPartitionsMax = 6;

double now_s() {
  return to_seconds(Scheduler::current().now().time_since_epoch());
}

std::string broker_process(int32_t id) {
  return absl::StrCat("broker", id);
}

std::set<int32_t> as_set(const std::vector<int32_t>& v) {
  return {v.begin(), v.end()};
}

std::string describe(const std::vector<int32_t>& v) {
  return "{" + absl::StrJoin(v, ",") + "}";
}

// A coord session for the workload's own reads, closed when it goes.
struct CoordReader {
  std::shared_ptr<coord::client::CoordClient> client;
  std::unique_ptr<ClusterStore> store;
  explicit CoordReader(const std::string& connect) {
    auto c = coord::client::CoordClient::create(connect, {.request_timeout = 5s});
    WEIR_ASSERT_MSG(c.ok(), "the workload's coord connect string parses");
    client = std::move(*c);
    ProcessContext& ctx = current_context();
    store = std::make_unique<ClusterStore>(*client, *ctx.clock, *ctx.random);
  }
  // Not in the destructor: an actor cancelled at the end of the run must not suspend while it
  // unwinds. Unclosed, the session expires on its own.
  void close() { (void)await(timeout(client->close(), 5s)); }
};

absl::StatusOr<std::shared_ptr<KafkaConnection>> connect_to(const std::string& address) {
  ProcessContext& ctx = current_context();
  auto call = spawn("failover-connect",
                    [&ctx, address] { return KafkaConnection::connect(*ctx.network, address); });
  auto conn = await(timeout(call, 3s));
  if (!conn.ok()) return conn.status();
  return *conn;
}

// One request to the broker at `address` on a fresh connection.
template <class Rsp, class Req>
absl::StatusOr<Rsp> call_once(const std::string& address, const Req& request) {
  auto conn = connect_to(address);
  if (!conn.ok()) return conn.status();
  auto framed = broker::client::call_with_deadline<Rsp>(*conn, request, 3s);
  (*conn)->close();
  if (!framed.ok()) return framed.status();
  return std::move(framed->body);
}

// The fault phase may end at any moment: waits end with it.
bool sleep_unless_stopped(Duration d, const bool& stopped) {
  const TimePoint end = Scheduler::current().now() + to_scheduler_duration(d);
  while (!stopped && Scheduler::current().now() < end)
    delay(std::min<Duration>(100ms, end - Scheduler::current().now()));
  return !stopped;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

struct ControllerFailover::State {
  struct Fault {
    double at_s = 0;
    int32_t epoch_before = 0;
  };
  struct Seen {
    int32_t version = -1;
    PartitionState state;
  };
  std::vector<Fault> faults;
  std::vector<std::string> problems;
  std::map<std::pair<std::string, int64_t>, Seen> seen;  // (state path, czxid)
  std::vector<double> write_gaps_s;
  std::map<std::string, int32_t> churn_topics;  // created, with their partition count
  uint64_t created = 0, deleted = 0, grown = 0, admin_errors = 0, acked = 0, scans = 0;
  uint64_t offline = 0;
  std::set<std::pair<std::string, int32_t>> offline_partitions;  // as of the last divergence()
  double converged_after_s = -1;
  void problem(std::string p) {
    if (problems.size() < kProblemsMax) problems.push_back(std::move(p));
  }
};

absl::StatusOr<std::unique_ptr<Workload>> ControllerFailover::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.brokers = static_cast<int>(o.get_int("brokers", 4, 3, 9));
  options.replication_factor =
      static_cast<int>(o.get_int("replication_factor", 3, 1, options.brokers));
  options.steady_partitions = static_cast<int>(o.get_int("steady_partitions", 4, 1, 32));
  options.churn_topics_max = static_cast<int>(o.get_int("churn_topics_max", 3, 0, 16));
  options.nemesis_interval_s = o.get_double("nemesis_interval_s", 3, 0.1, 60);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "unfenced_controller" || bug == "isr_write_unconditional") {
    options.broker_bug = bug;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("unknown ControllerFailover bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::make_unique<ControllerFailover>(options);
}

ControllerFailover::ControllerFailover(Options options)
    : options_(std::move(options)),
      coord_(CoordEnsembleOptions{.voters = 1, .observers = 0, .max_session_timeout_ms = 4000}),
      state_(std::make_shared<State>()) {}

ControllerFailover::~ControllerFailover() = default;

absl::Status ControllerFailover::setup(ICluster& cluster) {
  faults_ = cluster.faults();
  if (faults_ == nullptr)
    return absl::FailedPreconditionError("ControllerFailover needs a cluster with aimed faults");
  witness_ = std::make_unique<ControllerWitness>();
  if (auto s = coord_.setup(cluster, "coord"); !s.ok()) return s;
  auto props = std::make_shared<std::map<std::string, std::string>>();
  (*props)["zookeeper.connect"] = coord_.connect_string();
  (*props)["zookeeper.session.timeout.ms"] = "3000";
  (*props)["zookeeper.connection.timeout.ms"] = "3000";
  (*props)["default.replication.factor"] = absl::StrCat(options_.replication_factor);
  (*props)["min.insync.replicas"] = "2";
  (*props)["replica.lag.time.max.ms"] = "2000";
  (*props)["replica.fetch.wait.max.ms"] = "200";
  (*props)["controlled.shutdown.retry.backoff.ms"] = "200";
  (*props)["auto.leader.rebalance.enable"] = "true";
  (*props)["leader.imbalance.check.interval.seconds"] = "5";
  (*props)["auto.create.topics.enable"] = "false";
  if (!options_.broker_bug.empty()) (*props)["weir.bug"] = options_.broker_bug;
  draw_replication_knobs(cluster.random(), *props);
  RoleSpec role{.name = "broker", .count = options_.brokers, .port = kBrokerPort};
  role.boot = [props](ProcessContext& ctx) { run_broker(ctx, props); };
  auto addresses = cluster.start_role(role);
  if (!addresses.ok()) return addresses.status();
  addresses_ = *std::move(addresses);
  return absl::OkStatus();
}

void ControllerFailover::start(ICluster& cluster) {
  std::vector<Future<void>> workers;
  const int n = cluster.client_count();
  workers.push_back(spawn_in(cluster.client(0), "failover-nemesis", [this] { nemesis(); }));
  workers.push_back(spawn_in(cluster.client(1 % n), "failover-churn", [this] { churn(); }));
  workers.push_back(spawn_in(cluster.client(0), "failover-produce", [this] { produce(); }));
  workers.push_back(
      spawn_in(cluster.client(1 % n), "failover-monitor", [this] { monitor_epochs(); }));
  for (auto& w : workers) (void)await(w);
}

void ControllerFailover::stop() {
  stopped_ = true;
}

// Finds the controller of the moment and takes it down one way or another, then undoes it.
void ControllerFailover::nemesis() {
  CoordReader coord(coord_.connect_string());
  IRandom& random = *current_context().random;
  while (!stopped_) {
    if (!sleep_unless_stopped(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                                  random.exponential(options_.nemesis_interval_s))),
                              stopped_))
      break;
    auto controller = coord.store->get_controller();
    auto epoch_data = await(coord.client->get_data("/controller_epoch"));
    int32_t epoch = 0;
    if (!controller.ok() || *controller < 0 || !epoch_data.ok() ||
        !absl::SimpleAtoi(epoch_data->data, &epoch))
      continue;
    const std::string victim = broker_process(*controller);
    const Duration d = random.uniform_duration(1s, 6s);
    const double kind = random.uniform01();
    absl::Status s;
    if (kind < 0.25) {
      s = faults_->kill(victim);
    } else if (kind < 0.35) {
      s = faults_->power_loss(victim);
    } else if (kind < 0.6) {
      s = faults_->pause(victim, d);
    } else if (kind < 0.85) {
      s = faults_->cut(victim, "coord0");
    } else {
      for (int b = 0; b < options_.brokers && s.ok(); ++b) {
        if (b != *controller) s = faults_->cut(victim, broker_process(b));
      }
    }
    if (!s.ok()) continue;
    state_->faults.push_back({now_s(), epoch});
    (void)sleep_unless_stopped(kind < 0.35 ? random.uniform_duration(500ms, 3s) : d, stopped_);
    if (kind < 0.35) (void)faults_->restart(victim);
    faults_->heal_links();
  }
  faults_->heal_all();
  coord.close();
}

// Creates, deletes and grows topics through random brokers: each one a controller decision.
void ControllerFailover::churn() {
  IRandom& random = *current_context().random;
  State& st = *state_;
  int next = 0;
  while (!stopped_ && options_.churn_topics_max > 0) {
    delay(random.uniform_duration(300ms, 1500ms));
    const std::string& address = addresses_[random.below(addresses_.size())];
    const bool room = static_cast<int>(st.churn_topics.size()) < options_.churn_topics_max;
    if (room && (st.churn_topics.empty() || random.coinflip(0.5))) {
      kafka::CreateTopicsRequest req;
      req.timeout_ms = 3000;
      auto& t = req.topics.emplace_back();
      t.name = absl::StrCat("churn-", next++);
      t.num_partitions = 1 + static_cast<int32_t>(random.below(3));
      t.replication_factor = static_cast<int16_t>(options_.replication_factor);
      auto rsp = call_once<kafka::CreateTopicsResponse>(address, req);
      const bool ok = rsp.ok() && rsp->topics.size() == 1 && rsp->topics[0].error_code == 0;
      if (ok) st.churn_topics[t.name] = t.num_partitions, ++st.created;
      if (!ok) ++st.admin_errors;
    } else if (!st.churn_topics.empty() && random.coinflip(0.5)) {
      auto it = std::next(st.churn_topics.begin(),
                          static_cast<ptrdiff_t>(random.below(st.churn_topics.size())));
      kafka::DeleteTopicsRequest req;
      req.timeout_ms = 3000;
      req.topic_names.push_back(it->first);
      req.topics.push_back({.name = it->first});
      const std::string name = it->first;
      auto rsp = call_once<kafka::DeleteTopicsResponse>(address, req);
      const bool ok = rsp.ok() && rsp->responses.size() == 1 && rsp->responses[0].error_code == 0;
      st.churn_topics.erase(name);  // deleted, or its deletion pending: not grown again
      ok ? ++st.deleted : ++st.admin_errors;
    } else if (!st.churn_topics.empty()) {
      auto it = std::next(st.churn_topics.begin(),
                          static_cast<ptrdiff_t>(random.below(st.churn_topics.size())));
      if (it->second >= kChurnPartitionsMax) continue;
      kafka::CreatePartitionsRequest req;
      req.timeout_ms = 3000;
      req.topics.push_back({.name = it->first, .count = it->second + 1, .assignments = {}});
      req.topics.back().assignments.reset();
      auto rsp = call_once<kafka::CreatePartitionsResponse>(address, req);
      const bool ok = rsp.ok() && rsp->results.size() == 1 && rsp->results[0].error_code == 0;
      if (ok) ++it->second, ++st.grown;
      if (!ok) ++st.admin_errors;
    }
  }
}

namespace {

// One acks=all write of one record to `partition` of the steady topic; true if acknowledged.
bool produce_one(ClientCluster& cluster, int32_t partition, int64_t seq) {
  const auto* t = cluster.topic(kSteady);
  if (t == nullptr || static_cast<size_t>(partition) >= t->partitions.size() ||
      t->partitions[static_cast<size_t>(partition)].leader < 0) {
    cluster.request_refresh();
    (void)cluster.await_refresh(cluster.deadline_after(1s));
    return false;
  }
  const int32_t leader = t->partitions[static_cast<size_t>(partition)].leader;
  auto conn = cluster.connection(leader);
  if (!conn.ok()) return delay(50ms), false;
  const std::string value = absl::StrCat("v", seq);
  auto batch = broker::log::build_batch(
      {{.value = value, .timestamp_ms = current_context().clock->wall_ms()}}, {});
  WEIR_ASSERT_MSG(batch.ok(), "the workload's batches build");
  kafka::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 2000;
  auto& topic = req.topic_data.emplace_back();
  topic.name = kSteady;
  topic.partition_data.push_back({.index = partition, .records = {.bytes = *batch}});
  auto rsp = broker::client::call_with_deadline<kafka::ProduceResponse>(*conn, req, 3s);
  if (!rsp.ok()) {
    cluster.connection_failed(leader, *conn);
    return false;
  }
  const auto& r = rsp->body.responses;
  const bool ok = r.size() == 1 && r[0].partition_responses.size() == 1 &&
                  r[0].partition_responses[0].error_code == 0;
  if (!ok) cluster.request_refresh();
  return ok;
}

std::shared_ptr<ClientCluster> steady_client(const std::vector<std::string>& addresses) {
  ProcessContext& ctx = current_context();
  auto c = ClientCluster::create(*ctx.network, *ctx.clock,
                                 {.bootstrap_servers = absl::StrJoin(addresses, ","),
                                  .client_id = "controller-failover",
                                  .request_timeout = 3s,
                                  .retry_backoff = 100ms});
  WEIR_ASSERT_MSG(c.ok(), "the workload's bootstrap servers parse");
  (*c)->add_topic(kSteady);
  return *c;
}

}  // namespace

// Creates the steady topic, then writes to it with acks=all, recording how long each
// partition went without an acknowledged write.
void ControllerFailover::produce() {
  IRandom& random = *current_context().random;
  while (!stopped_) {
    kafka::CreateTopicsRequest req;
    req.timeout_ms = 5000;
    req.topics.push_back({.name = kSteady,
                          .num_partitions = options_.steady_partitions,
                          .replication_factor = static_cast<int16_t>(options_.replication_factor),
                          .assignments = {},
                          .configs = {}});
    auto rsp =
        call_once<kafka::CreateTopicsResponse>(addresses_[random.below(addresses_.size())], req);
    const int16_t code = rsp.ok() && rsp->topics.size() == 1 ? rsp->topics[0].error_code : -1;
    if (code == 0 || code == static_cast<int16_t>(kafka::ErrorCode::kTopicAlreadyExists)) break;
    delay(500ms);
  }
  std::shared_ptr<ClientCluster> cluster = steady_client(addresses_);
  std::vector<double> last_ok(static_cast<size_t>(options_.steady_partitions), now_s());
  int64_t seq = 0;
  while (!stopped_) {
    const auto p = static_cast<int32_t>(random.below(last_ok.size()));
    if (produce_one(*cluster, p, seq++)) {
      ++state_->acked;
      const double gap = now_s() - last_ok[static_cast<size_t>(p)];
      if (gap > 0.5) state_->write_gaps_s.push_back(gap);
      last_ok[static_cast<size_t>(p)] = now_s();
    }
    delay(random.uniform_duration(5ms, 30ms));
  }
  cluster->shutdown();
}

// Every partition state znode's history as far as polling sees it: a later version never
// carries an older leader epoch or controller epoch.
void ControllerFailover::monitor_epochs() {
  CoordReader coord(coord_.connect_string());
  State& st = *state_;
  auto scan = [&] {
    auto topics = await(coord.client->get_children("/brokers/topics"));
    if (!topics.ok()) return;
    for (const std::string& t : *topics) {
      auto partitions =
          await(coord.client->get_children(ClusterStore::topic_path(t) + "/partitions"));
      if (!partitions.ok()) continue;
      for (const std::string& child : *partitions) {
        int32_t p = 0;
        if (!absl::SimpleAtoi(child, &p)) continue;
        const std::string path = ClusterStore::state_path(t, p);
        auto data = await(coord.client->get_data(path));
        if (!data.ok()) continue;
        auto now = ClusterStore::parse_partition_state_json(data->data);
        if (!now.ok()) continue;
        State::Seen& seen = st.seen[{path, data->stat.czxid.value()}];
        if (data->stat.version <= seen.version) continue;
        if (seen.version >= 0 && now->leader_epoch < seen.state.leader_epoch)
          st.problem(absl::StrCat(path, ": leader epoch went back from ", seen.state.leader_epoch,
                                  " (version ", seen.version, ") to ", now->leader_epoch,
                                  " (version ", data->stat.version, ")"));
        if (seen.version >= 0 && now->controller_epoch < seen.state.controller_epoch)
          st.problem(absl::StrCat(path, ": written by controller epoch ", now->controller_epoch,
                                  " (version ", data->stat.version, ") after epoch ",
                                  seen.state.controller_epoch, " (version ", seen.version, ")"));
        seen = {data->stat.version, *std::move(now)};
      }
    }
    ++st.scans;
  };
  while (!stopped_) {
    scan();
    delay(200ms);
  }
  coord.close();
}

namespace {

// How `broker`'s Metadata answer differs from coord's partition `state`, or "".
std::string partition_divergence(int32_t broker, const std::string& topic, int32_t partition,
                                 const PartitionState& state, const kafka::MetadataResponse& rsp) {
  const std::string where = absl::StrCat("broker ", broker, " has ", topic, "/", partition);
  for (const auto& t : rsp.topics) {
    if (t.name != topic) continue;
    for (const auto& p : t.partitions) {
      if (p.partition_index != partition) continue;
      if (p.leader_id != state.leader || p.leader_epoch != state.leader_epoch ||
          as_set(p.isr_nodes) != as_set(state.isr))
        return absl::StrCat(where, " led by ", p.leader_id, " in epoch ", p.leader_epoch,
                            " with ISR ", describe(p.isr_nodes), "; coord says ", state.leader,
                            " in epoch ", state.leader_epoch, " with ISR ", describe(state.isr));
      return "";
    }
  }
  return absl::StrCat("broker ", broker, " does not know ", topic, "/", partition);
}

}  // namespace

std::string ControllerFailover::divergence() {
  CoordReader coord(coord_.connect_string());
  std::string d = [&]() -> std::string {
    ClusterStore& store = *coord.store;
    auto controller = store.get_controller();
    auto topics = store.list_topics();
    auto brokers = store.list_brokers();
    if (!controller.ok() || !topics.ok() || !brokers.ok()) return "coord unreadable";
    if (static_cast<int>(brokers->size()) != options_.brokers)
      return absl::StrCat("registered brokers ", describe(*brokers));
    auto deleting = await(coord.client->get_children("/admin/delete_topics"));
    if (deleting.ok() && !deleting->empty())
      return "topics still being deleted: " + absl::StrJoin(*deleting, ",");
    std::map<std::pair<std::string, int32_t>, PartitionState> states;
    state_->offline = 0;
    state_->offline_partitions.clear();
    for (const std::string& t : *topics) {
      auto assignment = store.get_topic(t);
      if (!assignment.ok()) return absl::StrCat("topic ", t, " unreadable");
      for (const auto& [p, replicas] : assignment->replicas) {
        auto st = store.get_partition_state(t, p);
        if (!st.ok()) return absl::StrCat(t, "/", p, " has no state");
        // Two power losses of its complete replicas leave a partition offline by design.
        const bool offline = st->leader < 0 && st->isr.empty() && st->elr.empty();
        state_->offline += offline ? 1 : 0;
        if (offline) state_->offline_partitions.insert({t, p});
        if (!offline && st->leader < 0) return absl::StrCat(t, "/", p, " has no leader");
        if (!offline && as_set(st->isr) != as_set(replicas))
          return absl::StrCat(t, "/", p, " has ISR ", describe(st->isr), " of ",
                              describe(replicas));
        states[{t, p}] = *std::move(st);
      }
    }
    for (int32_t b : *brokers) {
      kafka::MetadataRequest req;
      req.topics.reset();  // all
      req.allow_auto_topic_creation = false;
      auto rsp = call_once<kafka::MetadataResponse>(addresses_[static_cast<size_t>(b)], req);
      if (!rsp.ok()) return absl::StrCat("broker ", b, " did not answer Metadata");
      if (rsp->controller_id != *controller)
        return absl::StrCat("broker ", b, " names controller ", rsp->controller_id, ", coord ",
                            *controller);
      if (rsp->brokers.size() != brokers->size())
        return absl::StrCat("broker ", b, " knows ", rsp->brokers.size(), " brokers");
      for (const auto& t : rsp->topics) {
        if (std::find(topics->begin(), topics->end(), t.name) == topics->end())
          return absl::StrCat("broker ", b, " lists topic ", t.name, " that coord does not hold");
      }
      for (const auto& [tp, st] : states) {
        std::string d = partition_divergence(b, tp.first, tp.second, st, *rsp);
        if (!d.empty()) return d;
      }
    }
    return "";
  }();
  coord.close();
  return d;
}

Verdict ControllerFailover::check(ICluster&) {
  State& st = *state_;
  // Healed (the nemesis ended with heal_all): the cluster must converge within a bound.
  const TimePoint start = Scheduler::current().now();
  const TimePoint deadline = start + to_scheduler_duration(45s);
  std::string diverged = "not checked";
  while (Scheduler::current().now() < deadline) {
    diverged = divergence();
    if (diverged.empty()) break;
    delay(500ms);
  }
  std::vector<std::string> problems = witness_->violations();
  for (const std::string& p : st.problems) problems.push_back(p);
  if (!problems.empty())
    return Verdict::correctness(
        absl::StrCat(problems.size(), " controller problems, first: ", problems.front()));
  if (!diverged.empty())
    return Verdict::liveness("after healing, metadata never converged: " + diverged);
  st.converged_after_s = to_seconds(Scheduler::current().now() - start);
  std::shared_ptr<ClientCluster> cluster = steady_client(addresses_);
  for (int32_t p = 0; p < options_.steady_partitions; ++p) {
    if (st.offline_partitions.count({kSteady, p}) != 0) continue;  // offline by design
    bool ok = false;
    for (int i = 0; i < 100 && !ok; ++i) {
      ok = produce_one(*cluster, p, -1);
      if (!ok) delay(100ms);
    }
    if (!ok) {
      cluster->shutdown();
      return Verdict::liveness(
          absl::StrCat("after healing, ", kSteady, "/", p, " took no acks=all write"));
    }
  }
  cluster->shutdown();
  if (!witness_->observed()) return Verdict::liveness("no controller was ever elected");
  return Verdict::pass();
}

std::map<std::string, double> ControllerFailover::metrics() const {
  const State& st = *state_;
  std::vector<double> failovers;
  uint64_t no_failover = 0;
  const auto& claims =
      witness_ ? witness_->claims() : std::map<int32_t, ControllerWitness::Claim>{};
  for (size_t i = 0; i < st.faults.size(); ++i) {
    const State::Fault& f = st.faults[i];
    // A claim after the next fault is that fault's doing (a freeze shorter than the session
    // timeout, or a controller cut off from brokers only, moves nothing).
    const double until = i + 1 < st.faults.size() ? st.faults[i + 1].at_s : 1e300;
    std::optional<double> at;
    for (auto it = claims.upper_bound(f.epoch_before); it != claims.end(); ++it) {
      if (it->second.at_s >= f.at_s && it->second.at_s < until) {
        at = it->second.at_s - f.at_s;
        break;
      }
    }
    if (at.has_value()) {
      failovers.push_back(*at);
    } else {
      ++no_failover;
    }
  }
  return {{"controller_faults", static_cast<double>(st.faults.size())},
          {"controller_elections", static_cast<double>(claims.size())},
          {"controller_writes", witness_ ? static_cast<double>(witness_->writes()) : 0},
          {"fenced_writes", witness_ ? static_cast<double>(witness_->fenced()) : 0},
          {"failover_s_p50", percentile(failovers, 0.5)},
          {"failover_s_p90", percentile(failovers, 0.9)},
          {"failover_s_max", percentile(failovers, 1.0)},
          {"faults_without_failover", static_cast<double>(no_failover)},
          {"write_gap_s_p50", percentile(st.write_gaps_s, 0.5)},
          {"write_gap_s_max", percentile(st.write_gaps_s, 1.0)},
          {"acked", static_cast<double>(st.acked)},
          {"topics_created", static_cast<double>(st.created)},
          {"topics_deleted", static_cast<double>(st.deleted)},
          {"partitions_added", static_cast<double>(st.grown)},
          {"admin_errors", static_cast<double>(st.admin_errors)},
          {"state_scans", static_cast<double>(st.scans)},
          {"offline_by_design", static_cast<double>(st.offline)},
          {"converged_after_s", st.converged_after_s}};
}

}  // namespace weir::workloads
