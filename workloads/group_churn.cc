#include "workloads/group_churn.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/client/client_cluster.h"
#include "broker/client/group_member.h"
#include "broker/client/kafka_connection.h"
#include "broker/log/records.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"
#include "workloads/broker_role.h"
#include "workloads/kafka_client.h"

namespace weir::workloads {
namespace {

using broker::client::ClientCluster;
using broker::client::GroupMember;
using broker::client::KafkaConnection;
using broker::client::TopicPartition;
constexpr char kTopic[] = "churn";
constexpr char kGroup[] = "churners";
constexpr uint16_t kMemberPort = 7000;
constexpr size_t kViolationsMax = 10;

using PartitionOffset = std::pair<int32_t, int64_t>;

}  // namespace

struct GroupChurn::History {
  std::set<PartitionOffset> acked;  // acks=all records
  std::set<PartitionOffset> consumed;
  uint64_t consumed_again = 0;
  // generation -> partition -> the member that SyncGroup gave it to
  std::map<int32_t, std::map<TopicPartition, std::string>> owners;
  // What each member process holds now (cleared when it learns it must rejoin).
  struct Active {
    int32_t generation = -1;
    std::vector<TopicPartition> assignment;
  };
  std::map<std::string, Active> active;
  // Per partition, in the order they completed: committed offsets read by the monitor and
  // acknowledged commits, each with when it completed and who saw it.
  struct Seen {
    TimePoint completed;
    int64_t offset;
    int64_t high;  // the largest offset of this and every earlier entry
    std::string who;
  };
  std::map<int32_t, std::vector<Seen>> committed_seen;
  std::vector<double> rebalance_stops_s;
  uint64_t commits_acked = 0;
  uint64_t commits_fenced = 0;
  uint64_t leaves = 0, abandons = 0, stalls = 0;
  std::string killed;  // kill_one: the member killed
  double rebalance_after_kill_s = -1;
  std::vector<std::string> violations;
  bool churn = true;      // members leave, restart and stall while this holds
  bool producing = true;  // producers write while this holds
  bool stopped = false;   // members and monitor end
  void violation(std::string v) {
    if (violations.size() < kViolationsMax) violations.push_back(std::move(v));
  }
  // A committed offset of `p` (read by the monitor, or a commit acknowledged) by a request
  // sent at `sent`: it must not be below one that completed before `sent`, which happened
  // before it (a reply that arrives late says nothing about what came after its request).
  void saw_committed(int32_t p, int64_t offset, TimePoint sent, const std::string& who) {
    if (offset < 0) return;
    std::vector<Seen>& seen = committed_seen[p];
    auto before = std::lower_bound(seen.begin(), seen.end(), sent,
                                   [](const Seen& s, TimePoint t) { return s.completed < t; });
    if (before != seen.begin() && std::prev(before)->high > offset) {
      const auto& earlier = *std::find_if(
          seen.begin(), before, [&](const Seen& s) { return s.offset == std::prev(before)->high; });
      TraceEvent(Severity::kWarn, "GroupChurnCommittedBack")
          .detail("Partition", p)
          .detail("From", earlier.offset)
          .detail("To", offset)
          .detail("Who", who);
      violation(absl::StrCat("the committed offset of partition ", p, " moved back from ",
                             earlier.offset, " (", earlier.who, ") to ", offset, " (", who, ")"));
    }
    const int64_t high = seen.empty() ? offset : std::max(seen.back().high, offset);
    seen.push_back({Scheduler::current().now(), offset, high, who});
  }
};

absl::StatusOr<std::unique_ptr<Workload>> GroupChurn::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.partitions = static_cast<int>(o.get_int("partitions", 6, 1, 64));
  options.members = static_cast<int>(o.get_int("members", 3, 1, 16));
  options.brokers = static_cast<int>(o.get_int("brokers", 3, 1, 9));
  options.producers_per_client = static_cast<int>(o.get_int("producers_per_client", 1, 0, 8));
  options.leave_probability = o.get_double("leave_probability", 0.01, 0, 1);
  options.abandon_probability = o.get_double("abandon_probability", 0.01, 0, 1);
  options.stall_probability = o.get_double("stall_probability", 0.005, 0, 1);
  options.session_timeout_ms =
      static_cast<int32_t>(o.get_int("session_timeout_ms", 2000, 500, 60000));
  options.heartbeat_interval_ms =
      static_cast<int32_t>(o.get_int("heartbeat_interval_ms", 500, 10, 60000));
  options.rebalance_timeout_ms =
      static_cast<int32_t>(o.get_int("rebalance_timeout_ms", 4000, 500, 300000));
  options.kill_one = o.get_bool("kill_one", false);
  options.assignor = o.get_string("assignor", "range");
  options.static_members = o.get_bool("static_members", false);
  if (options.assignor != "range" && options.assignor != "roundrobin" &&
      options.assignor != "cooperative-sticky")
    return absl::InvalidArgumentError("unknown assignor " + options.assignor);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "group_reuse_generation" || bug == "group_commit_any_generation" ||
      bug == "cleaner_drops_latest") {
    options.broker_bug = bug;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("unknown GroupChurn bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::make_unique<GroupChurn>(options);
}

GroupChurn::GroupChurn(Options options)
    : options_(std::move(options)),
      coord_(CoordEnsembleOptions{.voters = 1, .observers = 0, .max_session_timeout_ms = 4000}),
      history_(std::make_shared<History>()) {}

GroupChurn::~GroupChurn() = default;

namespace {

std::shared_ptr<ClientCluster> make_cluster(const std::string& bootstrap, const std::string& id) {
  return make_workload_cluster(bootstrap, id, kTopic);
}

std::shared_ptr<KafkaConnection> leader_connection(ClientCluster& cluster, int32_t partition,
                                                   int32_t* leader_out) {
  return workloads::leader_connection(cluster, kTopic, partition, leader_out);
}

// One acks=all batch of 1-3 records to a random partition; acknowledged offsets recorded.
void produce_one(ClientCluster& cluster, GroupChurn::History& h, int partitions) {
  IRandom& random = *current_context().random;
  const int32_t p = static_cast<int32_t>(random.below(static_cast<uint64_t>(partitions)));
  int32_t leader = -1;
  auto conn = leader_connection(cluster, p, &leader);
  if (conn == nullptr) return;
  const int n = 1 + static_cast<int>(random.below(3));
  std::vector<broker::log::RecordInput> records(static_cast<size_t>(n));
  for (auto& r : records) r.value = "v", r.timestamp_ms = current_context().clock->wall_ms();
  auto batch = broker::log::build_batch(records);
  WEIR_ASSERT_MSG(batch.ok(), "the workload's batches build");
  kafka::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 2000;
  auto& topic = req.topic_data.emplace_back();
  topic.name = kTopic;
  topic.partition_data.push_back({.index = p, .records = {.bytes = *batch}});
  auto rsp = broker::client::call_with_deadline<kafka::ProduceResponse>(conn, req, 3s);
  if (!rsp.ok()) {
    cluster.connection_failed(leader, conn);
    return;
  }
  const auto& body = rsp->body;
  if (body.responses.size() != 1 || body.responses[0].partition_responses.size() != 1) return;
  const auto& pr = body.responses[0].partition_responses[0];
  if (pr.error_code != 0) {
    cluster.request_refresh();
    return;
  }
  for (int i = 0; i < n; ++i) h.acked.insert({p, pr.base_offset + i});
}

// One fetch of partition `tp` from `position` on; every record seen is consumed.
void fetch_one(ClientCluster& cluster, GroupChurn::History& h, const TopicPartition& tp,
               int64_t& position) {
  int32_t leader = -1;
  auto conn = leader_connection(cluster, tp.partition, &leader);
  if (conn == nullptr) return;
  kafka::FetchRequest req;
  req.max_wait_ms = 50;
  req.max_bytes = 1 << 20;
  auto& topic = req.topics.emplace_back();
  topic.topic = kTopic;
  topic.partitions.push_back(
      {.partition = tp.partition, .fetch_offset = position, .partition_max_bytes = 64 << 10});
  auto framed = broker::client::call_with_deadline<kafka::FetchResponse>(conn, req, 3s);
  if (!framed.ok()) {
    cluster.connection_failed(leader, conn);
    return;
  }
  if (framed->body.responses.empty() || framed->body.responses[0].partitions.empty()) return;
  const auto& pd = framed->body.responses[0].partitions[0];
  if (pd.error_code != 0) {
    cluster.request_refresh();
    return;
  }
  std::string_view bytes = pd.records.bytes;
  while (!bytes.empty()) {
    auto header = broker::log::parse_batch_header(bytes);
    if (!header.ok() || header->size_bytes() > bytes.size()) break;
    for (int64_t o = header->base_offset; o <= header->base_offset + header->last_offset_delta;
         ++o) {
      if (o < position) continue;
      if (!h.consumed.insert({tp.partition, o}).second) ++h.consumed_again;
    }
    position = std::max(position, header->base_offset + header->last_offset_delta + 1);
    bytes.remove_prefix(header->size_bytes());
  }
}

// Records what SyncGroup gave `member` and checks nobody else owns it in that generation. A
// static member is one owner across its incarnations (KIP-345: a restarted instance takes the
// place, and the assignment, of the one it fences).
void took_assignment(GroupChurn::History& h, const std::string& process,
                     const broker::client::GroupGeneration& g, bool static_member) {
  auto& owners = h.owners[g.generation];
  const std::string owner = static_member ? process : g.member_id;
  for (const TopicPartition& tp : g.assignment) {
    auto [it, fresh] = owners.emplace(tp, owner);
    if (!fresh && it->second != owner)
      h.violation(absl::StrCat("partition ", tp.partition, " has two owners in generation ",
                               g.generation, ": ", it->second, " and ", owner));
  }
  h.active[process] = {g.generation, g.assignment};
}

GroupMember make_member(std::shared_ptr<ClientCluster> cluster, const GroupChurn::Options& options,
                        const std::string& process) {
  std::optional<std::string> instance;
  if (options.static_members) instance = process;
  return GroupMember(cluster, {.group_id = kGroup,
                               .group_instance_id = instance,
                               .topics = {kTopic},
                               .assignor = options.assignor,
                               .session_timeout_ms = options.session_timeout_ms,
                               .rebalance_timeout_ms = options.rebalance_timeout_ms,
                               .heartbeat_interval_ms = options.heartbeat_interval_ms,
                               .request_timeout_ms = 3000});
}

// Commits `positions`; every acknowledged commit joins the committed-offset history.
void commit_positions(GroupMember& m, GroupChurn::History& h,
                      const std::map<TopicPartition, int64_t>& positions) {
  if (positions.empty()) return;
  const TimePoint sent = Scheduler::current().now();
  auto result = m.commit(positions);
  if (!result.ok()) return;
  for (const auto& [tp, e] : *result) {
    if (e == kafka::ErrorCode::kNone) {
      ++h.commits_acked;
      h.saw_committed(tp.partition, positions.at(tp), sent,
                      absl::StrCat(m.current().member_id, " gen ", m.current().generation));
    } else if (e == kafka::ErrorCode::kIllegalGeneration ||
               e == kafka::ErrorCode::kUnknownMemberId) {
      ++h.commits_fenced;
    }
  }
}

// The consume loop of one generation: ends when the member must rejoin (or churns).
enum class Churn { kNone, kLeave, kAbandon };

Churn consume_generation(GroupMember& m, ClientCluster& cluster, GroupChurn::History& h,
                         const GroupChurn::Options& options) {
  IRandom& random = *current_context().random;
  const auto& g = m.current();
  std::map<TopicPartition, int64_t> positions;
  auto committed = m.committed(g.assignment);
  if (!committed.ok()) {
    delay(100ms);
    return Churn::kNone;  // ask again
  }
  for (const auto& [tp, offset] : *committed) positions[tp] = std::max<int64_t>(offset, 0);
  TimePoint next_commit = Scheduler::current().now();
  while (m.active() && !h.stopped) {
    m.note_poll();
    for (auto& [tp, position] : positions) fetch_one(cluster, h, tp, position);
    if (positions.empty()) delay(50ms);
    if (Scheduler::current().now() >= next_commit) {
      commit_positions(m, h, positions);
      next_commit =
          Scheduler::current().now() + std::chrono::milliseconds(options.commit_interval_ms);
    }
    if (!h.churn) continue;
    if (random.coinflip(options.leave_probability)) return Churn::kLeave;
    if (random.coinflip(options.abandon_probability)) return Churn::kAbandon;
    if (random.coinflip(options.stall_probability)) {
      ++h.stalls;
      delay(std::chrono::milliseconds(options.rebalance_timeout_ms + 500));
    }
  }
  // Eager rebalance: commit what was consumed before rejoining (Kafka's onJoinPrepare).
  if (!h.stopped) commit_positions(m, h, positions);
  return Churn::kNone;
}

void member_main(ProcessContext& ctx, std::shared_ptr<GroupChurn::History> h,
                 GroupChurn::Options options, std::string bootstrap) {
  std::shared_ptr<ClientCluster> cluster = make_cluster(bootstrap, ctx.name);
  while (!h->stopped) {
    GroupMember m = make_member(cluster, options, ctx.name);
    Churn churn = Churn::kNone;
    while (!h->stopped && churn == Churn::kNone) {
      const TimePoint asked = Scheduler::current().now();
      auto g = m.ensure_active(asked + to_scheduler_duration(30s));
      if (!g.ok()) break;
      h->rebalance_stops_s.push_back(to_seconds(Scheduler::current().now() - asked));
      took_assignment(*h, ctx.name, *g, options.static_members);
      churn = consume_generation(m, *cluster, *h, options);
      h->active.erase(ctx.name);
      if (m.left()) break;  // it left on a poll timeout: a new member joins
    }
    h->active.erase(ctx.name);
    if (churn == Churn::kLeave) {
      ++h->leaves;
      m.leave();
    } else if (churn == Churn::kAbandon) {
      ++h->abandons;
      m.abandon();
    }
  }
  cluster->shutdown();
}

// Reads the group's committed offsets all along: they must never go down.
void run_monitor(std::shared_ptr<GroupChurn::History> h, std::string bootstrap, int partitions) {
  std::shared_ptr<ClientCluster> cluster = make_cluster(bootstrap, "monitor");
  GroupMember reader(cluster, {.group_id = kGroup, .topics = {kTopic}});
  std::vector<TopicPartition> all;
  for (int32_t p = 0; p < partitions; ++p) all.push_back({kTopic, p});
  while (!h->stopped) {
    const TimePoint sent = Scheduler::current().now();
    auto committed = reader.committed(all);
    if (committed.ok()) {
      for (const auto& [tp, offset] : *committed)
        h->saw_committed(tp.partition, offset, sent, "monitor");
    }
    delay(200ms);
  }
  cluster->shutdown();
}

}  // namespace

absl::Status GroupChurn::setup(ICluster& cluster) {
  faults_ = cluster.faults();
  if (options_.kill_one && faults_ == nullptr)
    return absl::FailedPreconditionError("kill_one needs a cluster with aimed faults");
  if (auto s = coord_.setup(cluster, "coord"); !s.ok()) return s;
  auto props = std::make_shared<std::map<std::string, std::string>>();
  (*props)["zookeeper.connect"] = coord_.connect_string();
  (*props)["zookeeper.session.timeout.ms"] = "3000";
  (*props)["zookeeper.connection.timeout.ms"] = "3000";
  (*props)["num.partitions"] = absl::StrCat(options_.partitions);
  (*props)["default.replication.factor"] = absl::StrCat(std::min(3, options_.brokers));
  (*props)["min.insync.replicas"] = absl::StrCat(std::min(2, options_.brokers));
  (*props)["offsets.topic.num.partitions"] = "4";
  (*props)["offsets.topic.replication.factor"] = absl::StrCat(std::min(3, options_.brokers));
  (*props)["offsets.commit.timeout.ms"] = "2000";
  (*props)["group.initial.rebalance.delay.ms"] = "200";
  (*props)["group.min.session.timeout.ms"] = "500";
  (*props)["log.segment.bytes"] = "65536";
  // Small offsets segments and an eager cleaner: coordinators load compacted logs, replicas
  // fetch compacted ranges, and tombstones (offsets expiry, the read barrier's) go.
  IRandom& r = cluster.random();
  (*props)["offsets.topic.segment.bytes"] = absl::StrCat(r.uniform_int(1024, 16384));
  (*props)["log.cleaner.backoff.ms"] = absl::StrCat(r.uniform_int(100, 3000));
  (*props)["log.cleaner.min.cleanable.ratio"] = r.coinflip(0.5) ? "0.01" : "0.5";
  (*props)["log.cleaner.delete.retention.ms"] = absl::StrCat(r.uniform_int(0, 10000));
  (*props)["replica.lag.time.max.ms"] = "2000";
  (*props)["replica.fetch.wait.max.ms"] = "200";
  (*props)["controlled.shutdown.retry.backoff.ms"] = "200";
  if (!options_.broker_bug.empty()) (*props)["weir.bug"] = options_.broker_bug;
  draw_replication_knobs(cluster.random(), *props);
  RoleSpec brokers{.name = "broker", .count = options_.brokers, .port = kBrokerPort};
  brokers.boot = [props](ProcessContext& ctx) { run_broker(ctx, props); };
  auto addresses = cluster.start_role(brokers);
  if (!addresses.ok()) return addresses.status();
  bootstrap_ = absl::StrJoin(*addresses, ",");
  RoleSpec members{.name = "member", .count = options_.members, .port = kMemberPort};
  members.boot = [h = history_, options = options_, bootstrap = bootstrap_](ProcessContext& ctx) {
    member_main(ctx, h, options, bootstrap);
  };
  auto started = cluster.start_role(members);
  return started.ok() ? absl::OkStatus() : started.status();
}

namespace {

// Every member in one generation, every partition owned by exactly one of them.
bool stable(const GroupChurn::History& h, int members, int partitions) {
  if (static_cast<int>(h.active.size()) != members) return false;
  std::set<int32_t> generations;
  std::set<int32_t> owned;
  for (const auto& [name, a] : h.active) {
    generations.insert(a.generation);
    for (const auto& tp : a.assignment) owned.insert(tp.partition);
  }
  return generations.size() == 1 && static_cast<int>(owned.size()) == partitions;
}

}  // namespace

// Waits for the group to be stable, kills one member and measures until the rest are.
void GroupChurn::kill_one_member(ICluster& cluster) {
  History& h = *history_;
  while (h.producing && !stable(h, options_.members, options_.partitions)) delay(20ms);
  if (!h.producing) return;
  const int victim =
      static_cast<int>(cluster.random().below(static_cast<uint64_t>(options_.members)));
  h.killed = absl::StrCat("member", victim);
  const TimePoint killed_at = Scheduler::current().now();
  if (!faults_->kill(h.killed).ok()) return;
  h.active.erase(h.killed);
  while (h.producing && !stable(h, options_.members - 1, options_.partitions)) delay(20ms);
  if (!h.producing) return;
  h.rebalance_after_kill_s = to_seconds(Scheduler::current().now() - killed_at);
  TraceEvent(Severity::kInfo, "GroupChurnRebalancedAfterKill")
      .detail("Member", h.killed)
      .detail("Seconds", h.rebalance_after_kill_s);
}

void GroupChurn::start(ICluster& cluster) {
  auto h = history_;
  std::vector<Future<void>> workers;
  // The monitor outlives start(): it reads the committed offsets until check() ends.
  monitor_ = spawn_in(cluster.client(0), "churn-monitor",
                      [h, b = bootstrap_, this] { run_monitor(h, b, options_.partitions); });
  if (options_.kill_one)
    workers.push_back(spawn_in(cluster.client(0), "churn-kill-one",
                               [this, &cluster] { kill_one_member(cluster); }));
  for (int c = 0; c < cluster.client_count(); ++c) {
    for (int i = 0; i < options_.producers_per_client; ++i) {
      workers.push_back(spawn_in(cluster.client(c), "churn-producer", [h, this] {
        std::shared_ptr<ClientCluster> client = make_cluster(bootstrap_, "producer");
        while (h->producing) {
          produce_one(*client, *h, options_.partitions);
          delay(std::chrono::milliseconds(
              current_context().random->below(static_cast<uint64_t>(options_.think_ms_max) + 1)));
        }
        client->shutdown();
      }));
    }
  }
  for (auto& w : workers) (void)await(w);
}

void GroupChurn::stop() {
  history_->churn = false;
  history_->producing = false;
}

Verdict GroupChurn::check(ICluster&) {
  History& h = *history_;
  const int members = options_.members - (h.killed.empty() ? 0 : 1);
  const TimePoint start = Scheduler::current().now();
  const TimePoint deadline = start + to_scheduler_duration(60s);
  while (!stable(h, members, options_.partitions) && Scheduler::current().now() < deadline)
    delay(100ms);
  const bool settled = stable(h, members, options_.partitions);
  std::set<int32_t> owned_at_end;
  for (const auto& [name, a] : h.active)
    for (const auto& tp : a.assignment) owned_at_end.insert(tp.partition);
  const size_t active_at_end = h.active.size();
  stabilised_after_s_ = to_seconds(Scheduler::current().now() - start);
  // The group consumes everything acknowledged.
  auto missing = [&] {
    std::vector<PartitionOffset> out;
    for (const auto& po : h.acked)
      if (h.consumed.count(po) == 0) out.push_back(po);
    return out;
  };
  std::vector<PartitionOffset> lost = missing();
  const TimePoint consume_deadline = Scheduler::current().now() + to_scheduler_duration(30s);
  while (!lost.empty() && Scheduler::current().now() < consume_deadline) {
    delay(200ms);
    lost = missing();
  }
  h.stopped = true;
  (void)await(timeout(std::move(monitor_), 5s));
  std::vector<std::string> problems = h.violations;
  // Records a group that never settled did not read are its liveness failure, below.
  if (!lost.empty() && settled) {
    const int32_t p = lost.front().first;
    std::string owner = "nobody";
    for (const auto& [name, a] : h.active)
      for (const auto& tp : a.assignment)
        if (tp.partition == p) owner = absl::StrCat(name, " gen ", a.generation);
    const auto& seen = h.committed_seen[p];
    problems.push_back(
        absl::StrCat(lost.size(), " acknowledged records never consumed by the group, first ", p,
                     "/", lost.front().second, " (partition owned by ", owner,
                     ", committed offset ", seen.empty() ? -1 : seen.back().high, ")"));
  }
  if (!problems.empty()) return Verdict::correctness(absl::StrJoin(problems, "; "));
  if (!settled)
    return Verdict::liveness(absl::StrCat("the group did not stabilise within 60 s of the end of ",
                                          "churn (", active_at_end, " of ", members,
                                          " members active, ", owned_at_end.size(), " of ",
                                          options_.partitions, " partitions owned)"));
  if (h.acked.empty()) return Verdict::liveness("no record was acknowledged");
  return Verdict::pass();
}

std::map<std::string, double> GroupChurn::metrics() const {
  const History& h = *history_;
  std::vector<double> stops = h.rebalance_stops_s;
  std::sort(stops.begin(), stops.end());
  auto quantile = [&](double q) {
    return stops.empty() ? 0.0
                         : stops[static_cast<size_t>(q * static_cast<double>(stops.size() - 1))];
  };
  return {{"acked", static_cast<double>(h.acked.size())},
          {"consumed", static_cast<double>(h.consumed.size())},
          {"consumed_again", static_cast<double>(h.consumed_again)},
          {"generations", static_cast<double>(h.owners.size())},
          {"commits_acked", static_cast<double>(h.commits_acked)},
          {"commits_fenced", static_cast<double>(h.commits_fenced)},
          {"leaves", static_cast<double>(h.leaves)},
          {"abandons", static_cast<double>(h.abandons)},
          {"stalls", static_cast<double>(h.stalls)},
          {"rebalance_stop_p50_s", quantile(0.5)},
          {"rebalance_stop_p99_s", quantile(0.99)},
          {"rebalance_stop_max_s", stops.empty() ? 0.0 : stops.back()},
          {"stabilised_after_s", stabilised_after_s_},
          {"rebalance_after_kill_s", h.rebalance_after_kill_s}};
}

}  // namespace weir::workloads
