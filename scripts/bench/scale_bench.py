#!/usr/bin/env python3
"""Scale benchmark: the whole probe-agent pipeline at N loopback targets, next to fping and a
minimal raw-socket prober (the floor), on the same targets in the same run.

Per N (targets in 127.0.0.0/8 from agent_bench.address, never 127.0.0.1 alone; routes via lo
checked first), one after the other so they never share the CPUs:
  agent  probe-agent (release) at a 3 s cadence with remote write to a receiver this script
         starts on loopback (VictoriaMetrics, else Prometheus), a spill dir and an http
         listener. After the first status write (config loaded), WARMUP s, then a WINDOW s
         window: CPU (user+sys, /proc/PID/stat) per probe, receiver CPU per probe, RSS growth
         in the window, lateness in the window (the difference of the two lateness histograms
         that GET /v1/status on the admin socket returns at window start and end: scheduler =
         handed to the engine - due, send = kernel TX stamp - due; p50/p99/highest bucket and
         share <= 10 ms); then GET /metrics (timed) and SIGTERM. From the final
         status file (written at start and stop only: each write encodes every target):
         lateness over the whole run incl. start-up, results made / shipped / left on disk,
         remote-write requests and their durations, loss; from the receiver: series and samples.
  empty  the same config shape with one target: its RSS after WARMUP is the base of
         "RSS per target" = (RSS at the end of N's window - empty RSS) / N; also its idle CPU.
  fping  fping -l -p 3000 at N <= 10,000 only (its 16-bit sequence space refuses more); the
         probes it sent in the window come from its own SIGQUIT split counts.
  floor  scripts/bench/raw_floor.c (one raw socket, sendmmsg/recvmmsg), built with cc -O2;
         then again with --stamps: the kernel RX and TX timestamps ProbeAgent takes (TX read back
         from the error queue), the floor for a prober that times with kernel stamps.
Probes in the window for the agent and the floor = N x WINDOW / 3 s (both fire on a fixed
grid; checked against their whole-run counts). Every process is ours, stopped by PID.
"""
import argparse, ipaddress, json, os, platform, re, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.error, urllib.parse, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree from the imports below
import agent_bench  # address(i), config(n), cpu_seconds(pid), status(path)
import engine_bench  # summarize(fping output)

CADENCE_S = 3.0
FPING_MAX_TARGETS = 10_000
RECEIVER_SCRIPTS = {"vm": "Tests/support/victoria-metrics.sh", "prometheus": "Tests/support/prometheus.sh"}
RECEIVER_STATE = os.environ.get("PROBEAGENT_RECEIVER_STATE",
                                os.path.join(os.environ.get("TMPDIR", "/tmp"), "probeagent-receivers"))


def log(msg):
    print(f"bench-scale: {msg}", file=sys.stderr, flush=True)


