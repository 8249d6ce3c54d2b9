#!/usr/bin/python3
"""kcat (Debian's kcat 1.7 over librdkafka 2.0) against a real `weir broker`: metadata, topic
auto-creation, keys, NULL and empty keys and values, headers, every compression codec, acks
0/1/all, a 1 MB record and one over message.max.bytes, consuming from beginning/end/an
offset/a tail/a timestamp, out-of-range offsets under each auto.offset.reset, CreateTime and
LogAppendTime, data surviving a clean restart and kill -9, and auto.create.topics.enable=false.
Every check is exact: offsets, bytes, error kinds. Usage: kcat_test.py WEIR

What kcat prints was read from kcat's source (kcat.c, format.c, json.c at edenhill/kcat):
  -J writes one JSON object per record: topic, partition, offset, tstype ("create" or
     "logappend"), ts, broker, headers (a flat [name, value, ...] list; null for a NULL value;
     absent without headers), key and payload (null when NULL).
  -f %K / %S print -1 for a NULL key / value; %h prints name=value,... with NULL for NULL.
  -P with -K: splits each line at the first delimiter; a line without it is a value with a NULL
     key; -Z turns an empty key or value into NULL. Empty lines are skipped. It exits 1 when any
     delivery report failed ("Delivery failed for message: <librdkafka error string>").
  -C -e prints "% Reached end of topic T [p] at offset N: exiting" on stderr at verbosity 1; a
     consumer error is fatal: "% ERROR: Topic T [p] error: <message>: terminating", exit 1.
librdkafka's auto.offset.reset=error turns a Fetch answered OFFSET_OUT_OF_RANGE into
ERR__AUTO_OFFSET_RESET with the text "fetch failed due to requested offset not available on the
broker: Broker: Offset out of range (broker N)" (rdkafka_offset.c, rd_kafka_offset_reset)."""
import json, os, shutil, signal, subprocess, sys, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, expect_eq, now_ms, ok, wait_until  # noqa: E402

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
if not os.access(KCAT, os.X_OK):
    print("SKIP: kcat is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)


def kcat(c, *args, stdin=b"", timeout=60, check=True):
    cmd = [KCAT, "-b", c.bootstrap(), "-m", "15", *map(str, args)]
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstderr:\n"
                             f"{p.stderr.decode(errors='replace')[-3000:]}")
    return p


def produce(c, topic, lines, *extra, partition=0):
    data = b"".join(line + b"\n" for line in lines)
    return kcat(c, "-P", "-t", topic, "-p", partition, *extra, stdin=data)


def consume(c, topic, offset="beginning", *extra, partition=0, check=True):
    """The records kcat -C -e -J prints (parsed), and the finished process."""
    p = kcat(c, "-C", "-t", topic, "-p", partition, "-o", offset, "-e", "-J", *extra, check=check)
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()], p


def brief(records):
    return [(r["offset"], r.get("key"), r.get("payload")) for r in records]


def metadata(c, *extra):
    return json.loads(kcat(c, "-L", "-J", *extra).stdout)


def topic_metadata(c, topic):
    """-L -t TOPIC, asking for auto-creation explicitly (librdkafka's producer default)."""
    md = metadata(c, "-t", topic, "-X", "allow.auto.create.topics=true")
    found = [t for t in md["topics"] if t["topic"] == topic]
    expect_eq(len(found), 1, f"topics named {topic!r} in -L -t {topic}")
    return found[0]


def check_partitions(t, count):
    expect_eq(t.get("error"), None, f"topic {t['topic']} error")
    parts = sorted(t["partitions"], key=lambda p: p["partition"])
    expect_eq([p["partition"] for p in parts], list(range(count)), f"partitions of {t['topic']}")
    for p in parts:
        expect_eq((p.get("error"), p["leader"], p["replicas"], p["isrs"]), (None, 0, [{"id": 0}], [{"id": 0}]),
                  f"{t['topic']} [{p['partition']}] error, leader, replicas, isrs")


