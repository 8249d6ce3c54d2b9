#include "workloads/produce_verify.h"

#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/client/client_cluster.h"
#include "broker/client/kafka_connection.h"
#include "broker/client/producer.h"
#include "broker/log/records.h"
#include "broker/server/broker.h"
#include "broker/server/cluster_store.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"
#include "workloads/broker_role.h"
#include "workloads/kafka_client.h"

namespace weir::workloads {
namespace {

using broker::client::ClientCluster;
using broker::client::KafkaConnection;
constexpr char kTopic[] = "verify";
constexpr size_t kViolationsMax = 10;

struct Where {
  int32_t partition = 0;
  int64_t offset = 0;
  int16_t acks = -1;
  int32_t leader = -1;  // who acknowledged it, and when (simulated seconds): for the report
  double at_s = 0;
};

// "<producer>-<seq>": the producer and its sequence number, for the order check.
std::pair<std::string, int64_t> split_value(const std::string& v) {
  const size_t dash = v.rfind('-');
  int64_t seq = -1;
  if (dash == std::string::npos || !absl::SimpleAtoi(v.substr(dash + 1), &seq)) return {v, -1};
  return {v.substr(0, dash), seq};
}

// The records of every batch in `bytes` from `from` on: (offset, value).
std::vector<std::pair<int64_t, std::string>> decode_records(std::string_view bytes, int64_t from) {
  std::vector<std::pair<int64_t, std::string>> out;
  while (!bytes.empty()) {
    auto header = broker::log::parse_batch_header(bytes);
    if (!header.ok() || header->size_bytes() > bytes.size()) break;
    auto batch = broker::log::BatchView::parse(bytes.substr(0, header->size_bytes()));
    if (!batch.ok()) break;
    std::string storage;
    auto records = broker::log::read_records(*batch, storage, 16 << 20);
    if (records.ok()) {
      for (const auto& r : *records) {
        const int64_t offset = batch->header().base_offset + r.offset_delta;
        if (offset >= from) out.emplace_back(offset, std::string(r.value.value_or("")));
      }
    }
    bytes.remove_prefix(batch->size_bytes());
  }
  return out;
}

}  // namespace

struct ProduceVerify::History {
  std::map<std::string, Where> acked;
  uint64_t acked_all = 0;         // acks=-1 among them
  std::set<std::string> unknown;  // sent; the outcome is not known
  std::map<std::pair<int32_t, int64_t>, std::string> polled;
  std::vector<std::string> violations;
  uint64_t sends = 0;
  uint64_t polls = 0;
  uint64_t retries = 0;       // IdempotentProducer: the producers' retries ...
  uint64_t producer_ids = 0;  // ... and the producer ids they took
  void violation(std::string v) {
    if (violations.size() < kViolationsMax) violations.push_back(std::move(v));
  }
};

absl::StatusOr<std::unique_ptr<Workload>> ProduceVerify::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.partitions = static_cast<int>(o.get_int("partitions", 3, 1, 64));
  options.producers_per_client = static_cast<int>(o.get_int("producers_per_client", 2, 1, 16));
  options.consumers_per_client = static_cast<int>(o.get_int("consumers_per_client", 1, 0, 16));
  options.records_per_batch_max = static_cast<int>(o.get_int("records_per_batch_max", 3, 1, 100));
  options.acks_one_probability = o.get_double("acks_one_probability", 0.3, 0, 1);
  options.think_ms_max = o.get_int("think_ms_max", 20, 0, 1000);
  options.brokers = static_cast<int>(o.get_int("brokers", 1, 1, 9));
  options.replication_factor =
      static_cast<int>(o.get_int("replication_factor", options.brokers, 1, options.brokers));
  options.min_insync =
      static_cast<int>(o.get_int("min_insync", std::min(2, options.replication_factor), 1, 9));
  options.flush_every_message = o.get_bool("flush_every_message", options.brokers == 1);
  options.unclean = o.get_bool("unclean", false);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "no_flush") {
    options.bug_no_flush = true;
  } else if (bug == "high_watermark_from_leader" || bug == "truncate_to_high_watermark" ||
             bug == "ignore_unflushed_data_lost" || bug == "producer_accept_duplicates") {
    options.broker_bug = bug;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("unknown ProduceVerify bug " + bug);
  }
  auto scenario = parse_isr_scenario(o.get_string("scenario", "none"));
  if (!scenario.ok()) return scenario.status();
  options.scenario = *scenario;
  options.idempotent = o.get_bool("idempotent", false);
  if (auto s = o.finish(); !s.ok()) return s;
  if (options.scenario != IsrScenario::kNone &&
      (options.brokers != 3 || options.replication_factor != 3 || options.partitions != 1))
    return absl::InvalidArgumentError("a scenario needs 3 brokers, 3 replicas and 1 partition");
  return std::make_unique<ProduceVerify>(options);
}

