#!/usr/bin/python3
"""ZooKeeper's own zkCli.sh (Debian package `zookeeper`, Java) against three real `weir coord`
servers: commands fed on stdin (zkCli reads them line by line when stdin is not a terminal),
one JVM per batch, and one command given on the command line.
Usage: zkcli_test.py WEIR [ZKCLI]"""
import os, re, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble import Ensemble

weir = sys.argv[1]
zkcli = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/zookeeper/bin/zkCli.sh"
if not os.path.exists(zkcli) or shutil.which("java") is None:
    print(f"SKIP: {zkcli} or java missing (scripts/install-deps.sh installs package zookeeper)")
    sys.exit(77)
DIGEST = "weir:ZQ/ohBUa9qH2cKcgJ4vEBj9gTBo="  # base64(sha1("weir:secret"))


def run(server, commands=None, args=()):
    """zkCli's stdout and stderr together (it prints results to one and errors to the other)."""
    stdin = "".join(c + "\n" for c in commands) + "quit\n" if commands is not None else None
    out = subprocess.run([zkcli, "-server", server, *args], input=stdin, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, CLIENT_JVMFLAGS="-Xshare:auto -XX:TieredStopAtLevel=1"))
    text = out.stdout + out.stderr
    print(f"--- zkCli -server {server} {' '.join(args)}\n{text}", flush=True)
    assert "SyncConnected" in text, "zkCli never connected"
    return text


def stat_fields(text):
    return dict(re.findall(r"^(\w+) = (\S+)", text, re.M))


def expect(text, *needles):
    for n in needles:
        assert n in text, f"missing {n!r}"


