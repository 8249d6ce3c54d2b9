// RecordBatch v2: header validation, CRC, the in-place edits, record decoding, and the
// property that no mutation of the CRC-covered bytes goes unnoticed.
#include "broker/log/record_batch.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "broker/log/records.h"

namespace weir::broker::log {
namespace {

absl::Span<uint8_t> mutable_span(std::string& s) {
  return absl::MakeSpan(reinterpret_cast<uint8_t*>(s.data()), s.size());
}

std::string sample_batch(Compression codec = Compression::kNone, size_t n = 3) {
  std::vector<RecordInput> records;
  for (size_t i = 0; i < n; ++i) {
    records.push_back(RecordInput{.key = "k" + std::to_string(i),
                                  .value = std::string(20 + i, 'v'),
                                  .headers = {{"h", "x"}, {"n", std::nullopt}},
                                  .timestamp_ms = 1000 + static_cast<int64_t>(i) * 10});
  }
  auto batch = build_batch(records, BatchOptions{.compression = codec});
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *batch;
}

TEST(RecordBatch, BuildThenParse) {
  const std::string bytes = sample_batch();
  auto view = BatchView::parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  const BatchHeader& h = view->header();
  EXPECT_EQ(h.magic, 2);
  EXPECT_EQ(h.record_count, 3);
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(h.base_timestamp, 1000);
  EXPECT_EQ(h.max_timestamp, 1020);
  EXPECT_EQ(h.size_bytes(), bytes.size());
  EXPECT_EQ(h.compression(), Compression::kNone);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kCreateTime);
  std::string storage;
  auto records = read_records(*view, storage, 1 << 20);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[1].key, "k1");
  EXPECT_EQ((*records)[1].offset_delta, 1);
  EXPECT_EQ((*records)[2].timestamp_delta, 20);
  ASSERT_EQ((*records)[0].headers.size(), 2u);
  EXPECT_EQ((*records)[0].headers[1].value, std::nullopt);
}

TEST(RecordBatch, BadCrcIsDataLoss) {
  std::string bytes = sample_batch();
  bytes[bytes.size() - 3] ^= 0x01;
  auto view = BatchView::parse(bytes);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(view.status().message().find("CRC"), std::string::npos);
}

TEST(RecordBatch, OlderMagicIsRefusedByName) {
  std::string bytes = sample_batch();
  bytes[batch_field::kMagic] = 1;
  auto view = BatchView::parse(bytes);
  ASSERT_FALSE(view.ok());
  EXPECT_NE(view.status().message().find("v1 is not supported"), std::string::npos)
      << view.status();
}

TEST(RecordBatch, TruncatedAndBogusLengths) {
  const std::string bytes = sample_batch();
  for (size_t n : {size_t{0}, size_t{11}, size_t{60}, bytes.size() - 1}) {
    EXPECT_FALSE(BatchView::parse(bytes.substr(0, n)).ok()) << n;
    auto split = split_batches(bytes.substr(0, n), 1 << 20);
    EXPECT_FALSE(split.ok()) << n;
  }
  std::string shorter = bytes;
  shorter[batch_field::kBatchLength + 3] = 10;  // shorter than a header
  shorter[batch_field::kBatchLength + 2] = 0;
  EXPECT_FALSE(BatchView::parse(shorter).ok());
  std::string longer = bytes;
  longer[batch_field::kBatchLength] = 0x7f;  // far beyond the input
  auto split = split_batches(longer, SIZE_MAX);
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.status().message().find("partial"), std::string::npos) << split.status();
  std::string negative_count = bytes;
  negative_count[batch_field::kRecordCount] = static_cast<char>(0xff);
  EXPECT_FALSE(parse_batch_header(negative_count).ok());
}

TEST(RecordBatch, SplitBatchesAndLimits) {
  const std::string one = sample_batch();
  const std::string two = one + sample_batch(Compression::kLz4, 5);
  auto split = split_batches(two, 1 << 20);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ((*split)[1].header().record_count, 5);
  EXPECT_EQ((*split)[1].bytes().data(), two.data() + one.size());
  auto too_large = split_batches(two, one.size() - 1);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(too_large.status().message().find("MESSAGE_TOO_LARGE"), std::string::npos);
  EXPECT_FALSE(split_batches("", 100).ok());
}

