#include "coord/jute/writer.h"

#include <limits>

#include "runtime/assert.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::coord::jute {
namespace {

// jute lengths are signed 32-bit; a longer buffer cannot be expressed at all, so producing one
// is a bug in the caller (which should have enforced a far smaller limit), not a wire error.
int32_t checked_length(size_t n) {
  WEIR_ASSERT_MSG(n <= static_cast<size_t>(std::numeric_limits<int32_t>::max()),
                  "jute length does not fit in an int");
  return static_cast<int32_t>(n);
}

}  // namespace

void Writer::write_int(int32_t v) {
  ByteWriter(*out_).write_i32(v);
}

void Writer::write_long(int64_t v) {
  ByteWriter(*out_).write_i64(v);
}

void Writer::write_buffer(std::string_view bytes) {
  write_int(checked_length(bytes.size()));
  out_->append(bytes);
}

void Writer::write_vector_count(size_t count) {
  write_int(checked_length(count));
}

size_t Writer::begin_frame() {
  return ByteWriter(*out_).reserve_u32();
}

void Writer::end_frame(size_t token) {
  WEIR_ASSERT_MSG(token + 4 <= out_->size(), "end_frame without begin_frame");
  const int32_t length = checked_length(out_->size() - token - 4);
  ByteWriter(*out_).patch_u32(token, static_cast<uint32_t>(length));
}

void write_ustring_vector(Writer& w, const std::vector<std::string>& items) {
  w.write_vector_count(items.size());
  for (const std::string& item : items) w.write_ustring(item);
}

size_t ustring_vector_encoded_size(const std::vector<std::string>& items) {
  size_t n = 4;
  for (const std::string& item : items) n += buffer_encoded_size(item);
  return n;
}

}  // namespace weir::coord::jute
