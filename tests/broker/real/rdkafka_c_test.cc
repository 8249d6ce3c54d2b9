// librdkafka's C API (Debian's librdkafka-dev) against a real `weir broker`. Run by
// rdkafka_c_test.py, which starts the broker. Produces N records with keys, headers and given
// timestamps (acks=all, lz4; a few NULL keys, NULL values, empty values and NULL header values),
// checks every delivery report (no error, partition 0, offset i, CreateTime i), then consumes
// them with rd_kafka_assign() at OFFSET_BEGINNING and checks every offset, key, value, header
// and timestamp, and the watermarks. Every failed check prints what it expected and exits 1.
// With `idempotent` the producer has enable.idempotence=true (and batches of at most 25 records,
// so that N records take several Produce requests): idempotence_test.py runs it behind a proxy
// that drops Produce responses, and the same checks (offset i for record i, exactly N records)
// then say that the broker answered each retried batch with its original offsets.
//
//   rdkafka_c_test BOOTSTRAP TOPIC N [idempotent]
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* g_step = "start";

[[noreturn]] __attribute__((format(printf, 2, 3))) void fail(int line, const char* format, ...) {
  std::fprintf(stdout, "FAILED in step '%s' at rdkafka_c_test.cc:%d: ", g_step, line);
  va_list args;
  va_start(args, format);
  std::vfprintf(stdout, format, args);
  va_end(args);
  std::fprintf(stdout, "\n");
  std::fflush(stdout);
  std::_Exit(1);  // not exit(): librdkafka's threads may be inside callbacks
}

#define CHECK(cond, ...)                      \
  do {                                        \
    if (!(cond)) fail(__LINE__, __VA_ARGS__); \
  } while (0)

struct Header {
  std::string name;
  bool null = false;
  std::string value;
};

struct Record {
  bool null_key = false;
  std::string key;
  bool null_value = false;
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp = 0;
};

// Record i: mostly a key, a value of varying length and three headers; every 50 records one
// NULL key, one NULL value, one empty value; every 10th record a header with a NULL value.
Record record_for(int i, int64_t base_ts) {
  Record r;
  char buf[64];
  std::snprintf(buf, sizeof buf, "key-%05d", i);
  r.key = buf;
  r.null_key = i % 50 == 21;
  r.null_value = i % 50 == 13;
  const size_t len = i % 50 == 7 ? 0 : static_cast<size_t>(1 + (i * 37) % 3000);
  for (size_t j = 0; j < len && !r.null_value; ++j) {
    r.value.push_back(static_cast<char>((i * 31 + j * 7) % 256));
  }
  r.headers.push_back({"idx", false, std::to_string(i)});
  r.headers.push_back({"parity", false, i % 2 ? "odd" : "even"});
  if (i % 10 == 0) r.headers.push_back({"nullh", true, ""});
  r.timestamp = base_ts + i;
  return r;
}

struct Report {
  bool seen = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
  rd_kafka_timestamp_type_t tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  int64_t timestamp = -1;
};

std::vector<Report> g_reports;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  const auto i = reinterpret_cast<intptr_t>(m->_private);
  if (i < 0 || static_cast<size_t>(i) >= g_reports.size()) {
    fail(__LINE__, "delivery report for unknown record %" PRIdPTR, i);
  }
  Report& r = g_reports[static_cast<size_t>(i)];
  if (r.seen) fail(__LINE__, "two delivery reports for record %" PRIdPTR, i);
  r.seen = true;
  r.err = m->err;
  r.partition = m->partition;
  r.offset = m->offset;
  r.timestamp = rd_kafka_message_timestamp(m, &r.tstype);
}

void set(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fail(__LINE__, "config %s=%s: %s", name, value, errstr);
  }
}

std::string show(const void* p, size_t len) {
  if (!p) return "NULL";
  std::string out = "\"";
  const auto* s = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < len && i < 40; ++i) {
    char buf[8];
    if (s[i] >= 32 && s[i] < 127) {
      out.push_back(static_cast<char>(s[i]));
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", s[i]);
      out += buf;
    }
  }
  if (len > 40) out += "...";
  return out + "\" (" + std::to_string(len) + " bytes)";
}

