// Weir's producer and consumer against a real weir broker (and its standalone coord server)
// in the simulator: what is produced is read back exactly, offsets, keys, values, headers and
// timestamps, whatever the acks and the compression; a fetch from the middle of a batch skips
// the records below the position; seek_to_* and auto_offset_reset behave as Kafka's.
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "broker/log/compression.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::Consumer;
using client::ConsumerConfig;
using client::ConsumerRecord;
using client::OffsetReset;
using client::Producer;
using client::ProducerConfig;
using client::RecordMetadata;
using client::TopicPartition;

// What a test expects to read back at one offset.
struct Expected {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = -1;
};

// Polls until every partition of `expected` has been read up to its last offset, and checks
// each record.
void read_back(Consumer& consumer, const std::string& topic,
               const std::map<int32_t, std::map<int64_t, Expected>>& expected) {
  std::map<int32_t, int64_t> next;  // per partition: the next offset expected
  for (const auto& [p, records] : expected) next[p] = records.begin()->first;
  size_t left = 0;
  for (const auto& [p, records] : expected) left += records.size();
  int idle = 0;
  while (left > 0) {
    auto polled = consumer.poll(1s);
    ASSERT_TRUE(polled.ok()) << polled.status();
    if (polled->empty()) {
      ASSERT_LT(++idle, 20) << left << " records never arrived";
      continue;
    }
    for (const ConsumerRecord& r : *polled) {
      ASSERT_EQ(r.topic, topic);
      auto want_partition = expected.find(r.partition);
      ASSERT_NE(want_partition, expected.end()) << "partition " << r.partition;
      ASSERT_EQ(r.offset, next[r.partition]) << "partition " << r.partition;
      auto want = want_partition->second.find(r.offset);
      ASSERT_NE(want, want_partition->second.end());
      const Expected& e = want->second;
      EXPECT_EQ(r.key.has_value(), e.key.has_value()) << r.offset;
      if (r.key && e.key) {
        EXPECT_EQ(*r.key, *e.key);
      }
      EXPECT_EQ(r.value.has_value(), e.value.has_value()) << r.offset;
      if (r.value && e.value) {
        EXPECT_EQ(*r.value, *e.value);
      }
      ASSERT_EQ(r.headers.size(), e.headers.size()) << r.offset;
      for (size_t i = 0; i < e.headers.size(); ++i) {
        EXPECT_EQ(r.headers[i].key, e.headers[i].first);
        EXPECT_EQ(r.headers[i].value.has_value(), e.headers[i].second.has_value());
        if (r.headers[i].value && e.headers[i].second) {
          EXPECT_EQ(*r.headers[i].value, *e.headers[i].second);
        }
      }
      EXPECT_EQ(r.timestamp_ms, e.timestamp_ms) << r.offset;
      EXPECT_EQ(r.timestamp_type, log::TimestampType::kCreateTime);
      ++next[r.partition];
      --left;
    }
  }
}

