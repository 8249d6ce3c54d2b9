#!/usr/bin/python3
"""Runs rdkafka_c_test (librdkafka's C API) against one real `weir broker`: 200 records with
keys, headers and timestamps produced with acks=all and lz4 to a topic auto-created with one
partition, every delivery report checked, then all consumed through rd_kafka_assign() at
OFFSET_BEGINNING and checked. Usage: rdkafka_c_test.py WEIR RDKAFKA_C_TEST"""
import os, subprocess, sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, ok  # noqa: E402

weir, program = sys.argv[1], sys.argv[2]
assert os.access(program, os.X_OK), f"{program} is not an executable"
N = 200

with Cluster(weir, partitions=1) as c:
    p = subprocess.run([program, c.bootstrap(), "rdkafka-c-test", str(N)], capture_output=True, text=True,
                       timeout=120)
    print(p.stdout, end="")
    # librdkafka logs to stderr; show it only when something went wrong.
    if p.returncode != 0:
        print(p.stderr[-4000:], file=sys.stderr)
    assert p.returncode == 0, f"rdkafka_c_test exited with {p.returncode}"
    assert f"rdkafka_c_test: {N} passed" in p.stdout.splitlines(), "no pass line from rdkafka_c_test"
    ok(f"librdkafka C API: {N} records produced (acks=all, lz4) and consumed through rd_kafka_assign, exact")
print("rdkafka C test passed")