bool same(const void* p, size_t len, bool want_null, const std::string& want) {
  if (want_null) return p == nullptr;
  return p != nullptr && len == want.size() && std::memcmp(p, want.data(), len) == 0;
}

void produce(const char* bootstrap, const char* topic, const std::vector<Record>& records,
             bool idempotent) {
  g_step = "produce";
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "client.id", "weir-rdkafka-c-test");
  set(conf, "acks", "all");
  set(conf, "compression.codec", "lz4");
  set(conf, "linger.ms", "5");
  set(conf, "message.timeout.ms", "30000");
  if (idempotent) {
    set(conf, "enable.idempotence", "true");
    set(conf, "batch.num.messages", "25");
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  CHECK(rk, "rd_kafka_new(producer): %s", errstr);
  g_reports.assign(records.size(), Report{});
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const Header& h : r.headers) {
      rd_kafka_header_add(hdrs, h.name.c_str(), -1, h.null ? nullptr : h.value.data(),
                          h.null ? 0 : static_cast<ssize_t>(h.value.size()));
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(r.null_key ? nullptr : r.key.data(), r.null_key ? 0 : r.key.size()),
        RD_KAFKA_V_VALUE(r.null_value ? nullptr : const_cast<char*>(r.value.data()),
                         r.null_value ? 0 : r.value.size()),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(r.timestamp),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(i))), RD_KAFKA_V_END);
    CHECK(!err, "rd_kafka_producev(record %zu): %s", i, rd_kafka_err2str(err));
    rd_kafka_poll(rk, 0);
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 30000);
  CHECK(!flushed, "rd_kafka_flush: %s (%d still queued)", rd_kafka_err2str(flushed),
        rd_kafka_outq_len(rk));
  rd_kafka_poll(rk, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    const Report& r = g_reports[i];
    CHECK(r.seen, "record %zu: no delivery report", i);
    CHECK(!r.err, "record %zu: delivery failed: %s", i, rd_kafka_err2str(r.err));
    CHECK(r.partition == 0 && r.offset == static_cast<int64_t>(i),
          "record %zu: delivered to partition %" PRId32 " offset %" PRId64 ", expected 0 / %zu", i,
          r.partition, r.offset, i);
    CHECK(r.tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME && r.timestamp == records[i].timestamp,
          "record %zu: delivery timestamp type %d value %" PRId64 ", expected CreateTime %" PRId64,
          i, static_cast<int>(r.tstype), r.timestamp, records[i].timestamp);
  }
  rd_kafka_destroy(rk);
  std::printf("rdkafka_c_test: %zu delivery reports%s: offsets 0..%zu, CreateTime as given\n",
              records.size(), idempotent ? " (enable.idempotence=true)" : "", records.size() - 1);
}