TEST(ClientEndToEnd, ProducedRecordsReadBackExactly) {
  BrokerSimCluster c(21, {.properties = {{"num.partitions", "3"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(
        c, {.acks = -1, .linger_ms = 5, .batch_size = 4096, .compression = log::Compression::kLz4});
    constexpr int kRecords = 3000;
    std::vector<Expected> sent(kRecords);
    std::vector<Future<RecordMetadata>> acks;
    for (int i = 0; i < kRecords; ++i) {
      Expected& e = sent[i];
      if (i % 3 == 0) e.key = absl::StrCat("key-", i % 17);
      if (i % 11 != 5) e.value = absl::StrCat("value-", i, "-", std::string(i % 97, 'z'));
      if (i % 4 == 0) e.headers.push_back({"h1", absl::StrCat("x", i)});
      if (i % 8 == 0) e.headers.push_back({"h2", std::nullopt});
      e.timestamp_ms = 1'700'000'000'000 + i;
      client::ProducerRecord r{.topic = "e2e", .timestamp_ms = e.timestamp_ms};
      if (e.key) r.key = *e.key;
      if (e.value) r.value = *e.value;
      for (const auto& [k, v] : e.headers) {
        r.headers.push_back({.key = k});
        if (v) r.headers.back().value = *v;
      }
      acks.push_back(producer->send(r));
    }
    producer->flush();
    std::map<int32_t, std::map<int64_t, Expected>> expected;
    std::map<int32_t, std::set<int64_t>> offsets;
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(acks[i].is_ready());
      const auto& md = acks[i].get();
      ASSERT_TRUE(md.ok()) << md.status();
      if (sent[i].key) {
        EXPECT_EQ(md->partition, client::partition_for_key(*sent[i].key, 3));
      }
      EXPECT_TRUE(offsets[md->partition].insert(md->offset).second) << "offset acked twice";
      expected[md->partition][md->offset] = sent[i];
    }
    for (const auto& [p, o] : offsets) {
      EXPECT_EQ(*o.begin(), 0);
      EXPECT_EQ(*o.rbegin(), static_cast<int64_t>(o.size()) - 1) << "offsets dense";
    }
    EXPECT_EQ(expected.size(), 3u);
    producer->close();

    auto consumer = make_consumer(c, {.max_partition_fetch_bytes = 8192,
                                      .max_poll_records = 200,
                                      .auto_offset_reset = OffsetReset::kEarliest});
    consumer->assign({{"e2e", 0}, {"e2e", 1}, {"e2e", 2}});
    read_back(*consumer, "e2e", expected);
    for (int32_t p = 0; p < 3; ++p) {
      auto position = consumer->position({"e2e", p});
      ASSERT_TRUE(position.ok());
      EXPECT_EQ(*position, static_cast<int64_t>(expected[p].size()));
      EXPECT_EQ(consumer->high_watermark({"e2e", p}), *position);
    }
    // Nothing more: an empty poll after fetch_max_wait_ms.
    auto more = consumer->poll(800ms);
    ASSERT_TRUE(more.ok());
    EXPECT_TRUE(more->empty());
    EXPECT_GT(consumer->stats().fetches, 3u);
    consumer->close();
  });
  EXPECT_TRUE(done);
}

// acks=0 and acks=1, uncompressed and gzip: every record is there to read.
TEST(ClientEndToEnd, AcksZeroAndOneReadBack) {
  BrokerSimCluster c(22);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    std::map<int32_t, std::map<int64_t, Expected>> expected;
    int64_t offset = 0;
    for (int16_t acks : {int16_t{1}, int16_t{0}, int16_t{1}}) {
      auto producer = make_producer(
          c, {.acks = acks,
              .linger_ms = 2,
              .compression = acks == 0 ? log::Compression::kGzip : log::Compression::kNone});
      std::vector<Future<RecordMetadata>> sent;
      for (int i = 0; i < 200; ++i) {
        Expected e{.key = absl::StrCat("k", i),
                   .value = absl::StrCat("acks", acks, "-", i),
                   .timestamp_ms = 1000 + i};
        expected[0][offset++] = e;
        sent.push_back(producer->send(
            {.topic = "acks", .key = *e.key, .value = *e.value, .timestamp_ms = e.timestamp_ms}));
      }
      producer->flush();
      for (auto& f : sent) {
        ASSERT_TRUE(f.get().ok()) << f.get().status();
        EXPECT_EQ(f.get()->offset == -1, acks == 0);
      }
      producer->close();
      // acks=0 has no answer to wait for: give the broker time to append before the next
      // producer's records, so offsets follow the order of the producers.
      if (acks == 0) delay(500ms);
    }
    auto consumer = make_consumer(c, {.auto_offset_reset = OffsetReset::kEarliest});
    consumer->assign({{"acks", 0}});
    read_back(*consumer, "acks", expected);
  });
  EXPECT_TRUE(done);
}

