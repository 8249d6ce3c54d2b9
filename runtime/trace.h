// Structured trace events: TraceEvent(Severity::kInfo, "ConnectionOpened").detail("Peer", p);
// The event is emitted when the temporary dies. Each becomes one JSON line with time, machine,
// process, severity, type and details. Sinks decide where events go: a file, the simulator's
// unseed hash, a ring buffer for replay files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/time.h"

namespace weir {

enum class Severity : int { kDebug = 5, kInfo = 10, kWarn = 20, kWarnAlways = 30, kError = 40 };
std::string_view severity_name(Severity severity);

// One emitted event. Detail values are stored JSON-encoded.
struct TraceRecord {
  Severity severity = Severity::kInfo;
  std::string type;
  TimePoint time;
  std::string machine;
  std::string process;
  std::vector<std::pair<std::string, std::string>> details;

  std::string to_json() const;
  // The value of a detail, JSON-decoded for strings; empty when absent.
  std::string detail(std::string_view key) const;
};

class ITraceSink {
 public:
  virtual ~ITraceSink() = default;
  virtual void write(const TraceRecord& record) = 0;
};

// The process-wide list of sinks. One thread runs all actors, so no locking.
class Tracer {
 public:
  static Tracer& instance();
  void add_sink(ITraceSink* sink);
  void remove_sink(ITraceSink* sink);
  void set_min_severity(Severity severity) { min_severity_ = severity; }
  Severity min_severity() const { return min_severity_; }
  bool enabled(Severity severity) const { return severity >= min_severity_ && !sinks_.empty(); }
  void emit(TraceRecord& record);
  uint64_t emitted() const { return emitted_; }

 private:
  std::vector<ITraceSink*> sinks_;
  Severity min_severity_ = Severity::kInfo;
  uint64_t emitted_ = 0;
};

class TraceEvent {
 public:
  TraceEvent(Severity severity, std::string_view type);
  ~TraceEvent();
  TraceEvent(const TraceEvent&) = delete;
  TraceEvent& operator=(const TraceEvent&) = delete;

  TraceEvent& detail(std::string_view key, std::string_view value);
  TraceEvent& detail(std::string_view key, const char* value) {
    return detail(key, std::string_view(value));
  }
  TraceEvent& detail(std::string_view key, const std::string& value) {
    return detail(key, std::string_view(value));
  }
  // Debian's Abseil has its own string_view type (BUILD-NOTES.md), so accept it explicitly.
  TraceEvent& detail(std::string_view key, absl::string_view value) {
    return detail(key, std::string_view(value.data(), value.size()));
  }
  TraceEvent& detail(std::string_view key, bool value);
  TraceEvent& detail(std::string_view key, double value);
  TraceEvent& detail(std::string_view key, Duration value);
  template <class I>
  requires std::is_integral_v<I> TraceEvent& detail(std::string_view key, I value) {
    if constexpr (std::is_signed_v<I>) {
      return detail_raw(key, std::to_string(static_cast<int64_t>(value)));
    } else {
      return detail_raw(key, std::to_string(static_cast<uint64_t>(value)));
    }
  }
  template <class Id>
  requires requires(Id id) { id.value(); }
  TraceEvent& detail(std::string_view key, Id id) { return detail(key, id.value()); }
  // Overrides the machine/process taken from the current actor (for the simulator's own events).
  TraceEvent& machine(std::string_view machine, std::string_view process);

 private:
  TraceEvent& detail_raw(std::string_view key, std::string json_value);
  TraceRecord record_;
  bool enabled_;
};

// Appends `s` JSON-escaped, with quotes.
void append_json_string(std::string& out, std::string_view s);

// Writes events as JSON lines to a file (the real binaries' trace log).
class JsonLinesFileSink final : public ITraceSink {
 public:
  // Takes ownership of nothing; `path` "-" means stderr.
  explicit JsonLinesFileSink(const std::string& path);
  ~JsonLinesFileSink() override;
  void write(const TraceRecord& record) override;
  bool ok() const { return file_ != nullptr; }

 private:
  std::FILE* file_;
  bool owned_;
};

}  // namespace weir
