#!/usr/bin/python3
"""confluent-kafka (Debian's python3-confluent-kafka 1.7 over librdkafka 2.0) against a real
`weir broker`: AdminClient (create_topics with their refusals, list_topics, create_partitions,
describe_configs, delete_topics), Producer with acks 0/1/all and each compression.codec
(gzip, snappy, lz4, zstd) checked through its delivery reports, NULL and empty keys and values,
headers (with NULL and empty values), given timestamps, a topic with
message.timestamp.type=LogAppendTime, a 1 MB record and one over message.max.bytes, keyed
records over 3 partitions; a Consumer without subscribe() (assign() at explicit offsets; a
group.id because the client insists on one, no commits), offsets_for_times,
get_watermark_offsets, and an out-of-range offset under auto.offset.reset error / earliest /
latest. Usage: confluent_test.py WEIR

librdkafka behaviour this relies on (rdkafka_request.c, rdkafka_msg.c, rdkafka_offset.c):
  a delivery report under acks=0 has offset OFFSET_INVALID (-1001): no response, no offset
  (confluent-kafka's Message.offset() gives None for it);
  a delivery report carries TIMESTAMP_LOG_APPEND_TIME with the broker's time when the produce
  response has a log_append_time other than -1, else the producer's CreateTime;
  with auto.offset.reset=error a Fetch answered OFFSET_OUT_OF_RANGE surfaces as a consumer
  error _AUTO_OFFSET_RESET "fetch failed due to requested offset not available on the broker:
  Broker: Offset out of range (broker N)"; enable.partition.eof gives a _PARTITION_EOF event
  whose offset is the end offset."""
import os, random, sys, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, expect_eq, now_ms, ok, wait_until  # noqa: E402

try:
    from confluent_kafka import (OFFSET_END, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME,
                                 Consumer, KafkaError, KafkaException, Producer, TopicPartition)
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic
except ImportError:
    print("SKIP: python3-confluent-kafka is not installed")
    sys.exit(77)

GROUP = "weir-confluent-test"  # required by the client; never joined (no subscribe, no commits)


def admin_call(futures, what):
    """{name: None or KafkaError} from an admin call's futures."""
    out = {}
    for key, f in futures.items():
        try:
            f.result(timeout=30)
            out[key] = None
        except KafkaException as e:
            out[key] = e.args[0]
    return out


def expect_admin(futures, want_code, what):
    (err,) = admin_call(futures, what).values()
    got = None if err is None else err.code()
    if got != want_code:
        want = KafkaError(want_code).name() if want_code is not None else "success"
        raise AssertionError(f"{what}: expected {want}, got {err if err is not None else 'success'}")


def create(a, name, partitions=1, config=None, want=None, rf=1):
    expect_admin(a.create_topics([NewTopic(name, partitions, rf, config=config or {})], operation_timeout=10,
                                 request_timeout=20), want, f"create_topics({name!r}, {partitions})")


def partitions_of(a, name):
    md = a.list_topics(topic=name, timeout=10)
    t = md.topics.get(name)
    if t is None or t.error is not None:
        return None
    return {p.id: (p.error, p.leader, list(p.replicas), list(p.isrs)) for p in t.partitions.values()}


def wait_partitions(a, name, count):
    want = {i: (None, 0, [0], [0]) for i in range(count)}
    wait_until(f"{name}: {count} partitions led by broker 0", lambda: partitions_of(a, name) == want, timeout=5)


def producer_for(c, **conf):
    base = {"bootstrap.servers": c.bootstrap(), "client.id": "weir-confluent-producer", "linger.ms": 5}
    base.update(conf)
    return Producer(base)