def proc_status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_loopback(addresses):
    """Every target in 127.0.0.0/8 and not 127.0.0.1; a sample of them routed via lo."""
    loop = ipaddress.ip_network("127.0.0.0/8")
    for a in addresses:
        if ipaddress.ip_address(a) not in loop or a == "127.0.0.1":
            raise SystemExit(f"bench-scale: refusing target {a}: not a 127.0.0.0/8 benchmark address")
    for a in {addresses[0], addresses[len(addresses) // 2], addresses[-1]}:
        route = subprocess.run(["ip", "route", "get", a], capture_output=True, text=True, timeout=5).stdout
        if not re.search(r"\bdev lo\b", route):
            raise SystemExit(f"bench-scale: {a} does not route via lo ({route.strip()!r}); not sending")


def stop(proc, sig=signal.SIGTERM, timeout=30):
    """Signal our own child by PID, SIGKILL after timeout; its exit code or 'killed'."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return "killed"


def load():
    return os.getloadavg()[0]


class Receiver:
    """A remote-write receiver on loopback, started and stopped through Tests/support/*.sh."""

    def __init__(self, kind):
        self.kind, self.name, self.url, self.pid = kind, f"scale{os.getpid()}", None, None

    def __enter__(self):
        kinds = ["vm", "prometheus"] if self.kind == "vm" else [self.kind]
        for kind in kinds:
            script = os.path.join(ROOT, RECEIVER_SCRIPTS[kind])
            r = subprocess.run([script, "start", self.name, str(free_port())], capture_output=True, text=True,
                               timeout=90)
            if r.returncode == 0:
                self.kind, self.script, self.url = kind, script, r.stdout.strip().splitlines()[-1]
                with open(os.path.join(RECEIVER_STATE, self.name, "pid")) as f:
                    self.pid = int(f.read())
                return self
            if r.returncode != 77:  # 77: not installed, try the next kind
                raise SystemExit(f"bench-scale: {kind} receiver did not start:\n{r.stderr}")
            log(f"{kind} not available, trying the next receiver")
        raise SystemExit("bench-scale: no receiver available (install victoria-metrics or prometheus)")

    def __exit__(self, *exc):
        subprocess.run([self.script, "stop", self.name], timeout=60, check=False)

    def cpu_seconds(self):
        return agent_bench.cpu_seconds(self.pid)

    def query(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=60) as r:
            result = json.load(r)["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0

    def counts(self, shipped, settle_s=30):
        """Series and samples of probe_success; waits (bounded) until the samples stop growing."""
        try:
            samples, deadline = -1, time.monotonic() + settle_s
            while time.monotonic() < deadline:
                now = self.query("sum(count_over_time(probe_success[1h]))")
                if now >= shipped or 0 < now == samples:
                    samples = now
                    break
                samples = now
                time.sleep(2)
            return dict(series=self.query("count(probe_success)"), samples=samples)
        except (OSError, ValueError, KeyError, IndexError) as e:
            return dict(series=None, samples=None, error=str(e))


def scrape_metrics(port):
    """Times GET /metrics; bytes and seconds, or why not (the endpoint may not exist yet)."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            size = len(r.read())
        return dict(bytes=size, seconds=time.monotonic() - t0)
    except urllib.error.HTTPError as e:
        return dict(bytes=None, seconds=None, note=f"n/a (HTTP {e.code})")
    except (OSError, urllib.error.URLError) as e:
        reason = getattr(e, "reason", e)
        short = "refused" if isinstance(reason, ConnectionRefusedError) else \
            "timeout" if isinstance(reason, (TimeoutError, socket.timeout)) else str(reason)
        return dict(bytes=None, seconds=None, note=f"n/a ({short})")


HISTOGRAMS = True  # metrics.per_target_histograms; --no-histograms turns it off
LOG_LEVEL = None  # --log-level: the agent's log_level
LOG_DIR = None  # --keep-logs: where each run's agent.log is copied
LOOP_PRIORITY = "normal"  # --loop-priority: scheduler.loop_priority


def agent_config(n, d, receiver, http_port):
    text = agent_bench.config(n) + (f"spill:\n  dir: {d}/spill\nhttp:\n  listen: 127.0.0.1:{http_port}\n"
                                    f"admin:\n  socket: {d}/admin.sock\n")
    if not HISTOGRAMS:
        text += "metrics:\n  per_target_histograms: false\n"
    if LOG_LEVEL:
        text = re.sub(r"(?m)^log_level: .*$", f"log_level: {LOG_LEVEL}", text)
    text = re.sub(r"(?m)^scheduler:$", f"scheduler:\n  loop_priority: {LOOP_PRIORITY}", text)
    if receiver:
        text += f"remote_write:\n  url: {receiver.url}/api/v1/write\n"
    return text


def start_agent(agent, n, d, receiver):
    cfg, st, port = os.path.join(d, "agent.yaml"), os.path.join(d, "status.json"), free_port()
    with open(cfg, "w") as f:
        f.write(agent_config(n, d, receiver, port))
    with open(os.path.join(d, "agent.log"), "w") as out:
        p = subprocess.Popen([agent, "--config", cfg, "--status-file", st, "--status-interval", "100000s", "--run-as-root"],
                             stdout=out, stderr=out)
    deadline = time.monotonic() + 180  # first status write = config loaded, probing started
    while not os.path.exists(st):
        if p.poll() is not None or time.monotonic() > deadline:
            stop(p)
            raise SystemExit(f"bench-scale: agent did not start at {n} targets:\n{tail(d)}")
        time.sleep(0.1)
    return p, st, port


def admin_status(d):
    """GET /v1/status on the admin socket of the agent whose directory is `d` (its JSON)."""
    import http.client

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            self.sock.connect(os.path.join(d, "admin.sock"))

    c = UnixConnection("localhost", timeout=30)
    try:
        c.request("GET", "/v1/status")
        return json.loads(c.getresponse().read())
    finally:
        c.close()


def admin_lateness(d):
    """The agent's two lateness histograms so far, scheduler (handed to the engine) and send
    (kernel TX stamp), as (bounds in s, per-bucket counts) from GET /v1/status on its admin
    socket: two readings make the window's histograms."""
    return lateness_histograms(admin_status(d))


def lateness_histograms(status):
    """admin_lateness()'s two histograms, out of a GET /v1/status reply already read."""
    s = status["scheduler"]
    return {k: (s[k]["bucketUpperBoundsSeconds"], s[k]["bucketCounts"]) for k in ("lateness", "sendLateness")}


def within_10ms_pct(bounds, counts):
    """Share (%) of a lateness histogram's probes in buckets bounded by 10 ms; None when empty."""
    total = sum(counts)
    return 100.0 * sum(c for b, c in zip(bounds, counts) if b <= 0.010) / total if total else None


def window_lateness(before, after):
    """p50/p99/max (upper bucket bounds, ms) and share within 10 ms of the probes between two
    readings of one of admin_lateness()'s histograms."""
    bounds, counts = after[0], [b - a for a, b in zip(before[1], after[1])]
    total = sum(counts)
    if not total:
        return None
    q = lambda p: bucket_quantile_ms(counts, bounds, p)
    top = max(i for i, c in enumerate(counts) if c)
    return dict(count=total, p50_ms=q(0.5), p99_ms=q(0.99),
                max_bucket_ms=bounds[top] * 1e3 if top < len(bounds) else float("inf"),
                within_10ms_pct=within_10ms_pct(bounds, counts))


def tail(d, lines=20):
    with open(os.path.join(d, "agent.log")) as f:
        return "".join(f.readlines()[-lines:])


def with_receiver(kind, fn):
    if kind == "none":
        return fn(None)
    with Receiver(kind) as r:
        return fn(r)


def run_empty(agent, warmup, receiver_kind):
    def go(receiver):
        d = tempfile.mkdtemp(prefix="scale-bench-")
        try:
            p, _, _ = start_agent(agent, 1, d, receiver)
            try:
                time.sleep(warmup / 2)
                c0 = agent_bench.cpu_seconds(p.pid)
                time.sleep(warmup / 2)  # idle cost: CPU over the second half of the warm-up
                return dict(rss_kb=proc_status_kb(p.pid, "VmRSS"), hwm_kb=proc_status_kb(p.pid, "VmHWM"),
                            cpu_share_of_one_core=(agent_bench.cpu_seconds(p.pid) - c0) / (warmup / 2))
            finally:
                stop(p)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return with_receiver(receiver_kind, go)


def run_agent(agent, n, warmup, window, receiver_kind):
    def go(receiver):
        d = tempfile.mkdtemp(prefix="scale-bench-")
        try:
            p, st, port = start_agent(agent, n, d, receiver)
            load0 = load()
            try:
                time.sleep(warmup)
                # RSS before the admin request, not after: the agent hands freed memory back
                # (malloc_trim) after each admin reply, so a reading just after one is its low
                # point, not its steady state.
                rss0 = proc_status_kb(p.pid, "VmRSS")
                lat0 = admin_lateness(d)
                c0 = agent_bench.cpu_seconds(p.pid)
                r0 = receiver and receiver.cpu_seconds()
                time.sleep(window)
                c1, r1 = agent_bench.cpu_seconds(p.pid), receiver and receiver.cpu_seconds()
                rss1, hwm = proc_status_kb(p.pid, "VmRSS"), proc_status_kb(p.pid, "VmHWM")
                lat1 = admin_lateness(d)
                in_window = {k: window_lateness(lat0[k], lat1[k]) for k in lat0}
                load1 = load()
                metrics = scrape_metrics(port)
            finally:
                code = stop(p, timeout=180)
            if code != 0:
                log(f"agent exit {code} at {n} targets; its log:\n{tail(d)}")
            if LOG_DIR:
                os.makedirs(LOG_DIR, exist_ok=True)
                shutil.copy(os.path.join(d, "agent.log"), os.path.join(LOG_DIR, f"agent-{n}.log"))
            final = agent_bench.status(st)
            stored = receiver.counts(final["delivery"]["resultsShipped"]) if receiver else None
            return summarize_agent(n, window, final, code, c1 - c0, receiver and (r1 - r0), rss0, rss1, hwm,
                                   metrics, receiver, stored, (load0, load1), in_window)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return with_receiver(receiver_kind, go)


def summarize_agent(n, window, final, code, cpu, receiver_cpu, rss0, rss1, hwm, metrics, receiver, stored, loads,
                    in_window):
    probes = n * window / CADENCE_S
    records = [t["record"] for m in final["monitors"] for t in m["targets"] if t["record"]]
    made = sum(r["sent"] for r in records)
    ok = sum(r["ok"] for r in records)
    lat, send = final["scheduler"]["lateness"], final["scheduler"]["sendLateness"]
    delivery = final.get("delivery") or {}
    req = delivery.get("requestDurations")
    return dict(
        targets=n, exit=code, load_1m_at_start_and_window_end=loads, probes_in_window=probes,
        cpu_us_per_probe=cpu * 1e6 / probes, cpu_share_of_one_core=cpu / window,
        receiver=receiver and receiver.kind,
        receiver_cpu_us_per_probe=receiver_cpu * 1e6 / probes if receiver else None,
        rss_kb_window_start=rss0, rss_kb_window_end=rss1, rss_peak_kb=hwm,
        # scheduler lateness: handed to the engine − due; send lateness: kernel TX stamp − due
        lateness_in_window=in_window["lateness"], send_lateness_in_window=in_window["sendLateness"],
        lateness_count=lat["count"], lateness_p50_ms=lat["p50Seconds"] * 1e3,
        lateness_p99_ms=lat["p99Seconds"] * 1e3, lateness_max_ms=lat["maxSeconds"] * 1e3,
        handed_within_10ms_pct=within_10ms_pct(lat["bucketUpperBoundsSeconds"], lat["bucketCounts"]),
        send_lateness_p99_ms=send["p99Seconds"] * 1e3,
        sent_within_10ms_pct=within_10ms_pct(send["bucketUpperBoundsSeconds"], send["bucketCounts"]),
        probes_per_target_min=min(r["sent"] for r in records), probes_per_target_max=max(r["sent"] for r in records),
        results_made=made, timeouts=sum(r["timeouts"] for r in records),
        loss_pct=100.0 * (made - ok) / made if made else None,
        skipped_in_flight=final["scheduler"]["skippedInFlight"], backpressure=final["engine"]["backpressure"],
        send_errors=final["engine"]["sendErrors"],
        delivery={k: delivery.get(k) for k in ("resultsReceived", "resultsShipped", "samplesSent", "requestsSent",
                                               "requestsFailed", "retries", "memQueueOverflows", "spillPendingRecords",
                                               "resultsLost", "deadLetterResults", "tooOldResultsDropped",
                                               "modeHistory", "lastError")},
        request_p50_ms=quantile_ms(req, lat["bucketUpperBoundsSeconds"], 0.5) if req else None,
        request_p99_ms=quantile_ms(req, lat["bucketUpperBoundsSeconds"], 0.99) if req else None,
        receiver_stored=stored, metrics_scrape=metrics,
        # write-ahead: compressed result blocks appended to the spill log, per result and at
        # this target count's steady rate (n results per cadence); None for agents without it
        spill_bytes_per_result=(delivery["spillBytesWritten"] / delivery["resultsReceived"]
                                if delivery.get("spillBytesWritten") is not None and delivery.get("resultsReceived") else None),
        spill_bytes_per_s=(delivery["spillBytesWritten"] / delivery["resultsReceived"] * n / CADENCE_S
                           if delivery.get("spillBytesWritten") is not None and delivery.get("resultsReceived") else None),
        # made = shipped + left on disk + every counted drop; anything else went missing
        results_unaccounted=made - sum(delivery.get(k) or 0 for k in (
            "resultsShipped", "spillPendingRecords", "resultsLost", "deadLetterResults", "tooOldResultsDropped"))
        if delivery else None,
    )


def bucket_quantile_ms(counts, bounds_s, q, top_ms=float("inf")):
    """Upper-bound estimate of quantile q from per-bucket counts (the last bucket above every
    bound), in ms: the bound of the bucket that holds it, never more than top_ms."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = max(1, int(q * total + 0.999999)), 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= rank:
            return min(bounds_s[i] * 1e3 if i < len(bounds_s) else float("inf"), top_ms)
    return top_ms


def quantile_ms(hist, bounds_s, q):
    """Quantile q of the agent's DurationHistogram (status JSON), in ms."""
    return bucket_quantile_ms(hist["counts"], bounds_s, q, hist["max"] / 1e6)


def fping_blocks(path, n, want, timeout=10):
    """Per-target summary blocks fping has printed so far (each n lines, after a '[hh:mm:ss]'
    line for SIGQUIT splits); waits (bounded) until `want` complete blocks are there."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if "xmt/rcv" in l]
        if len(lines) >= want * n or time.monotonic() > deadline:
            return [lines[i:i + n] for i in range(0, len(lines), n)]
        time.sleep(0.1)


def run_fping(targets_file, n, warmup, window):
    """fping in loop mode. -Q (with a huge interval) keeps it quiet: plain -l prints every reply.
    SIGQUIT prints and resets its interval counts, so the probes it really sent in the window
    are known; SIGINT prints the whole-run counts and ends it."""
    # -i is the gap between any two packets; fping's real gaps are longer than asked (measured:
    # 84% of the grid at N/3 s x 0.8), so ask for N probes in half the cadence.
    interval_ms = CADENCE_S * 1000 / n * 0.5
    cmd = ["fping", "-l", "-Q", "100000", "-p", "3000", "-i", f"{interval_ms:.3f}", "-t", "1000", "-b", "24",
           "-f", targets_file]
    with tempfile.NamedTemporaryFile("w+", prefix="fping-", suffix=".out") as out:
        started = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=out)
        try:
            time.sleep(warmup)
            q0 = time.monotonic()
            p.send_signal(signal.SIGQUIT)  # our own child, by PID
            fping_blocks(out.name, n, 1)
            c0, t0 = agent_bench.cpu_seconds(p.pid), time.monotonic()
            time.sleep(window)
            c1, t1 = agent_bench.cpu_seconds(p.pid), time.monotonic()
            p.send_signal(signal.SIGQUIT)
            q1 = time.monotonic()
            fping_blocks(out.name, n, 2)
            runtime = time.monotonic() - started
        finally:
            code = stop(p, signal.SIGINT)
        blocks = fping_blocks(out.name, n, 3, timeout=1)
        out.seek(0)
        last_line = (out.read().strip().splitlines() or ["no output"])[-1]
    if len(blocks) < 3:
        return dict(command=" ".join(cmd), exit=code, cpu_us_per_probe=None, error=last_line)
    win_sent, win_recv, _ = engine_bench.summarize("\n".join(blocks[1]))
    sent, received, _ = engine_bench.summarize("\n".join(blocks[2]))
    cpu_per_s, probes_per_s = (c1 - c0) / (t1 - t0), win_sent / (q1 - q0)
    return dict(command=" ".join(cmd), exit=code, probes_in_window=win_sent,
                cpu_us_per_probe=cpu_per_s * 1e6 / probes_per_s if probes_per_s else None,
                sent=sent, received=received, loss_pct=100.0 * (sent - received) / sent if sent else None,
                window_loss_pct=100.0 * (win_sent - win_recv) / win_sent if win_sent else None,
                kept_up_pct=100.0 * probes_per_s * CADENCE_S / n, whole_run_s=runtime)


def run_floor(binary, targets_file, n, warmup, window, stamps=False):
    cmd = [binary] + (["--stamps"] if stamps else []) + [targets_file, str(warmup + window + 10)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(warmup)
        c0 = agent_bench.cpu_seconds(p.pid)
        time.sleep(window)
        c1 = agent_bench.cpu_seconds(p.pid)
    finally:
        code = stop(p)  # it stops sending, waits <= 1 s for replies and prints its counts
    own = json.loads(p.stdout.read() or "{}")
    probes = n * window / CADENCE_S
    sent = own.get("sent", 0)
    return dict(exit=code, cpu_us_per_probe=(c1 - c0) * 1e6 / probes, counts=own,
                loss_pct=100.0 * (sent - own.get("replies", 0)) / sent if sent else None,
                kept_up_pct=100.0 * sent / (n * own["send_s"] / CADENCE_S) if sent else 0.0)


def build_floor(d):
    binary = os.path.join(d, "raw_floor")
    if not shutil.which("cc"):
        raise SystemExit("bench-scale: no C compiler (cc) for the raw floor; install one or pass --no-floor")
    subprocess.run(["cc", "-O2", "-Wall", "-o", binary, os.path.join(HERE, "raw_floor.c")], check=True, timeout=120)
    return binary


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return dict(nproc=os.cpu_count(), kernel=platform.release(), cpu=model, host=platform.node())


def fmt(v, spec=".1f", none="n/a"):
    return none if v is None else format(v, spec)


def print_tables(report):
    m, rows = report["machine"], report["results"]
    print(f"probe-agent at scale: 3 s cadence, loopback ICMP, remote write to {report['receiver']}; "
          f"{m['nproc']} cores, {m['cpu']}, Linux {m['kernel']}, {report['date']}; "
          f"warm-up {report['warmup_s']:g} s (peers {report['peer_warmup_s']:g} s), window {report['window_s']:g} s; "
          f"loop priority {report.get('loop_priority', 'normal')}")
    e = report["empty_agent"]
    print(f"\nCost, memory, lateness (window; 'run' = whole run incl. start-up). Empty agent: RSS {e['rss_kb'] / 1024:.1f} MiB, "
          f"{e['cpu_share_of_one_core'] * 100:.2f}% of a core. Lateness: 'sched' = handed to the engine − due, "
          f"'send' = kernel TX stamp − due; p50/p99/max are bucket upper bounds")
    print(f"{'targets':>8} {'µs/probe':>9} {'core %':>7} {'recv µs/probe':>14} {'peak MiB':>9} {'B/target':>9} "
          f"{'RSS Δwindow KiB':>16} {'sched p50/p99/max ms':>21} {'≤10 ms %':>9} {'send p50/p99/max ms':>20} "
          f"{'sent ≤10 ms %':>14} {'run send p99':>13} {'run sent ≤10 %':>15} {'loss %':>7} {'exit':>5}")
    for r in rows:
        a = r["agent"]
        w, ws = a["lateness_in_window"] or {}, a["send_lateness_in_window"] or {}
        lat = lambda x: f"{fmt(x.get('p50_ms'))}/{fmt(x.get('p99_ms'))}/{fmt(x.get('max_bucket_ms'))}"
        print(f"{a['targets']:>8} {a['cpu_us_per_probe']:>9.2f} {a['cpu_share_of_one_core'] * 100:>6.1f}% "
              f"{fmt(a['receiver_cpu_us_per_probe'], '.2f'):>14} {a['rss_peak_kb'] / 1024:>9.1f} "
              f"{a['rss_bytes_per_target']:>9.0f} {a['rss_kb_window_end'] - a['rss_kb_window_start']:>16} {lat(w):>21} "
              f"{fmt(w.get('within_10ms_pct'), '.2f'):>9} {lat(ws):>20} {fmt(ws.get('within_10ms_pct'), '.2f'):>14} "
              f"{a['send_lateness_p99_ms']:>13.1f} {fmt(a['sent_within_10ms_pct'], '.2f'):>15} "
              f"{fmt(a['loss_pct'], '.3f'):>7} {str(a['exit']):>5}")
    print("\nDelivery (results; at stop) and /metrics")
    print(f"{'targets':>8} {'made':>10} {'shipped':>10} {'on disk':>8} {'lost':>6} {'missing':>8} {'in store':>10} "
          f"{'series':>8} {'requests':>9} {'req p50/p99 ms':>15} {'modes':>18} {'GET /metrics':>20} "
          f"{'log B/result':>12} {'log MB/s':>9} {'log GB/day':>10}")
    for r in rows:
        a, dl = r["agent"], r["agent"]["delivery"]
        stored, ms = a["receiver_stored"] or {}, a["metrics_scrape"]
        scrape = ms["note"] if ms["bytes"] is None else f"{ms['bytes'] / 1e6:.2f} MB in {ms['seconds']:.3f} s"
        modes = ",".join(dl["modeHistory"] or []) or "-"
        print(f"{a['targets']:>8} {a['results_made']:>10} {fmt(dl['resultsShipped'], 'd'):>10} "
              f"{fmt(dl['spillPendingRecords'], 'd'):>8} {fmt(dl['resultsLost'], 'd'):>6} "
              f"{fmt(a['results_unaccounted'], 'd'):>8} "
              f"{fmt(stored.get('samples'), 'd'):>10} {fmt(stored.get('series'), 'd'):>8} "
              f"{fmt(dl['requestsSent'], 'd'):>9} {fmt(a['request_p50_ms'], '.1f') + '/' + fmt(a['request_p99_ms'], '.1f'):>15} "
              f"{modes:>18} {scrape:>20} {fmt(a['spill_bytes_per_result'], '.1f'):>12} "
              f"{fmt(a['spill_bytes_per_s'] and a['spill_bytes_per_s'] / 1e6, '.3f'):>9} "
              f"{fmt(a['spill_bytes_per_s'] and a['spill_bytes_per_s'] * 86400 / 1e9, '.1f'):>10}")
    print("\nCPU µs per probe on the same targets (loss %, rate as % of the 3 s grid)")
    print(f"{'targets':>8} {'probe-agent':>12} {'fping':>22} {'raw floor':>22} {'floor+stamps':>22} "
          f"{'agent/fping':>12} {'agent/floor':>12} {'agent/stamped':>14}")
    for r in rows:
        a, fp, fl, fs = r["agent"], r.get("fping"), r.get("floor"), r.get("floor_stamped")
        cell = lambda t: "-" if not t or t["cpu_us_per_probe"] is None else (
            f"{t['cpu_us_per_probe']:.2f} ({fmt(t['loss_pct'], '.2f')}, {t['kept_up_pct']:.0f}%)")
        times = lambda v: "-" if v is None else f"{v:.2f}x"
        print(f"{a['targets']:>8} {a['cpu_us_per_probe']:>12.2f} {cell(fp):>22} {cell(fl):>22} {cell(fs):>22} "
              f"{times(r['agent_over_fping']):>12} {times(r['agent_over_floor']):>12} "
              f"{times(r['agent_over_floor_stamped']):>14}")
    print(f"JSON: {report['json']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="path of the release probe-agent")
    ap.add_argument("--targets", default="10000,50000,100000,200000")
    # The agent's warm-up covers the store's start: every series is new to it, and its first
    # samples are slow to take (VictoriaMetrics here: ~35 s at 200k targets before the memory
    # queue is back to a few hundred results). The 'run' columns still report the whole run.
    ap.add_argument("--warmup", type=float, default=60, help="the agent's warm-up, s")
    ap.add_argument("--peer-warmup", type=float, default=10, help="the empty agent's, fping's and the floors' warm-up, s")
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--json", default="bench-out/scale.json")
    ap.add_argument("--no-fping", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-histograms", action="store_true", help="metrics.per_target_histograms: false")
    ap.add_argument("--log-level", choices=["trace", "debug", "info", "notice", "warning", "error"],
                    help="the agent's log_level (debug logs every loop turn over 10 ms)")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy each N's agent.log to DIR/agent-N.log")
    ap.add_argument("--loop-priority", choices=["normal", "realtime"], default="normal",
                    help="the agent's scheduler.loop_priority (realtime: the probing loop at SCHED_RR 1)")
    ap.add_argument("--receiver", choices=["vm", "prometheus", "none"], default="vm")
    a = ap.parse_args()
    global HISTOGRAMS, LOG_LEVEL, LOG_DIR, LOOP_PRIORITY
    HISTOGRAMS, LOG_LEVEL, LOG_DIR, LOOP_PRIORITY = not a.no_histograms, a.log_level, a.keep_logs, a.loop_priority
    sizes = [int(n) for n in a.targets.split(",")]
    if not sizes or min(sizes) < 1 or max(sizes) > 1_000_000 or not 0 < a.warmup <= 600 or not 0 < a.peer_warmup <= 600 \
            or not 3 <= a.window <= 3600:
        ap.error("targets 1..1,000,000, warm-ups (0, 600] s, window [3, 3600] s")
    check_loopback([agent_bench.address(i) for i in range(max(sizes))])

    work = tempfile.mkdtemp(prefix="scale-bench-")
    try:
        floor = None if a.no_floor else build_floor(work)
        log("empty agent (1 target)")
        empty = run_empty(a.agent, a.peer_warmup, a.receiver)
        results = []
        for n in sizes:
            targets_file = os.path.join(work, f"targets-{n}.txt")
            with open(targets_file, "w") as f:
                f.write("\n".join(agent_bench.address(i) for i in range(n)) + "\n")
            log(f"{n} targets: probe-agent")
            r = dict(agent=run_agent(a.agent, n, a.warmup, a.window, a.receiver))
            r["agent"]["rss_bytes_per_target"] = (r["agent"]["rss_kb_window_end"] - empty["rss_kb"]) * 1024 / n
            if not a.no_fping and n <= FPING_MAX_TARGETS and shutil.which("fping"):
                log(f"{n} targets: fping")
                r["fping"] = run_fping(targets_file, n, a.peer_warmup, a.window)
            if floor:
                log(f"{n} targets: raw floor")
                r["floor"] = run_floor(floor, targets_file, n, a.peer_warmup, a.window)
                log(f"{n} targets: raw floor with kernel timestamps")
                r["floor_stamped"] = run_floor(floor, targets_file, n, a.peer_warmup, a.window, stamps=True)
            for peer in ("fping", "floor", "floor_stamped"):  # the agent's CPU per probe as a multiple of the peer's
                us = (r.get(peer) or {}).get("cpu_us_per_probe")
                r[f"agent_over_{peer}"] = r["agent"]["cpu_us_per_probe"] / us if us else None
            results.append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    receiver = results[0]["agent"]["receiver"] if results else None
    report = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %z"), machine=machine(), command=" ".join(sys.argv),
                  cadence_s=CADENCE_S, per_target_histograms=HISTOGRAMS, loop_priority=LOOP_PRIORITY, warmup_s=a.warmup,
                  peer_warmup_s=a.peer_warmup, window_s=a.window, receiver=receiver or "none",
                  empty_agent=empty, results=results, json=a.json,
                  notes="lateness: whole run (status written at start and stop only); "
                        "agent and floor probes in window = N x window / 3 s; fping: its own window counts")
    os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(report, f, indent=2)
    print_tables(report)


if __name__ == "__main__":
    main()
