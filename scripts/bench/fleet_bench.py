#!/usr/bin/env python3
"""Fleet benchmark: AGENTS probe-agents (release), each in its own network namespace probing
TARGETS loopback addresses of its own at a 3 s cadence, all remote-writing to one
VictoriaMetrics in a store namespace (the topology is in fleet_net.py).

Each agent's targets are 127.0.0.0/8 addresses on its own namespace's loopback (never
127.0.0.1 alone): every agent gets the same list, answered by its own kernel, so no target
host is shared and no extra namespace or veth per agent is needed; the only traffic between
namespaces is remote write, which is what the fleet question is about. Each agent is told its
name by HOSTNAME=fleet-NNN in its environment, which the default external label
`agent: ${HOSTNAME}` turns into its samples' `agent` label (the packaged agent's identity).

After every agent has written its first status file, WARMUP s (every series is new to the
store at first), then a DURATION s window, read at both ends:
  agents  CPU (utime+stime from /proc/PID/stat) per probe handed to the engine (the count of
          its scheduler lateness histogram over the window), RSS at the window's end and peak,
          scheduler lateness (handed to the engine - due) and send lateness (kernel TX stamp -
          due) in the window, from GET /v1/status on its admin socket; delivery mode, backlog
          (results not yet delivered: spillPendingRecords) and lag (now - newest sample the
          store accepted) at the window's end; samples sent and bytes on its veth (remote write
          with HTTP/TCP/IP overhead) in the window.
  store   samples ingested per second (vm_rows_inserted_total, from its own /metrics), CPU per
          sample and RSS (/proc); after the agents stop and it flushed: bytes on disk per row
          (vm_data_size_bytes / vm_rows, storage and index apart), then again after force_merge.
Then every agent is stopped (SIGTERM, in parallel) and, per agent, the results it made (its final
status file), what is still on its disk, and the probe_success samples in the store carrying its
`agent` label are compared.

An agent FELL BEHIND when, in the window, under LATE_MIN_PCT % of its probes were handed to
the engine within 10 ms of due (the ProbeAgentSchedulerLate alert's threshold), or at the
window's end its delivery was stalled or its mode not normal, its lag was over LAG_MAX_S, or
its backlog held more than BACKLOG_MAX_CADENCES cadences of results. Samples MISSING from the
store (made - stored - left on disk - counted as lost) also fail the run. Exit 0: none behind,
none missing; 1 otherwise; 2 when the run could not be made (named on stderr); 130 when
interrupted. Every process is ours, stopped by PID; every namespace is deleted on the way out.
"""
import argparse, json, os, re, signal, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import agent_bench  # address(i), config(n), cpu_seconds(pid), status(path)
import scale_bench  # admin_status, lateness_histograms, window_lateness, proc_status_kb, machine, fmt
from fleet_net import Fleet, STORE_ADDRESS, STORE_PORT

CADENCE_S = 3.0
SERIES_PER_PROBE = 3  # probe_success, probe_status_code, probe_rtt_seconds (on success: all, here)
LATE_MIN_PCT = 99.0
LAG_MAX_S = 10.0
BACKLOG_MAX_CADENCES = 2.0
STORE_URL = f"http://{STORE_ADDRESS}:{STORE_PORT}"
VICTORIA = os.environ.get("PROBEAGENT_VICTORIA_METRICS", "/usr/bin/victoria-metrics")


def log(msg):
    print(f"bench-fleet: {msg}", file=sys.stderr, flush=True)


class Stop(Exception):
    """SIGTERM or SIGHUP: leave through the same clean-up as ^C."""


def on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def agent_config(n, d):
    return agent_bench.config(n) + (f"spill:\n  dir: {d}/spill\nadmin:\n  socket: {d}/admin.sock\n"
                                    f"remote_write:\n  url: {STORE_URL}/api/v1/write\n")