// One batch of 10 records at offsets 0..9; a consumer at offset 5 gets the whole batch from
// the broker and must hand out 5..9 only.
TEST(ClientEndToEnd, FetchFromMidBatchSkipsRecordsBelowThePosition) {
  BrokerSimCluster c(23);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    for (log::Compression codec : {log::Compression::kNone, log::Compression::kLz4}) {
      const std::string topic = "mid-" + std::string(log::compression_name(codec));
      auto producer =
          make_producer(c, {.linger_ms = 1000, .batch_size = 1 << 20, .compression = codec});
      std::vector<Future<RecordMetadata>> sent;
      for (int i = 0; i < 10; ++i)
        sent.push_back(producer->send({.topic = topic, .value = absl::StrCat("r", i)}));
      producer->flush();
      for (int i = 0; i < 10; ++i) ASSERT_EQ(sent[i].get()->offset, i);
      EXPECT_EQ(producer->stats().batches_sent, 1u) << "one batch";
      producer->close();
      auto consumer = make_consumer(c, {.auto_offset_reset = OffsetReset::kNone});
      consumer->assign({{topic, 0}});
      ASSERT_TRUE(consumer->seek({topic, 0}, 5).ok());
      std::vector<int64_t> got;
      while (got.size() < 5) {
        auto polled = consumer->poll(2s);
        ASSERT_TRUE(polled.ok()) << polled.status();
        ASSERT_FALSE(polled->empty());
        for (const ConsumerRecord& r : *polled) {
          EXPECT_EQ(*r.value, absl::StrCat("r", r.offset));
          got.push_back(r.offset);
        }
      }
      EXPECT_EQ(got, (std::vector<int64_t>{5, 6, 7, 8, 9}));
      EXPECT_EQ(*consumer->position({topic, 0}), 10);
    }
  });
  EXPECT_TRUE(done);
}

TEST(ClientEndToEnd, SeeksAndOffsetResets) {
  BrokerSimCluster c(24);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.linger_ms = 1});
    auto produce = [&](int from, int n) {
      std::vector<Future<RecordMetadata>> sent;
      for (int i = from; i < from + n; ++i)
        sent.push_back(producer->send({.topic = "seek", .value = absl::StrCat("r", i)}));
      producer->flush();
      for (auto& f : sent) ASSERT_TRUE(f.get().ok());
    };
    produce(0, 20);
    const TopicPartition tp{"seek", 0};

    // No position and auto_offset_reset=none: Kafka's NoOffsetForPartitionException.
    auto strict = make_consumer(c, {.auto_offset_reset = OffsetReset::kNone});
    strict->assign({tp});
    EXPECT_TRUE(absl::IsFailedPrecondition(strict->poll(100ms).status()));
    // Out of range with none: an error from poll, until a seek.
    ASSERT_TRUE(strict->seek(tp, 1000).ok());
    auto out = strict->poll(2s);
    EXPECT_TRUE(absl::IsOutOfRange(out.status())) << out.status();
    ASSERT_TRUE(strict->seek_to_beginning({tp}).ok());
    EXPECT_EQ(*strict->position(tp), 0);
    auto first = strict->poll(2s);
    ASSERT_TRUE(first.ok());
    ASSERT_FALSE(first->empty());
    EXPECT_EQ((*first)[0].offset, 0);

    // Out of range with earliest / latest: reset there.
    auto earliest = make_consumer(c, {.auto_offset_reset = OffsetReset::kEarliest});
    earliest->assign({tp});
    ASSERT_TRUE(earliest->seek(tp, 5000).ok());
    auto e = earliest->poll(2s);
    ASSERT_TRUE(e.ok()) << e.status();
    while (e.ok() && e->empty()) e = earliest->poll(2s);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ((*e)[0].offset, 0);

    auto latest = make_consumer(c, {.auto_offset_reset = OffsetReset::kLatest});
    latest->assign({tp});
    EXPECT_EQ(*latest->position(tp), 20);
    auto none = latest->poll(600ms);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    produce(20, 3);
    auto fresh = latest->poll(2s);
    ASSERT_TRUE(fresh.ok());
    ASSERT_FALSE(fresh->empty());
    EXPECT_EQ((*fresh)[0].offset, 20);
    EXPECT_EQ(*(*fresh)[0].value, "r20");

    // seek_to_end, ListOffsets helpers, and seek back.
    ASSERT_TRUE(latest->seek_to_end({tp}).ok());
    EXPECT_EQ(*latest->position(tp), 23);
    auto ends = latest->end_offsets({tp});
    ASSERT_TRUE(ends.ok());
    EXPECT_EQ(ends->at(tp), 23);
    auto starts = latest->beginning_offsets({tp});
    ASSERT_TRUE(starts.ok());
    EXPECT_EQ(starts->at(tp), 0);
    EXPECT_EQ(*latest->partition_count("seek"), 1);
    EXPECT_TRUE(absl::IsNotFound(latest->partition_count("no-such-topic").status()));
    ASSERT_TRUE(latest->seek(tp, 10).ok());
    auto back = latest->poll(2s);
    ASSERT_TRUE(back.ok());
    ASSERT_FALSE(back->empty());
    EXPECT_EQ((*back)[0].offset, 10);
    producer->close();
  });
  EXPECT_TRUE(done);
}