absl::StatusOr<std::unique_ptr<Workload>> ProduceVerify::create_isr_shrink_unclean(
    std::map<std::string, std::string> raw) {
  const auto scenario = raw.count("scenario") != 0 ? raw["scenario"] : "leader_loss";
  raw.try_emplace("scenario", scenario);
  raw.try_emplace("brokers", "3");
  raw.try_emplace("replication_factor", "3");
  raw.try_emplace("partitions", "1");
  raw.try_emplace("acks_one_probability", "0");
  raw.try_emplace("flush_every_message", "false");
  // Leader loss is Jepsen's: the leader may acknowledge alone. The last replica standing needs
  // two replicas per commit, so that the one killed second holds everything committed.
  raw.try_emplace("min_insync", scenario == "leader_loss" ? "1" : "2");
  return create(std::move(raw));
}

absl::StatusOr<std::unique_ptr<Workload>> ProduceVerify::create_idempotent_producer(
    std::map<std::string, std::string> raw) {
  raw.try_emplace("idempotent", "true");
  raw.try_emplace("acks_one_probability", "0");
  if (raw["acks_one_probability"] != "0")
    return absl::InvalidArgumentError("IdempotentProducer sends with acks=all only");
  return create(std::move(raw));
}

ProduceVerify::ProduceVerify(Options options)
    : options_(options),
      coord_(CoordEnsembleOptions{.voters = 1, .observers = 0, .max_session_timeout_ms = 4000}),
      history_(std::make_shared<History>()) {}

ProduceVerify::~ProduceVerify() = default;

absl::Status ProduceVerify::setup(ICluster& cluster) {
  faults_ = cluster.faults();
  if (options_.scenario != IsrScenario::kNone && faults_ == nullptr)
    return absl::FailedPreconditionError("IsrShrinkUnclean needs a cluster with aimed faults");
  if (auto s = coord_.setup(cluster, "coord"); !s.ok()) return s;
  auto props = std::make_shared<std::map<std::string, std::string>>();
  (*props)["zookeeper.connect"] = coord_.connect_string();
  (*props)["zookeeper.session.timeout.ms"] = "3000";
  (*props)["zookeeper.connection.timeout.ms"] = "3000";
  (*props)["num.partitions"] = absl::StrCat(options_.partitions);
  (*props)["log.segment.bytes"] = "4096";  // many rolls: recovery crosses segments
  (*props)["log.index.interval.bytes"] = "256";
  if (options_.flush_every_message && !options_.bug_no_flush)
    (*props)["log.flush.interval.messages"] = "1";
  (*props)["default.replication.factor"] = absl::StrCat(options_.replication_factor);
  (*props)["min.insync.replicas"] = absl::StrCat(options_.min_insync);
  (*props)["unclean.leader.election.enable"] = options_.unclean ? "true" : "false";
  (*props)["replica.lag.time.max.ms"] = "2000";
  if (!options_.broker_bug.empty()) (*props)["weir.bug"] = options_.broker_bug;
  (*props)["replica.fetch.wait.max.ms"] = "200";
  (*props)["controlled.shutdown.retry.backoff.ms"] = "200";
  draw_replication_knobs(cluster.random(), *props);
  // The follower cut off from its leader must stay in the ISR until the leader dies.
  if (options_.scenario == IsrScenario::kFollowerTruncation)
    (*props)["replica.lag.time.max.ms"] = "30000";
  RoleSpec role{.name = "broker", .count = options_.brokers, .port = kBrokerPort};
  role.boot = [props](ProcessContext& ctx) { run_broker(ctx, props); };
  auto addresses = cluster.start_role(role);
  if (!addresses.ok()) return addresses.status();
  bootstrap_ = absl::StrJoin(*addresses, ",");
  return absl::OkStatus();
}

