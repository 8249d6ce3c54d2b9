// CRC32C (Castagnoli), as Kafka's RecordBatch v2 and Weir's RPC frames use it. Abseil 20220623
// has none; this uses SSE4.2 when the CPU has it and a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weir {

// Extends `crc` (0 to start) over `size` bytes.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) {
  return crc32c_extend(0, data, size);
}

}  // namespace weir