def main(weir):
    with Cluster(weir, partitions=2) as c:
        port = c.broker_port(0)
        # --- metadata ---
        md = metadata(c)
        expect_eq(md["brokers"], [{"id": 0, "name": f"127.0.0.1:{port}"}], "-L brokers")
        expect_eq(md["controllerid"], 0, "-L controllerid")
        expect_eq(md["originating_broker"]["id"], 0, "-L originating broker")
        user_topics = [t["topic"] for t in md["topics"] if not t["topic"].startswith("__")]
        expect_eq(user_topics, [], "topics of a new cluster")
        text = kcat(c, "-L").stdout.decode()
        assert f"broker 0 at 127.0.0.1:{port} (controller)" in text, f"-L text:\n{text}"
        ok("kcat -L lists broker 0 at its advertised address as controller, no topics")

        # --- auto-creation through metadata: num.partitions=2, leader 0, replicas and ISR [0] ---
        def auto_created():
            # The first answers may be LEADER_NOT_AVAILABLE while the topic is being created.
            t = topic_metadata(c, "auto-meta")
            led = t["partitions"] and all(p["leader"] == 0 for p in t["partitions"])
            return t if not t.get("error") and led else None
        check_partitions(wait_until("auto-created topic 'auto-meta' with leaders", auto_created, timeout=15), 2)
        listed = [t["topic"] for t in metadata(c)["topics"]]
        assert "auto-meta" in listed, f"auto-meta not in the full listing {listed}"
        ok("kcat -L -t auto-creates 'auto-meta' with num.partitions=2, leader/replicas/isr 0")

        # --- keys, empty keys and values, headers; exact records back ---
        before = now_ms()
        produce(c, "keys", [b"k1:v1", b":v2", b"k3:", b"plain", b"k5:a:b"], "-K:", "-H", "h1=x", "-H", "h2=",
                "-H", "h3")
        after = now_ms()
        check_partitions(topic_metadata(c, "keys"), 2)
        recs, _ = consume(c, "keys")
        expect_eq(brief(recs), [(0, "k1", "v1"), (1, "", "v2"), (2, "k3", ""), (3, None, "plain"), (4, "k5", "a:b")],
                  "keys: (offset, key, value)")
        for r in recs:
            expect_eq(r.get("headers"), ["h1", "x", "h2", "", "h3", None], f"keys @{r['offset']} headers")
            expect_eq((r["topic"], r["partition"], r["broker"], r.get("tstype")), ("keys", 0, 0, "create"),
                      f"keys @{r['offset']} topic, partition, broker, tstype")
            assert before - 5 <= r["ts"] <= after + 5, \
                f"keys @{r['offset']}: CreateTime {r['ts']} not in [{before}, {after}]"
        out = kcat(c, "-C", "-t", "keys", "-p", 0, "-o", "beginning", "-e", "-f", "%o|%K|%S|%k|%s|%h\\n").stdout
        expect_eq(out.decode().splitlines(), [
            "0|2|2|k1|v1|h1=x,h2=,h3=NULL", "1|0|2||v2|h1=x,h2=,h3=NULL", "2|2|0|k3||h1=x,h2=,h3=NULL",
            "3|-1|5||plain|h1=x,h2=,h3=NULL", "4|2|3|k5|a:b|h1=x,h2=,h3=NULL"], "keys through -f")
        recs, _ = consume(c, "keys", 0, partition=1)
        expect_eq(recs, [], "partition 1 of 'keys' (everything went to -p 0)")
        ok("kcat -K: keys, empty key, empty value, no key, headers with empty and NULL values, CreateTime")

        produce(c, "nulls", [b"k1:", b":v2", b":"], "-K:", "-Z")
        recs, _ = consume(c, "nulls")
        expect_eq(brief(recs), [(0, "k1", None), (1, None, "v2"), (2, None, None)], "nulls: (offset, key, value)")
        expect_eq([r.get("headers") for r in recs], [None, None, None], "nulls: headers (none sent)")
        ok("kcat -Z: NULL values, NULL keys, a record with both NULL")

        # --- every compression codec; offsets continue across compressed batches ---
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            topic = f"codec-{codec}"
            lines = [b"k%d:value-%d-%s" % (i, i, b"abc" * (i % 40)) for i in range(100)]
            produce(c, topic, lines[:50], "-K:", "-z", codec)
            produce(c, topic, lines[50:], "-K:", "-z", codec)
            recs, _ = consume(c, topic)
            want = [(i, f"k{i}", f"value-{i}-" + "abc" * (i % 40)) for i in range(100)]
            expect_eq(brief(recs), want, f"{topic}: 100 records in two batches")
            recs, _ = consume(c, topic, 73)
            expect_eq(brief(recs), want[73:], f"{topic}: from offset 73 (inside the second batch)")
            ok(f"kcat -z {codec}: 100 records in two batches, offsets 0..99, from the middle of a batch")

        # --- acks ---
        for acks in ("0", "1", "all"):
            topic = f"acks-{acks}"
            produce(c, topic, [b"acks-%s-%d" % (acks.encode(), i) for i in range(10)], "-X", f"acks={acks}")
            want = [(i, None, f"acks-{acks}-{i}") for i in range(10)]
            recs, _ = consume(c, topic)
            deadline = time.time() + 10
            while acks == "0" and len(recs) < 10 and time.time() < deadline:
                time.sleep(0.1)  # acks=0 gets no answer: the records may land after kcat exits
                recs, _ = consume(c, topic)
            expect_eq(brief(recs), want, f"{topic}: records")
            ok(f"kcat -X acks={acks}: 10 records at offsets 0..9")

        # --- a 1 MB record; one over the broker's message.max.bytes (1048588) is refused ---
        big = bytes((i * 7 + i // 1000) % 26 + 97 for i in range(1_000_000))
        produce(c, "large", [big], "-X", "message.max.bytes=2000000")
        out = kcat(c, "-C", "-t", "large", "-p", 0, "-o", 0, "-c", 1, "-e", "-f", "%o %S\\n").stdout
        expect_eq(out, b"0 1000000\n", "large: offset and size")
        out = kcat(c, "-C", "-t", "large", "-p", 0, "-o", 0, "-c", 1, "-e", "-f", "%s").stdout
        assert out == big, f"large: the 1 MB value came back different ({len(out)} bytes)"
        p = kcat(c, "-P", "-t", "large", "-p", 0, "-X", "message.max.bytes=2000000", stdin=b"y" * 1_100_000 + b"\n",
                 check=False)
        err = p.stderr.decode(errors="replace")
        assert p.returncode != 0 and "Message size too large" in err, \
            f"1.1 MB record: expected a failed delivery 'Broker: Message size too large', got rc {p.returncode}:\n{err}"
        out = kcat(c, "-C", "-t", "large", "-p", 0, "-o", 0, "-e", "-f", "%o %S\\n").stdout
        expect_eq(out, b"0 1000000\n", "large after the refused record")
        ok("kcat: a 1,000,000-byte record round-trips; 1,100,000 bytes fail with MSG_SIZE_TOO_LARGE")

        # --- start offsets: beginning, absolute, end, tail, timestamps, out of range ---
        for i in range(3):
            produce(c, "offs", [b"o%d" % i])
            time.sleep(0.03)
        recs, _ = consume(c, "offs")
        expect_eq(brief(recs), [(0, None, "o0"), (1, None, "o1"), (2, None, "o2")], "offs: all")
        ts = [r["ts"] for r in recs]
        assert ts[0] < ts[1] < ts[2], f"offs: timestamps {ts} not increasing"
        expect_eq(brief(consume(c, "offs", 1)[0]), brief(recs[1:]), "offs -o 1")
        expect_eq(brief(consume(c, "offs", -2)[0]), brief(recs[1:]), "offs -o -2 (two from the end)")
        for start in (3, "end"):
            got, p = consume(c, "offs", start)
            expect_eq(got, [], f"offs -o {start}")
            assert b"Reached end of topic offs [0] at offset 3" in p.stderr, p.stderr.decode()
        expect_eq(brief(consume(c, "offs", f"s@{ts[1]}")[0]), brief(recs[1:]), "offs -o s@ts1")
        expect_eq(brief(consume(c, "offs", f"s@{ts[1] + 1}")[0]), brief(recs[2:]), "offs -o s@ts1+1")
        expect_eq(brief(consume(c, "offs", f"s@{ts[0] - 60000}")[0]), brief(recs), "offs -o s@(ts0-60s)")
        expect_eq(consume(c, "offs", f"s@{ts[2] + 1}")[0], [], "offs -o s@(after the last)")
        ok("kcat -o beginning, 1, -2, 3 (= end), end, s@timestamp: exact records")
        got, p = consume(c, "offs", 1000)  # librdkafka's default auto.offset.reset: largest
        expect_eq(got, [], "offs -o 1000 (reset to end)")
        assert b"Reached end of topic offs [0] at offset 3" in p.stderr, p.stderr.decode()
        got, _ = consume(c, "offs", 1000, "-X", "auto.offset.reset=smallest")
        expect_eq(brief(got), brief(recs), "offs -o 1000, auto.offset.reset=smallest")
        got, p = consume(c, "offs", 1000, "-X", "auto.offset.reset=error", check=False)
        err = p.stderr.decode(errors="replace")
        assert p.returncode != 0 and got == [] and "Offset out of range" in err, \
            f"offs -o 1000, auto.offset.reset=error: expected exit 1 with 'Offset out of range', got rc " \
            f"{p.returncode}, {len(got)} records:\n{err}"
        ok("kcat -o 1000 on 3 records: reset to end, to the start, or OFFSET_OUT_OF_RANGE with reset=error")

        # --- the data survives a clean restart and kill -9 ---
        kept = {t: consume(c, t)[0] for t in ("keys", "nulls", "codec-lz4", "codec-zstd", "offs")}
        c.restart_broker(0)
        for t, recs in kept.items():
            expect_eq(consume(c, t)[0], recs, f"{t} after SIGTERM and restart")
        produce(c, "offs", [b"o3"], "-X", "acks=all")
        kept["offs"] = consume(c, "offs")[0]
        expect_eq(brief(kept["offs"])[3:], [(3, None, "o3")], "offs: the record produced after the restart")
        ok("kcat: every record identical after SIGTERM (exit 0) and restart; offsets continue at 3")
        c.restart_broker(0, sig=signal.SIGKILL)
        for t, recs in kept.items():
            expect_eq(consume(c, t)[0], recs, f"{t} after kill -9 and restart")
        ok("kcat: acknowledged records identical after kill -9 and restart")

    # --- LogAppendTime, then auto.create.topics.enable=false ---
    with Cluster(weir, partitions=1, extra_props="log.message.timestamp.type=LogAppendTime\n") as c:
        before = now_ms()
        produce(c, "lat", [b"a", b"b", b"c"])
        after = now_ms()
        recs, _ = consume(c, "lat")
        expect_eq(brief(recs), [(0, None, "a"), (1, None, "b"), (2, None, "c")], "lat: records")
        for r in recs:
            expect_eq(r.get("tstype"), "logappend", f"lat @{r['offset']} timestamp type")
            assert before - 5 <= r["ts"] <= after + 5, \
                f"lat @{r['offset']}: LogAppendTime {r['ts']} not in [{before}, {after}]"
        ok("kcat: log.message.timestamp.type=LogAppendTime gives tstype logappend with the broker's time")

        c.restart_broker(0, extra_props="log.message.timestamp.type=LogAppendTime\nauto.create.topics.enable=false\n")
        expect_eq(consume(c, "lat")[0], recs, "lat after the restart")
        for _ in range(2):  # asking twice: the first ask must not have created it either
            t = topic_metadata(c, "nosuch")
            expect_eq((t.get("error"), t["partitions"]), ("Broker: Unknown topic or partition", []),
                      "-L -t nosuch with auto.create.topics.enable=false: error, partitions")
        p = kcat(c, "-P", "-t", "nosuch", "-p", 0, "-X", "topic.metadata.propagation.max.ms=1000",
                 "-X", "message.timeout.ms=15000", stdin=b"x\n", check=False)
        err = p.stderr.decode(errors="replace")
        # librdkafka fails queued records with ERR__UNKNOWN_TOPIC ("Local: Unknown topic") once
        # the topic is known not to exist; UNKNOWN_TOPIC_OR_PART's text also names it.
        assert p.returncode != 0 and "Delivery failed" in err and "Unknown topic" in err, \
            f"produce to nosuch: expected a failed delivery naming the unknown topic, got rc {p.returncode}:\n{err}"
        names = [t["topic"] for t in metadata(c)["topics"]]
        assert "nosuch" not in names, f"nosuch was created: {names}"
        produce(c, "lat", [b"d"])
        expect_eq(brief(consume(c, "lat")[0])[3:], [(3, None, "d")], "lat: produce to an existing topic still works")
        ok("kcat with auto.create.topics.enable=false: -L and -P to an unknown topic fail, it stays absent")
    print("kcat test passed")


if __name__ == "__main__":
    main(sys.argv[1])
