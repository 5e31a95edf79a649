#!/usr/bin/env python3
"""Discovery refresh benchmark: the probing loop's turns while a file_sd list of N loopback
targets changes by CHURN % every INTERVAL s.

One agent (release build), one ICMP monitor on a 3 s cadence whose targets come from one
file_sd JSON file: N targets in groups of 100, each group with a `rack` label (so every target
has labels of its own). After WARMUP s, two windows of REFRESHES x INTERVAL s each:
  quiet    the list does not change
  refresh  every INTERVAL s, CHURN % of the targets are replaced by new ones (half the churn
           removed, as many added: the file written to a temp file and renamed into place),
           and the time until the agent applied it is taken (its admin status: reloads.succeeded)
Per window: loop turns and turns over 10 ms (the agent's probeagent_loop_turn_duration_seconds
histogram, read from /metrics at the window's ends), the slow turns the agent logged (log_level
debug logs each with its phases: a refresh is applied in the `requests` phase), the largest
`requests` phase, and scheduler lateness p99 / share within 10 ms (admin status). Targets are
in 127.0.0.0/8 (never 127.0.0.1), checked to route via lo. Every process is ours, stopped by PID.
"""
import argparse, json, os, re, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import agent_bench  # address(i)
import scale_bench  # check_loopback, free_port, stop, admin_status, admin_lateness, window_lateness

SLOW = re.compile(r"probing loop turn took ([0-9.]+) ms \(([^)]*)\)(?:; on CPU ([0-9.]+) ms)?")


def log(msg):
    print(f"bench-sd-refresh: {msg}", file=sys.stderr, flush=True)


def write_list(path, indices):
    groups = [{"targets": [agent_bench.address(i) for i in indices[g:g + 100]], "labels": {"rack": f"r{g // 100}"}}
              for g in range(0, len(indices), 100)]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(groups, f, separators=(",", ":"))
    os.rename(tmp, path)


admin_status = scale_bench.admin_status


