// The codecs of Kafka's RecordBatch v2 (gzip, snappy, lz4, zstd). The log stores and serves
// batches exactly as producers compressed them, so these run only where the broker itself
// must look inside a batch (a timestamp lookup, compaction later, tests) and in Weir's own
// clients. Decompression is bounded by the caller: a small batch that inflates to gigabytes is
// an error, never an allocation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/log/record_batch.h"

namespace weir::broker::log {

// Kafka's codecs as producers write them: gzip (RFC 1952; a zlib stream is accepted too),
// snappy with the xerial framing Java clients use or raw (librdkafka), the LZ4 frame format,
// and zstd frames. kNone returns the input. DataLoss on malformed input, ResourceExhausted
// when the output would exceed output_bytes_max.
absl::StatusOr<std::string> decompress(Compression codec, std::string_view input,
                                       size_t output_bytes_max);

// The encoder for Weir's own batches (build_batch): gzip, xerial-framed snappy, LZ4 frame,
// zstd level 3.
absl::StatusOr<std::string> compress(Compression codec, std::string_view input);

std::string_view compression_name(Compression codec);

}  // namespace weir::broker::log
