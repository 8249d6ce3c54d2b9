// The codecs against bytes made by the libraries themselves (not by Weir's encoder), so that a
// framing mistake made symmetrically in compress() and decompress() cannot pass.
#include "broker/log/compression.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "broker/log/records.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::broker::log {
namespace {

std::string sample_text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "record-" + std::to_string(i * 7919 % 1000) + ";";
  s.resize(n);
  return s;
}

std::string zlib_format(const std::string& in, bool gzip_header) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, gzip_header ? 31 : 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// snappy-java's SnappyOutputStream framing, block by block.
std::string xerial(const std::string& in, size_t block_bytes) {
  std::string out("\x82SNAPPY\0", 8);
  ByteWriter w(out);
  w.write_u32(1);
  w.write_u32(1);
  for (size_t pos = 0; pos < in.size(); pos += block_bytes) {
    std::string block;
    snappy::Compress(in.data() + pos, std::min(block_bytes, in.size() - pos), &block);
    w.write_u32(static_cast<uint32_t>(block.size()));
    w.write_bytes(block);
  }
  return out;
}

std::string lz4_frame(const std::string& in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.contentSize = in.size();
  std::string out(LZ4F_compressFrameBound(in.size(), &prefs), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame without a content size, as a streaming producer writes it.
std::string zstd_stream(const std::string& in) {
  ZSTD_CStream* cs = ZSTD_createCStream();
  ZSTD_initCStream(cs, 1);
  std::string out(ZSTD_compressBound(in.size()) + 64, '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_inBuffer i{in.data(), in.size(), 0};
  ZSTD_compressStream(cs, &o, &i);
  EXPECT_EQ(ZSTD_endStream(cs, &o), 0u);
  ZSTD_freeCStream(cs);
  out.resize(o.pos);
  return out;
}

struct Case {
  Compression codec;
  std::string name;
  std::string (*make)(const std::string&);
};

std::vector<Case> library_cases() {
  return {
      {Compression::kGzip, "gzip", [](const std::string& s) { return zlib_format(s, true); }},
      {Compression::kGzip, "zlib", [](const std::string& s) { return zlib_format(s, false); }},
      {Compression::kSnappy, "snappy-raw",
       [](const std::string& s) {
         std::string out;
         snappy::Compress(s.data(), s.size(), &out);
         return out;
       }},
      {Compression::kSnappy, "snappy-xerial", [](const std::string& s) { return xerial(s, 1000); }},
      {Compression::kLz4, "lz4-frame", lz4_frame},
      {Compression::kZstd, "zstd-stream", zstd_stream},
  };
}

TEST(Compression, DecompressesWhatTheLibrariesWrite) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{5000}, size_t{300'000}}) {
    const std::string text = sample_text(n);
    for (const Case& c : library_cases()) {
      if (n == 0 && c.name == "snappy-xerial") continue;  // no block: just a header
      auto got = decompress(c.codec, c.make(text), 1 << 20);
      ASSERT_TRUE(got.ok()) << c.name << " " << n << ": " << got.status();
      EXPECT_EQ(*got, text) << c.name << " " << n;
    }
  }
}

TEST(Compression, TruncatedInputIsDataLossAndBombsAreBounded) {
  const std::string text = sample_text(200'000);
  for (const Case& c : library_cases()) {
    const std::string packed = c.make(text);
    auto cut = decompress(c.codec, packed.substr(0, packed.size() / 2), 1 << 20);
    EXPECT_FALSE(cut.ok()) << c.name;
    auto bomb = decompress(c.codec, packed, 10'000);
    ASSERT_FALSE(bomb.ok()) << c.name;
    EXPECT_EQ(bomb.status().code(), absl::StatusCode::kResourceExhausted) << c.name;
  }
}

TEST(Compression, OwnEncoderRoundTripsEveryCodec) {
  const std::string text = sample_text(100'000);
  for (Compression codec : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                            Compression::kLz4, Compression::kZstd}) {
    auto packed = compress(codec, text);
    ASSERT_TRUE(packed.ok()) << compression_name(codec);
    auto back = decompress(codec, *packed, 1 << 20);
    ASSERT_TRUE(back.ok()) << compression_name(codec) << ": " << back.status();
    EXPECT_EQ(*back, text);
  }
}

// A whole batch whose records area a library compressed: read_records sees the records.
TEST(Compression, BatchesCompressedByTheLibrariesDecode) {
  std::vector<RecordInput> records;
  for (int i = 0; i < 50; ++i) {
    records.push_back(RecordInput{.key = "key" + std::to_string(i),
                                  .value = sample_text(100 + static_cast<size_t>(i)),
                                  .timestamp_ms = 5000 + i});
  }
  const std::string plain = *build_batch(records);
  const std::string area = plain.substr(kBatchHeaderBytes);
  for (const Case& c : library_cases()) {
    std::string batch = plain.substr(0, kBatchHeaderBytes) + c.make(area);
    ByteWriter w(batch);
    w.patch_u32(batch_field::kBatchLength, static_cast<uint32_t>(batch.size() - 12));
    batch[batch_field::kAttributes + 1] = static_cast<char>(c.codec);
    w.patch_u32(batch_field::kCrc, compute_batch_crc(batch));
    auto view = BatchView::parse(batch);
    ASSERT_TRUE(view.ok()) << c.name << ": " << view.status();
    std::string storage;
    auto got = read_records(*view, storage, 1 << 20);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    ASSERT_EQ(got->size(), records.size());
    EXPECT_EQ((*got)[49].value, records[49].value) << c.name;
  }
}

}  // namespace
}  // namespace weir::broker::log
