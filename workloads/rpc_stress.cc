#include "workloads/rpc_stress.h"

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "buggify/knobs.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/rpc.pb.h"
#include "runtime/rpc/server.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {
namespace {

// How often the liveness check retries a server it cannot reach yet.
Knob rpc_stress_recheck_interval_ms("rpc_stress_recheck_interval_ms", 200, 10, 2000);

constexpr uint16_t kPort = 4500;
constexpr char kEndpoint[] = "rpcstress.echo";

void serve(ProcessContext& ctx, RpcStress::Options options) {
  rpc::RpcServer server(*ctx.network);
  uint64_t calls = 0;
  server.handle<rpc::EchoRequest, rpc::EchoReply>(
      kEndpoint, [&](const rpc::EchoRequest& req) -> absl::StatusOr<rpc::EchoReply> {
        ++calls;
        // Some requests take a while, so replies overtake each other on one connection.
        if (ctx.random->coinflip(0.2)) delay(from_seconds(ctx.random->uniform01() * 0.05));
        // BUGGIFY: a reply slower than the caller's timeout, so late replies get dropped.
        if (BUGGIFY_WITH_PROB(0.01)) delay(from_seconds(1.0 + ctx.random->uniform01()));
        if (options.bug == RpcStress::Bug::kHang && ctx.random->coinflip(0.02)) delay(1000000s);
        rpc::EchoReply rep;
        rep.set_sequence(req.sequence());
        if (options.bug == RpcStress::Bug::kSwapReplies && ctx.random->coinflip(0.01)) {
          rep.set_sequence(req.sequence() + 1);
        }
        rep.set_client_id(req.client_id());
        rep.set_server_calls(calls);
        rep.set_payload(req.payload());
        return rep;
      });
  auto s = server.serve(ctx.address);
  TraceEvent(Severity::kWarn, "RpcStressServerEnded").detail("Status", s.ToString());
}

bool is_typed_error(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kDataLoss;
}

// One caller actor: calls random servers until stopped and records every outcome.
void caller(rpc::RpcClient& client, uint64_t client_id, const std::vector<std::string>& servers,
            RpcStress::Options options, std::shared_ptr<RpcStress::Ledger> ledger,
            std::shared_ptr<bool> stopped) {
  IRandom& random = *current_context().random;
  const Duration timeout = options.bug == RpcStress::Bug::kHang
                               ? Duration(3600s)
                               : Duration(std::chrono::milliseconds(options.call_timeout_ms));
  for (uint64_t seq = 1; !*stopped; ++seq) {
    rpc::EchoRequest req;
    req.set_sequence(seq);
    req.set_client_id(client_id);
    req.set_payload(std::string(random.below(static_cast<uint64_t>(options.payload_bytes_max)) + 1,
                                static_cast<char>('a' + seq % 26)));
    const std::string& server = servers[random.below(servers.size())];
    ++ledger->issued;
    auto reply = client.call<rpc::EchoRequest, rpc::EchoReply>(server, kEndpoint, req, timeout);
    ++ledger->completed;
    if (reply.ok()) {
      ++ledger->ok;
      if (reply->sequence() != seq || reply->client_id() != client_id ||
          reply->payload() != req.payload()) {
        ledger->violation(absl::StrCat("client ", client_id, " call ", seq, " to ", server,
                                       " got the reply of another request (sequence ",
                                       reply->sequence(), ", client ", reply->client_id(), ")"));
      }
    } else {
      CODE_PROBE(reply.status().code() == absl::StatusCode::kDeadlineExceeded,
                 "rpc_stress.call_timed_out");
      CODE_PROBE(reply.status().code() == absl::StatusCode::kUnavailable,
                 "rpc_stress.call_unavailable");
      ++ledger->errors[absl::StatusCodeToString(reply.status().code())];
      if (!is_typed_error(reply.status().code())) {
        ledger->violation(
            absl::StrCat("client ", client_id, " call ", seq,
                         " ended with an untyped error: ", reply.status().ToString()));
      }
      delay(from_seconds(random.uniform01() * 0.05));
    }
    if (options.think_ms > 0) {
      delay(std::chrono::milliseconds(
          static_cast<int64_t>(random.below(static_cast<uint64_t>(2 * options.think_ms)))));
    }
  }
}

}  // namespace

