#include "workloads/linearizability/register_model.h"

#include <algorithm>
#include <array>
#include <limits>

#include "runtime/assert.h"
#include "workloads/linearizability/partition.h"

namespace weir::workloads::lin {

int64_t RegisterModel::get(const State& state, int32_t key) {
  auto it = std::lower_bound(state.values.begin(), state.values.end(),
                             std::pair{key, std::numeric_limits<int64_t>::min()});
  return it != state.values.end() && it->first == key ? it->second : 0;
}

void RegisterModel::put(State* state, int32_t key, int64_t value) {
  auto& values = state->values;
  auto it = std::lower_bound(values.begin(), values.end(),
                             std::pair{key, std::numeric_limits<int64_t>::min()});
  const bool present = it != values.end() && it->first == key;
  if (value == 0) {
    if (present) values.erase(it);
  } else if (present) {
    it->second = value;
  } else {
    values.insert(it, {key, value});
  }
}

RegisterOutput RegisterModel::apply(const State& state, const Input& input, State* next) {
  *next = state;
  const int64_t current = get(state, input.key);
  switch (input.kind) {
    case Input::Kind::kRead:
      return Output::read(current);
    case Input::Kind::kWrite:
      put(next, input.key, input.value);
      return Output::done();
    case Input::Kind::kCas:
      if (current != input.expected) return Output::cas(false);
      put(next, input.key, input.value);
      return Output::cas(true);
  }
  WEIR_UNREACHABLE();
}

bool RegisterModel::step(const State& state, const Input& input, const Output& output,
                         State* next) {
  const Output expected = apply(state, input, next);
  switch (input.kind) {
    case Input::Kind::kRead:
      return output.value == expected.value;
    case Input::Kind::kWrite:
      return true;
    case Input::Kind::kCas:
      return output.ok == expected.ok;
  }
  WEIR_UNREACHABLE();
}

uint64_t RegisterModel::hash(const State& state) {
  uint64_t h = state.values.size();
  for (const auto& [key, value] : state.values) {
    h = hash_combine(hash_combine(h, static_cast<uint64_t>(key)), static_cast<uint64_t>(value));
  }
  return h;
}

std::string RegisterModel::describe(const Input& input, const Output* output) {
  const std::string key = "k" + std::to_string(input.key);
  std::string text;
  std::string result;
  switch (input.kind) {
    case Input::Kind::kRead:
      text = "read(" + key + ")";
      if (output) result = std::to_string(output->value);
      break;
    case Input::Kind::kWrite:
      text = "write(" + key + ", " + std::to_string(input.value) + ")";
      if (output) result = "ok";
      break;
    case Input::Kind::kCas:
      text = "cas(" + key + ", " + std::to_string(input.expected) + " -> " +
             std::to_string(input.value) + ")";
      if (output) result = output->ok ? "ok" : "failed";
      break;
  }
  return text + " -> " + (output ? result : "unknown");
}

std::string RegisterModel::describe_state(const State& state) {
  std::string text = "{";
  for (const auto& [key, value] : state.values) {
    if (text.size() > 1) text += ", ";
    text += "k" + std::to_string(key) + "=" + std::to_string(value);
  }
  return text + "} (other keys 0)";
}

std::vector<std::vector<size_t>> RegisterModel::partition(const HistoryOf<RegisterModel>& history) {
  return partition_by_keys(history, [](const OperationOf<RegisterModel>& op) {
    return std::array<int32_t, 1>{op.input.key};
  });
}

}  // namespace weir::workloads::lin
