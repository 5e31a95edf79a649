#!/usr/bin/env python3
"""Backfill benchmark: how fast the agent drains its spill log into a real Prometheus.

Starts Debian's Prometheus (Tests/support/prometheus.sh, loopback), the release probe-agent on
N loopback targets at a 1 s cadence shipping to it with backfill_rate effectively unlimited,
pauses Prometheus for OUTAGE seconds (results spill to disk), resumes it, and times the drain:
backlog results per second until the spill log is empty, plus the zero-loss check (samples in
Prometheus + results on disk at stop = probes made). Everything on 127.0.0.1; stopped by PID.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROM = os.path.join(ROOT, "Tests/support/prometheus.sh")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status(path):
    with open(path) as f:
        return json.load(f)


def wait(pred, timeout, path):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            s = status(path)
            if pred(s):
                return s
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit("timed out waiting for the agent")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--targets", type=int, default=2000)
    ap.add_argument("--outage", type=float, default=30)
    a = ap.parse_args()
    name, port = f"bf{os.getpid()}", free_port()
    subprocess.run([PROM, "start", name, str(port)], check=True, stdout=subprocess.DEVNULL)
    d = tempfile.mkdtemp(prefix="backfill-bench-")
    cfg, st = os.path.join(d, "agent.yaml"), os.path.join(d, "status.json")
    targets = ", ".join(f"127.3.{i // 250}.{i % 250 + 1}" for i in range(a.targets))
    with open(cfg, "w") as f:
        f.write(f"""log_level: warning
queue:
  mem_items_cap: 100000
spill:
  dir: {d}/spill
remote_write:
  url: http://127.0.0.1:{port}/api/v1/write
  samples_per_request: 2000
  backfill_rate: 10000000
monitors:
  - id: bench
    protocol: icmp
    cadence: 1s
    targets: [{targets}]
""")
    agent = subprocess.Popen([a.agent, "--config", cfg, "--status-file", st, "--status-interval", "1s", "--run-as-root"],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "agent.log"), "w"))
    try:
        wait(lambda s: s["delivery"]["resultsShipped"] > a.targets * 3, 60, st)
        subprocess.run([PROM, "pause", name], check=True)
        time.sleep(a.outage)
        backlog = status(st)["delivery"]["spillPendingRecords"]
        subprocess.run([PROM, "resume", name], check=True, stdout=subprocess.DEVNULL)
        t0 = time.monotonic()
        shipped0 = status(st)["delivery"]["resultsShipped"]
        s = wait(lambda s: s["delivery"]["spillPendingRecords"] == 0 and s["delivery"]["mode"] == "normal", 600, st)
        drain = time.monotonic() - t0
        shipped = s["delivery"]["resultsShipped"] - shipped0
    finally:
        agent.send_signal(signal.SIGTERM)  # our own child, by PID
        code = agent.wait(timeout=60)
    final = status(st)
    made = sum(t["record"]["sent"] for m in final["monitors"] for t in m["targets"] if t["record"])
    q = urllib.parse.quote("sum(count_over_time(probe_success[1h]))")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query={q}") as r:
        stored = int(float(json.load(r)["data"]["result"][0]["value"][1]))
    subprocess.run([PROM, "stop", name], check=True)
    pending = final["delivery"]["spillPendingRecords"]
    print(f"backfill into Prometheus 2.42 ({a.targets} targets at 1 s, outage {a.outage:.0f} s, {os.cpu_count()} cores)")
    print(f"  backlog at resume: {backlog} results; drained with live traffic in {drain:.1f} s")
    print(f"  shipped during the drain: {shipped} results = {shipped / drain:.0f} results/s ({shipped * 3 / drain:.0f} samples/s)")
    print(f"  zero loss: made {made} = in Prometheus {stored} + on disk {pending}: {made == stored + pending}; agent exit {code}")


if __name__ == "__main__":
    main()