class Store:
    """VictoriaMetrics in the store namespace; read through curl run inside that namespace."""

    def __init__(self, fleet, work):
        self.fleet, self.dir = fleet, os.path.join(work, "vm")
        os.makedirs(self.dir)
        self.proc = fleet.start(fleet.store_ns, [
            VICTORIA, f"-httpListenAddr={STORE_ADDRESS}:{STORE_PORT}", f"-storageDataPath={self.dir}/data",
            "-retentionPeriod=100y", "-search.latencyOffset=0s", "-loggerLevel=ERROR",
            # the counts at the end touch every series (default limit: 300,000 a query)
            "-search.maxUniqueTimeseries=50000000"], os.path.join(work, "vm.log"))

    def get(self, path, timeout=60):
        return self.fleet.exec_in(self.fleet.store_ns, ["curl", "-fsS", "--max-time", str(timeout),
                                                        f"{STORE_URL}{path}"], timeout=timeout + 5)

    def wait_ready(self, via_ns, seconds=30):
        """/health answered from an agent's namespace: the path the agents will write over."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited {self.proc.returncode}")
            r = subprocess.run(["ip", "netns", "exec", via_ns, "curl", "-fsS", "--max-time", "2",
                                f"{STORE_URL}/health"], capture_output=True, timeout=10)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"victoria-metrics not answering on {STORE_URL} within {seconds} s")

    def metrics(self):
        """Its /metrics as {name: {label text: value}}."""
        out = {}
        for line in self.get("/metrics").splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9eE.+-]+|NaN)$", line)
            if m:
                out.setdefault(m.group(1), {})[m.group(2) or ""] = float(m.group(3))
        return out

    def reading(self):
        m = self.metrics()
        return dict(t=time.monotonic(), cpu=agent_bench.cpu_seconds(self.proc.pid),
                    rows=sum(m.get("vm_rows_inserted_total", {}).values()),
                    rss_kb=scale_bench.proc_status_kb(self.proc.pid, "VmRSS"))

    def query(self, expr):
        import urllib.parse
        return json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))["data"]["result"]

    def samples_by_agent(self, expected, range_s, settle_s=60):
        """probe_success samples per `agent` label; waits (bounded) until they reach `expected`
        (the total shipped) or stop growing."""
        deadline, last = time.monotonic() + settle_s, None
        while True:
            got = {r["metric"].get("agent", ""): int(float(r["value"][1]))
                   for r in self.query(f"sum by (agent) (count_over_time(probe_success[{int(range_s)}s]))")}
            if sum(got.values()) >= expected or got == last or time.monotonic() > deadline:
                return got
            last = got
            time.sleep(3)

    def disk(self):
        """Bytes and rows on disk after a flush: storage (samples) and indexdb (series) apart."""
        try:
            self.get("/internal/force_flush")
        except RuntimeError as e:  # older releases lack it: their in-memory parts are not counted
            log(f"store: no force_flush ({e}); sizes without the newest in-memory parts")
        time.sleep(2)
        flushed = self.sizes()
        # What a long-lived store holds: parts merged (VictoriaMetrics merges in the background
        # over hours; force_merge does it now). Bounded: sizes read until they hold still.
        self.get(f"/internal/force_merge?partition_prefix={time.strftime('%Y_%m', time.gmtime())}")
        merged, deadline = flushed, time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(5)
            now = self.sizes()
            if now == merged:
                break
            merged = now
        series = int(self.query('count({__name__=~"probe_.*"})')[0]["value"][1])
        return dict(series=series, flushed=flushed, merged=merged)

    def sizes(self):
        m = self.metrics()
        size, rows = m.get("vm_data_size_bytes", {}), m.get("vm_rows", {})
        pick = lambda d, prefix: sum(v for k, v in d.items() if f'type="{prefix}' in k)
        return dict(storage_bytes=pick(size, "storage/"), storage_rows=pick(rows, "storage/"),
                    indexdb_bytes=pick(size, "indexdb"), indexdb_rows=pick(rows, "indexdb"))


class Agent:
    def __init__(self, fleet, i, binary, targets, work):
        self.i, self.name, self.fleet = i, f"fleet-{i:03d}", fleet
        self.dir = os.path.join(work, self.name)
        os.makedirs(self.dir)
        self.status_file = os.path.join(self.dir, "status.json")
        with open(os.path.join(self.dir, "agent.yaml"), "w") as f:
            f.write(agent_config(targets, self.dir))
        self.proc = fleet.start(fleet.agent_ns[i], [
            binary, "--config", os.path.join(self.dir, "agent.yaml"), "--status-file", self.status_file,
            "--status-interval", "100000s", "--run-as-root"], os.path.join(self.dir, "agent.log"),
            env=[f"HOSTNAME={self.name}"])

    def log_tail(self, lines=15):
        with open(os.path.join(self.dir, "agent.log")) as f:
            return "".join(f.readlines()[-lines:])

    def reading(self):
        # RSS before the admin request: the agent trims its heap after each admin reply.
        rss = scale_bench.proc_status_kb(self.proc.pid, "VmRSS")
        s = scale_bench.admin_status(self.dir)
        d = s.get("delivery") or {}
        newest = d.get("highestSentTimestampMs") or 0
        return dict(t=time.monotonic(), cpu=agent_bench.cpu_seconds(self.proc.pid), rss_kb=rss,
                    hwm_kb=max(rss, scale_bench.proc_status_kb(self.proc.pid, "VmHWM")),  # VmHWM is updated lazily
                    lateness=scale_bench.lateness_histograms(s), tx_bytes=self.fleet.tx_bytes(self.i),
                    samples_sent=d.get("samplesSent") or 0, mode=d.get("mode"), mode_reason=d.get("modeReason"),
                    stalled=d.get("stalled"), backlog=d.get("spillPendingRecords"),
                    lag_s=time.time() - newest / 1000 if newest else None)


def window(agent, r0, r1, targets):
    lat = {k: scale_bench.window_lateness(r0["lateness"][k], r1["lateness"][k]) for k in r0["lateness"]}
    probes = (lat["lateness"] or {}).get("count") or 0
    secs = r1["t"] - r0["t"]
    behind = []
    late_ok = (lat["lateness"] or {}).get("within_10ms_pct")
    if late_ok is None or late_ok < LATE_MIN_PCT:
        behind.append(f"handed ≤10 ms {scale_bench.fmt(late_ok, '.2f')}% < {LATE_MIN_PCT:g}%")
    if r1["stalled"]:
        behind.append(f"stalled ({r1['stalled']})")
    if r1["mode"] != "normal":
        behind.append(f"mode {r1['mode']} ({r1['mode_reason']})")
    if r1["lag_s"] is None or r1["lag_s"] > LAG_MAX_S:
        behind.append(f"lag {scale_bench.fmt(r1['lag_s'])} s > {LAG_MAX_S:g} s")
    if (r1["backlog"] or 0) > BACKLOG_MAX_CADENCES * targets:
        behind.append(f"backlog {r1['backlog']} > {BACKLOG_MAX_CADENCES:g} cadences")
    sent = r1["samples_sent"] - r0["samples_sent"]
    tx = r1["tx_bytes"] - r0["tx_bytes"]
    return dict(agent=agent.name, pid=agent.proc.pid, probes=probes, probes_per_s=probes / secs,
                cpu_us_per_probe=(r1["cpu"] - r0["cpu"]) * 1e6 / probes if probes else None,
                cpu_share_of_one_core=(r1["cpu"] - r0["cpu"]) / secs, rss_kb=r1["rss_kb"], hwm_kb=r1["hwm_kb"],
                lateness=lat["lateness"], send_lateness=lat["sendLateness"], mode=r1["mode"],
                mode_reason=r1["mode_reason"], backlog=r1["backlog"], lag_s=r1["lag_s"], samples_sent=sent, tx_bytes=tx,
                tx_bytes_per_s=tx / secs,
                tx_bytes_per_sample=tx / sent if sent else None, behind=behind)


def final_counts(agent, code, stored):
    st = agent_bench.status(agent.status_file)
    made = sum(t["record"]["sent"] for m in st["monitors"] for t in m["targets"] if t["record"])
    d = st.get("delivery") or {}
    on_disk, lost = d.get("spillPendingRecords") or 0, sum(d.get(k) or 0 for k in (
        "resultsLost", "deadLetterResults", "tooOldResultsDropped"))
    in_store = stored.get(agent.name, 0)
    return dict(exit=code, made=made, shipped=d.get("resultsShipped"), on_disk=on_disk, lost=lost, stored=in_store,
                missing=max(0, made - in_store - on_disk - lost))


def run(a, work, fleet):
    targets = [agent_bench.address(i) for i in range(a.targets_per_agent)]
    log(f"network: {a.agents} agent namespaces + store namespace")
    fleet.build(a.agents)
    fleet.verify(targets)
    store = Store(fleet, work)
    store.wait_ready(fleet.agent_ns[0])
    log(f"store up at {STORE_URL}; starting {a.agents} agents × {a.targets_per_agent} targets")
    started = time.monotonic()
    agents = [Agent(fleet, i, a.agent, a.targets_per_agent, work) for i in range(a.agents)]
    deadline = time.monotonic() + 180  # every agent's first status write: config loaded, probing
    for ag in agents:
        while not os.path.exists(ag.status_file):
            if ag.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{ag.name} did not start (exit {ag.proc.poll()}):\n{ag.log_tail()}")
            time.sleep(0.1)
    log(f"all probing after {time.monotonic() - started:.1f} s; warm-up {a.warmup:g} s")
    time.sleep(a.warmup)
    for ag in agents:
        if ag.proc.poll() is not None:
            raise RuntimeError(f"{ag.name} exited {ag.proc.returncode} in the warm-up:\n{ag.log_tail()}")
    load0 = os.getloadavg()
    s0, r0 = store.reading(), [ag.reading() for ag in agents]
    log(f"window {a.duration:g} s")
    time.sleep(a.duration)
    r1, s1 = [ag.reading() for ag in agents], store.reading()
    load1 = os.getloadavg()
    rows = [window(ag, x, y, a.targets_per_agent) for ag, x, y in zip(agents, r0, r1)]
    secs, rows_in = s1["t"] - s0["t"], s1["rows"] - s0["rows"]
    store_w = dict(samples_per_s=rows_in / secs, cpu_share_of_one_core=(s1["cpu"] - s0["cpu"]) / secs,
                   cpu_us_per_sample=(s1["cpu"] - s0["cpu"]) * 1e6 / rows_in if rows_in > 0 else None,
                   rss_kb=s1["rss_kb"], hwm_kb=scale_bench.proc_status_kb(store.proc.pid, "VmHWM"))
    log("stopping the agents")
    codes = fleet.stop([ag.proc for ag in agents], timeout=180)
    shipped = sum((agent_bench.status(ag.status_file).get("delivery") or {}).get("resultsShipped") or 0 for ag in agents)
    stored = store.samples_by_agent(shipped, time.monotonic() - started + 300)
    for row, ag, code in zip(rows, agents, codes):
        row["final"] = final_counts(ag, code, stored)
    store_w["disk"] = store.disk()
    return dict(agents=rows, store=store_w, load_1m_5m_15m_at_window_start=load0, load_1m_5m_15m_at_window_end=load1)


def summarize(report):
    rows, st = report["agents"], report["store"]
    probes_s = sum(r["probes_per_s"] for r in rows)
    disk = st["disk"]
    per = lambda a, b: a / b if b else None
    return dict(
        probes_per_s=probes_s, expected_samples_per_s=probes_s * SERIES_PER_PROBE,
        agents_cpu_cores=sum(r["cpu_share_of_one_core"] for r in rows),
        agent_cpu_us_per_probe_mean=sum(r["cpu_share_of_one_core"] for r in rows) * 1e6 / probes_s if probes_s else None,
        agent_rss_mib_mean=sum(r["rss_kb"] for r in rows) / len(rows) / 1024,
        agent_rss_mib_max=max(r["hwm_kb"] for r in rows) / 1024,
        tx_bytes_per_s=sum(r["tx_bytes_per_s"] for r in rows),
        tx_bytes_per_sample=per(sum(r["tx_bytes"] for r in rows), sum(r["samples_sent"] for r in rows)),
        store_bytes_per_row=per(disk["flushed"]["storage_bytes"], disk["flushed"]["storage_rows"]),
        store_bytes_per_row_merged=per(disk["merged"]["storage_bytes"], disk["merged"]["storage_rows"]),
        store_index_bytes_per_series=per(disk["merged"]["indexdb_bytes"], disk["series"]),
        behind=[r["agent"] for r in rows if r["behind"]],
        missing=sum(r["final"]["missing"] for r in rows),
    )


def print_report(rep):
    m, s, st = rep["machine"], rep["summary"], rep["store"]
    fmt = scale_bench.fmt
    print(f"probe-agent fleet: {rep['agents_count']} agents × {rep['targets_per_agent']} loopback ICMP targets at 3 s, "
          f"one VictoriaMetrics; {m['nproc']} cores, {m['cpu']}, Linux {m['kernel']}, {rep['date']}; warm-up "
          f"{rep['warmup_s']:g} s, window {rep['duration_s']:g} s; load average (1/5/15 min) "
          f"{'/'.join(f'{x:.1f}' for x in rep['load_1m_5m_15m_at_window_start'])} at the window's start, "
          f"{'/'.join(f'{x:.1f}' for x in rep['load_1m_5m_15m_at_window_end'])} at its end")
    print(f"\n{'agent':>9} {'probes/s':>9} {'µs/probe':>9} {'core %':>7} {'RSS MiB':>8} {'peak':>6} "
          f"{'sched p99/max ms':>17} {'≤10 ms %':>9} {'sent ≤10 %':>10} {'mode':>8} {'lag s':>6} {'backlog':>8} "
          f"{'net B/s':>9} {'B/sample':>8} {'made':>8} {'stored':>8} {'on disk':>7} {'missing':>7} {'exit':>4}  verdict")
    for r in rep["agents"]:
        lat, snd, f = r["lateness"] or {}, r["send_lateness"] or {}, r["final"]
        print(f"{r['agent']:>9} {r['probes_per_s']:>9.0f} {fmt(r['cpu_us_per_probe'], '.2f'):>9} "
              f"{r['cpu_share_of_one_core'] * 100:>6.1f}% {r['rss_kb'] / 1024:>8.1f} {r['hwm_kb'] / 1024:>6.1f} "
              f"{fmt(lat.get('p99_ms')) + '/' + fmt(lat.get('max_bucket_ms')):>17} {fmt(lat.get('within_10ms_pct'), '.2f'):>9} "
              f"{fmt(snd.get('within_10ms_pct'), '.2f'):>10} {str(r['mode']):>8} {fmt(r['lag_s']):>6} {str(r['backlog']):>8} "
              f"{r['tx_bytes_per_s']:>9.0f} {fmt(r['tx_bytes_per_sample'], '.2f'):>8} {f['made']:>8} {f['stored']:>8} "
              f"{f['on_disk']:>7} {f['missing']:>7} {str(f['exit']):>4}  "
              f"{'BEHIND: ' + '; '.join(r['behind']) if r['behind'] else 'kept up'}")
    d = st["disk"]
    print(f"\nAgents: {s['probes_per_s']:.0f} probes/s in all, {s['agents_cpu_cores']:.2f} cores "
          f"({fmt(s['agent_cpu_us_per_probe_mean'], '.2f')} µs/probe), RSS {s['agent_rss_mib_mean']:.1f} MiB mean, "
          f"{s['agent_rss_mib_max']:.1f} MiB highest peak; remote write on the wire {s['tx_bytes_per_s'] / 1e6:.2f} MB/s "
          f"({fmt(s['tx_bytes_per_sample'], '.2f')} B/sample incl. HTTP/TCP/IP)")
    print(f"Store: {st['samples_per_s']:.0f} samples/s ingested ({s['expected_samples_per_s']:.0f} made: "
          f"{SERIES_PER_PROBE} per probe), {st['cpu_share_of_one_core'] * 100:.1f}% of a core "
          f"({fmt(st['cpu_us_per_sample'], '.2f')} µs/sample), RSS {st['rss_kb'] / 1024:.1f} MiB (peak "
          f"{st['hwm_kb'] / 1024:.1f}); {d['series']} series; on disk after the run {d['flushed']['storage_bytes'] / 1e6:.1f} MB "
          f"for {d['flushed']['storage_rows']:.0f} rows ({fmt(s['store_bytes_per_row'], '.2f')} B/sample; merged "
          f"{fmt(s['store_bytes_per_row_merged'], '.2f')}) + index {d['merged']['indexdb_bytes'] / 1e6:.1f} MB "
          f"({fmt(s['store_index_bytes_per_series'], '.0f')} B/series)")
    print(f"Fell behind when: scheduler ≤10 ms < {LATE_MIN_PCT:g}% of the window's probes, or at its end stalled, mode ≠ normal, "
          f"lag > {LAG_MAX_S:g} s or backlog > {BACKLOG_MAX_CADENCES:g} cadences of results. "
          f"Behind: {', '.join(s['behind']) or 'none'}; samples missing from the store: {s['missing']}")
    print(f"JSON: {rep['json']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="path of the release probe-agent")
    ap.add_argument("--work", required=True, help="an empty directory for the run (the wrapper's)")
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--targets-per-agent", type=int, default=5000)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--json")
    a = ap.parse_args()
    if not 1 <= a.agents <= 200 or not 1 <= a.targets_per_agent <= 100_000 or not 0 <= a.warmup <= 600 \
            or not 10 <= a.duration <= 1800:
        ap.error("agents 1..200, targets per agent 1..100,000, warm-up 0..600 s, duration 10..1800 s")
    if os.geteuid() != 0:
        raise SystemExit("bench-fleet: needs root (network namespaces, raw sockets)")
    json_path = a.json or f"bench-out/fleet-{a.agents}x{a.targets_per_agent}.json"
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    fleet = Fleet(a.work, os.path.basename(a.work.rstrip("/"))[-6:])
    try:
        measured = run(a, a.work, fleet)
    except (Stop, KeyboardInterrupt) as e:
        log(f"interrupted ({e or 'SIGINT'}); tearing down")
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"failed: {e}; tearing down")
        return 2
    finally:
        fleet.close()
    report = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %z"), machine=scale_bench.machine(), command=" ".join(sys.argv),
                  agents_count=a.agents, targets_per_agent=a.targets_per_agent, cadence_s=CADENCE_S, warmup_s=a.warmup,
                  duration_s=a.duration, thresholds=dict(late_min_pct=LATE_MIN_PCT, lag_max_s=LAG_MAX_S,
                                                          backlog_max_cadences=BACKLOG_MAX_CADENCES),
                  json=json_path, **measured)
    report["summary"] = summarize(report)
    os.makedirs(os.path.dirname(json_path) or ".", exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(report, f, indent=2)
    print_report(report)
    return 1 if report["summary"]["behind"] or report["summary"]["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
