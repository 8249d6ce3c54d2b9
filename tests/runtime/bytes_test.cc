// ByteReader/ByteWriter: round trips of every primitive, and the refusals hostile input needs.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <string>

#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir {
namespace {

RC_GTEST_PROP(Bytes, FixedAndVarintsRoundTrip, (int64_t a, int32_t b, int16_t c, uint64_t d)) {
  std::string out;
  ByteWriter w(out);
  w.write_i64(a);
  w.write_i32(b);
  w.write_i16(c);
  w.write_varint(a);
  w.write_varint(b);
  w.write_uvarint(d);
  w.write_uvarint(static_cast<uint32_t>(b));
  RC_ASSERT(out.size() == 14 + varint_size(a) + varint_size(b) + uvarint_size(d) +
                              uvarint_size(static_cast<uint32_t>(b)));
  ByteReader r(out, "test");
  RC_ASSERT(r.read_i64("a") == a);
  RC_ASSERT(r.read_i32("b") == b);
  RC_ASSERT(r.read_i16("c") == c);
  RC_ASSERT(r.read_varint64("va") == a);
  RC_ASSERT(r.read_varint32("vb") == b);
  RC_ASSERT(r.read_uvarint64("ud") == d);
  RC_ASSERT(r.read_uvarint32("ub") == static_cast<uint32_t>(b));
  RC_ASSERT(r.finish("all").ok());
}

// Any prefix of a valid encoding fails cleanly (never reads past the end) and names a field.
RC_GTEST_PROP(Bytes, TruncationIsAnErrorNeverAnOverread, (int64_t a, uint64_t d)) {
  std::string out;
  ByteWriter w(out);
  w.write_varint(a);
  w.write_uvarint(d);
  w.write_i64(a);
  const size_t cut = *rc::gen::inRange<size_t>(0, out.size());
  const std::string prefix = out.substr(0, cut);
  ByteReader r(prefix, "test");
  r.read_varint64("va");
  r.read_uvarint64("ud");
  r.read_i64("a");
  RC_ASSERT(!r.ok());
  RC_ASSERT(r.status().message().find("test: ") == 0);
}

TEST(Bytes, OverlongVarintsAreRefused) {
  // Six continuation bytes cannot be a 32-bit varint.
  const std::string six("\xff\xff\xff\xff\xff\x01", 6);
  ByteReader r(six, "kafka");
  r.read_uvarint32("length");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("length: varint"), std::string::npos);
  // Five bytes whose last carries bits beyond 32.
  const std::string wide("\xff\xff\xff\xff\x1f", 5);
  ByteReader r2(wide, "kafka");
  r2.read_uvarint32("n");
  EXPECT_FALSE(r2.ok());
  const std::string max32("\xff\xff\xff\xff\x0f", 5);
  ByteReader r3(max32, "kafka");
  EXPECT_EQ(r3.read_uvarint32("n"), std::numeric_limits<uint32_t>::max());
  EXPECT_TRUE(r3.ok());
}

TEST(Bytes, CountsAndLengthsAreCheckedAgainstTheInput) {
  const std::string ten(10, 'x');
  ByteReader r(ten, "kafka");
  EXPECT_TRUE(r.check_count(10, 1, "items"));
  EXPECT_FALSE(r.check_count(6, 2, "items"));
  EXPECT_NE(r.status().message().find("element count 6"), std::string::npos);
  ByteReader r2(ten, "kafka");
  EXPECT_FALSE(r2.check_length(std::numeric_limits<int32_t>::max(), "value"));
  ByteReader r3(ten, "kafka");
  EXPECT_FALSE(r3.check_length(-2, "value"));
  // A sticky error: later reads return zero and the first error stays.
  EXPECT_EQ(r3.read_i32("later"), 0);
  EXPECT_NE(r3.status().message().find("negative length -2"), std::string::npos);
}

TEST(Bytes, ContextNamesTheEnclosingField) {
  ByteReader r(std::string_view(""), "kafka");
  r.read_i32("partition");
  r.add_index_context("partitions", 3);
  r.add_context("ProduceRequest.topics[0]");
  EXPECT_EQ(r.status().message().substr(0, 53),
            "kafka: ProduceRequest.topics[0]: partitions[3]: parti");
}

TEST(Bytes, PatchedLengthPrefix) {
  std::string out;
  ByteWriter w(out);
  const size_t at = w.reserve_u32();
  w.write_bytes("hello");
  w.patch_u32(at, static_cast<uint32_t>(out.size() - at - 4));
  ByteReader r(out, "t");
  EXPECT_EQ(r.read_i32("len"), 5);
  EXPECT_EQ(r.read_bytes(5, "body"), "hello");
}

}  // namespace
}  // namespace weir
