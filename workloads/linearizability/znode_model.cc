#include "workloads/linearizability/znode_model.h"

#include <utility>

#include "runtime/assert.h"
#include "workloads/linearizability/partition.h"

namespace weir::workloads::lin {

std::string zk::code_name(int32_t code) {
  switch (code) {
    case kOk:
      return "ok";
    case kRuntimeInconsistency:
      return "RuntimeInconsistency";
    case kNoNode:
      return "NoNode";
    case kBadVersion:
      return "BadVersion";
    case kNodeExists:
      return "NodeExists";
    default:
      return "code " + std::to_string(code);
  }
}

ZnodeOp ZnodeOp::create(std::string path, std::string data) {
  return {Kind::kCreate, std::move(path), std::move(data), -1, {}};
}
ZnodeOp ZnodeOp::set_data(std::string path, std::string data, int32_t version) {
  return {Kind::kSetData, std::move(path), std::move(data), version, {}};
}
ZnodeOp ZnodeOp::remove(std::string path, int32_t version) {
  return {Kind::kDelete, std::move(path), "", version, {}};
}
ZnodeOp ZnodeOp::check(std::string path, int32_t version) {
  return {Kind::kCheck, std::move(path), "", version, {}};
}
ZnodeOp ZnodeOp::get_data(std::string path) {
  return {Kind::kGetData, std::move(path), "", -1, {}};
}
ZnodeOp ZnodeOp::exists(std::string path) {
  return {Kind::kExists, std::move(path), "", -1, {}};
}
ZnodeOp ZnodeOp::multi(std::vector<ZnodeOp> ops) {
  for (const ZnodeOp& op : ops) {
    WEIR_ASSERT_MSG(op.kind == Kind::kCreate || op.kind == Kind::kSetData ||
                        op.kind == Kind::kDelete || op.kind == Kind::kCheck,
                    "a multi holds only create, setData, delete and check");
  }
  return {Kind::kMulti, "", "", -1, std::move(ops)};
}

ZnodeResult ZnodeResult::error(int32_t code) {
  ZnodeResult result;
  result.code = code;
  return result;
}
ZnodeResult ZnodeResult::get(std::string data, int32_t version) {
  ZnodeResult result;
  result.data = std::move(data);
  result.version = version;
  return result;
}
ZnodeResult ZnodeResult::stat(int32_t version) {
  ZnodeResult result;
  result.version = version;
  return result;
}
ZnodeResult ZnodeResult::exists_result(std::optional<int32_t> version) {
  ZnodeResult result;
  result.exists = version.has_value();
  result.version = version;
  return result;
}
ZnodeResult ZnodeResult::multi(int32_t code, std::vector<ZnodeResult> results) {
  ZnodeResult result;
  result.code = code;
  result.results = std::move(results);
  return result;
}

namespace {

using Nodes = std::map<std::string, Znode>;

bool version_matches(int32_t expected, const Znode& node) {
  return expected == -1 || expected == node.version;
}

// One non-multi operation applied in place.
ZnodeResult apply_one(Nodes* nodes, const ZnodeOp& op) {
  using Kind = ZnodeOp::Kind;
  auto it = nodes->find(op.path);
  const bool found = it != nodes->end();
  switch (op.kind) {
    case Kind::kCreate:
      if (found) return ZnodeResult::error(zk::kNodeExists);
      nodes->emplace(op.path, Znode{op.data, 0});
      return ZnodeResult::ok();
    case Kind::kSetData:
      if (!found) return ZnodeResult::error(zk::kNoNode);
      if (!version_matches(op.version, it->second)) return ZnodeResult::error(zk::kBadVersion);
      it->second.data = op.data;
      return ZnodeResult::stat(++it->second.version);
    case Kind::kDelete:
      if (!found) return ZnodeResult::error(zk::kNoNode);
      if (!version_matches(op.version, it->second)) return ZnodeResult::error(zk::kBadVersion);
      nodes->erase(it);
      return ZnodeResult::ok();
    case Kind::kCheck:
      if (!found) return ZnodeResult::error(zk::kNoNode);
      if (!version_matches(op.version, it->second)) return ZnodeResult::error(zk::kBadVersion);
      return ZnodeResult::ok();
    case Kind::kGetData:
      if (!found) return ZnodeResult::error(zk::kNoNode);
      return ZnodeResult::get(it->second.data, it->second.version);
    case Kind::kExists:
      return ZnodeResult::exists_result(found ? std::optional(it->second.version) : std::nullopt);
    case Kind::kMulti:
      break;
  }
  WEIR_UNREACHABLE();
}

// All or nothing: on the first failure the state is untouched and results follow ZooKeeper.
ZnodeResult apply_multi(const Nodes& nodes, const ZnodeOp& multi, Nodes* next) {
  Nodes scratch = nodes;
  std::vector<ZnodeResult> results;
  for (size_t i = 0; i < multi.ops.size(); ++i) {
    ZnodeResult result = apply_one(&scratch, multi.ops[i]);
    if (result.code == zk::kOk) {
      results.push_back(std::move(result));
      continue;
    }
    const int32_t code = result.code;
    for (auto& earlier : results) earlier = ZnodeResult::ok();
    results.push_back(std::move(result));
    while (results.size() < multi.ops.size()) {
      results.push_back(ZnodeResult::error(zk::kRuntimeInconsistency));
    }
    *next = nodes;
    return ZnodeResult::multi(code, std::move(results));
  }
  *next = std::move(scratch);
  return ZnodeResult::multi(zk::kOk, std::move(results));
}

}  // namespace

ZnodeResult ZnodeModel::apply(const State& state, const Input& op, State* next) {
  if (op.kind == Input::Kind::kMulti) return apply_multi(state.nodes, op, &next->nodes);
  *next = state;
  return apply_one(&next->nodes, op);
}

bool ZnodeModel::matches(const Input& op, const Output& expected, const Output& observed) {
  if (observed.code != expected.code) return false;
  if (observed.code == zk::kOk) {
    if (observed.data && observed.data != expected.data) return false;
    if (observed.version && observed.version != expected.version) return false;
    if (op.kind == Input::Kind::kExists && observed.exists != expected.exists) return false;
  }
  if (op.kind != Input::Kind::kMulti || observed.results.empty()) return true;
  if (observed.results.size() != op.ops.size()) return false;
  for (size_t i = 0; i < op.ops.size(); ++i) {
    if (!matches(op.ops[i], expected.results[i], observed.results[i])) return false;
  }
  return true;
}

uint64_t ZnodeModel::hash(const State& state) {
  uint64_t h = state.nodes.size();
  for (const auto& [path, node] : state.nodes) {
    h = hash_combine(h, hash_bytes(path));
    h = hash_combine(h, hash_bytes(node.data));
    h = hash_combine(h, static_cast<uint64_t>(node.version));
  }
  return h;
}

namespace {

std::string quoted(const std::string& data) {
  return "\"" + data + "\"";
}

std::string describe_input(const ZnodeOp& op) {
  using Kind = ZnodeOp::Kind;
  const std::string version = "v" + std::to_string(op.version);
  switch (op.kind) {
    case Kind::kCreate:
      return "create(" + op.path + ", " + quoted(op.data) + ")";
    case Kind::kSetData:
      return "setData(" + op.path + ", " + quoted(op.data) + ", " + version + ")";
    case Kind::kDelete:
      return "delete(" + op.path + ", " + version + ")";
    case Kind::kCheck:
      return "check(" + op.path + ", " + version + ")";
    case Kind::kGetData:
      return "getData(" + op.path + ")";
    case Kind::kExists:
      return "exists(" + op.path + ")";
    case Kind::kMulti: {
      std::string text = "multi[";
      for (size_t i = 0; i < op.ops.size(); ++i) {
        text += (i ? "; " : "") + describe_input(op.ops[i]);
      }
      return text + "]";
    }
  }
  WEIR_UNREACHABLE();
}

std::string describe_result(const ZnodeOp& op, const ZnodeResult& result) {
  std::string text = zk::code_name(result.code);
  if (op.kind == ZnodeOp::Kind::kExists && result.code == zk::kOk) {
    text = result.exists ? "exists" : "absent";
  }
  if (result.data) text += " " + quoted(*result.data);
  if (result.version) text += " v" + std::to_string(*result.version);
  if (!result.results.empty() && result.results.size() == op.ops.size()) {
    text += " [";
    for (size_t i = 0; i < op.ops.size(); ++i) {
      text += (i ? "; " : "") + describe_result(op.ops[i], result.results[i]);
    }
    text += "]";
  }
  return text;
}

}  // namespace

std::string ZnodeModel::describe(const Input& op, const Output* output) {
  return describe_input(op) + " -> " + (output ? describe_result(op, *output) : "unknown");
}

std::string ZnodeModel::describe_state(const State& state) {
  std::string text = "{";
  for (const auto& [path, node] : state.nodes) {
    if (text.size() > 1) text += ", ";
    text += path + "=" + quoted(node.data) + " v" + std::to_string(node.version);
  }
  return text + "}";
}

std::vector<std::vector<size_t>> ZnodeModel::partition(const HistoryOf<ZnodeModel>& history) {
  return partition_by_keys(history, [](const OperationOf<ZnodeModel>& op) {
    std::vector<std::string> paths;
    if (op.input.kind != ZnodeOp::Kind::kMulti) paths.push_back(op.input.path);
    for (const ZnodeOp& sub : op.input.ops) paths.push_back(sub.path);
    return paths;
  });
}

}  // namespace weir::workloads::lin
