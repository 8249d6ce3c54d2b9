#include "sim/unseed.h"

#include "runtime/hash.h"

namespace weir::sim {

Unseed::~Unseed() {
  if (digest_ != nullptr) std::fclose(digest_);
}

bool Unseed::open_digest(const std::string& path) {
  digest_ = std::fopen(path.c_str(), "w");
  return digest_ != nullptr;
}

void Unseed::write(const TraceRecord& record) {
  std::string line = record.to_json();
  hash_ = hash_bytes(hash_, line);
  ++events_;
  if (record.severity >= Severity::kError && first_error_.empty()) first_error_ = line;
  if (digest_ != nullptr)
    std::fprintf(digest_, "%016llx %s\n", static_cast<unsigned long long>(hash_), line.c_str());
  recent_.push_back(std::move(line));
  if (recent_.size() > recent_max_) recent_.pop_front();
}

void Unseed::on_resume(const Actor& actor) {
  hash_ = hash_combine(hash_, actor.id().value());
  ++decisions_;
}

void Unseed::on_timer(const TimerKey& key) {
  hash_ = hash_combine(
      hash_combine(hash_, static_cast<uint64_t>(key.at.time_since_epoch().count())), key.seq);
  ++decisions_;
}

}  // namespace weir::sim
