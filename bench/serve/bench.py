#!/usr/bin/env python3
"""SIPp load against `sipkit serve` and Kamailio in the same run, on loopback.

For each server and scenario (INVITE -> 302 -> ACK against pre-registered
users; REGISTER of a new AOR per call) it ramps the offered rate and records,
per step: calls offered/achieved, failed calls, retransmissions, SIPp's
response time (median, p99; 4 ms clock granularity on this kernel), the
server's CPU time per call (utime+stime from /proc, all its processes and
threads) and its peak RSS. A ramp stops after the first step with a failed
call or under 90 % of the offered rate. Every SIPp run is bounded in calls
(-m) and time (-timeout, and `timeout` around it); servers are started here
and stopped by PID.

Authenticated REGISTER (issue 12): the kinds `sipkit-auth` and
`kamailio-auth` run only the REGISTER-through-a-digest-challenge ramp
(register_auth_load.xml: REGISTER, 401, REGISTER with Authorization, 200),
with the same user and password on both: sipkit from its configuration,
Kamailio from auth_db on SQLite (kamailio_auth.cfg). One call is one
challenge round trip plus the authenticated REGISTER.

Location service in Redis (issue 14): the kinds `sipkit-redis` (`sipkit
serve --db redis://...`, one node), `sipkit-redis-2nodes` (two `sipkit
serve` processes on the same Redis; every step runs two SIPp instances
together, one per node, at half the rate and half the calls each; a step
is clean when both are; CPU and RSS are the sum of both nodes) and
`kamailio-redis` (kamailio_redis.cfg: usrloc db_mode=3 on db_redis) each
get their own redis-server on a free port (`--redis-args`, by default
`--save '' --appendonly no`), started here and stopped by PID. Per step
the harness adds the CPU time of redis-server (utime+stime) per call and
Redis's commands per call (deltas of `INFO commandstats`, less the
harness's own INFO). The users of the INVITE ramp are registered through
the first node (the set-up), so with two nodes every INVITE through the
second finds bindings another node wrote. Commands per REGISTER and per
INVITE are also measured apart from the ramps, within seconds of the
start and so before either server's first sweep of expired bindings
(sipkit and Kamailio's usrloc timer both run one every 60 s, and both
sweeps cost O(bindings) commands): over 1,000 REGISTERs of new AORs and
1,000 INVITEs at 500/s (split over the nodes) right after the set-up, under
`MONITOR`, which tells the commands the server sent from those its
scripts ran (`INFO commandstats` counts both alike).

Results: `summary.md` (the tables) and `results.json` (every step's
figures, the probes and the configuration) under --out/<stamp>/.

Usage (as root, after `bench/setup`, which installs SIPp, Kamailio and its
SQLite and Redis modules, and redis-server):
  cargo build --release -p sipkit
  python3 bench/serve/bench.py --out bench/serve/results
  python3 bench/serve/bench.py --servers sipkit-auth,kamailio-auth --auth-rates 2000,5000,10000,15000
  python3 bench/serve/bench.py --servers sipkit-redis,sipkit-redis-2nodes,kamailio-redis \
      --invite-rates 2000,5000,7500,10000,12500,15000,20000,25000,30000 \
      --register-rates 2000,5000,7500,10000,12500,15000,20000,25000 --duration 10 --bindings 100000
"""

import argparse
import csv
import datetime
import glob
import json
import math
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sqlite3
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The user of the authenticated REGISTER ramp, the same on both servers.
AUTH_USER, AUTH_PASSWORD = "bench", "bench-pw-9f3k"