namespace {

std::shared_ptr<ClientCluster> make_cluster(const std::string& bootstrap) {
  return make_workload_cluster(bootstrap, "produce-verify", kTopic);
}

std::shared_ptr<KafkaConnection> leader_connection(ClientCluster& cluster, int32_t partition,
                                                   int32_t* leader_out = nullptr) {
  return workloads::leader_connection(cluster, kTopic, partition, leader_out);
}

bool retriable_leader_error(int16_t code) {
  using kafka::ErrorCode;
  const auto e = static_cast<ErrorCode>(code);
  return e == ErrorCode::kNotLeaderOrFollower || e == ErrorCode::kLeaderNotAvailable ||
         e == ErrorCode::kUnknownTopicOrPartition || e == ErrorCode::kFencedLeaderEpoch ||
         e == ErrorCode::kUnknownLeaderEpoch;
}

// One send of a batch of fresh values to the partition's leader; the outcome recorded in
// `history`.
void send_one(ClientCluster& cluster, ProduceVerify::History& history,
              const ProduceVerify::Options& options, const std::string& id, int64_t& seq,
              std::optional<int16_t> acks = std::nullopt) {
  IRandom& random = *current_context().random;
  const int32_t partition = static_cast<int32_t>(random.below(options.partitions));
  int32_t leader = -1;
  std::shared_ptr<KafkaConnection> conn = leader_connection(cluster, partition, &leader);
  if (conn == nullptr) return;
  const int n = 1 + static_cast<int>(random.below(options.records_per_batch_max));
  std::vector<broker::log::RecordInput> records;
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) {
    values.push_back(absl::StrCat(id, "-", seq++));
    records.push_back({.value = values.back(), .timestamp_ms = current_context().clock->wall_ms()});
  }
  broker::log::BatchOptions batch_options;
  if (random.coinflip(0.3)) batch_options.compression = broker::log::Compression::kLz4;
  auto batch = std::make_shared<std::string>();
  auto built = broker::log::build_batch(records, batch_options);
  WEIR_ASSERT_MSG(built.ok(), "the workload's batches build");
  *batch = *std::move(built);
  auto req = std::make_shared<kafka::ProduceRequest>();
  req->acks = acks.value_or(random.coinflip(options.acks_one_probability) ? 1 : -1);
  req->timeout_ms = 2000;
  auto& topic = req->topic_data.emplace_back();
  topic.name = kTopic;
  topic.partition_data.push_back({.index = partition, .records = {.bytes = *batch}});
  ++history.sends;
  auto call =
      spawn("verify-send", [conn, req, batch] { return conn->call<kafka::ProduceResponse>(*req); });
  auto rsp = await(timeout(call, 3s));
  const bool answered =
      rsp.ok() && rsp->responses.size() == 1 && rsp->responses[0].partition_responses.size() == 1;
  const int16_t code = answered ? rsp->responses[0].partition_responses[0].error_code : -1;
  if (!answered || code != 0) {
    for (auto& v : values) history.unknown.insert(v);
    if (!rsp.ok()) cluster.connection_failed(leader, conn);
    if (answered && retriable_leader_error(code)) cluster.request_refresh();
    return;
  }
  const int64_t base = rsp->responses[0].partition_responses[0].base_offset;
  for (int i = 0; i < n; ++i)
    history.acked[values[i]] = Where{partition, base + i, static_cast<int16_t>(req->acks), leader,
                                     to_seconds(Scheduler::current().now().time_since_epoch())};
  if (req->acks == -1) history.acked_all += static_cast<uint64_t>(n);
}

