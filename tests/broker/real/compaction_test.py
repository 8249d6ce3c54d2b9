#!/usr/bin/python3
"""Log compaction (cleanup.policy=compact) against a real weir coord + weir broker, with
unmodified clients:

  topic      kafka-python creates a topic with cleanup.policy=compact, small segments and an
             eager cleaner (min.cleanable.dirty.ratio 0.01, delete.retention.ms 0). It writes
             rounds of the same 30 keys, then tombstones for five of them; a keyless record is
             refused (INVALID_RECORD). Once the cleaner has run (cleaner-offset-checkpoint names
             the partition, the partition holds fewer bytes), kcat (librdkafka) and
             kafka-python each read the topic from the start to its end without stalling on the
             cleaned batches, and see exactly one record per live key, its latest value, at the
             offset it was written at, and no deleted key. DescribeConfigs shows the policy.
             After a SIGTERM restart the broker serves the same records.
  offsets    __consumer_offsets is compacted (as in Kafka): a group commits a thousand times to
             a broker with small offsets segments; the offsets partition shrinks, and after a
             restart the coordinator, loading the compacted log, answers the last commit.

Exit 77 (skipped) when kafka-python or kcat is missing.
"""
import os, shutil, subprocess, sys, time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cluster import Cluster, expect_eq, ok, wait_until  # noqa: E402

try:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka.errors import KafkaError
except ImportError:
    print("kafka-python is not installed: skipped")
    sys.exit(77)
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
if KCAT is None:
    print("kcat is not installed: skipped")
    sys.exit(77)

BROKER_PROPS = "log.cleaner.backoff.ms=200\nlog.segment.bytes=4096\n"


def cleaner_checkpoint(c, topic):
    path = os.path.join(c.log_dir(0), "cleaner-offset-checkpoint")
    try:
        with open(path) as f:
            lines = f.read().split("\n")[2:]
    except FileNotFoundError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == topic:
            return int(parts[2])
    return None


def segments(c, topic, partition=0):
    d = c.partition_dir(0, topic, partition)
    return sorted(f for f in os.listdir(d) if f.endswith(".log"))


def read_kafka_python(c, topic, end):
    consumer = KafkaConsumer(bootstrap_servers=c.bootstrap(), enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=20000,
                             client_id="weir-compaction-reader")
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    out = []
    deadline = time.time() + 30
    while consumer.position(tp) < end and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            out.extend((r.offset, r.key, r.value) for r in records)
    position = consumer.position(tp)
    consumer.close()
    assert position >= end, f"kafka-python stopped at offset {position} of {end}"
    return out


def read_kcat(c, topic):
    # -e: exit at the end of the partition; the format keeps nulls apart from empty values.
    out = subprocess.run([KCAT, "-C", "-b", c.bootstrap(), "-t", topic, "-p", "0", "-o",
                          "beginning", "-e", "-q", "-Z", "-f", "%o\t%k\t%s\n"],
                         capture_output=True, timeout=60, text=True)
    assert out.returncode == 0, f"kcat failed: {out.stderr}"
    records = []
    for line in out.stdout.splitlines():
        offset, key, value = line.split("\t", 2)
        records.append((int(offset), key.encode(), None if value == "NULL" else value.encode()))
    return records


def expect_compacted(records, history, cleaned_to, reader):
    """Below the cleaner's first dirty offset, exactly the latest record (of those written
    there) of each key, at its own offset; a key whose latest there is a tombstone may keep it
    or not, and shows no value either way. At and beyond it, everything written."""
    latest = {}
    for offset, key, value in history:
        if offset < cleaned_to:
            latest[key] = (offset, value)
    want = {k: v for k, v in latest.items() if v[1] is not None}
    got = {}
    for offset, key, value in records:
        if offset >= cleaned_to:
            continue
        assert key not in got, f"{reader}: key {key!r} read twice (offsets {got[key][0]} and {offset})"
        got[key] = (offset, value)
    expect_eq({k: v for k, v in got.items() if v[1] is not None}, want,
              f"{reader}: each live key's latest record below {cleaned_to} (offset, value)")
    tail = sorted(o for o, _, _ in history if o >= cleaned_to)
    expect_eq(sorted(o for o, _, _ in records if o >= cleaned_to), tail,
              f"{reader}: the offsets at and beyond {cleaned_to}")


