// Child processes of `weir` itself (sweeps and determinism checks run seeds in children so a
// crash or a hang of one seed cannot take the sweep down, and so that every run starts from a
// fresh address space with its own hash salt and ASLR layout).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::cli {

struct ChildSpec {
  std::vector<std::string> args;  // args[0] is the program
  std::string cwd;                // empty: inherit
  bool disable_aslr = false;
  std::string stdout_path;  // empty: inherit
  std::string stderr_path;  // empty: inherit
};

absl::StatusOr<pid_t> start_child(const ChildSpec& spec);

struct ChildExit {
  pid_t pid = -1;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
};

// Waits for one specific child, or any child with pid -1.
ChildExit wait_child(pid_t pid);

std::string read_text_file(const std::string& path);

// Minimal readers for the summary JSON our own children print (we control its format).
std::string json_string_field(const std::string& json, const std::string& key);
double json_number_field(const std::string& json, const std::string& key);
std::vector<std::string> json_string_array(const std::string& json, const std::string& key);

}  // namespace weir::cli
