// A keyed read/write/compare-and-set register: the textbook linearizability model, used by the
// checker's tests and as the template for new models. Keys are independent, so partition()
// splits a history per key. Every key starts at 0.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "workloads/linearizability/model.h"

namespace weir::workloads::lin {

struct RegisterInput {
  enum class Kind { kRead, kWrite, kCas };
  Kind kind = Kind::kRead;
  int32_t key = 0;
  int64_t value = 0;     // write: the value; cas: the new value
  int64_t expected = 0;  // cas only

  static RegisterInput read(int32_t key) { return {Kind::kRead, key, 0, 0}; }
  static RegisterInput write(int32_t key, int64_t value) { return {Kind::kWrite, key, value, 0}; }
  static RegisterInput cas(int32_t key, int64_t expected, int64_t value) {
    return {Kind::kCas, key, value, expected};
  }
};

struct RegisterOutput {
  bool ok = true;     // cas: whether it swapped; read/write: always true
  int64_t value = 0;  // read: the value seen

  static RegisterOutput read(int64_t value) { return {true, value}; }
  static RegisterOutput done() { return {true, 0}; }
  static RegisterOutput cas(bool swapped) { return {swapped, 0}; }
};

// Sorted by key; keys holding 0 are absent, so equal contents compare equal.
struct RegisterState {
  std::vector<std::pair<int32_t, int64_t>> values;
  bool operator==(const RegisterState&) const = default;
};

struct RegisterModel {
  using State = RegisterState;
  using Input = RegisterInput;
  using Output = RegisterOutput;

  static State init() { return {}; }
  // The sequential specification: what `input` returns in `state`, and the state after it.
  static Output apply(const State& state, const Input& input, State* next);
  static bool step(const State& state, const Input& input, const Output& output, State* next);
  static bool step_unknown(const State& state, const Input& input, State* next) {
    apply(state, input, next);
    return true;
  }
  static uint64_t hash(const State& state);
  static std::string describe(const Input& input, const Output* output);
  static std::string describe_state(const State& state);
  static std::vector<std::vector<size_t>> partition(const HistoryOf<RegisterModel>& history);

  static int64_t get(const State& state, int32_t key);
  static void put(State* state, int32_t key, int64_t value);
};

}  // namespace weir::workloads::lin