def topic_case(weir):
    topic = "compacted"
    with Cluster(weir, extra_props=BROKER_PROPS) as c:
        admin = KafkaAdminClient(bootstrap_servers=c.bootstrap(), client_id="weir-compaction")
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={
            "cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0"})], timeout_ms=15000)
        desc = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        configs = {name: value for name, value, *_ in desc[0].resources[0][4]}
        expect_eq(configs.get("cleanup.policy"), "compact", "DescribeConfigs cleanup.policy")
        producer = KafkaProducer(bootstrap_servers=c.bootstrap(), acks=1, linger_ms=0,
                                 client_id="weir-compaction-writer")
        history = []

        def send(key, value):
            md = producer.send(topic, key=key, value=value).get(timeout=15)
            history.append((md.offset, key, value))
        for round_ in range(40):
            for k in range(30):
                send(f"key-{k:02d}".encode(), f"value-{round_}-{k}".encode())
        deleted = {f"key-{k:02d}".encode() for k in range(0, 30, 6)}
        for key in sorted(deleted):
            send(key, None)
        for k in range(30):
            key = f"key-{k:02d}".encode()
            if key not in deleted:
                send(key, f"value-last-{k}".encode())
        for _ in range(20):  # the tombstones and last values leave the active segment
            send(b"filler", b"x" * 200)
        try:
            producer.send(topic, key=None, value=b"keyless").get(timeout=15)
            raise AssertionError("a keyless record was accepted by a compacted topic")
        except KafkaError as e:
            ok(f"a keyless record is refused: {type(e).__name__}")
        producer.close()
        # Each send was one batch: its header, a record's framing, the key and the value at least.
        written = sum(61 + 8 + len(k) + len(v or b"") for _, k, v in history)
        wait_until("the cleaner checkpoint passes the tombstones",
                   lambda: (cleaner_checkpoint(c, topic) or 0) > history[-21][0], timeout=30)
        wait_until("the partition holds a fraction of what was written",
                   lambda: c.partition_bytes(0, topic) < written // 4, timeout=30)
        ok(f"cleaned while written: {written} bytes written, {c.partition_bytes(0, topic)} in "
           f"{len(segments(c, topic))} segments, first dirty offset {cleaner_checkpoint(c, topic)}")
        end = history[-1][0] + 1
        cleaned_to = cleaner_checkpoint(c, topic)
        expect_compacted(read_kafka_python(c, topic, end), history, cleaned_to, "kafka-python")
        expect_compacted(read_kcat(c, topic), history, cleaned_to, "kcat")
        ok(f"kafka-python and kcat read {end} offsets to the end: below {cleaned_to} one record per "
           f"live key, its latest value at its own offset, no deleted key; everything after it")
        c.restart_broker(0)
        c.wait_ready()
        expect_compacted(read_kafka_python(c, topic, end), history, cleaned_to,
                         "kafka-python after a restart")
        ok("after a SIGTERM restart the broker serves the same compacted records")
        admin.close()
    print("topic case passed")


def offsets_case(weir):
    topic, group = "offsets-src", "compacting-group"
    props = BROKER_PROPS + "offsets.topic.segment.bytes=4096\noffsets.topic.num.partitions=1\n" \
        "log.cleaner.min.cleanable.ratio=0.01\n"
    with Cluster(weir, extra_props=props) as c:
        producer = KafkaProducer(bootstrap_servers=c.bootstrap(), client_id="weir-offsets-writer")
        for i in range(50):
            producer.send(topic, key=b"k", value=str(i).encode())
        producer.flush(15)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=group,
                                 enable_auto_commit=False, client_id="weir-offsets-committer")
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        from kafka.structs import OffsetAndMetadata
        for i in range(1000):
            consumer.commit({tp: OffsetAndMetadata(i % 50 + 1, "")})
        last = 1000 % 50 or 50
        consumer.commit({tp: OffsetAndMetadata(last, "")})
        consumer.close()
        # Each commit was a batch of one record, over 100 bytes with its key and value.
        written = 1001 * 100
        wait_until("__consumer_offsets is cleaned",
                   lambda: (cleaner_checkpoint(c, "__consumer_offsets") or 0) > 0, timeout=30)
        wait_until("__consumer_offsets holds a fraction of the commits",
                   lambda: c.partition_bytes(0, "__consumer_offsets") < written // 4, timeout=30)
        ok(f"__consumer_offsets after 1001 commits (over {written} bytes): "
           f"{c.partition_bytes(0, '__consumer_offsets')} bytes")
        c.restart_broker(0)
        c.wait_ready()
        admin = KafkaAdminClient(bootstrap_servers=c.bootstrap(), client_id="weir-offsets-admin")
        committed = wait_until("the coordinator answers the group's offsets after the restart",
                               lambda: admin.list_consumer_group_offsets(group) or None, timeout=30)
        expect_eq({p: o.offset for p, o in committed.items()}, {tp: last},
                  "the last commit, from the compacted log")
        admin.close()
        ok(f"after a restart the coordinator loads the compacted log and answers the last commit {last}")
    print("offsets case passed")


CASES = {"topic": topic_case, "offsets": offsets_case}

if __name__ == "__main__":
    if len(sys.argv) < 2 or any(a not in CASES for a in sys.argv[2:]):
        print(f"usage: {sys.argv[0]} WEIR [{'|'.join(CASES)} ...]")
        sys.exit(2)
    for name in sys.argv[2:] or list(CASES):
        print(f"== {name} ==", flush=True)
        CASES[name](sys.argv[1])
    print("compaction tests passed")
