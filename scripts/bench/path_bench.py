#!/usr/bin/env python3
"""Path monitor benchmark: what tracing every target costs the echo probes.

One agent (release build) per phase, N loopback targets (monitors of 1,000 in 127.0.0.0/8,
never 127.0.0.1) at a 3 s echo cadence, no remote write; phases alternate A B A B (--rounds):
  A  echo only
  B  the same monitors with `path: {max_hops: 30, every: 60s}`
and with --baseline-agent BIN, first in each round, that binary (another tree's release build,
e.g. main) echo only: what the echo probe costs without the path monitors' code at all.
Per phase, after WARMUP s, a WINDOW s window (at least `every`, so every target traces once):
agent CPU µs per echo probe (scheduler.fired) and per probe sent (engine.submitted, traces
included), trace probes per second (B), scheduler lateness p50/p99 and share within 10 ms
(echo probes only: trace probes are not scheduled entries). Then the medians per variant and
the ratio B/A.

On loopback a trace ends at hop 1 (the target answers TTL 1) but sends 7 probes: its first
round goes 5 TTLs deep before any answer, the next two only to the target; N x 7 / 60 probes/s. A real 30-hop path sends up to 30 x 3 per trace: N x 90 / 60 probes/s
(15,000/s at 10k targets), which `scheduler.path_probes_per_second` (default 1,000) paces.
Every process is ours, stopped by PID.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import agent_bench  # address(i), config(n), cpu_seconds(pid)
import scale_bench  # check_loopback, free_port, stop, admin_status, admin_lateness, window_lateness, machine


def log(msg):
    print(f"bench-path: {msg}", file=sys.stderr, flush=True)


def config(n, d, port, path):
    text = agent_bench.config(n) + (f"metrics:\n  per_target_histograms: false\nhttp:\n  listen: 127.0.0.1:{port}\n"
                                    f"admin:\n  socket: {d}/admin.sock\n")
    if path:
        text = text.replace("    timeout: 1s\n", "    timeout: 1s\n    path: {max_hops: 30, every: 60s}\n")
    return text


def phase(agent, n, path, warmup, window, variant):
    d = tempfile.mkdtemp(prefix="bench-path-")
    try:
        cfg = os.path.join(d, "agent.yaml")
        with open(cfg, "w") as f:
            f.write(config(n, d, scale_bench.free_port(), path))
        with open(os.path.join(d, "agent.log"), "w") as out:
            p = subprocess.Popen([agent, "--config", cfg, "--run-as-root"], stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if scale_bench.admin_status(d)["scheduler"]["entries"] == n:
                        break
                except (OSError, KeyError, ValueError):
                    pass
                if p.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench-path: the agent did not start; see {d}/agent.log")
                time.sleep(0.2)
            time.sleep(warmup)
            s0, lat0, c0 = scale_bench.admin_status(d), scale_bench.admin_lateness(d), agent_bench.cpu_seconds(p.pid)
            time.sleep(window)
            s1, lat1, c1 = scale_bench.admin_status(d), scale_bench.admin_lateness(d), agent_bench.cpu_seconds(p.pid)
        finally:
            code = scale_bench.stop(p)
        echo = s1["scheduler"]["fired"] - s0["scheduler"]["fired"]
        sent = s1["engine"]["submitted"] - s0["engine"]["submitted"]
        lat = scale_bench.window_lateness(lat0["lateness"], lat1["lateness"]) or {}
        cpu = c1 - c0
        return dict(variant=variant, agent_exit=code, cpu_s=round(cpu, 3), echo_probes=echo,
                    probes_sent=sent, trace_probes_per_s=round((sent - echo) / window, 1),
                    cpu_us_per_echo_probe=round(cpu * 1e6 / echo, 3), cpu_us_per_probe_sent=round(cpu * 1e6 / sent, 3),
                    lateness_p50_ms=lat.get("p50_ms"), lateness_p99_ms=lat.get("p99_ms"),
                    lateness_within_10ms_pct=lat.get("within_10ms_pct"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--window", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=2, help="A B pairs")
    ap.add_argument("--json", default="bench-out/path.json")
    ap.add_argument("--baseline-agent", help="another probe-agent (release) to run echo only first in each round")
    a = ap.parse_args()
    scale_bench.check_loopback([agent_bench.address(i) for i in (0, a.targets // 2, a.targets - 1)])
    runs = []
    variants = ([("baseline", a.baseline_agent, False)] if a.baseline_agent else []) + [("echo", a.agent, False), ("path", a.agent, True)]
    for r in range(a.rounds):
        for name, agent, path in variants:
            log(f"round {r + 1}: {name}, {a.targets} targets, window {a.window:.0f} s")
            runs.append(phase(agent, a.targets, path, a.warmup, a.window, name))
            log(json.dumps(runs[-1]))
    med = {v: {k: statistics.median(x[k] for x in runs if x["variant"] == v)
               for k in ("cpu_us_per_echo_probe", "cpu_us_per_probe_sent", "trace_probes_per_s", "lateness_p99_ms",
                         "lateness_within_10ms_pct")} for v, _, _ in variants}
    report = dict(command=" ".join(sys.argv), machine=scale_bench.machine(), targets=a.targets, window_s=a.window,
                  runs=runs, medians=med, worst_case_trace_probes_per_s_30_hops=a.targets * 30 * 3 / 60)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(report, f, indent=2)
    m = report["machine"]
    print(f"{m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}; {a.targets} targets, 3 s echo, window {a.window:.0f} s, ABAB")
    print(f"{'run':4} {'variant':8} {'µs/echo probe':>13} {'µs/probe sent':>13} {'trace probes/s':>14} {'late p50 ms':>11} {'late p99 ms':>11} {'<=10ms %':>8}")
    for i, x in enumerate(runs):
        print(f"{i + 1:<4} {x['variant']:8} {x['cpu_us_per_echo_probe']:13.2f} {x['cpu_us_per_probe_sent']:13.2f} "
              f"{x['trace_probes_per_s']:14.1f} {x['lateness_p50_ms'] or 0:11.1f} {x['lateness_p99_ms'] or 0:11.1f} {x['lateness_within_10ms_pct'] or 0:8.2f}")
    e, p = med["echo"], med["path"]
    print(f"median µs per echo probe: echo {e['cpu_us_per_echo_probe']:.2f}, path {p['cpu_us_per_echo_probe']:.2f} "
          f"(ratio {p['cpu_us_per_echo_probe'] / e['cpu_us_per_echo_probe']:.3f}); per probe sent: path {p['cpu_us_per_probe_sent']:.2f}")
    if "baseline" in med:
        b = med["baseline"]["cpu_us_per_echo_probe"]
        print(f"median µs per echo probe without path monitors: baseline {b:.2f}, this tree {e['cpu_us_per_echo_probe']:.2f} "
              f"(ratio {e['cpu_us_per_echo_probe'] / b:.3f})")
    print(f"worst case at 30 hops: {report['worst_case_trace_probes_per_s_30_hops']:.0f} trace probes/s (on loopback: 1 hop, 7 probes per trace)")
    log(f"report in {a.json}")


if __name__ == "__main__":
    main()
