#include "cli/child.h"

#include <fcntl.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace weir::cli {

absl::StatusOr<pid_t> start_child(const ChildSpec& spec) {
  std::vector<char*> argv;
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid > 0) return pid;
  // Child: only async-signal-safe calls from here on.
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(127);
  if (spec.disable_aslr) personality(ADDR_NO_RANDOMIZE);
  if (!spec.stdout_path.empty()) {
    int fd = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(127);
    dup2(fd, STDOUT_FILENO);
    close(fd);
  }
  if (!spec.stderr_path.empty()) {
    int fd = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(127);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  execv(argv[0], argv.data());
  _exit(127);
}

ChildExit wait_child(pid_t pid) {
  ChildExit out;
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  out.pid = got;
  if (got < 0) return out;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
// Parses a JSON string starting at json[pos] == '"'; returns the decoded text.
std::string parse_string(const std::string& json, size_t& pos) {
  std::string out;
  ++pos;
  while (pos < json.size() && json[pos] != '"') {
    if (json[pos] == '\\' && pos + 1 < json.size()) {
      ++pos;
      const char c = json[pos];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      out.push_back(json[pos]);
    }
    ++pos;
  }
  ++pos;
  return out;
}

size_t value_start(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  return at == std::string::npos ? std::string::npos : at + needle.size();
}
}  // namespace

std::string json_string_field(const std::string& json, const std::string& key) {
  size_t pos = value_start(json, key);
  if (pos == std::string::npos || pos >= json.size() || json[pos] != '"') return {};
  return parse_string(json, pos);
}

double json_number_field(const std::string& json, const std::string& key) {
  const size_t pos = value_start(json, key);
  if (pos == std::string::npos) return 0;
  return std::strtod(json.c_str() + pos, nullptr);
}

std::vector<std::string> json_string_array(const std::string& json, const std::string& key) {
  std::vector<std::string> out;
  size_t pos = value_start(json, key);
  if (pos == std::string::npos || pos >= json.size() || json[pos] != '[') return out;
  ++pos;
  while (pos < json.size() && json[pos] != ']') {
    if (json[pos] == '"') {
      out.push_back(parse_string(json, pos));
    } else {
      ++pos;
    }
  }
  return out;
}

}  // namespace weir::cli