// Responses of a megabyte (read straight into their own buffers) and records of a kilobyte:
// the stream is cut wherever the network cuts it, and every record still reads back.
TEST(ClientEndToEnd, LargeFetchResponsesReadBack) {
  BrokerSimCluster c(26);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.linger_ms = 5, .batch_size = 256 << 10});
    std::map<int32_t, std::map<int64_t, Expected>> expected;
    std::vector<Future<RecordMetadata>> sent;
    std::vector<std::string> values;
    for (int i = 0; i < 3000; ++i) {
      std::string v = absl::StrCat("big-", i, "-");
      v.resize(1000 + i % 50, static_cast<char>('a' + i % 26));
      values.push_back(std::move(v));
    }
    for (int i = 0; i < 3000; ++i)
      sent.push_back(producer->send({.topic = "big", .value = values[i], .timestamp_ms = 7}));
    producer->flush();
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(sent[i].get().ok());
      expected[0][sent[i].get()->offset] = Expected{.value = values[i], .timestamp_ms = 7};
    }
    producer->close();
    auto consumer =
        make_consumer(c, {.max_poll_records = 100000, .auto_offset_reset = OffsetReset::kEarliest});
    consumer->assign({{"big", 0}});
    read_back(*consumer, "big", expected);
    EXPECT_GT(consumer->stats().fetch_bytes, 3'000'000u);
    EXPECT_LT(consumer->stats().fetches, 10u) << "about a megabyte per fetch";
  });
  EXPECT_TRUE(done);
}

// The same seed gives the same run: the clients draw randomness (sticky partitions) from the
// process's IRandom and time from its clock only.
TEST(ClientEndToEnd, SameSeedSameRun) {
  auto one_run = [](uint64_t seed) {
    BrokerSimCluster c(seed, {.properties = {{"num.partitions", "4"}}});
    std::vector<std::pair<int32_t, int64_t>> outcome;
    const bool done = c.run([&] {
      WEIR_ASSERT(c.wait_ready());
      auto producer = make_producer(c, {.linger_ms = 1, .batch_size = 512});
      std::vector<Future<RecordMetadata>> sent;
      for (int i = 0; i < 300; ++i) {
        sent.push_back(producer->send({.topic = "det", .value = absl::StrCat("v", i)}));
        if (i % 7 == 0) delay(1ms);
      }
      producer->flush();
      for (auto& f : sent) outcome.emplace_back(f.get()->partition, f.get()->offset);
      producer->close();
    });
    WEIR_ASSERT(done);
    return std::make_pair(outcome, c.sim.unseed().value());
  };
  const auto a = one_run(31);
  const auto b = one_run(31);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  std::set<int32_t> partitions;
  for (const auto& [p, o] : a.first) partitions.insert(p);
  EXPECT_GT(partitions.size(), 1u) << "sticky partitioning moved between partitions";
}

TEST(ClientEndToEnd, ConsumerLeavesNoActorsBehind) {
  BrokerSimCluster c(27);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    Process* me = Scheduler::current().current_process();
    {
      auto producer = make_producer(c, {});
      ASSERT_TRUE(await(producer->send({.topic = "leak", .value = "v"})).ok());
    }
    delay(100ms);
    const size_t before = me->actor_count();
    for (int round = 0; round < 2; ++round) {
      auto consumer = make_consumer(c, {.auto_offset_reset = OffsetReset::kEarliest});
      consumer->assign({{"leak", 0}});
      auto polled = consumer->poll(2s);
      ASSERT_TRUE(polled.ok());
      EXPECT_EQ(polled->size(), 1u);
      (void)consumer->poll(10ms);  // a fetch in flight when it goes
      if (round == 0) consumer->close();
      consumer.reset();
      delay(100ms);
      EXPECT_EQ(me->actor_count(), before) << "round " << round;
    }
  });
  EXPECT_TRUE(done);
}