void RpcStress::Ledger::violation(std::string what) {
  TraceEvent(Severity::kWarnAlways, "RpcStressViolation").detail("What", what);
  if (violations.size() < 100) violations.push_back(std::move(what));
}

absl::StatusOr<std::unique_ptr<Workload>> RpcStress::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.servers = static_cast<int>(o.get_int("servers", 5, 1, 32));
  options.callers_per_client = static_cast<int>(o.get_int("callers_per_client", 4, 1, 256));
  options.payload_bytes_max = static_cast<int>(o.get_int("payload_bytes_max", 512, 1, 1 << 20));
  options.call_timeout_ms = o.get_int("call_timeout_ms", 1000, 1, 600000);
  options.think_ms = o.get_int("think_ms", 0, 0, 600000);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "swap_replies") {
    options.bug = Bug::kSwapReplies;
  } else if (bug == "hang") {
    options.bug = Bug::kHang;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("RpcStress: unknown bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<RpcStress>(options));
}

RpcStress::RpcStress(Options options)
    : options_(options),
      ledger_(std::make_shared<Ledger>()),
      stopped_(std::make_shared<bool>(false)) {}

absl::Status RpcStress::setup(ICluster& cluster) {
  RoleSpec role;
  role.name = "rpc";
  role.count = options_.servers;
  role.port = kPort;
  role.boot = [options = options_](ProcessContext& ctx) { serve(ctx, options); };
  auto addresses = cluster.start_role(role);
  if (!addresses.ok()) return addresses.status();
  servers_ = *addresses;
  return absl::OkStatus();
}

void RpcStress::start(ICluster& cluster) {
  std::vector<Future<void>> clients;
  for (int c = 0; c < cluster.client_count(); ++c) {
    clients.push_back(spawn_in(cluster.client(c), "rpcstress-client", [this, c] {
      rpc::RpcClient client;
      std::vector<Future<void>> callers;
      for (int i = 0; i < options_.callers_per_client; ++i) {
        const uint64_t id = static_cast<uint64_t>(c) * 1000 + static_cast<uint64_t>(i);
        callers.push_back(spawn("rpcstress-caller", [&client, id, this] {
          caller(client, id, servers_, options_, ledger_, stopped_);
        }));
      }
      (void)await(when_all(callers));
    }));
  }
  while (!*stopped_) delay(100ms);
  // Every call must end within its timeout; give them that long, then let check() count.
  auto all = when_all(clients);
  auto done = await(timeout(all, std::chrono::milliseconds(options_.call_timeout_ms) + 2s));
  if (!done.ok()) {
    TraceEvent(Severity::kWarnAlways, "RpcStressCallsStuck")
        .detail("Outstanding", ledger_->issued - ledger_->completed);
  }
}

Verdict RpcStress::check(ICluster& cluster) {
  if (ledger_->issued != ledger_->completed) {
    return Verdict::correctness(absl::StrCat(ledger_->issued - ledger_->completed,
                                             " calls neither got a reply nor failed"));
  }
  if (!ledger_->violations.empty()) return Verdict::correctness(ledger_->violations.front());
  // Liveness: after healing every client reaches every server (the harness bounds the time).
  for (int c = 0; c < cluster.client_count(); ++c) {
    auto reached = spawn_in(cluster.client(c), "rpcstress-recheck", [this, c] {
      rpc::RpcClient client;
      for (const std::string& server : servers_) {
        rpc::EchoRequest req;
        req.set_client_id(static_cast<uint64_t>(c));
        while (!client.call<rpc::EchoRequest, rpc::EchoReply>(server, kEndpoint, req, 1s).ok()) {
          CODE_PROBE(true, "rpc_stress.recheck_retried");
          delay(std::chrono::milliseconds(rpc_stress_recheck_interval_ms.get()));
        }
      }
    });
    (void)await(reached);
  }
  return Verdict::pass();
}

std::map<std::string, double> RpcStress::metrics() const {
  std::map<std::string, double> m = {{"calls", static_cast<double>(ledger_->issued)},
                                     {"ok", static_cast<double>(ledger_->ok)}};
  for (const auto& [code, n] : ledger_->errors) m["error." + code] = static_cast<double>(n);
  return m;
}

}  // namespace weir::workloads