// IdempotentProducer: one of Weir's idempotent producers sending fresh values to random
// partitions until stopped, then flushing. Every outcome lands in `history`: acknowledged at
// an offset, or unknown (a failure after retries may still have been written).
void run_idempotent_producer(const std::string& bootstrap, const std::string& id,
                             const ProduceVerify::Options& options,
                             std::shared_ptr<ProduceVerify::History> history, const bool& stopped) {
  ProcessContext& ctx = current_context();
  IRandom& random = *ctx.random;
  broker::client::ProducerConfig config{.bootstrap_servers = bootstrap,
                                        .client_id = id,
                                        .acks = -1,
                                        .linger_ms = static_cast<int32_t>(random.below(6)),
                                        .batch_size = 256 << random.below(4),
                                        .retry_backoff_ms = 100,
                                        .request_timeout_ms = 2000,
                                        // Records of a partition left offline by design
                                        // must fail before the workload's 15 s to stop.
                                        .delivery_timeout_ms = 10000,
                                        .max_in_flight = 5,
                                        .enable_idempotence = true};
  if (random.coinflip(0.3)) config.compression = broker::log::Compression::kLz4;
  auto producer = broker::client::Producer::create(config, *ctx.network, *ctx.clock, random);
  WEIR_ASSERT_MSG(producer.ok(), "the workload's producer configuration is valid");
  int64_t seq = 0;
  while (!stopped) {
    const auto partition = static_cast<int32_t>(random.below(options.partitions));
    auto value = std::make_shared<std::string>(absl::StrCat(id, "-", seq++));
    ++history->sends;
    auto done = [history, value, partition](const broker::client::RecordMetadata& md) {
      if (!md.status.ok()) {
        history->unknown.insert(*value);
        return;
      }
      history->acked[*value] = Where{partition, md.offset, -1, -1,
                                     to_seconds(Scheduler::current().now().time_since_epoch())};
      ++history->acked_all;
    };
    auto s = (*producer)->send({.topic = kTopic, .partition = partition, .value = *value},
                               std::move(done));
    if (!s.ok()) history->unknown.insert(*value);
    delay(std::chrono::milliseconds(random.below(static_cast<uint64_t>(options.think_ms_max) + 1)));
  }
  const TimePoint closing = Scheduler::current().now();
  (*producer)->close();
  TraceEvent(Severity::kInfo, "IdempotentProducerClosed")
      .detail("Producer", id)
      .detail("CloseSeconds", to_seconds(Scheduler::current().now() - closing))
      .detail("Failed", (*producer)->stats().records_failed)
      .detail("Retries", (*producer)->stats().retries);
  history->retries += (*producer)->stats().retries;
  history->producer_ids += (*producer)->stats().producer_ids;
}

