#include "workloads/broker_role.h"

#include "absl/strings/str_cat.h"
#include "broker/server/broker.h"
#include "buggify/buggify.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::workloads {

// With BUGGIFY on, the seed also draws the replication knobs (FoundationDB's randomized
// knobs): lag bound, fetch wait and session timeout, within what the checks' bounds allow.
void draw_replication_knobs(IRandom& random, std::map<std::string, std::string>& props) {
  if (!buggify::enabled()) return;
  props["replica.lag.time.max.ms"] = absl::StrCat(random.uniform_int(500, 4000));
  props["replica.fetch.wait.max.ms"] = absl::StrCat(random.uniform_int(20, 500));
  props["zookeeper.session.timeout.ms"] = absl::StrCat(random.uniform_int(2000, 4000));
}

void run_broker(ProcessContext& ctx, std::shared_ptr<std::map<std::string, std::string>> props) {
  std::map<std::string, std::string> p = *props;
  const std::string ip = ctx.address.substr(0, ctx.address.rfind(':'));
  // "broker<i>": the role's processes are numbered from 0.
  const size_t digits = ctx.name.find_last_not_of("0123456789") + 1;
  p["broker.id"] = ctx.name.substr(digits).empty() ? "0" : ctx.name.substr(digits);
  p["listeners"] = absl::StrCat("PLAINTEXT://", ip, ":", kBrokerPort);
  p["log.dirs"] = ctx.data_dir + "/kafka-logs";
  auto config = broker::broker_config_from(p);
  WEIR_ASSERT_MSG(config.ok(), "the workload's broker config is valid");
  while (true) {
    broker::Broker b(*config, ctx);
    const absl::Status s = b.run();
    TraceEvent(Severity::kWarn, "BrokerRestart").detail("Status", s.ToString());
    (void)b.stop();
    delay(200ms);
  }
}

}  // namespace weir::workloads
