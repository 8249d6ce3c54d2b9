#include "broker/log/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace weir::broker::log {
namespace {

constexpr size_t kChunkBytes = 64 << 10;
// xerial's snappy-java stream header: magic, then version 1 and compatible version 1.
constexpr unsigned char kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderBytes = 16;
constexpr size_t kXerialBlockBytes = 32 << 10;

absl::Status too_large(const char* codec, size_t output_bytes_max) {
  return absl::ResourceExhaustedError(
      absl::StrCat(codec, ": decompressed records exceed ", output_bytes_max, " bytes"));
}

uint32_t load_be32(const char* p) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(p[3]));
}

void append_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

absl::StatusOr<std::string> gunzip(std::string_view in, size_t output_bytes_max) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return absl::InternalError("gzip: inflateInit2");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[kChunkBytes];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      return absl::DataLossError(absl::StrCat("gzip: ", zs.msg ? zs.msg : "truncated stream"));
    }
    const size_t produced = sizeof(chunk) - zs.avail_out;
    if (out.size() + produced > output_bytes_max) return too_large("gzip", output_bytes_max);
    out.append(chunk, produced);
    if (rc == Z_OK && produced == 0 && zs.avail_in == 0) {
      return absl::DataLossError("gzip: truncated stream");
    }
  }
  return out;
}

absl::StatusOr<std::string> gzip(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("gzip: deflateInit2");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return absl::InternalError("gzip: deflate");
  out.resize(zs.total_out);
  return out;
}

absl::Status unsnappy_block(std::string_view block, size_t output_bytes_max, std::string& out) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return absl::DataLossError("snappy: bad block header");
  }
  if (out.size() + length > output_bytes_max) return too_large("snappy", output_bytes_max);
  const size_t at = out.size();
  out.resize(at + length);
  if (!snappy::RawUncompress(block.data(), block.size(), out.data() + at)) {
    return absl::DataLossError("snappy: corrupt block");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> unsnappy(std::string_view in, size_t output_bytes_max) {
  std::string out;
  const bool xerial = in.size() >= kXerialHeaderBytes &&
                      std::memcmp(in.data(), kXerialMagic, sizeof(kXerialMagic)) == 0;
  if (!xerial) {
    if (auto s = unsnappy_block(in, output_bytes_max, out); !s.ok()) return s;
    return out;
  }
  size_t pos = kXerialHeaderBytes;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return absl::DataLossError("snappy: partial xerial block length");
    const uint32_t length = load_be32(in.data() + pos);
    pos += 4;
    if (length > in.size() - pos) return absl::DataLossError("snappy: partial xerial block");
    if (auto s = unsnappy_block(in.substr(pos, length), output_bytes_max, out); !s.ok()) {
      return s;
    }
    pos += length;
  }
  return out;
}

std::string snappy_xerial(std::string_view in) {
  std::string out(reinterpret_cast<const char*>(kXerialMagic), sizeof(kXerialMagic));
  append_be32(out, 1);
  append_be32(out, 1);
  std::string block;
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockBytes) {
    const std::string_view part = in.substr(pos, kXerialBlockBytes);
    block.clear();
    snappy::Compress(part.data(), part.size(), &block);
    append_be32(out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

absl::StatusOr<std::string> unlz4(std::string_view in, size_t output_bytes_max) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return absl::InternalError("lz4: context");
  }
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> guard(dctx, LZ4F_freeDecompressionContext);
  std::string out;
  char chunk[kChunkBytes];
  size_t pos = 0;
  size_t hint = 1;
  while (true) {
    size_t out_bytes = sizeof(chunk);
    size_t in_bytes = in.size() - pos;
    hint = LZ4F_decompress(dctx, chunk, &out_bytes, in.data() + pos, &in_bytes, nullptr);
    if (LZ4F_isError(hint)) {
      return absl::DataLossError(absl::StrCat("lz4: ", LZ4F_getErrorName(hint)));
    }
    if (out.size() + out_bytes > output_bytes_max) return too_large("lz4", output_bytes_max);
    out.append(chunk, out_bytes);
    pos += in_bytes;
    if (hint == 0 && pos == in.size()) break;    // the last frame is complete
    if (in_bytes == 0 && out_bytes == 0) break;  // no progress: the input ended early
  }
  if (hint != 0) return absl::DataLossError("lz4: truncated frame");
  return out;
}

absl::StatusOr<std::string> lz4(std::string_view in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::string out(LZ4F_compressFrameBound(in.size(), &prefs), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(absl::StrCat("lz4: ", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> unzstd(std::string_view in, size_t output_bytes_max) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                              ZSTD_freeDStream);
  if (ds == nullptr || ZSTD_isError(ZSTD_initDStream(ds.get()))) {
    return absl::InternalError("zstd: context");
  }
  std::string out;
  char chunk[kChunkBytes];
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t rc = 1;
  while (input.pos < input.size || rc != 0) {
    ZSTD_outBuffer output{chunk, sizeof(chunk), 0};
    const size_t before = input.pos;
    rc = ZSTD_decompressStream(ds.get(), &output, &input);
    if (ZSTD_isError(rc)) return absl::DataLossError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
    if (out.size() + output.pos > output_bytes_max) return too_large("zstd", output_bytes_max);
    out.append(chunk, output.pos);
    if (rc != 0 && input.pos == before && output.pos < sizeof(chunk)) {
      return absl::DataLossError("zstd: truncated frame");
    }
  }
  return out;
}

absl::StatusOr<std::string> zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

}  // namespace

absl::StatusOr<std::string> decompress(Compression codec, std::string_view input,
                                       size_t output_bytes_max) {
  switch (codec) {
    case Compression::kNone:
      if (input.size() > output_bytes_max) return too_large("none", output_bytes_max);
      return std::string(input);
    case Compression::kGzip:
      return gunzip(input, output_bytes_max);
    case Compression::kSnappy:
      return unsnappy(input, output_bytes_max);
    case Compression::kLz4:
      return unlz4(input, output_bytes_max);
    case Compression::kZstd:
      return unzstd(input, output_bytes_max);
  }
  return absl::DataLossError("unknown compression codec");
}

absl::StatusOr<std::string> compress(Compression codec, std::string_view input) {
  switch (codec) {
    case Compression::kNone:
      return std::string(input);
    case Compression::kGzip:
      return gzip(input);
    case Compression::kSnappy:
      return snappy_xerial(input);
    case Compression::kLz4:
      return lz4(input);
    case Compression::kZstd:
      return zstd(input);
  }
  return absl::InvalidArgumentError("unknown compression codec");
}

std::string_view compression_name(Compression codec) {
  switch (codec) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

}  // namespace weir::broker::log