TEST(RecordBatch, ClientBatchRules) {
  EXPECT_TRUE(validate_client_batch(*BatchView::parse(sample_batch())).ok());
  auto empty = build_batch({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(validate_client_batch(*BatchView::parse(*empty)).code(),
            absl::StatusCode::kInvalidArgument);
  auto control =
      build_batch(std::vector<RecordInput>{RecordInput{}}, BatchOptions{.control = true});
  EXPECT_FALSE(validate_client_batch(*BatchView::parse(*control)).ok());
  auto no_sequence =
      build_batch(std::vector<RecordInput>{RecordInput{}}, BatchOptions{.producer_id = 7});
  EXPECT_FALSE(validate_client_batch(*BatchView::parse(*no_sequence)).ok());
}

TEST(RecordBatch, InPlaceEditsKeepTheCrcRight) {
  std::string bytes = sample_batch();
  set_base_offset(mutable_span(bytes), Offset(12345));
  set_partition_leader_epoch(mutable_span(bytes), LeaderEpoch(7));
  auto view = BatchView::parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header().base_offset, 12345);
  EXPECT_EQ(view->header().last(), Offset(12347));
  EXPECT_EQ(view->header().partition_leader_epoch, 7);
  set_log_append_time(mutable_span(bytes), 999'999);
  view = BatchView::parse(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header().timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(view->header().max_timestamp, 999'999);
  EXPECT_EQ(view->header().base_timestamp, 1000);
}

struct GenRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms;
};

std::vector<RecordInput> to_inputs(const std::vector<GenRecord>& gen) {
  std::vector<RecordInput> out;
  for (const GenRecord& g : gen) out.push_back({g.key, g.value, g.headers, g.timestamp_ms});
  return out;
}

rc::Gen<std::optional<std::string>> gen_optional_string() {
  return rc::gen::map(rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::arbitrary<std::string>()),
                      [](std::pair<bool, std::string> p) {
                        return p.first ? std::optional<std::string>(std::move(p.second))
                                       : std::nullopt;
                      });
}

rc::Gen<GenRecord> gen_record() {
  return rc::gen::build<GenRecord>(
      rc::gen::set(&GenRecord::key, gen_optional_string()),
      rc::gen::set(&GenRecord::value, gen_optional_string()),
      rc::gen::set(
          &GenRecord::headers,
          rc::gen::container<std::vector<std::pair<std::string, std::optional<std::string>>>>(
              rc::gen::pair(rc::gen::arbitrary<std::string>(), gen_optional_string()))),
      rc::gen::set(&GenRecord::timestamp_ms, rc::gen::inRange<int64_t>(0, int64_t{1} << 45)));
}

RC_GTEST_PROP(RecordBatchProperty, EncodeDecodeRoundTrip, ()) {
  const auto gen = *rc::gen::nonEmpty(rc::gen::container<std::vector<GenRecord>>(gen_record()));
  const auto codec = static_cast<Compression>(*rc::gen::inRange(0, 5));
  const auto inputs = to_inputs(gen);
  auto bytes = build_batch(inputs, BatchOptions{.compression = codec});
  RC_ASSERT(bytes.ok());
  auto view = BatchView::parse(*bytes);
  RC_ASSERT(view.ok());
  RC_ASSERT(validate_client_batch(*view).ok());
  std::string storage;
  auto records = read_records(*view, storage, 64 << 20);
  RC_ASSERT(records.ok());
  RC_ASSERT(records->size() == inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Record& r = (*records)[i];
    RC_ASSERT(r.offset_delta == static_cast<int32_t>(i));
    RC_ASSERT(view->header().base_timestamp + r.timestamp_delta == inputs[i].timestamp_ms);
    RC_ASSERT(r.key ==
              (inputs[i].key ? std::optional<std::string_view>(*inputs[i].key) : std::nullopt));
    RC_ASSERT(r.value ==
              (inputs[i].value ? std::optional<std::string_view>(*inputs[i].value) : std::nullopt));
    RC_ASSERT(r.headers.size() == inputs[i].headers.size());
    for (size_t j = 0; j < r.headers.size(); ++j) {
      RC_ASSERT(r.headers[j].key == inputs[i].headers[j].first);
      RC_ASSERT(r.headers[j].value.has_value() == inputs[i].headers[j].second.has_value());
    }
  }
}

// A changed byte under the CRC (attributes..end), in the length, magic or crc field is always
// caught; only baseOffset and partitionLeaderEpoch may change unnoticed.
RC_GTEST_PROP(RecordBatchProperty, MutationsNeverPassUnnoticed, ()) {
  const auto gen = *rc::gen::nonEmpty(rc::gen::container<std::vector<GenRecord>>(gen_record()));
  const auto codec = static_cast<Compression>(*rc::gen::inRange(0, 5));
  std::string bytes = *build_batch(to_inputs(gen), BatchOptions{.compression = codec});
  const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
  const auto flip = *rc::gen::inRange<int>(1, 256);
  bytes[at] = static_cast<char>(bytes[at] ^ flip);
  auto view = BatchView::parse(bytes);
  if (view.ok()) {
    RC_ASSERT(at < batch_field::kBatchLength ||
              (at >= batch_field::kPartitionLeaderEpoch && at < batch_field::kMagic));
    std::string storage;
    (void)read_records(*view, storage, 1 << 20);  // must not crash either
  }
  auto split = split_batches(bytes, 1 << 20);
  RC_ASSERT(split.ok() == view.ok());
}

RC_GTEST_PROP(RecordBatchProperty, ArbitraryBytesNeverCrash, (const std::string& junk)) {
  auto split = split_batches(junk, 1 << 20);
  if (split.ok()) {
    for (const BatchView& b : *split) {
      std::string storage;
      (void)read_records(b, storage, 1 << 20);
    }
  }
  RecordIterator it(junk, 1000);
  Record r;
  while (it.next(r)) {
  }
}

}  // namespace
}  // namespace weir::broker::log