// Fetches one partition from its leader from its position on, recording what it saw.
void poll_once(ClientCluster& cluster, ProduceVerify::History& history,
               std::vector<int64_t>& positions) {
  const int32_t p = static_cast<int32_t>(
      current_context().random->below(static_cast<uint64_t>(positions.size())));
  int32_t leader = -1;
  std::shared_ptr<KafkaConnection> conn = leader_connection(cluster, p, &leader);
  if (conn == nullptr) return;
  kafka::FetchRequest req;
  req.max_wait_ms = 100;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  auto& topic = req.topics.emplace_back();
  topic.topic = kTopic;
  topic.partitions.push_back({.partition = p,
                              .fetch_offset = positions[static_cast<size_t>(p)],
                              .partition_max_bytes = 64 << 10});
  auto framed = broker::client::call_with_deadline<kafka::FetchResponse>(conn, req, 3s);
  if (!framed.ok()) {
    cluster.connection_failed(leader, conn);
    return;
  }
  if (framed->body.responses.empty()) return;
  for (const auto& pd : framed->body.responses[0].partitions) {
    if (pd.error_code != 0) {
      if (retriable_leader_error(pd.error_code)) cluster.request_refresh();
      continue;
    }
    if (pd.partition_index != p) continue;
    for (auto& [offset, value] :
         decode_records(pd.records.bytes, positions[static_cast<size_t>(p)])) {
      ++history.polls;
      auto [it, fresh] = history.polled.emplace(std::make_pair(pd.partition_index, offset), value);
      if (!fresh && it->second != value)
        history.violation(absl::StrCat("consumers saw two values at ", pd.partition_index, "/",
                                       offset, ": ", it->second, " and ", value));
      positions[static_cast<size_t>(p)] = offset + 1;
    }
  }
}

}  // namespace

void ProduceVerify::start(ICluster& cluster) {
  auto history = history_;
  const Options options = options_;
  const std::string bootstrap = bootstrap_;
  int next_id = 0;
  std::vector<Future<void>> workers;
  if (options.scenario != IsrScenario::kNone) {
    workers.push_back(spawn_in(cluster.client(0), "isr-nemesis", [this] {
      run_isr_nemesis(options_.scenario, *faults_, coord_.connect_string(), kTopic, stopped_,
                      nemesis_);
    }));
  }
  for (int c = 0; c < cluster.client_count(); ++c) {
    for (int i = 0; i < options.producers_per_client; ++i) {
      const std::string id = absl::StrCat("p", next_id++);
      if (options.idempotent) {
        workers.push_back(spawn_in(cluster.client(c), "idempotent-producer", [=, this] {
          run_idempotent_producer(bootstrap, id, options, history, stopped_);
        }));
        continue;
      }
      workers.push_back(spawn_in(cluster.client(c), "verify-producer", [=, this] {
        std::shared_ptr<ClientCluster> client = make_cluster(bootstrap);
        int64_t seq = 0;
        while (!stopped_) {
          send_one(*client, *history, options, id, seq);
          delay(std::chrono::milliseconds(
              current_context().random->below(static_cast<uint64_t>(options.think_ms_max) + 1)));
        }
        client->shutdown();
      }));
    }
    for (int i = 0; i < options.consumers_per_client; ++i) {
      workers.push_back(spawn_in(cluster.client(c), "verify-consumer", [=, this] {
        std::vector<int64_t> positions(static_cast<size_t>(options.partitions), 0);
        std::shared_ptr<ClientCluster> client = make_cluster(bootstrap);
        while (!stopped_) poll_once(*client, *history, positions);
        client->shutdown();
      }));
    }
  }
  for (auto& w : workers) (void)await(w);
}

void ProduceVerify::stop() {
  stopped_ = true;
}