// The broker is killed in the middle of a run and comes back: every record is acknowledged
// in the end (retries after reconnecting and refreshing the metadata), and each one is in the
// log at the offset its acknowledgement named. Retries may write a batch twice (no
// idempotence), so other offsets may hold duplicates.
TEST(ClientEndToEnd, ProducerAndConsumerRideOutABrokerRestart) {
  uint64_t retries = 0;
  // Kills at different points of the linger/request cycle, so some kill a request in flight.
  for (Duration kill_after : {0us, 1500us, 2100us, 2400us, 2700us, 3500us}) {
    BrokerSimCluster c(25);
    bool done = c.run([&] {
      ASSERT_TRUE(c.wait_ready());
      auto producer = make_producer(c, {.acks = -1,
                                        .linger_ms = 2,
                                        .retry_backoff_ms = 50,
                                        .request_timeout_ms = 2000,
                                        .max_in_flight = 1});
      auto consumer = make_consumer(c, {.fetch_max_wait_ms = 100,
                                        .auto_offset_reset = OffsetReset::kEarliest,
                                        .request_timeout_ms = 2000});
      consumer->assign({{"restart", 0}});
      std::vector<Future<RecordMetadata>> acks;
      std::vector<std::string> values;
      const TimePoint start = c.sim.now();
      for (int i = 0; i < 300; ++i) values.push_back(absl::StrCat("value-", i));
      for (int i = 0; i < 300; ++i) {
        acks.push_back(producer->send({.topic = "restart", .value = values[i]}));
        if (i == 150) {
          delay(kill_after);
          c.sim.kill(c.broker_processes[0]);
          c.sim.boot_after(c.broker_processes[0], 1s);
        }
        delay(5ms);
      }
      producer->flush();
      std::map<int64_t, std::string> acked;
      for (int i = 0; i < 300; ++i) {
        ASSERT_TRUE(acks[i].get().ok()) << i << ": " << acks[i].get().status();
        acked[acks[i].get()->offset] = values[i];
      }
      EXPECT_GE(c.sim.now() - start, 1s) << "the run spans the broker's downtime";
      retries += producer->stats().retries;
      std::map<int64_t, std::string> log;
      const int64_t end = acked.rbegin()->first + 1;
      int idle = 0;
      while (static_cast<int64_t>(log.size()) < end) {
        auto polled = consumer->poll(1s);
        ASSERT_TRUE(polled.ok()) << polled.status();
        if (polled->empty()) {
          ASSERT_LT(++idle, 30) << "read " << log.size() << " of " << end;
        }
        for (const ConsumerRecord& r : *polled) {
          EXPECT_TRUE(log.emplace(r.offset, std::string(*r.value)).second) << "offset twice";
        }
      }
      for (const auto& [offset, value] : acked) EXPECT_EQ(log[offset], value) << offset;
      producer->close();
    });
    EXPECT_TRUE(done) << "kill after " << to_seconds(kill_after) * 1e3 << " ms";
  }
  EXPECT_GT(retries, 0u) << "no kill caught a request in flight: the retry path went untested";
}

}  // namespace
}  // namespace weir::broker::testing

