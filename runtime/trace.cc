#include "runtime/trace.h"

#include <algorithm>
#include <cstdio>

#include "runtime/process_context.h"
#include "runtime/scheduler.h"

namespace weir {

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return "debug";
    case Severity::kInfo:
      return "info";
    case Severity::kWarn:
      return "warn";
    case Severity::kWarnAlways:
      return "warn_always";
    case Severity::kError:
      return "error";
  }
  return "unknown";
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string TraceRecord::to_json() const {
  std::string out;
  out.reserve(128);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "{\"time\":%.9f,", to_seconds(time));
  out += buf;
  out += "\"severity\":";
  append_json_string(out, severity_name(severity));
  out += ",\"type\":";
  append_json_string(out, type);
  out += ",\"machine\":";
  append_json_string(out, machine);
  out += ",\"process\":";
  append_json_string(out, process);
  for (const auto& [key, value] : details) {
    out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    out += value;
  }
  out.push_back('}');
  return out;
}

std::string TraceRecord::detail(std::string_view key) const {
  for (const auto& [k, v] : details) {
    if (k != key) continue;
    if (v.size() >= 2 && v.front() == '"') {
      std::string out;
      for (size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size()) ++i;
        out.push_back(v[i]);
      }
      return out;
    }
    return v;
  }
  return {};
}

Tracer& Tracer::instance() {
  static Tracer tracer;
  return tracer;
}

void Tracer::add_sink(ITraceSink* sink) {
  sinks_.push_back(sink);
}

void Tracer::remove_sink(ITraceSink* sink) {
  sinks_.erase(std::remove(sinks_.begin(), sinks_.end(), sink), sinks_.end());
}

void Tracer::emit(TraceRecord& record) {
  ++emitted_;
  // Copy: a sink may remove itself while writing.
  auto sinks = sinks_;
  for (ITraceSink* sink : sinks) sink->write(record);
}

TraceEvent::TraceEvent(Severity severity, std::string_view type)
    : enabled_(Tracer::instance().enabled(severity)) {
  if (!enabled_) return;
  record_.severity = severity;
  record_.type = std::string(type);
  if (Scheduler* s = Scheduler::current_or_null(); s != nullptr) {
    record_.time = s->now();
    Process* p = s->current_process();
    record_.machine = p->machine();
    record_.process = p->name();
  }
}

TraceEvent::~TraceEvent() {
  if (enabled_) Tracer::instance().emit(record_);
}

TraceEvent& TraceEvent::detail_raw(std::string_view key, std::string json_value) {
  if (enabled_) record_.details.emplace_back(std::string(key), std::move(json_value));
  return *this;
}

TraceEvent& TraceEvent::detail(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  std::string v;
  append_json_string(v, value);
  return detail_raw(key, std::move(v));
}

TraceEvent& TraceEvent::detail(std::string_view key, bool value) {
  return detail_raw(key, value ? "true" : "false");
}

TraceEvent& TraceEvent::detail(std::string_view key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return detail_raw(key, buf);
}

TraceEvent& TraceEvent::detail(std::string_view key, Duration value) {
  return detail(key, to_seconds(value));
}

TraceEvent& TraceEvent::machine(std::string_view machine, std::string_view process) {
  if (enabled_) {
    record_.machine = std::string(machine);
    record_.process = std::string(process);
  }
  return *this;
}

JsonLinesFileSink::JsonLinesFileSink(const std::string& path)
    : file_(path == "-" ? stderr : std::fopen(path.c_str(), "a")), owned_(path != "-") {}

JsonLinesFileSink::~JsonLinesFileSink() {
  if (owned_ && file_ != nullptr) std::fclose(file_);
}

void JsonLinesFileSink::write(const TraceRecord& record) {
  if (file_ == nullptr) return;
  std::string line = record.to_json();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), file_);
  if (record.severity >= Severity::kWarnAlways) std::fflush(file_);
}

}  // namespace weir