def produce(c, topic, rows, partition=0, **conf):
    """rows of (key, value, headers, timestamp or None); the delivery reports as
    (error, partition, offset, (tstype, ts), key, value), in order."""
    p = producer_for(c, **conf)
    reports = [None] * len(rows)
    for i, (k, v, h, ts) in enumerate(rows):
        def on_delivery(err, msg, i=i):
            reports[i] = (err, msg.partition(), msg.offset(), msg.timestamp(), msg.key(), msg.value())
        kw = {"timestamp": ts} if ts is not None else {}
        if partition is not None:
            kw["partition"] = partition
        p.produce(topic, value=v, key=k, headers=h, on_delivery=on_delivery, **kw)
    left = p.flush(30)
    expect_eq(left, 0, f"{topic}: messages still undelivered after flush(30)")
    missing = [i for i, r in enumerate(reports) if r is None]
    expect_eq(missing, [], f"{topic}: records without a delivery report")
    return reports


def consumer_for(c, **conf):
    base = {"bootstrap.servers": c.bootstrap(), "client.id": "weir-confluent-consumer", "group.id": GROUP,
            "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "error",
            "fetch.wait.max.ms": 100}
    base.update(conf)
    return Consumer(base)


def read(consumer, n, timeout=15):
    """Records of the one assigned partition until n have come and the end was reached; fails on
    any error event, on more than n, or on fewer than n by the timeout. Also the EOF offset."""
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                if len(out) >= n:
                    assert len(out) == n, f"expected {n} records, got {len(out)}"
                    return out, m.offset()
                continue  # acks=0 records may still be on their way
            raise AssertionError(f"consumer error after {len(out)} records: {m.error()}")
        out.append(m)
    raise AssertionError(f"expected {n} records and the partition end, got {len(out)} in {timeout} s: "
                         f"{[(m.offset(), m.key()) for m in out][:20]}")


def rows_for(base_ts):
    """(key, value, headers, timestamp): NULL/empty keys and values, NULL/empty header values."""
    rows = [
        (b"k0", b"v0", [("h1", b"x"), ("h2", b""), ("h3", None)]),
        (None, b"no-key", None),
        (b"", b"empty-key", None),
        (b"null-value", None, None),
        (b"empty-value", b"", None),
        (None, None, None),
        (b"binary", bytes(range(256)) * 4, [("a", bytes(range(10))), ("a", b"dup")]),
        (b"big", b"x" * 100_000 + b"y", None),
    ]
    return [(k, v, h, base_ts + 7 * i) for i, (k, v, h) in enumerate(rows)]


def check_consumed(c, topic, rows, tstype=TIMESTAMP_CREATE_TIME, timestamps=None):
    consumer = consumer_for(c)
    consumer.assign([TopicPartition(topic, 0, 0)])
    got, eof = read(consumer, len(rows))
    expect_eq(eof, len(rows), f"{topic}: end offset at EOF")
    for i, (m, (k, v, h, ts)) in enumerate(zip(got, rows)):
        want_ts = timestamps[i] if timestamps else ts
        expect_eq((m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()),
                  (topic, 0, i, k, v, h, (tstype, want_ts)),
                  f"{topic} record {i} consumed (topic, partition, offset, key, value, headers, timestamp)")
    consumer.close()


def produce_and_check(c, topic, **conf):
    rows = rows_for(now_ms() - 3_600_000)
    reports = produce(c, topic, rows, **conf)
    acks0 = str(conf.get("acks")) == "0"
    for i, (rep, (k, v, h, ts)) in enumerate(zip(reports, rows)):
        err, part, off, tstamp, key, value = rep
        expect_eq((err, part, off, tstamp, key, value),
                  (None, 0, None if acks0 else i, (TIMESTAMP_CREATE_TIME, ts), k, v),
                  f"{topic} record {i}: delivery report (error, partition, offset, timestamp, key, value)")
    check_consumed(c, topic, rows)


