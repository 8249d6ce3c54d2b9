#!/usr/bin/python3
"""A stand-in for `weir broker --config FILE` that only answers what the harness's readiness
probe asks (ApiVersions v0, Metadata v1 for no topics), so `cluster.py --self-test` can check
the harness's broker half (start, probe, restart, clean SIGTERM) before a real broker exists.
It is no Kafka broker: clients get nothing from it. Usage: fake_broker.py broker --config FILE"""
import glob, os, signal, socket, struct, sys, threading


def read_props(path):
    props = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            props[k.strip()] = v.strip()
    host, port = props["listeners"].split("://", 1)[1].rsplit(":", 1)
    return int(props["broker.id"]), host, int(port)


def main():
    cfg = sys.argv[sys.argv.index("--config") + 1]
    broker_id, host, port = read_props(cfg)
    # The cluster: every broker the harness wrote properties for (its siblings broker<i>/).
    peers = sorted(read_props(p) for p in glob.glob(os.path.join(os.path.dirname(cfg), "..", "broker*",
                                                                  "server.properties")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    print(f"fake broker {broker_id} listening on {host}:{port}", flush=True)

    def answer(body_of_request):
        api_key, version, corr = struct.unpack(">hhi", body_of_request[:8])
        if api_key == 18 and version == 0:
            body = struct.pack(">hi", 0, 2) + struct.pack(">hhh", 18, 0, 0) + struct.pack(">hhh", 3, 0, 1)
        elif api_key == 3 and version == 1:
            body = struct.pack(">i", len(peers))
            for pid, phost, pport in peers:
                body += struct.pack(">ih", pid, len(phost)) + phost.encode() + struct.pack(">ih", pport, -1)
            body += struct.pack(">i", peers[0][0])  # controller
            # One topic "t" with partition 0 led by the controller (the harness checks leaders).
            body += struct.pack(">i", 1) + struct.pack(">hh", 0, 1) + b"t" + struct.pack(">b", 0)
            body += struct.pack(">i", 1) + struct.pack(">hii", 0, 0, peers[0][0])
            body += struct.pack(">ii", 1, peers[0][0]) + struct.pack(">ii", 1, peers[0][0])
        else:
            return None
        rsp = struct.pack(">i", corr) + body
        return struct.pack(">i", len(rsp)) + rsp

    def serve(conn):
        with conn:
            while True:
                head = conn.recv(4, socket.MSG_WAITALL)
                if len(head) < 4:
                    return
                req = conn.recv(struct.unpack(">i", head)[0], socket.MSG_WAITALL)
                out = answer(req)
                if out is None:
                    return
                conn.sendall(out)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
