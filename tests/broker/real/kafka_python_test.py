#!/usr/bin/python3
"""kafka-python (Debian's python3-kafka 2.0.2) against a real `weir broker`: the admin client
(create, list, describe, invalid names and other refused requests with their exact error kinds,
CreatePartitions, DescribeConfigs, DeleteTopics and re-creation), the producer (acks 0, 1, all;
each codec whose Python module is installed; NULL and empty keys and values; headers; given
timestamps; a 1 MB record; keyed records over 3 partitions) and the consumer without a group
(assign, seek, seek_to_beginning/end, position, beginning/end_offsets, offsets_for_times,
OFFSET_OUT_OF_RANGE under each auto_offset_reset). api_version=None everywhere, so kafka-python
infers the broker's version from ApiVersions; it is printed. Usage: kafka_python_test.py WEIR

kafka-python details this relies on (read from its source, /usr/lib/python3/dist-packages/kafka):
  the admin client raises the error class of the first failed topic (InvalidTopicError, ...);
  RecordMetadata.offset is -1 under acks=0 (no response is read) and .timestamp is the given
  timestamp unless the broker answers a log_append_time other than -1; a response to an acks=0
  request has no in-flight request to match and kafka-python drops the connection
  ("No in-flight-request found"); poll() raises OffsetOutOfRangeError({tp: offset}) when the
  reset strategy is 'none'; offsets_for_times gives None where the broker answers offset -1."""
import logging, os, random, sys, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, expect_eq, now_ms, ok, wait_until  # noqa: E402

try:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka import errors as Errors
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.codec import has_gzip, has_lz4, has_snappy, has_zstd
except ImportError:
    print("SKIP: python3-kafka is not installed")
    sys.exit(77)


