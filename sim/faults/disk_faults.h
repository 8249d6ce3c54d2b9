// DiskFaults (the injector; DiskFaults the struct is what it sets): a role machine's disk
// fails reads, writes, syncs and metadata calls with EIO, fills up, slows down or returns
// corrupted bytes, for a while. It exists because durable-state code is only trustworthy once
// it has met every way a disk can lie or refuse, and recovered when the disk got better.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>

#include "sim/disk.h"
#include "sim/faults/injector.h"

namespace weir::sim {

class DiskFaultInjector final : public Injector {
 public:
  static std::span<const OptionSpec> schema();

  DiskFaultInjector(SimCluster& cluster, const std::map<std::string, std::string>& options,
                    bool swarm);

 protected:
  void inject() override;

 private:
  // A random mix of faults for one spell, and its description.
  DiskFaults draw_faults(std::string* what);

  // Machines whose disk this injector has faulted now: one spell per disk at a time, so that
  // one spell's end never clears another's faults.
  std::set<std::string> faulted_;
};

}  // namespace weir::sim
