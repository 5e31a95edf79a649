#!/usr/bin/env python3
"""Scrape benchmark: slow /metrics readers against a probe-agent probing N loopback targets.

Per agent binary given (e.g. before=BIN after=BIN, run one after the other, never together):
start it at N targets in 127.0.0.0/8 (scale_bench's config: 3 s cadence, ICMP, per-target
histograms, http listener and admin socket; no remote write unless --receiver), wait WARMUP s,
then two windows of WINDOW s each:
  idle  no client but this script's two admin status requests (one at each end of the window)
  load  READERS threads, each in a loop until the window ends: connect, GET /metrics, read the
        body at RATE bytes/s (1 KiB at a time, 64 KiB receive buffer) for at most HOLD s, close,
        connect again; on 503 wait Retry-After (at most what is left of the window). Starts are
        spread over the first STAGGER s (seeded), so requests come one by one, not in a burst.
In each window: the scheduler lateness of the probes in it (the difference of the two lateness
histograms GET /v1/status returns at its ends: handed to the engine - due; p50/p99 are bucket
upper bounds) and the agent's RSS sampled every 0.25 s (max). Pass marks: load p99 <= 2 ms and
load RSS max <= 2 x idle RSS max. Readers count 200s, 503s, refused/reset connections and bytes.
Every process is ours, stopped by PID; every loop is bounded by the window.
"""
import argparse, json, os, random, socket, sys, tempfile, threading, time, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import agent_bench  # address(i), cpu_seconds(pid)
import scale_bench  # start_agent, stop, admin_lateness, window_lateness, check_loopback, with_receiver, ...


def log(msg):
    print(f"bench-scrape: {msg}", file=sys.stderr, flush=True)


