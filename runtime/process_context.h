// What code running on a process receives: its I/O, clock, randomness and identity. Code above
// the runtime only ever sees this, so it cannot tell the real world from the simulation.
#pragma once

#include <string>

#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/network.h"
#include "runtime/random.h"

namespace weir {

struct ProcessContext {
  INetwork* network = nullptr;
  IFileSystem* fs = nullptr;
  IClock* clock = nullptr;
  IRandom* random = nullptr;
  std::string address;   // "host:port" this process serves on
  std::string data_dir;  // where its durable files live
  std::string machine;   // machine name (for traces)
  // The machine's current boot. A process restarted within one boot finds everything it
  // wrote in the page cache, synced or not; only a new boot (power loss, reboot) can have
  // dropped unsynced writes. Real: the kernel's boot_id; simulated: the machine's power cycles.
  std::string boot_id;
  std::string name;        // process name (for traces)
  bool simulated = false;  // read only by buggify/ and knob randomization
};

// The context of the calling actor's process. Asserts there is one.
ProcessContext& current_context();

}  // namespace weir
