// The per-session check of coord reads served without sync (ZooKeeper promises them sequential
// consistency, not linearizability). A plain read must show its path as it was at some committed
// zxid between the session's last seen zxid before the read and the one after it: never older
// than what the session already saw (including its own writes), never newer than the reply says.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workloads/coord_ensemble.h"

namespace weir::workloads {

struct PlainRead {
  int32_t client = 0;
  std::string path;
  int64_t zxid_before = 0;  // the session's last seen zxid when it sent the read
  int64_t zxid_after = 0;   // ... when the answer arrived
  bool exists = false;
  std::optional<std::string> data;  // getData only (exists does not show data)
  int32_t version = 0;
};

// The first read no committed state of its path explains, described for a person; nullopt if
// every read is explained. `timelines` comes from CoordEnsemble::replay and must hold each path.
std::optional<std::string> check_plain_reads(
    const std::vector<PlainRead>& reads,
    const std::map<std::string, std::vector<CommittedValue>>& timelines);

}  // namespace weir::workloads