class Readers:
    """READERS slow /metrics clients on threads, until `until` (monotonic)."""

    def __init__(self, port, count, rate, hold, stagger, until, seed):
        self.port, self.rate, self.hold, self.until = port, rate, hold, until
        self.lock = threading.Lock()
        self.stats = dict(requests=0, ok=0, busy_503=0, other_status=0, connect_errors=0, resets=0,
                          cut_by_server=0, bytes=0)
        rnd = random.Random(seed)
        self.threads = [threading.Thread(target=self.run, args=(rnd.uniform(0, stagger),), daemon=True)
                        for _ in range(count)]

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=max(1.0, self.until - time.monotonic() + 15))

    def run(self, delay):
        time.sleep(delay)
        while time.monotonic() < self.until - 0.5:
            wait = self.one()
            if wait:
                time.sleep(max(0.0, min(wait, self.until - time.monotonic())))

    def one(self):
        """One request; returns how long to wait before the next (Retry-After), else 0."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
            self.count("requests")
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = s.recv(1024)
                if not chunk:
                    self.count("cut_by_server")
                    return 1
                head += chunk
            status = int(head.split(b" ", 2)[1])
            if status == 503:
                self.count("busy_503")
                retry = [l for l in head.split(b"\r\n") if l.lower().startswith(b"retry-after:")]
                return float(retry[0].split(b":", 1)[1]) if retry else 1
            if status != 200:
                self.count("other_status")
                return 1
            self.count("ok")
            got, started = len(head.split(b"\r\n\r\n", 1)[1]), time.monotonic()
            end = min(started + self.hold, self.until)
            while time.monotonic() < end:
                chunk = s.recv(1024)
                if not chunk:
                    self.count("cut_by_server")
                    break
                got += len(chunk)
                # paced: `got` bytes should take got/rate s
                time.sleep(max(0.0, min(started + got / self.rate, end) - time.monotonic()))
            self.count("bytes", got)
            return 0
        except ConnectionRefusedError:
            self.count("connect_errors")
            return 1
        except (ConnectionResetError, BrokenPipeError):
            self.count("resets")
            return 0
        except (socket.timeout, TimeoutError, OSError):
            self.count("connect_errors")
            return 1
        finally:
            s.close()


def sample_rss(pid, until, out):
    while time.monotonic() < until:
        try:
            out.append(scale_bench.proc_status_kb(pid, "VmRSS"))
        except OSError:
            return
        time.sleep(0.25)


def window(pid, d, seconds, readers=None):
    """Lateness, RSS and CPU over one window, with `readers` running in it (or none)."""
    rss = []
    until = time.monotonic() + seconds
    lat0, c0 = scale_bench.admin_lateness(d), agent_bench.cpu_seconds(pid)
    sampler = threading.Thread(target=sample_rss, args=(pid, until, rss), daemon=True)
    sampler.start()
    if readers:
        readers.start()
    sampler.join(timeout=seconds + 5)
    if readers:
        readers.join()
    c1, lat1 = agent_bench.cpu_seconds(pid), scale_bench.admin_lateness(d)
    return dict(lateness=scale_bench.window_lateness(lat0["lateness"], lat1["lateness"]),
                rss_kb_max=max(rss) if rss else None, rss_kb_mean=sum(rss) / len(rss) if rss else None,
                cpu_share_of_one_core=(c1 - c0) / seconds, readers=readers and readers.stats)


def run(name, agent, a):
    def go(receiver):
        d = tempfile.mkdtemp(prefix="scrape-bench-")
        try:
            p, _, port = scale_bench.start_agent(agent, a.targets, d, receiver)
            try:
                log(f"{name}: {a.targets} targets, warm-up {a.warmup:g} s")
                time.sleep(a.warmup)
                log(f"{name}: idle window {a.window:g} s")
                idle = window(p.pid, d, a.window)
                log(f"{name}: load window {a.window:g} s, {a.readers} readers at {a.rate:g} B/s")
                readers = Readers(port, a.readers, a.rate, a.hold, a.stagger, time.monotonic() + a.window, a.seed)
                load = window(p.pid, d, a.window, readers)
                hwm = scale_bench.proc_status_kb(p.pid, "VmHWM")
            finally:
                code = scale_bench.stop(p, timeout=180)
            if code != 0:
                log(f"{name}: agent exit {code}; its log:\n{scale_bench.tail(d)}")
            return dict(name=name, agent=agent, exit=code, idle=idle, load=load, rss_hwm_kb=hwm,
                        rss_ratio=load["rss_kb_max"] / idle["rss_kb_max"],
                        p99_ok=(load["lateness"] or {}).get("p99_ms", 1e9) <= 2.0,
                        rss_ok=load["rss_kb_max"] <= 2 * idle["rss_kb_max"])
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return scale_bench.with_receiver(a.receiver, go)


def print_table(report):
    m = report["machine"]
    print(f"scrape bench: {report['targets']} targets at 3 s, {report['readers']} readers at {report['rate_bps']:g} B/s "
          f"(hold {report['hold_s']:g} s), windows {report['window_s']:g} s after {report['warmup_s']:g} s; "
          f"{m['nproc']} cores, {m['cpu']}, Linux {m['kernel']}, {report['date']}; nice {report['nice']}, "
          f"loop priority {report['loop_priority']}, load {report['load_1m']:.1f} at the end")
    print(f"{'agent':>8} {'idle p50/p99/max ms':>20} {'load p50/p99/max ms':>20} {'idle RSS MiB':>13} "
          f"{'load RSS MiB':>13} {'ratio':>6} {'load core %':>12} {'200':>5} {'503':>6} {'cut':>4} {'reset':>6} "
          f"{'MB read':>8} {'p99≤2':>6} {'RSS≤2x':>7}")
    for r in report["results"]:
        i, l = r["idle"], r["load"]
        lat = lambda w: "n/a" if not w else f"{scale_bench.fmt(w['p50_ms'])}/{scale_bench.fmt(w['p99_ms'])}/{scale_bench.fmt(w['max_bucket_ms'])}"
        s = l["readers"]
        print(f"{r['name']:>8} {lat(i['lateness']):>20} {lat(l['lateness']):>20} {i['rss_kb_max'] / 1024:>13.1f} "
              f"{l['rss_kb_max'] / 1024:>13.1f} {r['rss_ratio']:>6.2f} {l['cpu_share_of_one_core'] * 100:>11.1f}% "
              f"{s['ok']:>5} {s['busy_503']:>6} {s['cut_by_server']:>4} {s['resets']:>6} {s['bytes'] / 1e6:>8.1f} "
              f"{'yes' if r['p99_ok'] else 'NO':>6} {'yes' if r['rss_ok'] else 'NO':>7}")
    print(f"JSON: {report['json']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", action="append", required=True, metavar="NAME=BIN",
                    help="a release probe-agent to measure, e.g. before=/path after=/path (in the order given)")
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--warmup", type=float, default=45, help="s after the agent started probing")
    ap.add_argument("--window", type=float, default=60, help="s, each of the idle and the load window")
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--rate", type=float, default=4096, help="bytes/s each reader takes")
    ap.add_argument("--hold", type=float, default=20, help="s a reader keeps one response before reconnecting")
    ap.add_argument("--stagger", type=float, default=10, help="readers start spread over this many s")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--receiver", choices=["vm", "prometheus", "none"], default="none")
    ap.add_argument("--loop-priority", choices=["normal", "realtime"], default="normal",
                    help="the agent's scheduler.loop_priority (realtime: the probing loop at SCHED_RR 1, so other "
                         "work on a shared machine does not show as lateness)")
    ap.add_argument("--json", default="bench-out/scrape.json")
    a = ap.parse_args()
    scale_bench.LOOP_PRIORITY = a.loop_priority
    agents = [x.split("=", 1) for x in a.agent]
    if any(len(x) != 2 or not os.access(x[1], os.X_OK) for x in agents):
        ap.error("--agent NAME=BIN, BIN an executable")
    if not 1 <= a.targets <= 1_000_000 or not 1 <= a.readers <= 500 or not 3 <= a.window <= 1800 \
            or not 0 < a.warmup <= 600 or not 0 < a.rate or not 0 < a.hold <= a.window or not 0 <= a.stagger < a.window:
        ap.error("targets 1..1,000,000, readers 1..500, window [3, 1800] s, warm-up (0, 600] s, hold (0, window], "
                 "stagger [0, window)")
    scale_bench.check_loopback([agent_bench.address(i) for i in range(a.targets)])
    results = [run(name, binary, a) for name, binary in agents]
    report = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %z"), machine=scale_bench.machine(), command=" ".join(sys.argv),
                  targets=a.targets, readers=a.readers, rate_bps=a.rate, hold_s=a.hold, stagger_s=a.stagger,
                  warmup_s=a.warmup, window_s=a.window, nice=os.nice(0), loop_priority=a.loop_priority,
                  load_1m=os.getloadavg()[0], results=results, json=a.json)
    save(report, a.json)
    print_table(report)


def save(report, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
