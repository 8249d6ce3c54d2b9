// The broker role of the Kafka workloads: each process of the role runs a real
// broker::Broker with the workload's properties, numbered by its process name ("broker2" is
// broker.id 2), listening on kBrokerPort with its log under the machine's data directory, and
// restarts it whenever it stops.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/process_context.h"
#include "runtime/random.h"

namespace weir::workloads {

inline constexpr uint16_t kBrokerPort = 9092;

// The replication knobs a seed draws when BUGGIFY is on (lag, fetch wait, session timeout).
void draw_replication_knobs(IRandom& random, std::map<std::string, std::string>& props);

// The role process's root actor; `props` are shared by every process of the role.
void run_broker(ProcessContext& ctx, std::shared_ptr<std::map<std::string, std::string>> props);

}  // namespace weir::workloads
