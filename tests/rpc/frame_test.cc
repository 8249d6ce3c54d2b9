#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/rpc/frame.h"
#include "tests/rpc/alloc_tracker.h"

namespace weir::rpc {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

struct Decoded {
  std::vector<Frame> frames;
  absl::Status status;            // first error, OK if none
  bool idle = true;               // no partial frame left
  size_t largest_allocation = 0;  // made by the decoder itself
};

// Feeds `data` in chunks of the given sizes (cycled), collecting frames until an error.
Decoded decode(FrameDecoder& decoder, const std::vector<uint8_t>& data,
               const std::vector<size_t>& chunks = {}) {
  Decoded out;
  size_t pos = 0;
  size_t chunk_index = 0;
  while (pos < data.size()) {
    size_t n = data.size() - pos;
    if (!chunks.empty())
      n = std::min(n, std::max<size_t>(1, chunks[chunk_index++ % chunks.size()]));
    size_t end = pos + n;
    while (pos < end) {
      absl::StatusOr<size_t> used;
      {
        testing::LargestAllocationScope scope;
        used = decoder.feed(absl::MakeConstSpan(data.data() + pos, end - pos));
        out.largest_allocation = std::max(out.largest_allocation, scope.largest());
      }
      if (!used.ok()) {
        out.status = used.status();
        return out;
      }
      pos += *used;
      if (decoder.frame_ready()) out.frames.push_back(decoder.take());
    }
  }
  out.idle = decoder.idle();
  return out;
}

std::string three_frames() {
  std::string s;
  encode_frame(FrameKind::kRequest, endpoint_token("echo"), 1, "hello", s);
  encode_frame(FrameKind::kReply, 42, 0xFFFFFFFFFFFFFFFFull, "", s);
  encode_frame(FrameKind::kError, 7, 3, std::string(1000, 'x'), s);
  return s;
}

TEST(FrameTest, RoundTrip) {
  FrameDecoder decoder;
  Decoded d = decode(decoder, bytes_of(three_frames()));
  ASSERT_TRUE(d.status.ok()) << d.status;
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_TRUE(d.idle);
  EXPECT_EQ(d.frames[0].kind, FrameKind::kRequest);
  EXPECT_EQ(d.frames[0].token, endpoint_token("echo"));
  EXPECT_EQ(d.frames[0].request_id, 1u);
  EXPECT_EQ(d.frames[0].payload, "hello");
  EXPECT_EQ(d.frames[1].kind, FrameKind::kReply);
  EXPECT_EQ(d.frames[1].token, 42u);
  EXPECT_EQ(d.frames[1].request_id, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(d.frames[1].payload, "");
  EXPECT_EQ(d.frames[2].kind, FrameKind::kError);
  EXPECT_EQ(d.frames[2].payload, std::string(1000, 'x'));
}

TEST(FrameTest, HeaderLayoutIsLittleEndian) {
  std::string s;
  encode_frame(FrameKind::kReply, 0x0102030405060708ull, 0x1112131415161718ull, "ab", s);
  ASSERT_EQ(s.size(), kFrameHeaderBytes + 2);
  EXPECT_EQ(static_cast<uint8_t>(s[0]), 2);  // length
  EXPECT_EQ(static_cast<uint8_t>(s[1]), 0);
  EXPECT_EQ(static_cast<uint8_t>(s[8]), 0x08);  // token, low byte first
  EXPECT_EQ(static_cast<uint8_t>(s[15]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(s[16]), 0x18);  // request id
  EXPECT_EQ(static_cast<uint8_t>(s[24]), 2);     // kind
  EXPECT_EQ(s.substr(25), "ab");
}

TEST(FrameTest, SplitAcrossEveryBoundary) {
  const std::vector<uint8_t> data = bytes_of(three_frames());
  for (size_t split = 1; split < data.size(); ++split) {
    FrameDecoder decoder;
    Decoded d = decode(decoder, data, {split, data.size()});
    ASSERT_TRUE(d.status.ok()) << "split " << split;
    ASSERT_EQ(d.frames.size(), 3u) << "split " << split;
    EXPECT_EQ(d.frames[2].payload, std::string(1000, 'x'));
  }
  FrameDecoder decoder;
  Decoded d = decode(decoder, data, {1});
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_EQ(d.frames[0].payload, "hello");
}

TEST(FrameTest, EveryCorruptedByteIsDetected) {
  std::string good;
  encode_frame(FrameKind::kRequest, 99, 5, "payload bytes", good);
  // Every byte except the length field: the CRC (or the kind check) must catch the flip.
  for (size_t i = 4; i < good.size(); ++i) {
    for (uint8_t bit = 1; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      FrameDecoder decoder;
      Decoded d = decode(decoder, bytes_of(bad));
      ASSERT_TRUE(absl::IsDataLoss(d.status)) << "byte " << i << " bit " << int{bit};
      EXPECT_TRUE(d.frames.empty());
      EXPECT_TRUE(decoder.failed());
    }
  }
}

TEST(FrameTest, CrcMismatchReason) {
  std::string bad;
  encode_frame(FrameKind::kRequest, 1, 1, "abc", bad);
  bad.back() = 'x';
  FrameDecoder decoder;
  Decoded d = decode(decoder, bytes_of(bad));
  EXPECT_TRUE(absl::IsDataLoss(d.status));
  EXPECT_NE(d.status.message().find("crc mismatch"), absl::string_view::npos) << d.status;
  // The decoder stays failed.
  auto again = decoder.feed(absl::MakeConstSpan(bytes_of(bad)));
  EXPECT_TRUE(absl::IsDataLoss(again.status()));
}

TEST(FrameTest, UnknownKindRejected) {
  std::string bad;
  encode_frame(FrameKind::kRequest, 1, 1, "abc", bad);
  bad[24] = 9;
  FrameDecoder decoder;
  Decoded d = decode(decoder, bytes_of(bad));
  EXPECT_NE(d.status.message().find("unknown frame kind 9"), absl::string_view::npos) << d.status;
}

TEST(FrameTest, OversizeRejectedWithoutAllocating) {
  constexpr size_t kMax = 4096;
  // A header that claims a 2 GiB payload.
  std::vector<uint8_t> header(kFrameHeaderBytes, 0);
  header[3] = 0x80;
  header[24] = 1;
  testing::LargestAllocationScope scope;
  FrameDecoder decoder(kMax);
  auto used = decoder.feed(absl::MakeConstSpan(header));
  EXPECT_TRUE(absl::IsDataLoss(used.status()));
  EXPECT_NE(used.status().message().find("frame too large"), absl::string_view::npos);
  EXPECT_LT(decoder.payload_capacity(), 64u);  // at most the empty string's inline buffer
  EXPECT_LT(scope.largest(), kMax);
}

TEST(FrameTest, LargestFrameThatFitsIsAccepted) {
  constexpr size_t kMax = 4096;
  std::string s;
  encode_frame(FrameKind::kReply, 1, 1, std::string(kMax - kFrameHeaderBytes, 'y'), s);
  FrameDecoder decoder(kMax);
  Decoded d = decode(decoder, bytes_of(s), {100});
  ASSERT_TRUE(d.status.ok()) << d.status;
  ASSERT_EQ(d.frames.size(), 1u);
  std::string over;
  encode_frame(FrameKind::kReply, 1, 1, std::string(kMax - kFrameHeaderBytes + 1, 'y'), over);
  FrameDecoder decoder2(kMax);
  EXPECT_TRUE(absl::IsDataLoss(decode(decoder2, bytes_of(over)).status));
}

TEST(FrameTest, PartialFrameIsNotIdle) {
  std::string s;
  encode_frame(FrameKind::kReply, 1, 1, "abcdef", s);
  FrameDecoder decoder;
  Decoded d = decode(decoder, bytes_of(s.substr(0, s.size() - 1)));
  EXPECT_TRUE(d.status.ok());
  EXPECT_TRUE(d.frames.empty());
  EXPECT_FALSE(d.idle);
}

TEST(FrameTest, EndpointTokensAreStable) {
  EXPECT_EQ(endpoint_token("echo"), endpoint_token(std::string("echo")));
  EXPECT_NE(endpoint_token("echo"), endpoint_token("echo2"));
  EXPECT_NE(endpoint_token(""), endpoint_token("a"));
  // Pinned: a change here changes the wire identity of every endpoint.
  EXPECT_EQ(endpoint_token("echo"), 0x559782c8cb90436eull);
}

TEST(FrameTest, ErrorsRoundTripThroughRpcError) {
  const absl::Status s = absl::NotFoundError("no such znode");
  EXPECT_EQ(from_rpc_error(to_rpc_error(s)), s);
  RpcError ok_code;
  ok_code.set_code(0);
  EXPECT_EQ(from_rpc_error(ok_code).code(), absl::StatusCode::kUnknown);
  RpcError wild;
  wild.set_code(1234);
  wild.set_message("m");
  EXPECT_EQ(from_rpc_error(wild).code(), absl::StatusCode::kUnknown);
  wild.set_code(-3);
  EXPECT_EQ(from_rpc_error(wild).code(), absl::StatusCode::kUnknown);
}

// Properties. Inputs are bounded and run counts modest: the test binary must stay fast.

std::vector<size_t> gen_chunks() {
  return *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 64));
}

RC_GTEST_PROP(FramePropertyTest, ArbitraryBytesNeverCrashOrOverAllocate,
              (const std::vector<uint8_t>& garbage)) {
  // Not below 256: an error's own message may take a hundred bytes.
  const size_t max = *rc::gen::inRange<size_t>(256, 2048);
  const std::vector<size_t> chunks = gen_chunks();
  FrameDecoder decoder(max);
  Decoded d = decode(decoder, garbage, chunks);
  RC_ASSERT(d.largest_allocation <= max);
  RC_ASSERT(d.status.ok() || absl::IsDataLoss(d.status));
  for (const Frame& f : d.frames) RC_ASSERT(f.payload.size() + kFrameHeaderBytes <= max);
}

RC_GTEST_PROP(FramePropertyTest, ValidStreamsDecodeExactlyUnderAnyChunking, ()) {
  const auto payloads = *rc::gen::resize(
      20, rc::gen::container<std::vector<std::string>>(rc::gen::arbitrary<std::string>()));
  std::string stream;
  for (size_t i = 0; i < payloads.size(); ++i) {
    encode_frame(static_cast<FrameKind>(1 + i % 3), i * 7919, i, payloads[i], stream);
  }
  FrameDecoder decoder;
  Decoded d = decode(decoder, bytes_of(stream), gen_chunks());
  RC_ASSERT(d.status.ok());
  RC_ASSERT(d.idle);
  RC_ASSERT(d.frames.size() == payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    RC_ASSERT(d.frames[i].payload == payloads[i]);
    RC_ASSERT(d.frames[i].request_id == i);
  }
}

RC_GTEST_PROP(FramePropertyTest, MutatedStreamsNeverCrashOrOverAllocate, ()) {
  const size_t max = *rc::gen::inRange<size_t>(256, 4096);
  const auto payloads = *rc::gen::resize(
      10, rc::gen::container<std::vector<std::string>>(rc::gen::arbitrary<std::string>()));
  std::string stream;
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (!frame_fits(payloads[i].size(), max)) continue;
    encode_frame(FrameKind::kRequest, i, i, payloads[i], stream);
  }
  std::vector<uint8_t> data = bytes_of(stream);
  // Flip, overwrite, insert and delete bytes at random places.
  const int mutations = *rc::gen::inRange(1, 6);
  for (int m = 0; m < mutations && !data.empty(); ++m) {
    const size_t at = *rc::gen::inRange<size_t>(0, data.size());
    const uint8_t value = *rc::gen::arbitrary<uint8_t>();
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
        data[at] ^= static_cast<uint8_t>(value | 1);
        break;
      case 1:
        data[at] = value;
        break;
      case 2:
        data.insert(data.begin() + static_cast<ptrdiff_t>(at), value);
        break;
      default:
        data.erase(data.begin() + static_cast<ptrdiff_t>(at));
        break;
    }
  }
  FrameDecoder decoder(max);
  Decoded d = decode(decoder, data, gen_chunks());
  RC_ASSERT(d.largest_allocation <= max);
  // Whatever got through intact is a frame that was really sent.
  for (const Frame& f : d.frames) {
    RC_ASSERT(f.request_id < payloads.size());
    RC_ASSERT(f.payload == payloads[f.request_id]);
  }
}

}  // namespace
}  // namespace weir::rpc