void check_record(const rd_kafka_message_t* m, const Record& want, int64_t expect_offset) {
  CHECK(m->partition == 0 && m->offset == expect_offset,
        "got partition %" PRId32 " offset %" PRId64 ", expected 0 / %" PRId64, m->partition,
        m->offset, expect_offset);
  CHECK(same(m->key, m->key_len, want.null_key, want.key),
        "offset %" PRId64 ": key %s, expected %s", m->offset, show(m->key, m->key_len).c_str(),
        want.null_key ? "NULL" : show(want.key.data(), want.key.size()).c_str());
  CHECK(same(m->payload, m->len, want.null_value, want.value),
        "offset %" PRId64 ": value %s, expected %s", m->offset, show(m->payload, m->len).c_str(),
        want.null_value ? "NULL" : show(want.value.data(), want.value.size()).c_str());
  rd_kafka_timestamp_type_t tstype;
  const int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  CHECK(tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME && ts == want.timestamp,
        "offset %" PRId64 ": timestamp type %d value %" PRId64 ", expected CreateTime %" PRId64,
        m->offset, static_cast<int>(tstype), ts, want.timestamp);
  rd_kafka_headers_t* hdrs = nullptr;
  const rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &hdrs);
  CHECK(!herr, "offset %" PRId64 ": rd_kafka_message_headers: %s", m->offset,
        rd_kafka_err2str(herr));
  CHECK(rd_kafka_header_cnt(hdrs) == want.headers.size(),
        "offset %" PRId64 ": %zu headers, expected %zu", m->offset, rd_kafka_header_cnt(hdrs),
        want.headers.size());
  for (size_t j = 0; j < want.headers.size(); ++j) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    CHECK(!rd_kafka_header_get_all(hdrs, j, &name, &value, &size),
          "offset %" PRId64 ": header %zu missing", m->offset, j);
    const Header& h = want.headers[j];
    CHECK(h.name == name && same(value, size, h.null, h.value),
          "offset %" PRId64 ": header %zu is %s=%s, expected %s=%s", m->offset, j, name,
          show(value, size).c_str(), h.name.c_str(),
          h.null ? "NULL" : show(h.value.data(), h.value.size()).c_str());
  }
}

void consume(const char* bootstrap, const char* topic, const std::vector<Record>& records) {
  g_step = "consume";
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "client.id", "weir-rdkafka-c-test");
  set(conf, "group.id", "weir-rdkafka-c-test");  // required; never joined: assign() only
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "true");
  set(conf, "auto.offset.reset", "error");
  set(conf, "fetch.wait.max.ms", "100");
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  CHECK(rk, "rd_kafka_new(consumer): %s", errstr);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  const rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
  CHECK(!aerr, "rd_kafka_assign: %s", rd_kafka_err2str(aerr));
  rd_kafka_topic_partition_list_destroy(parts);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t next = 0;
  bool at_end = false;
  while (!(at_end && next == static_cast<int64_t>(records.size()))) {
    CHECK(std::chrono::steady_clock::now() < deadline,
          "30 s passed with %" PRId64 " of %zu records consumed", next, records.size());
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end = true;
      CHECK(m->offset == next, "end of partition at offset %" PRId64 " after %" PRId64 " records",
            m->offset, next);
    } else {
      CHECK(!m->err, "consumer error after %" PRId64 " records: %s", next,
            rd_kafka_message_errstr(m));
      CHECK(next < static_cast<int64_t>(records.size()), "record at offset %" PRId64 " beyond %zu",
            m->offset, records.size());
      check_record(m, records[static_cast<size_t>(next)], next);
      ++next;
      at_end = false;
    }
    rd_kafka_message_destroy(m);
  }
  int64_t low = -1, high = -1;
  const rd_kafka_resp_err_t werr =
      rd_kafka_query_watermark_offsets(rk, topic, 0, &low, &high, 10000);
  CHECK(!werr, "rd_kafka_query_watermark_offsets: %s", rd_kafka_err2str(werr));
  CHECK(low == 0 && high == static_cast<int64_t>(records.size()),
        "watermarks %" PRId64 "..%" PRId64 ", expected 0..%zu", low, high, records.size());
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

}  // namespace

int main(int argc, char** argv) {
  const bool idempotent = argc == 5 && std::strcmp(argv[4], "idempotent") == 0;
  if (argc != 4 && !idempotent) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC N [idempotent]\n", argv[0]);
    return 2;
  }
  const int n = std::atoi(argv[3]);
  if (n <= 0) {
    std::fprintf(stderr, "N must be positive\n");
    return 2;
  }
  std::printf("rdkafka_c_test: librdkafka %s\n", rd_kafka_version_str());
  const int64_t base_ts =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() -
      3600 * 1000;  // an hour ago: only the producer could have set these timestamps
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) records.push_back(record_for(i, base_ts));
  produce(argv[1], argv[2], records, idempotent);
  consume(argv[1], argv[2], records);
  std::printf("rdkafka_c_test: %d passed\n", n);
  return 0;
}
