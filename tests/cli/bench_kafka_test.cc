// `weir bench produce|consume|e2e` argument parsing (the runs themselves need brokers: see the
// README's benchmark section).
#include "cli/bench_kafka.h"

#include <gtest/gtest.h>

namespace weir::cli {
namespace {

TEST(BenchKafkaArgs, AcksAcceptsKafkasSpellings) {
  for (const auto& [text, want] :
       std::vector<std::pair<std::string, int16_t>>{{"0", 0}, {"1", 1}, {"-1", -1}, {"all", -1}}) {
    auto o = parse_bench_kafka_args(KafkaBenchMode::kProduce,
                                    {"--bootstrap", "127.0.0.1:9092", "--acks", text});
    ASSERT_TRUE(o.ok()) << text << ": " << o.status();
    EXPECT_EQ(o->acks, want) << text;
  }
  for (const char* bad : {"2", "-2", "ALL", "", "one"}) {
    EXPECT_FALSE(parse_bench_kafka_args(KafkaBenchMode::kProduce,
                                        {"--bootstrap", "127.0.0.1:9092", "--acks", bad})
                     .ok())
        << bad;
  }
}

}  // namespace
}  // namespace weir::cli