namespace {

// Every partition read in full once the broker serves again: (partition, offset) -> value, and
// each partition's high watermark. Retries until it gets a consistent answer.
struct FinalLog {
  std::map<std::pair<int32_t, int64_t>, std::string> values;
  std::vector<int64_t> high_watermarks;
};

absl::StatusOr<FinalLog> read_everything(ClientCluster& cluster, int partitions,
                                         const std::set<int32_t>& skip) {
  FinalLog out;
  out.high_watermarks.assign(static_cast<size_t>(partitions), -1);
  for (int32_t p = 0; p < partitions; ++p) {
    if (skip.count(p) != 0) continue;
    int64_t at = 0;
    while (true) {
      std::shared_ptr<KafkaConnection> conn = leader_connection(cluster, p);
      if (conn == nullptr) return absl::UnavailableError("no leader");
      kafka::FetchRequest req;
      req.max_wait_ms = 0;
      req.max_bytes = 1 << 20;
      auto& topic = req.topics.emplace_back();
      topic.topic = kTopic;
      topic.partitions.push_back(
          {.partition = p, .fetch_offset = at, .partition_max_bytes = 1 << 20});
      auto framed = broker::client::call_with_deadline<kafka::FetchResponse>(conn, req, 3s);
      if (!framed.ok()) {
        cluster.request_refresh();
        return framed.status();
      }
      const kafka::FetchResponse* rsp = &framed->body;
      if (rsp->responses.empty() || rsp->responses[0].partitions.empty())
        return absl::UnavailableError("empty fetch response");
      const auto& pd = rsp->responses[0].partitions[0];
      if (pd.error_code != 0) {
        cluster.request_refresh();
        return absl::UnavailableError(absl::StrCat("fetch error ", pd.error_code));
      }
      out.high_watermarks[static_cast<size_t>(p)] = pd.high_watermark;
      const auto records = decode_records(pd.records.bytes, at);
      if (records.empty()) {
        if (at >= pd.high_watermark) break;
        return absl::DataLossError(absl::StrCat("partition ", p, ": nothing readable at offset ",
                                                at, " below the high watermark ", pd.high_watermark,
                                                " (", pd.records.bytes.size(), " bytes fetched)"));
      }
      for (const auto& [offset, value] : records) {
        out.values[{p, offset}] = value;
        at = offset + 1;
      }
    }
  }
  return out;
}

}  // namespace

// Partitions the controller left offline because no complete replica remains (leader -1 with
// an empty ISR and ELR, unclean elections off): by design they take no writes, so the
// liveness check excuses them, counts them, and their acknowledgements go unchecked.
std::set<int32_t> offline_by_design(const std::string& coord, int partitions) {
  std::set<int32_t> out;
  auto client = coord::client::CoordClient::create(coord, {.request_timeout = 5s});
  if (!client.ok()) return out;
  for (int32_t p = 0; p < partitions; ++p) {
    auto data = await((*client)->get_data(broker::ClusterStore::state_path(kTopic, p)));
    if (!data.ok()) continue;
    auto state = broker::ClusterStore::parse_partition_state_json(data->data);
    if (state.ok() && state->leader < 0 && state->isr.empty() && state->elr.empty()) out.insert(p);
  }
  (void)await(timeout((*client)->close(), 5s));
  return out;
}

std::vector<std::string> ProduceVerify::scenario_problems() const {
  std::vector<std::string> out;
  const IsrNemesisReport& r = nemesis_;
  if (options_.scenario == IsrScenario::kLeaderLoss && !options_.unclean &&
      r.leader_while_down >= 0)
    out.push_back(absl::StrCat("broker ", r.leader_while_down, " led partition 0 while ",
                               r.lost_leader,
                               ", its only in-sync replica, was down (unclean elections off)"));
  if (options_.scenario == IsrScenario::kLastReplicaStanding && r.lost_leader >= 0 &&
      r.leader_while_down == r.lost_leader)
    out.push_back(absl::StrCat("broker ", r.lost_leader,
                               ", which lost unflushed data, led partition 0 before the eligible ",
                               "replica ", r.eligible, " returned"));
  return out;
}

