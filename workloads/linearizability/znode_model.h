// A sequential model of a ZooKeeper-like data tree for the coordination service's
// linearizability workload. Deliberately independent of coord/: plain structs that the
// workload fills from what its clients saw, so a bug in coord cannot hide in a shared model.
//
// The tree is flat: a map path -> (data, version) with no parent/child rules (no NoNode for a
// missing parent, no NotEmpty). Workloads use paths whose parent always exists. Versions are
// ZooKeeper's data versions: 0 on create, +1 per setData; a node deleted and created again
// starts over at 0. Expected version -1 matches any version.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workloads/linearizability/model.h"

namespace weir::workloads::lin {

// ZooKeeper's error codes (KeeperException.Code) for the outcomes the model produces.
namespace zk {
inline constexpr int32_t kOk = 0;
inline constexpr int32_t kRuntimeInconsistency = -2;  // a multi's ops after the failing one
inline constexpr int32_t kNoNode = -101;
inline constexpr int32_t kBadVersion = -103;
inline constexpr int32_t kNodeExists = -110;
std::string code_name(int32_t code);
}  // namespace zk

struct ZnodeOp {
  enum class Kind { kCreate, kSetData, kDelete, kCheck, kGetData, kExists, kMulti };
  Kind kind = Kind::kGetData;
  std::string path;
  std::string data;          // create, setData
  int32_t version = -1;      // setData, delete, check: expected version, -1 any
  std::vector<ZnodeOp> ops;  // multi: create/setData/delete/check only, as in ZooKeeper

  static ZnodeOp create(std::string path, std::string data);
  static ZnodeOp set_data(std::string path, std::string data, int32_t version = -1);
  static ZnodeOp remove(std::string path, int32_t version = -1);
  static ZnodeOp check(std::string path, int32_t version);
  static ZnodeOp get_data(std::string path);
  static ZnodeOp exists(std::string path);
  static ZnodeOp multi(std::vector<ZnodeOp> ops);
};

// What the client saw. Optional fields a client did not observe are left empty and then not
// checked; `code` always is.
struct ZnodeResult {
  int32_t code = zk::kOk;
  std::optional<std::string> data;  // getData
  std::optional<int32_t> version;   // getData, setData (new version), exists (if it exists)
  bool exists = false;              // exists
  // multi: one result per op (ZooKeeper reports kOk before the failing op, its error, then
  // kRuntimeInconsistency); empty if not observed.
  std::vector<ZnodeResult> results;

  static ZnodeResult ok() { return {}; }
  static ZnodeResult error(int32_t code);
  static ZnodeResult get(std::string data, int32_t version);
  static ZnodeResult stat(int32_t version);  // setData's new version
  static ZnodeResult exists_result(std::optional<int32_t> version);
  static ZnodeResult multi(int32_t code, std::vector<ZnodeResult> results = {});
};

struct Znode {
  std::string data;
  int32_t version = 0;
  bool operator==(const Znode&) const = default;
};

// Absent paths do not exist. A std::map: ordered, so hashing and printing are deterministic.
struct ZnodeState {
  std::map<std::string, Znode> nodes;
  bool operator==(const ZnodeState&) const = default;
};

struct ZnodeModel {
  using State = ZnodeState;
  using Input = ZnodeOp;
  using Output = ZnodeResult;

  static State init() { return {}; }
  // The sequential specification: the full result of `op` in `state`, and the state after.
  static Output apply(const State& state, const Input& op, State* next);
  // Whether `observed` agrees with `expected` on every field the client observed.
  static bool matches(const Input& op, const Output& expected, const Output& observed);
  static bool step(const State& state, const Input& op, const Output& output, State* next) {
    return matches(op, apply(state, op, next), output);
  }
  static bool step_unknown(const State& state, const Input& op, State* next) {
    apply(state, op, next);
    return true;
  }
  static uint64_t hash(const State& state);
  static std::string describe(const Input& op, const Output* output);
  static std::string describe_state(const State& state);
  // By path; a multi joins the groups of all its paths.
  static std::vector<std::vector<size_t>> partition(const HistoryOf<ZnodeModel>& history);
};

}  // namespace weir::workloads::lin
