#!/usr/bin/env python3
"""Timing oracle check for `sipkit serve`'s digest authentication.

Measures the response time of three kinds of REGISTER, which must be
indistinguishable (issue 12, "No enumeration"):

  none     a known user without credentials          -> 401
  unknown  an unknown user with credentials          -> 401
  wrong    a known user with a wrong password        -> 401

The probes are interleaved (none, unknown, wrong, none, ...) so drift of a
shared machine hits all three alike, each on its own transaction (new
branch and CSeq), one outstanding at a time, over UDP on loopback. The
server is started here (release build, in-memory store, users from a
generated configuration, bans and rate limit off so the probes are not
cut short) and stopped by PID. Bounded: --probes per case (default 2000)
and --max-seconds overall.

Usage:
  cargo build --release -p sipkit
  python3 bench/auth/enum_timing.py --probes 2000
Prints one line per case (median, p10, p90 in microseconds) and the largest
median difference in percent; exit 1 if a response is not the 401 expected
or the difference is over --goal (default 5 %).
"""

import argparse
import hashlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def register(port, user, cseq, auth=""):
    return (
        f"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-t{cseq};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag=t{cseq}\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: timing-{user}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@127.0.0.1:{port}>\r\n"
        f"{auth}"
        f"Expires: 600\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def authorization(user, password, nonce, realm="sipkit", uri="sip:127.0.0.1"):
    nc, cnonce = "00000001", "0a4f113b"
    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"REGISTER:{uri}")
    resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={nc}\r\n'
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--goal", type=float, default=5.0)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/sipkit"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="sipkit-timing-")
    conf = os.path.join(tmp, "sipkit.toml")
    with open(conf, "w") as f:
        f.write("[auth]\nusers = [\n")
        for i in range(args.users):
            f.write(f'  {{ name = "u{i}", password = "pw-{i}" }},\n')
        f.write("]\n[auth.ban]\nsource_failures = 0\nuser_failures = 0\n[auth.rate_limit]\nrate_per_s = 0\n")
    server = subprocess.Popen(
        [args.binary, "serve", "--listen", "udp:127.0.0.1:0", "--db", ":memory:", "--config", conf],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "error"},
        text=True,
    )
    try:
        line = server.stdout.readline()
        m = re.search(r"udp:127\.0\.0\.1:(\d+)", line)
        if not m:
            print(f"no address in {line!r}", file=sys.stderr)
            return 2
        target = ("127.0.0.1", int(m.group(1)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        port = sock.getsockname()[1]

        def ask(payload):
            t0 = time.perf_counter_ns()
            sock.sendto(payload, target)
            data, _ = sock.recvfrom(65536)
            t1 = time.perf_counter_ns()
            return (t1 - t0) / 1000.0, data.decode(errors="replace")

        # A nonce to answer (valid 300 s; refreshed every 1000 rounds).
        def fresh_nonce(cseq):
            _, r = ask(register(port, "u123", cseq))
            return re.search(r'nonce="([0-9a-f]+)"', r).group(1)

        # Names of the same length, so the requests differ only in the name.
        known, unknown = "u123", "x123"
        times = {"none": [], "unknown": [], "wrong": []}
        cseq = 1
        nonce = fresh_nonce(cseq)
        # Warm-up, not recorded.
        for _ in range(200):
            cseq += 1
            ask(register(port, known, cseq))
        started = time.monotonic()
        for i in range(args.probes):
            if i % 1000 == 999:
                cseq += 1
                nonce = fresh_nonce(cseq)
            probes = [
                ("none", known, ""),
                ("unknown", unknown, authorization(unknown, "x", nonce)),
                ("wrong", known, authorization(known, "wrong", nonce)),
            ]
            for case, user, auth in probes:
                cseq += 1
                us, r = ask(register(port, user, cseq, auth))
                if not r.startswith("SIP/2.0 401 "):
                    print(f"{case}: expected 401, got {r.splitlines()[0]!r}", file=sys.stderr)
                    return 1
                times[case].append(us)
            if time.monotonic() - started > args.max_seconds:
                print(f"stopped after {i + 1} rounds (--max-seconds)", file=sys.stderr)
                break
        medians = {}
        for case, t in times.items():
            q = statistics.quantiles(t, n=10)
            medians[case] = statistics.median(t)
            print(f"{case:8} n={len(t)} median={medians[case]:.1f} us p10={q[0]:.1f} p90={q[-1]:.1f}")
        lo, hi = min(medians.values()), max(medians.values())
        diff = (hi - lo) / lo * 100
        print(f"largest median difference: {diff:.2f} % (goal <= {args.goal} %)")
        return 0 if diff <= args.goal else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
