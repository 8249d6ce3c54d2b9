#include "coord/zab/storage/epoch_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "coord/zab/storage/storage_io.h"
#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::coord::zab {
namespace {

constexpr char kAccepted[] = "acceptedEpoch";
constexpr char kCurrent[] = "currentEpoch";
constexpr char kTempSuffix[] = ".tmp";
constexpr uint32_t kMagic = 0x4f504557;  // "WEPO" little-endian

bool decode(absl::Span<const uint8_t> bytes, int64_t& value) {
  if (bytes.size() != EpochStore::kFileBytes) return false;
  if (crc32c(bytes.data() + 4, bytes.size() - 4) != load_u32(bytes.data())) return false;
  if (load_u32(bytes.data() + 4) != kMagic) return false;
  value = static_cast<int64_t>(load_u64(bytes.data() + 8));
  return value >= 0;
}

}  // namespace

EpochStore::EpochStore(IFileSystem& fs, std::string dir, EpochStoreOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

std::string EpochStore::path(const char* name) const {
  return absl::StrCat(dir_, "/", name);
}

absl::StatusOr<std::unique_ptr<EpochStore>> EpochStore::open(IFileSystem& fs, std::string dir,
                                                             EpochStoreOptions options) {
  if (options.read_attempts_max < kReadAgreementsRequired ||
      options.read_attempts_max > kReadAttemptsLimit) {
    return absl::InvalidArgumentError("EpochStoreOptions out of range");
  }
  std::unique_ptr<EpochStore> store(new EpochStore(fs, std::move(dir), options));
  if (auto s = fs.create_directories(store->dir_); !s.ok()) return s;
  // A rename whose directory sync failed is visible now but not durable: commit it before
  // ZAB acts on the value it shows.
  if (auto s = fs.sync_directory(store->dir_); !s.ok()) return s;
  auto accepted = store->load(kAccepted);
  if (!accepted.ok()) return accepted.status();
  auto current = store->load(kCurrent);
  if (!current.ok()) return current.status();
  store->accepted_epoch_ = *accepted;
  store->current_epoch_ = *current;
  TraceEvent(Severity::kInfo, "EpochStoreLoaded")
      .detail("Dir", store->dir_)
      .detail("AcceptedEpoch", *accepted)
      .detail("CurrentEpoch", *current);
  return store;
}

absl::StatusOr<int64_t> EpochStore::load(const char* name) {
  auto file = fs_.open(path(name), OpenMode::kRead);
  if (file.status().code() == absl::StatusCode::kNotFound) return int64_t{0};
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size != kFileBytes) {
    return absl::DataLossError(
        absl::StrCat(path(name), ": ", *size, " bytes, expected ", kFileBytes));
  }
  uint8_t bytes[kFileBytes];
  int64_t value = 0;
  auto stable = read_until_stable(options_.read_attempts_max, path(name),
                                  [&]() -> absl::StatusOr<ReadAttempt> {
                                    auto n = read_fully(**file, 0, absl::MakeSpan(bytes));
                                    if (!n.ok()) return n.status();
                                    const auto seen = absl::MakeConstSpan(bytes, *n);
                                    if (decode(seen, value)) return ReadAttempt{true, 0};
                                    return ReadAttempt{false, fingerprint_of(seen)};
                                  });
  if (!stable.ok()) return stable.status();
  if (!*stable) {
    TraceEvent(Severity::kWarn, "EpochStoreDamaged").detail("Path", path(name));
    return absl::DataLossError(absl::StrCat(path(name), ": damaged (bad CRC or magic)"));
  }
  return value;
}

absl::Status EpochStore::store(const char* name, int64_t value) {
  uint8_t bytes[kFileBytes];
  store_u32(bytes + 4, kMagic);
  store_u64(bytes + 8, static_cast<uint64_t>(value));
  store_u32(bytes, crc32c(bytes + 4, kFileBytes - 4));
  const std::string temp = path(name) + kTempSuffix;
  {
    auto file = fs_.open(temp, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    // Truncating and rewriting dirties every page, even ones a failed sync of an earlier
    // attempt dropped.
    if (auto s = (*file)->truncate(0); !s.ok()) return s;
    if (auto s = (*file)->write(0, absl::MakeConstSpan(bytes)); !s.ok()) return s;
    if (auto s = (*file)->sync(); !s.ok()) return s;
  }
  if (auto s = fs_.rename(temp, path(name)); !s.ok()) return s;
  return fs_.sync_directory(dir_);
}

absl::Status EpochStore::set_accepted_epoch(int64_t epoch) {
  WEIR_ASSERT_MSG(epoch >= accepted_epoch_, "acceptedEpoch must never go back");
  if (auto s = store(kAccepted, epoch); !s.ok()) return s;
  accepted_epoch_ = epoch;
  return absl::OkStatus();
}

absl::Status EpochStore::set_current_epoch(int64_t epoch) {
  WEIR_ASSERT_MSG(epoch >= current_epoch_, "currentEpoch must never go back");
  if (auto s = store(kCurrent, epoch); !s.ok()) return s;
  current_epoch_ = epoch;
  return absl::OkStatus();
}

}  // namespace weir::coord::zab
