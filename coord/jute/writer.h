// Writer: appends jute primitives, big-endian, to a caller-owned std::string. It exists so that
// a whole batch of replies can be encoded into one buffer the caller reserved up front (records
// report encoded_size()), and frames written in place: begin_frame() leaves room for the length
// prefix and end_frame() fills it in, so no body is ever built separately and copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weir::coord::jute {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(&out) {}

  void write_int(int32_t v);
  void write_long(int64_t v);
  void write_bool(bool v) { out_->push_back(v ? 1 : 0); }
  // jute `buffer`/`ustring`: int length, then the bytes. Never null: null is not a value our
  // records can hold (a null buffer decodes as empty).
  void write_buffer(std::string_view bytes);
  void write_ustring(std::string_view s) { write_buffer(s); }
  void write_vector_count(size_t count);

  // Starts a frame (4-byte length prefix) and returns the token end_frame() needs.
  size_t begin_frame();
  // Patches the frame's length prefix to the number of bytes written since begin_frame().
  void end_frame(size_t token);

  std::string& out() { return *out_; }

 private:
  std::string* out_;
};

void write_ustring_vector(Writer& w, const std::vector<std::string>& items);

template <class T>
void write_record_vector(Writer& w, const std::vector<T>& items) {
  w.write_vector_count(items.size());
  for (const T& item : items) item.encode(w);
}

// Encoded sizes, for reserving exactly.
inline size_t buffer_encoded_size(std::string_view bytes) {
  return 4 + bytes.size();
}
size_t ustring_vector_encoded_size(const std::vector<std::string>& items);
template <class T>
size_t record_vector_encoded_size(const std::vector<T>& items) {
  size_t n = 4;
  for (const T& item : items) n += item.encoded_size();
  return n;
}

}  // namespace weir::coord::jute