Verdict ProduceVerify::check(ICluster&) {
  History& h = *history_;
  if (options_.scenario != IsrScenario::kNone && !nemesis_.completed)
    return Verdict::liveness("the scenario stopped before its end, at: " + nemesis_.stopped_at);
  // Liveness first: once healed, the broker acknowledges a new value (it joins the history).
  const size_t acked_before = h.acked.size();
  int64_t seq = 0;
  std::shared_ptr<ClientCluster> client = make_cluster(bootstrap_);
  struct Shutdown {
    ClientCluster& c;
    ~Shutdown() { c.shutdown(); }
  } shutdown{*client};
  // Every partition must take an acks=all write again (a leader and min.insync in the ISR), so
  // that its high watermark covers everything acknowledged before.
  std::set<int32_t> healed;
  const TimePoint start = Scheduler::current().now();
  // Bounded well inside check_seconds, so that a cluster that never heals is reported as such.
  const TimePoint heal_deadline = start + to_scheduler_duration(40s);
  while (static_cast<int>(healed.size()) < options_.partitions &&
         Scheduler::current().now() < heal_deadline) {
    const size_t before = h.acked.size();
    send_one(*client, h, options_, "healed", seq, -1);
    if (h.acked.size() > before) {
      for (const auto& [v, at] : h.acked) {
        if (v.rfind("healed-", 0) == 0) healed.insert(at.partition);
      }
    } else {
      delay(100ms);
    }
  }
  healed_after_s_ = to_seconds(Scheduler::current().now() - start);
  std::set<int32_t> offline;
  if (static_cast<int>(healed.size()) < options_.partitions && options_.replication_factor > 1 &&
      !options_.unclean) {
    offline = offline_by_design(coord_.connect_string(), options_.partitions);
    for (int32_t p : offline) healed.insert(p);
  }
  offline_partitions_ = offline.size();
  if (static_cast<int>(healed.size()) < options_.partitions)
    return Verdict::liveness(absl::StrCat("after healing, only ", healed.size(), " of ",
                                          options_.partitions, " partitions took a write"));
  (void)acked_before;
  // A new leader's high watermark may lag until its followers fetch again (as in Kafka): the
  // final read waits until it covers every acks=all acknowledgement.
  std::vector<int64_t> acked_end(static_cast<size_t>(options_.partitions), 0);
  for (const auto& [v, at] : h.acked) {
    if (at.acks == -1)
      acked_end[static_cast<size_t>(at.partition)] =
          std::max(acked_end[static_cast<size_t>(at.partition)], at.offset + 1);
  }
  absl::StatusOr<FinalLog> final_log = absl::UnavailableError("not read yet");
  std::optional<FinalLog> short_log;  // read whole, but below some acknowledgement
  const TimePoint read_deadline = Scheduler::current().now() + to_scheduler_duration(15s);
  while (Scheduler::current().now() < read_deadline) {
    final_log = read_everything(*client, options_.partitions, offline);
    if (final_log.ok()) {
      short_log = *final_log;
      for (int p = 0; p < options_.partitions && final_log.ok(); ++p) {
        if (offline.count(p) != 0) continue;
        const int64_t hw = final_log->high_watermarks[static_cast<size_t>(p)];
        if (hw < acked_end[static_cast<size_t>(p)])
          final_log = absl::UnavailableError(absl::StrCat(
              "partition ", p, "'s high watermark stayed at ", hw,
              " below the acknowledged offset ", acked_end[static_cast<size_t>(p)] - 1));
      }
    }
    if (final_log.ok() || absl::IsDataLoss(final_log.status())) break;
    delay(100ms);
  }
  // A log that never grows to cover what was acknowledged lost it: judge what it holds.
  if (!final_log.ok() && !absl::IsDataLoss(final_log.status()) && short_log.has_value())
    final_log = *std::move(short_log);
  if (!final_log.ok()) {
    if (absl::IsDataLoss(final_log.status()))
      return Verdict::correctness(std::string(final_log.status().message()));
    return Verdict::liveness(absl::StrCat("the broker never served the whole log again: ",
                                          final_log.status().message()));
  }
  // Dense offsets from 0, and each value at one offset only.
  std::map<std::string, Where> where;
  std::vector<std::string> problems = h.violations;
  for (std::string& p : scenario_problems()) problems.push_back(std::move(p));
  auto problem = [&](std::string p) {
    if (problems.size() < kViolationsMax) problems.push_back(std::move(p));
  };
  std::vector<int64_t> expected_next(static_cast<size_t>(options_.partitions), 0);
  std::map<std::pair<std::string, int32_t>, int64_t> last_seq;
  uint64_t duplicated = 0;
  for (const auto& [key, value] : final_log->values) {
    const auto [p, offset] = key;
    int64_t& next = expected_next[static_cast<size_t>(p)];
    if (offset != next)
      problem(absl::StrCat("partition ", p, ": offset ", offset, " after ", next - 1));
    next = offset + 1;
    auto [it, fresh] = where.emplace(value, Where{p, offset});
    if (!fresh) {
      ++duplicated;
      problem(absl::StrCat("value ", value, " at ", p, "/", offset, " and ", it->second.partition,
                           "/", it->second.offset));
    }
    const auto [producer, seq] = split_value(value);
    auto [sit, first] = last_seq.emplace(std::make_pair(producer, p), seq);
    if (!first && seq <= sit->second)
      problem(absl::StrCat("producer ", producer, " order broken in partition ", p, ": ", seq,
                           " after ", sit->second));
    sit->second = std::max(sit->second, seq);
  }
  uint64_t lost = 0;
  for (const auto& [value, at] : h.acked) {
    if (offline.count(at.partition) != 0) continue;
    auto it = where.find(value);
    if (it == where.end()) {
      // acks=1 is the leader's word alone: a leader lost before its followers fetched takes
      // it along. Counted, not a violation; acks=all never.
      if (at.acks == 1 && options_.replication_factor > 1) {
        ++lost_acks_one_;
        continue;
      }
      ++lost;
      problem(absl::StrCat("acknowledged ", value, " at ", at.partition, "/", at.offset,
                           " (acks=", at.acks, " by broker ", at.leader, " at ", at.at_s,
                           " s) is not in the log"));
    } else if (it->second.partition != at.partition || it->second.offset != at.offset) {
      problem(absl::StrCat("acknowledged ", value, " at ", at.partition, "/", at.offset, " is at ",
                           it->second.partition, "/", it->second.offset));
    }
  }
  for (const auto& [key, value] : h.polled) {
    if (offline.count(key.first) != 0) continue;
    auto it = final_log->values.find(key);
    if (it == final_log->values.end() || it->second != value)
      problem(absl::StrCat("a consumer read ", value, " at ", key.first, "/", key.second,
                           " that the log no longer holds"));
  }
  TraceEvent(Severity::kInfo, "ProduceVerifyChecked")
      .detail("Acked", h.acked.size())
      .detail("Unknown", h.unknown.size())
      .detail("InLog", final_log->values.size())
      .detail("Lost", lost)
      .detail("LostAcksOne", lost_acks_one_)
      .detail("HealedAfterS", healed_after_s_)
      .detail("Duplicated", duplicated);
  if (!problems.empty()) {
    std::string counts;
    if (lost > 0) counts = absl::StrCat(lost, " acknowledged values lost; ");
    if (duplicated > 0) absl::StrAppend(&counts, duplicated, " duplicated; ");
    if (nemesis_.leader_while_down >= 0 && options_.unclean)
      absl::StrAppend(&counts, "after an unclean election of broker ", nemesis_.leader_while_down,
                      "; ");
    return Verdict::correctness(
        absl::StrCat(counts, problems.size(), " problems, first: ", problems.front()));
  }
  return Verdict::pass();
}

std::map<std::string, double> ProduceVerify::metrics() const {
  return {{"sends", static_cast<double>(history_->sends)},
          {"acked", static_cast<double>(history_->acked.size())},
          {"unknown", static_cast<double>(history_->unknown.size())},
          {"polled", static_cast<double>(history_->polls)},
          {"acked_all", static_cast<double>(history_->acked_all)},
          {"lost_acks_one", static_cast<double>(lost_acks_one_)},
          {"healed_after_s", healed_after_s_},
          {"offline_by_design", static_cast<double>(offline_partitions_)},
          {"scenario_offline_s", nemesis_.offline_s},
          {"scenario_completed", nemesis_.completed ? 1.0 : 0.0},
          {"producer_retries", static_cast<double>(history_->retries)},
          {"producer_ids", static_cast<double>(history_->producer_ids)}};
}

}  // namespace weir::workloads