class Captured(logging.Handler):
    """kafka-python's warnings and errors, to look for protocol trouble."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


captured = Captured()
logging.basicConfig(level=logging.WARNING, format="kafka-python %(levelname)s %(name)s: %(message)s")
logging.getLogger("kafka").addHandler(captured)


def expect_raises(error_class, fn, what):
    try:
        fn()
    except error_class as e:
        return e
    except Exception as e:  # noqa: BLE001 - the wrong kind is the failure to report
        raise AssertionError(f"{what}: expected {error_class.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"{what}: expected {error_class.__name__}, got success")


def admin_for(c):
    return KafkaAdminClient(bootstrap_servers=c.bootstrap(), client_id="weir-kafka-python-admin",
                            request_timeout_ms=15000)


def producer_for(c, **kw):
    kw.setdefault("linger_ms", 5)
    return KafkaProducer(bootstrap_servers=c.bootstrap(), client_id="weir-kafka-python-producer",
                         request_timeout_ms=15000, max_block_ms=15000, **kw)


def consumer_for(c, **kw):
    kw.setdefault("auto_offset_reset", "none")
    return KafkaConsumer(bootstrap_servers=c.bootstrap(), client_id="weir-kafka-python-consumer",
                         group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100, **kw)


def read(consumer, n, timeout=15):
    """Exactly n records from the assigned partitions (fails on fewer within timeout, or more)."""
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        for recs in consumer.poll(timeout_ms=200).values():
            out.extend(recs)
    extra = [r for recs in consumer.poll(timeout_ms=300).values() for r in recs]
    assert len(out) == n and not extra, \
        f"expected {n} records, got {len(out)} (+{len(extra)} more): {[(r.offset, r.key) for r in out + extra][:20]}"
    return out


def create(admin, name, partitions=1, configs=None):
    admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})], timeout_ms=10000)


def partitions_of(admin, name):
    """describe_topics for one topic: {partition: (error, leader, replicas, isr)}."""
    (t,) = admin.describe_topics([name])
    expect_eq((t["topic"], t["error_code"]), (name, 0), f"describe_topics({name}) topic, error")
    return {p["partition"]: (p["error_code"], p["leader"], p["replicas"], p["isr"]) for p in t["partitions"]}


def wait_partitions(admin, name, count):
    want = {i: (0, 0, [0], [0]) for i in range(count)}
    wait_until(f"{name}: {count} partitions led by broker 0",
               lambda: partitions_of(admin, name) == want, timeout=5)
    expect_eq(partitions_of(admin, name), want, f"{name}: partitions")


def topic_configs(admin, resource_type, name):
    (rsp,) = admin.describe_configs([ConfigResource(resource_type, name)])
    (res,) = rsp.resources
    error_code, error_message, _, resource_name, entries = res[:5]
    return error_code, resource_name, {e[0]: e[1] for e in entries}


def records_for(base_ts):
    """(key, value, headers, timestamp_ms) covering NULL/empty keys and values and headers."""
    rows = [
        (b"k0", b"v0", [("h", b"1")]),
        (None, b"no-key", []),
        (b"", b"empty-key", []),
        (b"null-value", None, []),
        (b"empty-value", b"", []),
        (b"binary", bytes(range(256)) * 4, [("a", b""), ("b", bytes(range(10))), ("a", b"dup")]),
        (b"big", b"x" * 100_000 + b"y", []),
    ]
    return [(k, v, h, base_ts + 7 * i) for i, (k, v, h) in enumerate(rows)]


def produce_and_check(c, topic, acks, codec):
    rows = records_for(now_ms() - 3_600_000)  # an hour ago: only the producer could have set it
    producer = producer_for(c, acks=acks, compression_type=codec)
    api = producer.config["api_version"]
    futures = [producer.send(topic, key=k, value=v, headers=h, partition=0, timestamp_ms=ts) for k, v, h, ts in rows]
    producer.flush(15)
    for i, (f, (k, v, h, ts)) in enumerate(zip(futures, rows)):
        md = f.get(15)
        want_offset = -1 if acks == 0 else i
        expect_eq((md.topic, md.partition, md.offset, md.timestamp), (topic, 0, want_offset, ts),
                  f"{topic} record {i}: RecordMetadata topic, partition, offset, timestamp")
    producer.close(10)
    consumer = consumer_for(c)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = read(consumer, len(rows))
    for i, (r, (k, v, h, ts)) in enumerate(zip(got, rows)):
        expect_eq((r.topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp, r.timestamp_type),
                  (topic, 0, i, k, v, h, ts, 0), f"{topic} record {i} consumed "
                  "(topic, partition, offset, key, value, headers, timestamp, timestamp_type)")
    expect_eq(consumer.position(tp), len(rows), f"{topic}: position after reading")
    consumer.close()
    return api


def main(weir):
    with Cluster(weir, partitions=1) as c:
        admin = admin_for(c)
        api = admin.config["api_version"]
        print(f"kafka-python admin inferred broker api_version {api}")
        assert api >= (0, 11), f"kafka-python inferred {api}: headers and these tests need >= (0, 11)"
        cl = admin.describe_cluster()
        expect_eq([(b["node_id"], b["host"], b["port"]) for b in cl["brokers"]], [(0, "127.0.0.1", c.broker_port(0))],
                  "describe_cluster brokers")
        expect_eq(cl["controller_id"], 0, "describe_cluster controller_id")
        if "cluster_id" in cl:
            assert isinstance(cl["cluster_id"], str) and cl["cluster_id"], f"cluster_id {cl['cluster_id']!r}"
        ok(f"kafka-python admin: api_version {api}, broker 0 at 127.0.0.1:{c.broker_port(0)}, controller 0, "
           f"cluster id {cl.get('cluster_id')!r}")

        # --- CreateTopics, list and describe; refused requests with their error kinds ---
        create(admin, "kp-three", 3)
        assert "kp-three" in admin.list_topics(), admin.list_topics()
        wait_partitions(admin, "kp-three", 3)
        ok("kafka-python create_topics kp-three (3 partitions): listed, leader 0, replicas and ISR [0]")
        for bad in ("bad name!", "..", ".", "a" * 250, "", "x/y"):
            expect_raises(Errors.InvalidTopicError, lambda: create(admin, bad), f"create_topics({bad!r})")
        names = admin.list_topics()
        assert not {"bad name!", "..", ".", "a" * 250, "", "x/y"} & set(names), names
        create(admin, "a" * 249)  # the longest legal name
        wait_partitions(admin, "a" * 249, 1)
        ok("kafka-python: 'bad name!', '..', '.', 250 chars, '', 'x/y' refused with InvalidTopicError; "
           "249 chars accepted")
        expect_raises(Errors.TopicAlreadyExistsError, lambda: create(admin, "kp-three", 3), "create kp-three again")
        expect_raises(Errors.InvalidPartitionsError, lambda: create(admin, "kp-zero", 0), "create with 0 partitions")
        expect_raises(Errors.InvalidReplicationFactorError,
                      lambda: admin.create_topics([NewTopic("kp-rf2", 1, 2)], timeout_ms=10000),
                      "create with replication factor 2 on one broker")
        create(admin, "kp_collide")
        expect_raises(Errors.InvalidTopicError, lambda: create(admin, "kp.collide"),
                      "create kp.collide next to kp_collide ('.' and '_' collide in metric names)")
        assert not {"kp-zero", "kp-rf2", "kp.collide"} & set(admin.list_topics()), admin.list_topics()
        ok("kafka-python: existing name, 0 partitions, replication factor 2, a '.'/'_' collision refused "
           "with their errors")

        # --- DescribeConfigs ---
        create(admin, "kp-configs", 1, {"retention.ms": "3600000", "cleanup.policy": "delete"})
        err, name, cfg = topic_configs(admin, ConfigResourceType.TOPIC, "kp-three")
        expect_eq((err, name), (0, "kp-three"), "describe_configs kp-three error, name")
        for key, want in (("cleanup.policy", "delete"), ("message.timestamp.type", "CreateTime"),
                          ("retention.ms", "604800000"), ("segment.bytes", "1073741824"),
                          ("max.message.bytes", "1048588")):
            expect_eq(cfg.get(key), want, f"kp-three config {key}")
        err, _, cfg = topic_configs(admin, ConfigResourceType.TOPIC, "kp-configs")
        expect_eq((err, cfg.get("retention.ms"), cfg.get("cleanup.policy")), (0, "3600000", "delete"),
                  "kp-configs: error, retention.ms, cleanup.policy set at creation")
        err, _, cfg = topic_configs(admin, ConfigResourceType.BROKER, "0")
        expect_eq(err, 0, "describe_configs broker 0 error")
        for key, want in (("num.partitions", "1"), ("auto.create.topics.enable", "true"),
                          ("log.message.timestamp.type", "CreateTime"), ("message.max.bytes", "1048588")):
            expect_eq(cfg.get(key), want, f"broker 0 config {key}")
        err, _, _ = topic_configs(admin, ConfigResourceType.TOPIC, "kp-nosuch")
        expect_eq(err, Errors.UnknownTopicOrPartitionError.errno, "describe_configs of a missing topic: error code")
        ok("kafka-python describe_configs: topic defaults, configs set at creation, broker 0, a missing topic")

        # --- the producer: acks, codecs, NULL/empty keys and values, headers, timestamps ---
        for acks in (0, 1, "all"):
            topic = f"kp-acks-{acks}"
            create(admin, topic)
            before = len(captured.records)
            api = produce_and_check(c, topic, acks, None)
            trouble = [m for m in captured.records[before:]
                       if "in-flight-request" in m or "out of sync" in m or "CorrelationId" in m]
            expect_eq(trouble, [], f"{topic}: kafka-python protocol complaints (a response to acks=0?)")
            ok(f"kafka-python acks={acks}: 7 records (NULL/empty key and value, headers, binary, 100 kB) exact"
               f"{'' if acks == 0 else ', offsets 0..6 reported'}; producer api_version {api}")
        codecs = [("gzip", has_gzip), ("snappy", has_snappy), ("lz4", has_lz4), ("zstd", has_zstd)]
        for codec, available in codecs:
            if not available():
                print(f"note: kafka-python codec {codec} skipped: its Python module is not installed")
                continue
            if codec == "zstd" and api < (2, 1):
                print(f"note: zstd skipped: kafka-python needs api_version >= (2, 1), inferred {api}")
                continue
            topic = f"kp-codec-{codec}"
            create(admin, topic)
            produce_and_check(c, topic, "all", codec)
            ok(f"kafka-python compression_type={codec}: 7 records exact")

        # --- a 1 MB record ---
        create(admin, "kp-large")
        big = random.Random(7).randbytes(1_000_000)
        producer = producer_for(c, acks="all")
        md = producer.send("kp-large", key=b"big", value=big, partition=0).get(15)
        expect_eq(md.offset, 0, "kp-large: offset")
        producer.close(10)
        consumer = consumer_for(c)
        consumer.assign([TopicPartition("kp-large", 0)])
        consumer.seek_to_beginning()
        (r,) = read(consumer, 1)
        assert (r.offset, r.key, r.value) == (0, b"big", big), f"kp-large: got offset {r.offset}, {len(r.value)} bytes"
        consumer.close()
        ok("kafka-python: a 1,000,000-byte record round-trips")

        # --- keyed records over 3 partitions land where the producer was told ---
        producer = producer_for(c, acks="all")
        sent = [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(60)]
        mds = [producer.send("kp-three", key=k, value=v) for k, v in sent]
        producer.flush(15)
        placed = {}
        for (k, v), f in zip(sent, mds):
            md = f.get(15)
            placed.setdefault(md.partition, []).append((md.offset, k, v))
        producer.close(10)
        assert len(placed) == 3, f"60 keys over 3 partitions went to partitions {sorted(placed)}"
        consumer = consumer_for(c)
        tps = [TopicPartition("kp-three", p) for p in range(3)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        got = read(consumer, 60)
        for p in range(3):
            mine = [(r.offset, r.key, r.value) for r in got if r.partition == p]
            expect_eq(mine, placed[p], f"kp-three [{p}]: consumed vs reported (offset, key, value)")
            expect_eq([o for o, _, _ in mine], list(range(len(mine))), f"kp-three [{p}]: offsets dense from 0")
        expect_eq(consumer.end_offsets(tps), {tp: len(placed[tp.partition]) for tp in tps}, "kp-three end offsets")
        consumer.close()
        ok(f"kafka-python: 60 keyed records over 3 partitions ({[len(placed[p]) for p in range(3)]}), "
           "each where its RecordMetadata said, offsets dense")

        # --- CreatePartitions ---
        admin.create_partitions({"kp-three": NewPartitions(5)}, timeout_ms=10000)
        wait_partitions(admin, "kp-three", 5)
        for total in (4, 5):
            expect_raises(Errors.InvalidPartitionsError,
                          lambda: admin.create_partitions({"kp-three": NewPartitions(total)}, timeout_ms=10000),
                          f"create_partitions kp-three to {total} (it has 5)")
        expect_raises(Errors.UnknownTopicOrPartitionError,
                      lambda: admin.create_partitions({"kp-nosuch": NewPartitions(2)}, timeout_ms=10000),
                      "create_partitions of a missing topic")
        producer = producer_for(c, acks="all")
        expect_eq(producer.send("kp-three", value=b"p4", partition=4).get(15).offset, 0, "kp-three [4]: first offset")
        producer.close(10)
        ok("kafka-python create_partitions 3 -> 5 (new partition 4 takes records); 4, 5 and a missing topic refused")

        # --- consumer positioning and offsets_for_times ---
        create(admin, "kp-times")
        base = now_ms() - 600_000
        producer = producer_for(c, acks="all")
        for i in range(10):
            producer.send("kp-times", value=b"t%d" % i, partition=0, timestamp_ms=base + 100 * i)
        producer.flush(15)
        producer.close(10)
        tp = TopicPartition("kp-times", 0)
        consumer = consumer_for(c)
        print(f"kafka-python consumer api_version {consumer.config['api_version']}")
        consumer.assign([tp])
        expect_eq(consumer.beginning_offsets([tp]), {tp: 0}, "kp-times beginning_offsets")
        expect_eq(consumer.end_offsets([tp]), {tp: 10}, "kp-times end_offsets")
        for query, want in ((base - 1, (0, base)), (base, (0, base)), (base + 250, (3, base + 300)),
                            (base + 500, (5, base + 500)), (base + 900, (9, base + 900))):
            got = consumer.offsets_for_times({tp: query})[tp]
            expect_eq((got.offset, got.timestamp) if got else None, want, f"offsets_for_times(base + {query - base})")
        expect_eq(consumer.offsets_for_times({tp: base + 901}), {tp: None}, "offsets_for_times after the last record")
        consumer.seek(tp, 7)
        expect_eq([(r.offset, r.value) for r in read(consumer, 3)], [(7, b"t7"), (8, b"t8"), (9, b"t9")], "seek 7")
        expect_eq(consumer.position(tp), 10, "position after the last record")
        consumer.seek_to_beginning(tp)
        expect_eq(consumer.position(tp), 0, "position after seek_to_beginning")
        expect_eq([r.offset for r in read(consumer, 10)], list(range(10)), "all after seek_to_beginning")
        consumer.seek_to_end(tp)
        expect_eq(consumer.position(tp), 10, "position after seek_to_end")
        read(consumer, 0, timeout=0.5)
        consumer.seek(tp, 10)  # the end is a valid position, not out of range
        read(consumer, 0, timeout=0.5)
        producer = producer_for(c, acks="all")
        producer.send("kp-times", value=b"t10", partition=0).get(15)
        producer.close(10)
        expect_eq([(r.offset, r.value) for r in read(consumer, 1)], [(10, b"t10")],
                  "a record produced while at the end")
        ok("kafka-python: beginning/end_offsets, offsets_for_times, seek, seek_to_beginning/end, position, tailing")
        consumer.seek(tp, 1000)
        e = expect_raises(Errors.OffsetOutOfRangeError,
                          lambda: wait_until("OffsetOutOfRangeError", lambda: consumer.poll(timeout_ms=200) and False,
                                             timeout=10), "poll at offset 1000 of 11, auto_offset_reset none")
        expect_eq(e.args[0], {tp: 1000}, "OffsetOutOfRangeError payload")
        consumer.close()
        for reset, want in (("earliest", list(range(11))), ("latest", [])):
            consumer = consumer_for(c, auto_offset_reset=reset)
            consumer.assign([tp])
            consumer.seek(tp, 1000)
            got = []

            def settled():
                for recs in consumer.poll(timeout_ms=100).values():
                    got.extend(recs)
                return len(got) >= len(want) and consumer.position(tp) == 11
            wait_until(f"offset 1000 reset to {reset}: {len(want)} records and position 11", settled, timeout=10)
            got += read(consumer, 0)
            expect_eq([r.offset for r in got], want, f"offset 1000 with auto_offset_reset={reset}")
            consumer.close()
        ok("kafka-python: offset 1000 of 11 raises OffsetOutOfRangeError, or resets to earliest / latest")

        # --- DeleteTopics and re-creation ---
        admin.delete_topics(["kp-three", "a" * 249], timeout_ms=10000)
        wait_until("kp-three and the 249-char topic gone from list_topics",
                   lambda: not {"kp-three", "a" * 249} & set(admin.list_topics()), timeout=10)
        expect_raises(Errors.UnknownTopicOrPartitionError, lambda: admin.delete_topics(["kp-nosuch"], timeout_ms=10000),
                      "delete_topics of a missing topic")

        def recreate():
            try:
                create(admin, "kp-three", 2)
                return True
            except Errors.TopicAlreadyExistsError:
                return False  # deletion still completing
        wait_until("kp-three created again", recreate, timeout=15, interval=0.2)
        wait_partitions(admin, "kp-three", 2)
        consumer = consumer_for(c)
        tps = [TopicPartition("kp-three", p) for p in range(2)]
        expect_eq(consumer.end_offsets(tps), {tp: 0 for tp in tps}, "kp-three re-created: end offsets")
        consumer.assign(tps)
        consumer.seek_to_beginning()
        read(consumer, 0, timeout=1)
        consumer.close()
        ok("kafka-python delete_topics: gone from the listing, a missing topic refused, re-created empty")
        admin.close()
    print("kafka-python test passed")


if __name__ == "__main__":
    main(sys.argv[1])