def main(weir):
    print(f"confluent-kafka {confluent_kafka.version()[0]} over librdkafka {confluent_kafka.libversion()[0]}")
    with Cluster(weir, partitions=1) as c:
        a = AdminClient({"bootstrap.servers": c.bootstrap(), "client.id": "weir-confluent-admin"})
        md = a.list_topics(timeout=10)
        expect_eq({b.id: (b.host, b.port) for b in md.brokers.values()}, {0: ("127.0.0.1", c.broker_port(0))},
                  "list_topics brokers")
        expect_eq(md.controller_id, 0, "list_topics controller_id")
        assert isinstance(md.cluster_id, str) and md.cluster_id, f"cluster_id {md.cluster_id!r}"
        expect_eq([t for t in md.topics if not t.startswith("__")], [], "topics of a new cluster")
        ok(f"confluent list_topics: broker 0 at 127.0.0.1:{c.broker_port(0)}, controller 0, cluster id {md.cluster_id}")

        # --- create_topics and its refusals ---
        create(a, "ck-three", 3)
        wait_partitions(a, "ck-three", 3)
        assert "ck-three" in a.list_topics(timeout=10).topics
        for bad in ("bad name!", "..", "a" * 250):
            create(a, bad, want=KafkaError.TOPIC_EXCEPTION)
        create(a, "ck-three", 3, want=KafkaError.TOPIC_ALREADY_EXISTS)
        create(a, "ck-zero", 0, want=KafkaError.INVALID_PARTITIONS)
        create(a, "ck-rf2", 1, rf=2, want=KafkaError.INVALID_REPLICATION_FACTOR)
        create(a, "ck_collide")
        create(a, "ck.collide", want=KafkaError.TOPIC_EXCEPTION)  # '.' and '_' collide in metric names
        names = set(a.list_topics(timeout=10).topics)
        assert not {"bad name!", "..", "a" * 250, "ck-zero", "ck-rf2", "ck.collide"} & names, names
        ok("confluent create_topics: ck-three (3 partitions, leader 0); bad names, an existing name, 0 partitions, "
           "replication factor 2, a '.'/'_' collision refused with their error codes")

        # --- describe_configs ---
        create(a, "ck-lat", 1, {"message.timestamp.type": "LogAppendTime"})
        res = ConfigResource("topic", "ck-three")
        (err,) = admin_call(a.describe_configs([res], request_timeout=20), "describe_configs").values()
        expect_eq(err, None, "describe_configs ck-three error")
        cfg = a.describe_configs([res], request_timeout=20)[res].result(timeout=30)
        for key, want in (("cleanup.policy", "delete"), ("message.timestamp.type", "CreateTime"),
                          ("max.message.bytes", "1048588"), ("retention.ms", "604800000")):
            expect_eq(cfg[key].value if key in cfg else None, want, f"ck-three config {key}")
        lat = ConfigResource("topic", "ck-lat")
        cfg = a.describe_configs([lat], request_timeout=20)[lat].result(timeout=30)
        e = cfg["message.timestamp.type"]
        source = getattr(e.source, "value", e.source)
        expect_eq((e.value, source, e.is_default), ("LogAppendTime", ConfigSource.DYNAMIC_TOPIC_CONFIG.value, False),
                  "ck-lat message.timestamp.type: value, source, is_default")
        broker = ConfigResource("broker", "0")
        cfg = a.describe_configs([broker], request_timeout=20)[broker].result(timeout=30)
        expect_eq(cfg["num.partitions"].value if "num.partitions" in cfg else None, "1", "broker 0 num.partitions")
        missing = ConfigResource("topic", "ck-nosuch")
        (err,) = admin_call(a.describe_configs([missing], request_timeout=20), "describe_configs").values()
        expect_eq(err.code() if err else None, KafkaError.UNKNOWN_TOPIC_OR_PART, "describe_configs of a missing topic")
        ok("confluent describe_configs: defaults, a topic override (DYNAMIC_TOPIC_CONFIG), broker 0, a missing topic")

        # --- the producer: acks and codecs, checked through delivery reports and a consumer ---
        for acks in ("0", "1", "all"):
            create(a, f"ck-acks-{acks}")
            produce_and_check(c, f"ck-acks-{acks}", acks=acks)
            ok(f"confluent acks={acks}: 8 records (NULL/empty keys, values, header values; binary; 100 kB) exact, "
               f"delivery offsets {'None (OFFSET_INVALID)' if acks == '0' else '0..7'}")
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            create(a, f"ck-codec-{codec}")
            produce_and_check(c, f"ck-codec-{codec}", acks="all", **{"compression.codec": codec})
            ok(f"confluent compression.codec={codec}: 8 records exact")

        # --- LogAppendTime (topic config): the broker's time in the report and the log ---
        rows = [(b"k%d" % i, b"v%d" % i, None, now_ms() - 3_600_000) for i in range(5)]
        before = now_ms()
        reports = produce(c, "ck-lat", rows, acks="all")
        after = now_ms()
        stamps = []
        for i, (err, part, off, (tstype, ts), _, _) in enumerate(reports):
            expect_eq((err, off, tstype), (None, i, TIMESTAMP_LOG_APPEND_TIME),
                      f"ck-lat record {i}: delivery error, offset, timestamp type")
            assert before - 5 <= ts <= after + 5, f"ck-lat record {i}: LogAppendTime {ts} not in [{before}, {after}]"
            stamps.append(ts)
        check_consumed(c, "ck-lat", rows, TIMESTAMP_LOG_APPEND_TIME, stamps)
        ok("confluent: message.timestamp.type=LogAppendTime replaces the producer's time; report and log agree")

        # --- a 1 MB record; over message.max.bytes refused ---
        create(a, "ck-large")
        big = random.Random(11).randbytes(1_000_000)
        (rep,) = produce(c, "ck-large", [(b"big", big, None, None)], acks="all", **{"message.max.bytes": 2_000_000})
        expect_eq(rep[:3], (None, 0, 0), "ck-large: delivery error, partition, offset")
        (rep,) = produce(c, "ck-large", [(b"too-big", b"z" * 1_100_000, None, None)], acks="all",
                         **{"message.max.bytes": 2_000_000})
        expect_eq(rep[0].code() if rep[0] else None, KafkaError.MSG_SIZE_TOO_LARGE, "1.1 MB record: delivery error")
        consumer = consumer_for(c)
        consumer.assign([TopicPartition("ck-large", 0, 0)])
        (m,), eof = read(consumer, 1)
        assert (m.offset(), m.key(), m.value(), eof) == (0, b"big", big, 1), \
            f"ck-large: got offset {m.offset()}, {len(m.value())} bytes, end {eof}"
        consumer.close()
        ok("confluent: a 1,000,000-byte record round-trips; 1,100,000 bytes get MSG_SIZE_TOO_LARGE")

        # --- offsets: watermarks, offsets_for_times, out of range, the end ---
        create(a, "ck-times")
        base = now_ms() - 600_000
        produce(c, "ck-times", [(None, b"t%d" % i, None, base + 100 * i) for i in range(10)], acks="all")
        consumer = consumer_for(c)
        tp = TopicPartition("ck-times", 0)
        expect_eq(consumer.get_watermark_offsets(tp, timeout=10), (0, 10), "ck-times watermarks")
        for query, want in ((base - 1, 0), (base, 0), (base + 250, 3), (base + 500, 5), (base + 900, 9),
                            (base + 901, OFFSET_END)):
            (got,) = consumer.offsets_for_times([TopicPartition("ck-times", 0, query)], timeout=10)
            expect_eq((got.error, got.offset), (None, want), f"offsets_for_times(base + {query - base})")
        consumer.close()
        ok("confluent get_watermark_offsets (0, 10); offsets_for_times exact, OFFSET_END after the last record")
        consumer = consumer_for(c)
        consumer.assign([TopicPartition("ck-times", 0, 1000)])
        deadline = time.time() + 10
        while True:
            m = consumer.poll(0.2)
            assert time.time() < deadline, "offset 1000 with auto.offset.reset=error: no error within 10 s"
            if m is None:
                continue
            assert m.error() is not None, f"offset 1000 with auto.offset.reset=error: got a record at {m.offset()}"
            break
        expect_eq(m.error().code(), KafkaError._AUTO_OFFSET_RESET, f"offset 1000, reset=error: error ({m.error()})")
        assert "Offset out of range" in m.error().str(), f"offset 1000, reset=error: {m.error().str()}"
        consumer.close()
        for reset, want in (("earliest", 10), ("latest", 0)):
            consumer = consumer_for(c, **{"auto.offset.reset": reset})
            consumer.assign([TopicPartition("ck-times", 0, 1000)])
            got, eof = read(consumer, want)
            expect_eq(([m.offset() for m in got], eof), (list(range(want)), 10), f"offset 1000, reset={reset}")
            consumer.close()
        consumer = consumer_for(c)
        consumer.assign([TopicPartition("ck-times", 0, 10)])  # the end: valid, nothing to read
        expect_eq(read(consumer, 0)[1], 10, "start at offset 10 (the end): EOF offset")
        produce(c, "ck-times", [(None, b"t10", None, None)], acks="all")
        got, eof = read(consumer, 1)
        expect_eq(([(m.offset(), m.value()) for m in got], eof), ([(10, b"t10")], 11), "a record produced at the end")
        consumer.close()
        ok("confluent: offset 1000 of 10 gives _AUTO_OFFSET_RESET 'Offset out of range', or resets to "
           "earliest/latest; starting at the end waits for new records")

        # --- keyed records over 3 partitions ---
        rows = [(f"key-{i}".encode(), f"value-{i}".encode(), None, None) for i in range(60)]
        reports = produce(c, "ck-three", rows, partition=None, acks="all")
        placed = {}
        for (err, part, off, _, k, v) in reports:
            expect_eq(err, None, f"ck-three {k}: delivery error")
            placed.setdefault(part, []).append((off, k, v))
        assert sorted(placed) == [0, 1, 2], f"60 keys went to partitions {sorted(placed)}"
        for p in range(3):
            consumer = consumer_for(c)
            consumer.assign([TopicPartition("ck-three", p, 0)])
            got, eof = read(consumer, len(placed[p]))
            expect_eq([(m.offset(), m.key(), m.value()) for m in got], placed[p],
                      f"ck-three [{p}]: consumed vs reported")
            expect_eq((sorted(o for o, _, _ in placed[p]), eof), (list(range(len(placed[p]))), len(placed[p])),
                      f"ck-three [{p}]: offsets dense from 0, end")
            consumer.close()
        ok(f"confluent: 60 keyed records over 3 partitions ({[len(placed[p]) for p in range(3)]}) where reported")

        # --- create_partitions ---
        expect_admin(a.create_partitions([NewPartitions("ck-three", 5)], operation_timeout=10, request_timeout=20),
                     None, "create_partitions ck-three to 5")
        wait_partitions(a, "ck-three", 5)
        expect_admin(a.create_partitions([NewPartitions("ck-three", 2)], request_timeout=20),
                     KafkaError.INVALID_PARTITIONS, "create_partitions ck-three to 2 (it has 5)")
        (rep,) = produce(c, "ck-three", [(None, b"p4", None, None)], partition=4, acks="all")
        expect_eq(rep[:3], (None, 4, 0), "ck-three [4]: delivery error, partition, offset")
        ok("confluent create_partitions 3 -> 5 (partition 4 takes records); shrinking refused")

        # --- delete_topics ---
        expect_admin(a.delete_topics(["ck-three"], operation_timeout=10, request_timeout=20), None, "delete ck-three")
        wait_until("ck-three gone", lambda: "ck-three" not in a.list_topics(timeout=10).topics, timeout=10)
        expect_admin(a.delete_topics(["ck-nosuch"], request_timeout=20), KafkaError.UNKNOWN_TOPIC_OR_PART,
                     "delete a missing topic")
        ok("confluent delete_topics: gone from list_topics; a missing topic refused")
    print("confluent test passed")


if __name__ == "__main__":
    main(sys.argv[1])