# The kinds whose location service is a redis-server started by the harness.
REDIS_KINDS = ("sipkit-redis", "sipkit-redis-2nodes", "kamailio-redis")
# The probes of Redis commands per request: calls and rate (split over the nodes).
PROBE_CALLS, PROBE_RATE = 1000, 500


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_tree(pid):
    """pid and every descendant process."""
    children = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                parts = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(parts[1]), []).append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    total = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def rss_kib(pid, field="VmRSS"):
    total = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Server:
    def __init__(self, kind, port, workdir, children, workers=None, redis_port=None, node=0):
        self.kind, self.port, self.workdir = kind, port, workdir
        if kind.startswith("sipkit"):
            if kind in ("sipkit", "sipkit-auth", "sipkit-auth-md5"):
                db = ":memory:"
            elif kind in REDIS_KINDS:
                db = f"redis://127.0.0.1:{redis_port}/0"
            else:
                db = os.path.join(workdir, "bench.db")
            binary = os.path.join(ROOT, "target", "release", "sipkit")
            cmd = [binary, "serve", "--listen", f"udp:127.0.0.1:{port}", "--db", db]
            if workers:
                cmd += ["--workers", str(workers)]
            if kind in ("sipkit-auth", "sipkit-auth-md5"):
                # Digest authentication on; the per-source rate limit off (all
                # of SIPp's load comes from one address). `sipkit-auth-md5`
                # offers one MD5 challenge per 401, as kamailio_auth.cfg
                # does, instead of the default MD5 + SHA-256 + SHA-512-256.
                conf = os.path.join(workdir, f"{kind}.toml")
                algorithms = 'algorithms = ["MD5"]\n' if kind == "sipkit-auth-md5" else ""
                with open(conf, "w") as f:
                    f.write(f'[auth]\n{algorithms}users = [{{ name = "{AUTH_USER}", password = "{AUTH_PASSWORD}" }}]\n'
                            "[auth.rate_limit]\nrate_per_s = 0\n")
                cmd += ["--config", conf]
            env = dict(os.environ, RUST_LOG="warn")
        elif kind == "kamailio-auth":
            authdb = os.path.join(workdir, "kamailio-auth.db")
            make_kamailio_subscribers(authdb)
            cfg = os.path.join(workdir, "kamailio.cfg")
            with open(os.path.join(HERE, "kamailio_auth.cfg")) as f:
                text = f.read().replace("LISTEN_PORT", str(port)).replace("AUTH_DB", authdb)
            with open(cfg, "w") as f:
                f.write(text)
            cmd = ["kamailio", "-f", cfg, "-DD", "-E", "-m", "4096", "-M", "16", "-A", f"CHILDREN={children}"]
            env = dict(os.environ)
        elif kind == "kamailio-redis":
            cfg = os.path.join(workdir, "kamailio.cfg")
            with open(os.path.join(HERE, "kamailio_redis.cfg")) as f:
                text = f.read().replace("LISTEN_PORT", str(port)).replace("REDIS_PORT", str(redis_port))
            with open(cfg, "w") as f:
                f.write(text)
            cmd = ["kamailio", "-f", cfg, "-DD", "-E", "-m", "4096", "-M", "16", "-A", f"CHILDREN={children}"]
            env = dict(os.environ)
        else:
            cfg = os.path.join(workdir, "kamailio.cfg")
            with open(os.path.join(HERE, "kamailio.cfg")) as f:
                text = f.read().replace("LISTEN_PORT", str(port))
            with open(cfg, "w") as f:
                f.write(text)
            cmd = ["kamailio", "-f", cfg, "-DD", "-E", "-m", "4096", "-M", "16", "-A", f"CHILDREN={children}"]
            env = dict(os.environ)
        self.log = open(os.path.join(workdir, f"{kind}{'' if node == 0 else f'-node{node}'}.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=own_session)
        time.sleep(1.5)
        if self.proc.poll() is not None:
            raise SystemExit(f"{kind} did not start; see {self.log.name}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Redis:
    """A redis-server of the harness's own, on a free loopback port."""

    def __init__(self, workdir, extra_args):
        self.port = free_port(socket.SOCK_STREAM)
        self.args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", workdir,
                     "--daemonize", "no", *extra_args]
        self.log = open(os.path.join(workdir, "redis-server.log"), "w")
        self.proc = subprocess.Popen(["redis-server", *self.args], stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=own_session)
        for _ in range(100):
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"redis-server did not start; see {self.log.name}")

    def command(self, *args):
        """One command on a fresh connection (RESP2); the reply as Python values."""
        req = f"*{len(args)}\r\n".encode()
        for a in args:
            a = str(a).encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(req)
            return resp_reply(s.makefile("rb"))

    def info(self, section):
        """`INFO section` as {field: value}."""
        out = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def commandstats(self):
        """{command: calls} from `INFO commandstats`."""
        out = {}
        for k, v in self.info("commandstats").items():
            fields = dict(f.split("=", 1) for f in v.split(","))
            out[k[len("cmdstat_"):]] = int(fields["calls"])
        return out

    def snapshot(self):
        return cpu_seconds(self.proc.pid), self.commandstats()

    def used_memory_kib(self):
        return int(self.info("memory")["used_memory"]) / 1024

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Monitor:
    """Counts the commands Redis executes while it runs (`MONITOR`), apart:
    those clients sent and those scripts ran (MONITOR tags them `[db lua]`).
    Only for the probes: MONITOR costs Redis CPU."""

    def __init__(self, redis):
        self.redis = redis
        self.sock = socket.create_connection(("127.0.0.1", redis.port), timeout=60)
        self.sock.sendall(b"MONITOR\r\n")
        self.file = self.sock.makefile("rb")
        if self.file.readline() != b"+OK\r\n":
            raise OSError("redis: MONITOR refused")
        self.client, self.script = {}, {}
        self.marker = f"bench-monitor-end-{os.getpid()}-{time.time_ns()}"
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.file:
            # +1796583379.623915 [0 127.0.0.1:49088] "SMEMBERS" "location:..."
            try:
                where, rest = line.split(b"] ", 1)
                name = rest.split(b'"', 2)[1].decode().lower()
            except (ValueError, IndexError):
                continue
            if name == "echo" and self.marker.encode() in rest:
                return
            if name == "info":
                continue
            counts = self.script if where.endswith(b" lua") else self.client
            counts[name] = counts.get(name, 0) + 1

    def stop(self):
        """Counts up to now: {"client": {...}, "script": {...}}."""
        self.redis.command("ECHO", self.marker)
        self.thread.join(timeout=30)
        # Both: the socket's descriptor stays open while its file object
        # does, and Redis would go on copying every command to it.
        self.file.close()
        self.sock.close()
        for _ in range(100):  # until Redis has dropped it (flag O: a monitor)
            if not any(" flags=O " in c for c in self.redis.command("CLIENT", "LIST").splitlines()):
                break
            time.sleep(0.01)
        else:
            raise SystemExit("redis: the MONITOR connection is still open")
        return {"client": dict(sorted(self.client.items())), "script": dict(sorted(self.script.items()))}


def resp_reply(f):
    line = f.readline()
    if not line:
        raise OSError("redis: connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise OSError(f"redis: {rest.decode()}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_reply(f) for _ in range(n)]
    raise OSError(f"redis: unexpected reply {line!r}")


def redis_delta(before, after):
    """CPU seconds and {command: calls} between two snapshots, less the harness's INFO."""
    cmds = {k: v - before[1].get(k, 0) for k, v in after[1].items() if k != "info"}
    return after[0] - before[0], {k: v for k, v in sorted(cmds.items()) if v > 0}


class Deployment:
    """The server(s) of one kind and, for the Redis kinds, their redis-server."""

    def __init__(self, kind, workdir, args):
        self.kind, self.workdir, self.args = kind, workdir, args
        self.redis = Redis(workdir, args.redis_args) if kind in REDIS_KINDS else None
        self.servers = []
        self.start_servers()

    def start_servers(self):
        rport = self.redis.port if self.redis else None
        try:
            for node in range(2 if self.kind == "sipkit-redis-2nodes" else 1):
                self.servers.append(Server(self.kind, free_port(), self.workdir, self.args.children,
                                           self.args.workers, rport, node))
        except BaseException:
            self.stop()
            raise

    def restart_servers(self):
        for s in self.servers:
            s.stop()
        self.servers = []
        self.start_servers()

    @property
    def ports(self):
        return [s.port for s in self.servers]

    def cpu(self):
        return sum(cpu_seconds(s.proc.pid) for s in self.servers)

    def hwm(self):
        return sum(rss_kib(s.proc.pid, "VmHWM") for s in self.servers)

    def rss(self):
        return sum(rss_kib(s.proc.pid) for s in self.servers)

    def stop(self):
        for s in self.servers:
            s.stop()
        self.servers = []
        if self.redis:
            self.redis.stop()
            self.redis = None


def make_kamailio_subscribers(path):
    """Kamailio 5.6's `subscriber` table (schema version 7) with the bench user."""
    with sqlite3.connect(path) as c:
        c.executescript("""
            CREATE TABLE version (table_name VARCHAR(32) NOT NULL, table_version INTEGER DEFAULT 0 NOT NULL,
                CONSTRAINT version_table_name_idx UNIQUE (table_name));
            INSERT INTO version (table_name, table_version) VALUES ('subscriber', 7);
            CREATE TABLE subscriber (id INTEGER PRIMARY KEY NOT NULL, username VARCHAR(64) DEFAULT '' NOT NULL,
                domain VARCHAR(64) DEFAULT '' NOT NULL, password VARCHAR(64) DEFAULT '' NOT NULL,
                ha1 VARCHAR(128) DEFAULT '' NOT NULL, ha1b VARCHAR(128) DEFAULT '' NOT NULL,
                CONSTRAINT subscriber_account_idx UNIQUE (username, domain));
            CREATE INDEX subscriber_username_idx ON subscriber (username);
        """)
        c.execute("INSERT INTO subscriber (username, domain, password) VALUES (?, '127.0.0.1', ?)",
                  (AUTH_USER, AUTH_PASSWORD))


def own_session():
    """Own session and autogroup, so a stray process elsewhere on the shared
    box cannot take a fixed share of the CPU (see KAMAILIO-RESULTS.md)."""
    os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-20")
    except OSError:
        pass


# SIPp's transport: "u1" is one socket for every call (one source, so one
# SO_REUSEPORT worker gets it all); "un" one socket per call (many sources,
# spread over the workers). Set by --sipp-transport.
SIPP_TRANSPORT = ["u1"]


def sipp_start(scenario, port, rate, calls, workdir, tag, extra=()):
    """Starts one SIPp in a directory of its own (its per-call RTT file lands there)."""
    local = free_port()
    run_dir = os.path.join(workdir, tag)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    stat = os.path.join(run_dir, "stat.csv")
    limit = max(int(rate), 2000)
    seconds = calls / rate
    cmd = ["timeout", str(int(seconds + 90)), "sipp", "-sf", os.path.join(HERE, scenario), f"127.0.0.1:{port}",
           "-i", "127.0.0.1", "-p", str(local), "-r", f"{rate:g}", "-rp", "1000", "-m", str(calls),
           "-l", str(limit), "-timeout", f"{int(seconds + 60)}s", "-timeout_error", "-recv_timeout", "5000",
           "-buff_size", "4194304", "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
           "-trace_rtt", "-rtt_freq", str(min(1000, calls)), "-t", SIPP_TRANSPORT[0],
           *(["-max_socket", "10000"] if SIPP_TRANSPORT[0] == "un" else []), *extra]
    proc = subprocess.Popen(cmd, cwd=run_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=own_session)
    return {"proc": proc, "dir": run_dir, "stat": stat, "start": time.time()}


def sipp_finish(runs):
    """Waits for SIPp instances started together; their calls summed, their RTTs pooled."""
    ok = failed = retrans = exit_code = 0
    end = 0.0
    rtts = []
    for run in runs:
        code = run["proc"].wait()
        end = max(end, time.time())
        exit_code = exit_code or code
        if os.path.exists(run["stat"]):
            with open(run["stat"]) as f:
                rows = list(csv.reader(f, delimiter=";"))
            head, last = rows[0], rows[-1]
            col = lambda name: int(last[head.index(name)])
            ok += col("SuccessfulCall(C)")
            failed += col("FailedCall(C)")
            retrans += col("Retransmissions(C)")
        for rtt in glob.glob(os.path.join(run["dir"], "*_rtt.csv")):
            with open(rtt) as f:
                for row in csv.reader(f, delimiter=";"):
                    try:
                        rtts.append(float(row[1]))
                    except (IndexError, ValueError):
                        pass
            os.remove(rtt)
    elapsed = end - min(run["start"] for run in runs)
    rtts.sort()
    pct = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else float("nan")
    return {"exit": exit_code, "ok": ok, "failed": failed, "retrans": retrans, "elapsed": elapsed,
            "p50": pct(0.5), "p99": pct(0.99)}


def sipp(scenario, port, rate, calls, workdir, tag, extra=()):
    return sipp_finish([sipp_start(scenario, port, rate, calls, workdir, tag, extra)])


def step(dep, scenario, rate, calls, workdir, tag, extra):
    """One step: `rate` and `calls` split evenly over the deployment's nodes,
    one SIPp per node, all started together. `extra(node, rate)` gives each
    SIPp's further arguments."""
    n = len(dep.ports)
    cpu0 = dep.cpu()
    redis0 = dep.redis.snapshot() if dep.redis else None
    runs = [sipp_start(scenario, port, rate / n, calls // n + (1 if i < calls % n else 0), workdir,
                       f"{tag}_n{i}", extra(i, rate))
            for i, port in enumerate(dep.ports)]
    r = sipp_finish(runs)
    cpu = dep.cpu() - cpu0
    ok, elapsed = max(r["ok"], 1), max(r["elapsed"], 1e-9)
    r.update(rate=rate, calls=calls, nodes=n, achieved=r["ok"] / elapsed, cpu_us=1e6 * cpu / ok,
             cpu_pct=100 * cpu / elapsed, hwm=dep.hwm())
    if dep.redis:
        rcpu, cmds = redis_delta(redis0, dep.redis.snapshot())
        r.update(redis_cpu_us=1e6 * rcpu / ok, redis_cpu_pct=100 * rcpu / elapsed,
                 total_cpu_us=1e6 * (cpu + rcpu) / ok, redis_cmds=sum(cmds.values()) / ok,
                 redis_cmd_calls=cmds)
    return r


def ramp(dep, scenario, rates, duration, workdir, extra):
    rows = []
    for rate in rates:
        calls = rate * duration
        r = step(dep, scenario, rate, calls, workdir, f"{dep.kind}_{scenario}_{rate}", extra)
        rows.append(r)
        redis = (f" redis={r['redis_cpu_us']:.1f}us/call ({r['redis_cpu_pct']:.0f}%) "
                 f"cmds/call={r['redis_cmds']:.2f} [{per_call(r)}]" if "redis_cmds" in r else "")
        print(f"  {dep.kind:14} {scenario:22} {rate:6}/s ok={r['ok']} failed={r['failed']} "
              f"retrans={r['retrans']} achieved={r['achieved']:.0f}/s p50={r['p50']:.0f}ms p99={r['p99']:.0f}ms "
              f"cpu={r['cpu_us']:.1f}us/call ({r['cpu_pct']:.0f}%){redis}", flush=True)
        if r["failed"] or r["ok"] < 0.9 * calls or r["exit"] != 0:
            break
    return rows


def per_call(r, key="redis_cmd_calls"):
    """Redis commands per successful call, by command: "evalsha 2.00, hexists 0.01"."""
    ok = max(r["ok"], 1)
    return ", ".join(f"{k} {v / ok:.2f}" for k, v in sorted(r[key].items(), key=lambda kv: -kv[1]))


def probe_text(r):
    """A probe's commands per call: those the server sent, then those its scripts ran."""
    ok = max(r["ok"], 1)
    sent = sum(r["client_cmd_calls"].values()) / ok
    ran = sum(r["script_cmd_calls"].values()) / ok
    text = f"sent {sent:.2f} ({per_call(r, 'client_cmd_calls')})"
    if ran:
        text += f", run by its scripts {ran:.2f} ({per_call(r, 'script_cmd_calls')})"
    if r["failed"] or r["retrans"]:
        text += f"; {r['failed']} failed calls, {r['retrans']} retransmissions: not clean"
    return text


def clean_rate(rows, strict=False):
    """The highest step with zero failed calls (the issue's criterion); with
    `strict`, also zero retransmissions (KAMAILIO-RESULTS.md's "clean")."""
    good = [r for r in rows if r["failed"] == 0 and r["exit"] == 0 and r["ok"] == r["calls"]
            and (not strict or r["retrans"] == 0)]
    return max(good, key=lambda r: r["rate"]) if good else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="sipkit,kamailio",
                    help="comma list: sipkit, sipkit-sqlite, kamailio, sipkit-auth, sipkit-auth-md5, kamailio-auth, "
                         "sipkit-redis, sipkit-redis-2nodes, kamailio-redis")
    ap.add_argument("--invite-rates", default="10000,20000,30000,40000,45000,50000")
    ap.add_argument("--register-rates", default="10000,20000,30000,40000")
    ap.add_argument("--auth-rates", default="2000,5000,10000,15000,20000",
                    help="authenticated REGISTER steps (kinds sipkit-auth, sipkit-auth-md5, kamailio-auth)")
    ap.add_argument("--duration", type=int, default=10, help="seconds of offered load per step")
    ap.add_argument("--children", type=int, default=2, help="Kamailio UDP workers")
    ap.add_argument("--bindings", type=int, default=100000,
                    help="live bindings for the memory figure (0: skip); for the Redis kinds, Redis's used_memory")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--workers", type=int, default=None,
                    help="sipkit serve --workers N (default: sipkit's, one per core; per node)")
    ap.add_argument("--sipp-transport", default="u1", choices=["u1", "un"],
                    help="u1: one SIPp socket (one source); un: a socket per call (sources spread over workers)")
    ap.add_argument("--redis-args", default="--save '' --appendonly no",
                    help="redis-server arguments of the Redis kinds, after --port/--bind/--dir (shell words)")
    args = ap.parse_args()
    args.redis_args = shlex.split(args.redis_args)
    SIPP_TRANSPORT[0] = args.sipp_transport
    if not shutil.which("sipp"):
        raise SystemExit("sipp not found: apt-get install sip-tester (or run bench/setup)")
    kinds = args.servers.split(",")
    if any(k in REDIS_KINDS for k in kinds) and not shutil.which("redis-server"):
        raise SystemExit("redis-server not found: run bench/setup")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(args.out, stamp)
    os.makedirs(out, exist_ok=True)
    invite_rates = [int(x) for x in args.invite_rates.split(",")]
    register_rates = [int(x) for x in args.register_rates.split(",")]
    auth_rates = [int(x) for x in args.auth_rates.split(",")]
    summary = []
    auth_summary = []
    for kind in kinds:
        if kind.startswith("kamailio") and not shutil.which("kamailio"):
            print("kamailio not found: apt-get install kamailio (or run bench/setup); skipped", file=sys.stderr)
            continue
        work = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        print(f"== {kind}", flush=True)
        dep = Deployment(kind, work, args)
        if kind.endswith(("-auth", "-auth-md5")):
            try:
                auth_summary.append((kind, ramp(dep, "register_auth_load.xml", auth_rates, args.duration, work,
                                                lambda node, rate: ("-s", AUTH_USER, "-au", AUTH_USER,
                                                                    "-ap", AUTH_PASSWORD))))
            finally:
                dep.stop()
            continue
        try:
            users = os.path.join(HERE, "users.csv")
            # The set-up registers the users of the INVITE ramp through the first node
            # (at 2,000/s with Redis: a user left out fails INVITEs of the ramp).
            setup = sipp("register_users.xml", dep.ports[0], 2000 if dep.redis else 5000, 10000, work, "setup",
                         ("-inf", users))
            if setup["ok"] != 10000:
                print(f"  set-up registered only {setup['ok']} of 10000 users", flush=True)
            probes = {}
            if dep.redis:
                # Commands per request, before any sweep of expired bindings
                # (both servers run one every 60 s), under MONITOR, at a rate
                # low enough for no retransmission (Kamailio's stateless
                # replies make each one a second save() or lookup()).
                for name, scenario, extra in (
                        ("register", "register_load.xml", lambda node, rate: ("-s", f"p{stamp[-6:]}n{node}")),
                        ("invite", "invite_302_load.xml", lambda node, rate: ("-inf", users))):
                    monitor = Monitor(dep.redis)
                    r = step(dep, scenario, PROBE_RATE, PROBE_CALLS, work, f"probe_{name}", extra)
                    seen = monitor.stop()
                    # MONITOR's own cost is in the probe's CPU; the ramps' CPU figures are without it.
                    for key in ("redis_cpu_us", "redis_cpu_pct", "total_cpu_us", "cpu_us", "cpu_pct"):
                        r.pop(key, None)
                    r.update(client_cmd_calls=seen["client"], script_cmd_calls=seen["script"])
                    probes[name] = r
                    print(f"  {kind:14} {name} probe: ok={r['ok']} failed={r['failed']} retrans={r['retrans']} "
                          f"{probe_text(r)}", flush=True)
            inv = ramp(dep, "invite_302_load.xml", invite_rates, args.duration, work,
                       lambda node, rate: ("-inf", users))
            # A new AOR per call: a prefix per step and node (SIPp's call numbers start at 1 in every run).
            reg = ramp(dep, "register_load.xml", register_rates, args.duration, work,
                       lambda node, rate: ("-s", f"r{stamp[-6:]}s{rate}n{node}"))
            mem = None
            if args.bindings and dep.redis:
                # Redis's memory from empty to N live bindings (registered through the first node).
                dep.redis.command("FLUSHALL")
                base = dep.redis.used_memory_kib()
                r = sipp("register_load.xml", dep.ports[0], 5000, args.bindings, work, "mem", ("-s", "m"))
                mem = ("Redis used_memory", base, dep.redis.used_memory_kib(), r["ok"])
            elif args.bindings and kind != "kamailio":
                # A fresh server with N live bindings, for the resident memory.
                dep.restart_servers()
                base = dep.rss()
                r = sipp("register_load.xml", dep.ports[0], 10000, args.bindings, work, "mem", ("-s", "m"))
                mem = ("RSS", base, dep.rss(), r["ok"])
            elif args.bindings:
                base = dep.rss()
                mem = ("RSS", base, base, 0)
            summary.append((kind, inv, reg, mem, probes))
        finally:
            dep.stop()
    redis_version = (subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
                     if shutil.which("redis-server") else None)
    command = (f"python3 bench/serve/bench.py --servers {args.servers} --invite-rates {args.invite_rates} "
               f"--register-rates {args.register_rates} --auth-rates {args.auth_rates} --duration {args.duration} "
               f"--bindings {args.bindings} --children {args.children} --workers {args.workers} "
               f"--sipp-transport {args.sipp_transport} --redis-args \"{shlex.join(args.redis_args)}\"")
    with_redis = any(probes for *_, probes in summary)
    lines = [f"# SIPp against sipkit serve and Kamailio, {stamp}", "",
             f"Machine: {os.cpu_count()} vCPU, loopback UDP; {args.duration} s per step; command: "
             f"`{command}`; load average at the end {os.getloadavg()[0]:.2f}", ""]
    if with_redis:
        lines += [f"Redis kinds: {redis_version}, started by the harness per kind as "
                  f"`redis-server --port P --bind 127.0.0.1 --dir D --daemonize no {shlex.join(args.redis_args)}`. "
                  "Per step, Redis commands per call are `INFO commandstats` deltas ÷ successful calls: every "
                  "command Redis executed, those run inside scripts included, and any sweep of expired bindings "
                  "that ran during the step (sipkit's and Kamailio's usrloc timer run every 60 s). The probes "
                  f"({PROBE_CALLS} REGISTERs of new AORs, then {PROBE_CALLS} INVITEs, at {PROBE_RATE}/s split over "
                  "the nodes) run before the first sweep and under `MONITOR`, which tells the commands the server "
                  "sent (one round trip each, or a pipeline) from those its scripts ran.", ""]
    redis_head = (" redis CPU µs/call | total CPU µs/call | redis CPU % | Redis cmds/call (all) | Redis commands per call (all, incl. inside scripts) |"
                  if with_redis else "")
    lines += ["| server | scenario | rate offered | ok | failed | retrans | achieved/s | p50 ms | p99 ms | server CPU µs/call | server CPU % | peak RSS MiB |" + redis_head,
              "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" * 5 if with_redis else "")]
    for kind, inv, reg, mem, probes in summary:
        for name, rows in (("INVITE→302→ACK", inv), ("REGISTER", reg)):
            for r in rows:
                line = (f"| {kind} | {name} | {r['rate']} | {r['ok']} | {r['failed']} | {r['retrans']} | "
                        f"{r['achieved']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['cpu_us']:.1f} | "
                        f"{r['cpu_pct']:.0f} | {r['hwm'] / 1024:.1f} |")
                if with_redis and "redis_cmds" in r:
                    line += (f" {r['redis_cpu_us']:.1f} | {r['total_cpu_us']:.1f} | {r['redis_cpu_pct']:.0f} | "
                             f"{r['redis_cmds']:.2f} | {per_call(r)} |")
                elif with_redis:
                    line += f" - | {r['cpu_us']:.1f} | - | - | - |"
                lines.append(line)
    rate = lambda r: f"{r['rate']}/s" if r else "none"
    cpu = lambda r, key="cpu_us": f"{r[key]:.1f}" if r and key in r else "-"
    total = lambda r: cpu(r, "total_cpu_us") if r and "total_cpu_us" in r else cpu(r)
    if with_redis:
        lines += ["", "| server | INVITE→302: highest rate, 0 failed | also 0 retrans | server CPU µs/call there | redis CPU µs/call there | total CPU µs/call there | REGISTER: highest rate, 0 failed | also 0 retrans | server CPU µs/call there | redis CPU µs/call there | total CPU µs/call there | Redis commands per REGISTER (probe) | Redis commands per INVITE (probe) | memory with N live bindings |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    else:
        lines += ["", "| server | INVITE→302: highest rate, 0 failed | also 0 retrans | CPU µs/call there | REGISTER: highest rate, 0 failed | also 0 retrans | CPU µs/call there | RSS with N live bindings |",
                  "|---|---|---|---|---|---|---|---|"]
    for kind, inv, reg, mem, probes in summary:
        ci, cis, cr, crs = clean_rate(inv), clean_rate(inv, True), clean_rate(reg), clean_rate(reg, True)
        m = (f"{mem[0]} {mem[2] / 1024:.1f} MiB ({mem[3]} bindings; {mem[1] / 1024:.1f} MiB empty)"
             if mem and mem[3] else "-")
        if with_redis:
            probe = lambda name: probe_text(probes[name]) if name in probes else "-"

            lines.append(f"| {kind} | {rate(ci)} | {rate(cis)} | {cpu(cis)} | {cpu(cis, 'redis_cpu_us')} | "
                         f"{total(cis)} | {rate(cr)} | {rate(crs)} | {cpu(crs)} | {cpu(crs, 'redis_cpu_us')} | "
                         f"{total(crs)} | {probe('register')} | {probe('invite')} | {m} |")
        else:
            lines.append(f"| {kind} | {rate(ci)} | {rate(cis)} | {cpu(cis)} | {rate(cr)} | {rate(crs)} | {cpu(crs)} | {m} |")
    if auth_summary:
        lines += ["", "Authenticated REGISTER (REGISTER, 401, REGISTER with Authorization, 200; one call = both legs):", "",
                  "| server | rate offered | ok | failed | retrans | achieved/s | p50 ms | p99 ms | server CPU µs/call | server CPU % | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for kind, rows in auth_summary:
            for r in rows:
                lines.append(f"| {kind} | {r['rate']} | {r['ok']} | {r['failed']} | {r['retrans']} | "
                             f"{r['achieved']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['cpu_us']:.1f} | "
                             f"{r['cpu_pct']:.0f} | {r['hwm'] / 1024:.1f} |")
        lines += ["", "| server | highest rate, 0 failed | also 0 retrans | CPU µs/call there |", "|---|---|---|---|"]
        for kind, rows in auth_summary:
            c, cs = clean_rate(rows), clean_rate(rows, True)
            lines.append(f"| {kind} | {c['rate'] if c else 'none'}/s | {cs['rate'] if cs else 'none'}/s | "
                         f"{cs['cpu_us'] if cs else float('nan'):.1f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    clean = lambda r: r["rate"] if r else None
    results = {
        "stamp": stamp, "command": command, "vcpus": os.cpu_count(), "duration_s": args.duration,
        "load_average_end": os.getloadavg()[0], "redis_version": redis_version,
        "redis_args": args.redis_args if with_redis else None,
        "servers": [{"kind": kind, "invite": inv, "register": reg, "probes": probes,
                     "memory": dict(zip(("what", "empty_kib", "with_bindings_kib", "bindings"), mem)) if mem else None,
                     "clean": {"invite": clean(clean_rate(inv)), "invite_no_retrans": clean(clean_rate(inv, True)),
                               "register": clean(clean_rate(reg)), "register_no_retrans": clean(clean_rate(reg, True))}}
                    for kind, inv, reg, mem, probes in summary],
        "auth": [{"kind": kind, "steps": rows, "clean": clean(clean_rate(rows)),
                  "clean_no_retrans": clean(clean_rate(rows, True))} for kind, rows in auth_summary],
    }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(json_safe(results), f, indent=1)
        f.write("\n")
    print(text)


def json_safe(v):
    """NaN (no RTT sample) as null, so the file is strict JSON."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


if __name__ == "__main__":
    main()