# The leader reaps containers and TTL nodes every 300 ms here (ZooKeeper: every minute).
with Ensemble(weir, extra_config="znode.container.checkIntervalMs=300\n") as ens:
    s1, s2 = f"127.0.0.1:{ens.client_port(1)}", f"127.0.0.1:{ens.client_port(2)}"

    out = run(s1, [
        'create /cli "hello"',
        'create /cli "again"',
        'create -e /cli/eph "e"',
        'create -s /cli/seq- ""',
        'create -s /cli/seq- ""',
        'create -e -s /cli/eseq- ""',
        'create /cli/eph/child ""',
        'create /nope/child ""',
        'get /cli',
        'ls /cli',
    ])
    expect(out, "Created /cli\n", "Node already exists: /cli", "Created /cli/eph\n",
           "Created /cli/seq-0000000001\n", "Created /cli/seq-0000000002\n", "Created /cli/eseq-0000000003\n",
           "Ephemerals cannot have children: /cli/eph/child", "Node does not exist: /nope/child",
           "\nhello\n", "[eph, eseq-0000000003, seq-0000000001, seq-0000000002]")

    # ZooKeeper 3.6+ reads: the session's own ephemerals, a subtree's size, the caller's ids.
    out = run(s1, ['create /g ""', 'create -e /g/e1 ""', 'create /g/p ""', 'create /g/p/q ""',
                   'getEphemerals /g', 'getAllChildrenNumber /g', 'whoami'])
    expect(out, "[/g/e1]\n", "\n3\n", "Auth scheme: User\nip: 127.0.0.1")

    # The first session closed when zkCli quit: its ephemerals are gone on every server.
    out = run(s2, ["sync /cli", "ls /cli", "stat /cli"])
    expect(out, "Sync is OK", "[seq-0000000001, seq-0000000002]")
    st = stat_fields(out)
    # Four creations and the two deletes of the closed session's ephemerals: ZooKeeper 3.8's
    # cversion counts both (sequential names count creations only).
    assert st["numChildren"] == "2" and st["cversion"] == "6" and st["dataVersion"] == "0", st
    assert st["dataLength"] == "5" and st["ephemeralOwner"] == "0x0", st
    assert int(st["cZxid"], 16) > 0 and int(st["pZxid"], 16) > int(st["cZxid"], 16), st

    out = run(s1, [
        'set /cli "v1"',
        'set -v 0 /cli "stale"',
        'set -v 1 /cli "v2"',
        'get -s /cli',
        'delete -v 7 /cli/seq-0000000001',
        'delete /cli/seq-0000000001',
        'delete /cli/seq-0000000001',
        'create /cli/tree ""',
        'create /cli/tree/a "x"',
        'create /cli/tree/a/b "y"',
        'delete /cli/tree',
        'deleteall /cli/tree',
        'ls /cli',
    ])
    expect(out, "version No is not valid : /cli", "\nv2\n", "Node not empty: /cli/tree",
           "Node does not exist: /cli/seq-0000000001", "[seq-0000000002]")
    assert out.count("version No is not valid") == 2, "set -v 0 and delete -v 7 both fail"
    st = stat_fields(out)
    assert st["dataVersion"] == "2" and st["dataLength"] == "2", st

    # Watches of the zkCli session fire for its own changes, once.
    out = run(s2, [
        "get -w /cli",
        'set /cli "w1"',
        'set /cli "w2"',
        "ls -w /cli",
        'create /cli/c ""',
        "stat -w /cli/later",
        'create /cli/later ""',
        "sync /cli",
    ])
    expect(out, "type:NodeDataChanged path:/cli", "type:NodeChildrenChanged path:/cli",
           "type:NodeCreated path:/cli/later", "Node does not exist: /cli/later")
    assert out.count("type:NodeDataChanged") == 1, "a data watch fires once"

    # ACLs: addauth digest, the auth scheme, getAcl, setAcl with a version, NoAuth.
    out = run(s1, [
        "addauth digest weir:secret",
        'create /cli/acl "secret" auth::cdrwa',
        "getAcl /cli/acl",
        "setAcl -v 3 /cli/acl world:anyone:r",
        "setAcl -v 0 /cli/acl world:anyone:r,digest:" + DIGEST + ":cdrwa",
        "getAcl -s /cli/acl",
        "whoami",
    ])
    expect(out, "Created /cli/acl", "'digest,'" + DIGEST + "\n: cdrwa", "version No is not valid : /cli/acl",
           "'world,'anyone\n: r", "digest: " + DIGEST)
    assert stat_fields(out)["aclVersion"] == "1", stat_fields(out)

    out = run(s2, [
        "sync /cli/acl",
        "get /cli/acl",
        'set /cli/acl "mine"',
        "getAcl /cli/acl",  # READ without ADMIN: digests masked
        "addauth digest weir:secret",
        'set /cli/acl "ours"',
        "get /cli/acl",
    ])
    expect(out, "\nsecret\n", "Insufficient permission : /cli/acl", "'digest,'weir:x\n", "\nours\n")

    # Containers and TTL nodes: the leader deletes a container once its last child is gone
    # (never one that had none), and a TTL node once it went unwritten for its TTL and has no
    # children.
    out = run(s1, [
        'create -c /ctr ""',
        'create /ctr/a ""',
        'create -c /unused ""',
        'create -t 1500 /ttl "x"',
        'create -t 500 /ttlparent ""',
        'create /ttlparent/kid ""',
        'stat /ttl',
        'delete /ctr/a',
        'ls /',
    ])
    expect(out, "Created /ctr\n", "Created /ttl\n", "Created /ttlparent/kid\n")
    assert stat_fields(out)["ephemeralOwner"].startswith("0xff"), "a TTL node's owner marks its TTL"
    assert "ttl," in out or "ttl]" in out, "the TTL node lives until its TTL passes"
    time.sleep(3)
    out = run(s2, ["sync /", "ls /"])
    listing = re.search(r"^\[.*\]$", out, re.M).group(0)
    assert "ctr" not in listing, listing
    assert "ttl," not in listing and "ttl]" not in listing, listing
    assert "unused" in listing and "ttlparent" in listing, listing

    # One command on the command line, against the whole ensemble.
    out = run(ens.hosts(), args=["get", "/cli/acl"])
    expect(out, "\nours\n")
    print("zkCli test passed")