def turn_histogram(port):
    """(le bounds, cumulative counts) of probeagent_loop_turn_duration_seconds."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120) as r:
        text = r.read().decode()
    out = []
    for line in text.splitlines():
        m = re.match(r'probeagent_loop_turn_duration_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            out.append((float(m.group(1)), float(m.group(2))))
    return out


def window(port, d, logpath, seconds, action):
    """Runs `action(until)` for a window; the loop turns, slow turns and lateness in it."""
    before, lat0 = turn_histogram(port), scale_bench.admin_lateness(d)
    offset = os.path.getsize(logpath)
    extra = action(time.monotonic() + seconds)
    after, lat1 = turn_histogram(port), scale_bench.admin_lateness(d)
    total = after[-1][1] - before[-1][1]
    at10 = next(c for le, c in after if le >= 0.010) - next(c for le, c in before if le >= 0.010)
    with open(logpath) as f:
        f.seek(offset)
        slow = [(float(m.group(1)), m.group(2), float(m.group(3) or 0)) for m in SLOW.finditer(f.read())]
    def phase(text, name):
        m = re.search(name + r" ([0-9.]+) ms", text)
        return float(m.group(1)) if m else 0.0
    lat = scale_bench.window_lateness(lat0["lateness"], lat1["lateness"]) or {}
    with_requests = [(s, t, c) for s, t, c in slow if phase(t, "requests") >= 1.0]
    return dict(turns=int(total), turns_over_10ms=int(total - at10), slow_turns_logged=len(slow),
                max_slow_turn_ms=max((s for s, _, _ in slow), default=0.0),
                slow_turns_with_requests_phase=len(with_requests),
                max_requests_phase_ms=max((phase(t, "requests") for _, t, _ in slow), default=0.0),
                slow_turn_phases=[f"{s} ms ({t}; on CPU {c} ms)" for s, t, c in with_requests][:20],
                lateness_p99_ms=lat.get("p99_ms"), lateness_within_10ms_pct=lat.get("within_10ms_pct"), **(extra or {}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--churn", type=float, default=1.0, help="percent of the targets replaced per refresh")
    ap.add_argument("--refreshes", type=int, default=10)
    ap.add_argument("--interval", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--json", default="bench-out/sd-refresh.json")
    ap.add_argument("--loop-priority", choices=["normal", "realtime"], default="normal",
                    help="the agent's scheduler.loop_priority (realtime: the probing loop at SCHED_RR 1)")
    a = ap.parse_args()
    n, change = a.targets, max(2, int(a.targets * a.churn / 100) // 2 * 2)
    current = list(range(n))
    scale_bench.check_loopback([agent_bench.address(i) for i in (0, n // 2, n + a.refreshes * change)])
    d = tempfile.mkdtemp(prefix="bench-sd-refresh-")
    listpath, port = os.path.join(d, "targets.json"), scale_bench.free_port()
    write_list(listpath, current)
    cfg = (f"log_level: debug\nscheduler:\n  tick: 10ms\n  loop_priority: {a.loop_priority}\nmetrics:\n  per_target_histograms: false\n"
           f"http:\n  listen: 127.0.0.1:{port}\nadmin:\n  socket: {d}/admin.sock\n"
           f"monitors:\n  - id: fleet\n    protocol: icmp\n    cadence: 3s\n    timeout: 1s\n"
           f"    file_sd_configs:\n      - files: [{listpath}]\n")
    with open(os.path.join(d, "agent.yaml"), "w") as f:
        f.write(cfg)
    logpath = os.path.join(d, "agent.log")
    import subprocess
    with open(logpath, "w") as out:
        p = subprocess.Popen([a.agent, "--config", os.path.join(d, "agent.yaml"), "--run-as-root"], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if admin_status(d)["scheduler"]["entries"] == n:
                    break
            except (OSError, KeyError, ValueError):
                pass
            if p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench-sd-refresh: the agent did not load {n} targets; see {logpath}")
            time.sleep(0.5)
        log(f"{n} targets loaded; warming up {a.warmup:.0f} s")
        time.sleep(a.warmup)
        seconds = a.refreshes * a.interval

        def quiet(until):
            time.sleep(max(0.0, until - time.monotonic()))

        next_index = [n]
        def refresh(until):
            applied = []
            for r in range(a.refreshes):
                start = time.monotonic()
                done = admin_status(d)["reloads"]["succeeded"]
                del current[: change // 2]
                current.extend(range(next_index[0], next_index[0] + change // 2))
                next_index[0] += change // 2
                write_list(listpath, current)
                while admin_status(d)["reloads"]["succeeded"] <= done and time.monotonic() < start + a.interval:
                    time.sleep(0.05)
                applied.append(round(time.monotonic() - start, 3))
                time.sleep(max(0.0, start + a.interval - time.monotonic()))
            return dict(seconds_to_apply=applied)

        log(f"quiet window {seconds:.0f} s")
        q = window(port, d, logpath, seconds, quiet)
        log(f"refresh window: {a.refreshes} refreshes of {change} targets ({a.churn}%) every {a.interval:.0f} s")
        r = window(port, d, logpath, seconds, refresh)
        entries = admin_status(d)["scheduler"]["entries"]
    finally:
        code = scale_bench.stop(p)
    report = dict(targets=n, churn_targets_per_refresh=change, refreshes=a.refreshes, interval_s=a.interval, loop_priority=a.loop_priority,
                  entries_at_end=entries, agent_exit=code, machine=scale_bench.machine(), quiet=q, refresh=r)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"{'window':8} {'turns':>7} {'>10ms':>6} {'>10ms w/ requests':>17} {'max requests ms':>15} {'max slow ms':>11} {'late p99 ms':>11} {'<=10ms %':>8}")
    for name, w in (("quiet", q), ("refresh", r)):
        print(f"{name:8} {w['turns']:7} {w['turns_over_10ms']:6} {w['slow_turns_with_requests_phase']:17} {w['max_requests_phase_ms']:15.1f} "
              f"{w['max_slow_turn_ms']:11.1f} {w['lateness_p99_ms'] or 0:11.1f} {w['lateness_within_10ms_pct'] or 0:8.2f}")
    print(f"refresh applied after (s): {r['seconds_to_apply']}")
    for line in r["slow_turn_phases"]:
        print(f"  turn over 10 ms with a requests phase (a refresh applied): {line}")
    log(f"report in {a.json}; agent log {logpath}")


if __name__ == "__main__":
    main()