namespace weir::broker::testing {
namespace {

// pause()/resume(): a paused partition hands out nothing (and keeps its position) while the
// others flow; after resume() its records come, from where it stopped.
TEST(ClientEndToEnd, PausedPartitionsWaitForResume) {
  BrokerSimCluster c(27, {.properties = {{"num.partitions", "2"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.acks = -1});
    for (int i = 0; i < 20; ++i) {
      auto md = await(
          producer->send({.topic = "paused", .partition = i % 2, .value = absl::StrCat("v", i)}));
      ASSERT_TRUE(md.ok()) << md.status();
    }
    producer->close();
    auto consumer =
        make_consumer(c, {.fetch_max_wait_ms = 50, .auto_offset_reset = OffsetReset::kEarliest});
    consumer->assign({{"paused", 0}, {"paused", 1}});
    ASSERT_TRUE(consumer->pause({{"paused", 1}}).ok());
    EXPECT_FALSE(consumer->pause({{"paused", 7}}).ok()) << "not assigned";
    EXPECT_EQ(consumer->paused(), (std::vector<client::TopicPartition>{{"paused", 1}}));
    std::map<int32_t, int> seen;
    for (int round = 0; round < 10; ++round) {
      auto polled = consumer->poll(200ms);
      ASSERT_TRUE(polled.ok()) << polled.status();
      for (const ConsumerRecord& r : *polled) ++seen[r.partition];
    }
    EXPECT_EQ(seen[0], 10);
    EXPECT_EQ(seen[1], 0) << "a paused partition handed out records";
    ASSERT_TRUE(consumer->resume({{"paused", 1}}).ok());
    for (int round = 0; round < 10 && seen[1] < 10; ++round) {
      auto polled = consumer->poll(200ms);
      ASSERT_TRUE(polled.ok()) << polled.status();
      for (const ConsumerRecord& r : *polled) {
        EXPECT_EQ(r.partition, 1);
        EXPECT_EQ(r.offset, seen[1]) << "resumed where it stopped";
        ++seen[1];
      }
    }
    EXPECT_EQ(seen[1], 10);
    consumer->close();
  });
  EXPECT_TRUE(done);
}

// With idempotence, the log holds every record exactly once, in the order sent, whatever
// is lost: responses dropped on their way back (the broker appended, the producer retries),
// and a broker killed and restarted (its producer state comes back from the log's snapshots)
// while retries are pending. The broken variant (the broker appends retries again) fails it.
void idempotent_run(uint64_t seed, Duration cut_after, bool kill, bool broken,
                    std::vector<std::string>& log_out, uint64_t& retries) {
  BrokerSimOptions options;
  if (broken) options.properties["weir.bug"] = "producer_accept_duplicates";
  BrokerSimCluster c(seed, options);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.acks = -1,
                                      .linger_ms = 2,
                                      .retry_backoff_ms = 50,
                                      .request_timeout_ms = 500,
                                      .max_in_flight = 5,
                                      .enable_idempotence = true});
    std::vector<Future<RecordMetadata>> acks;
    std::vector<std::string> values;
    for (int i = 0; i < 300; ++i) values.push_back(absl::StrCat("value-", i));
    const std::string broker_ip = c.broker_machines[0]->ip();
    const std::string client_ip = c.client_machine->ip();
    for (int i = 0; i < 300; ++i) {
      acks.push_back(producer->send({.topic = "idem", .value = values[i]}));
      if (i == 150) {
        delay(cut_after);
        c.sim.network().partition(broker_ip, client_ip);  // requests arrive, answers do not
        delay(700ms);
        if (kill) {
          c.sim.kill(c.broker_processes[0]);
          c.sim.boot_after(c.broker_processes[0], 500ms);
        }
        c.sim.network().heal(broker_ip, client_ip);
      }
      delay(5ms);
    }
    producer->flush();
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(acks[i].get().ok()) << i << ": " << acks[i].get().status();
    }
    EXPECT_GE(producer->stats().producer_ids, 1u);
    retries += producer->stats().retries;
    producer->close();
    auto consumer = make_consumer(c, {.fetch_max_wait_ms = 100,
                                      .auto_offset_reset = OffsetReset::kEarliest,
                                      .request_timeout_ms = 2000});
    consumer->assign({{"idem", 0}});
    int idle = 0;
    while (idle < 3) {
      auto polled = consumer->poll(500ms);
      ASSERT_TRUE(polled.ok()) << polled.status();
      if (polled->empty()) ++idle;
      for (const ConsumerRecord& r : *polled) log_out.push_back(std::string(*r.value));
    }
    consumer->close();
  });
  EXPECT_TRUE(done);
}

std::vector<std::string> values_sent() {
  std::vector<std::string> v;
  for (int i = 0; i < 300; ++i) v.push_back(absl::StrCat("value-", i));
  return v;
}

TEST(ClientEndToEnd, IdempotentProducerWritesEachRecordOnceInOrder) {
  uint64_t retries = 0;
  for (bool kill : {false, true}) {
    for (Duration cut_after : {0us, 1500us, 2500us, 3500us}) {
      std::vector<std::string> log;
      idempotent_run(26, cut_after, kill, false, log, retries);
      EXPECT_EQ(log, values_sent())
          << "kill " << kill << " cut after " << to_seconds(cut_after) * 1e3 << " ms";
    }
  }
  EXPECT_GT(retries, 0u) << "no request was retried: the dedup path went untested";
}

TEST(ClientEndToEnd, IdempotenceCheckFailsWhenTheBrokerAppendsRetries) {
  uint64_t retries = 0;
  std::vector<std::string> log;
  idempotent_run(26, 0us, false, true, log, retries);
  EXPECT_GT(log.size(), values_sent().size()) << "the broken broker wrote no duplicate";
}

}  // namespace
}  // namespace weir::broker::testing
