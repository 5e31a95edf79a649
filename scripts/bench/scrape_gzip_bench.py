#!/usr/bin/env python3
"""/metrics with and without gzip: size and time of one scrape of a probe-agent probing N
loopback targets, and the agent's CPU for it.

Start the agent (scale_bench's config: 3 s cadence, ICMP, per-target histograms) at N targets
in 127.0.0.0/8, wait WARMUP s, measure its idle CPU rate over IDLE s, then SCRAPES rounds of
two scrapes, one plain (no Accept-Encoding) and one with `Accept-Encoding: gzip`, one at a time,
SPACING s apart (past the 5 s snapshot reuse window, so each takes a fresh snapshot). Per
scrape: bytes of body received, wall time from connect to the last byte, and the agent's CPU
(utime + stime from /proc) over that time less its idle rate x the time ("net", the scrape's
own cost), and how far its RSS rose above where it was (sampled every 50 ms). The gzip body is checked to gunzip and its size compared with the plain page's.
Medians are reported. With --levels, the last plain page is also compressed here by Python's
zlib (the same libz the agent links) at levels 1 and 6: size and CPU of each, which is how
the agent's level was chosen. Every process is ours, stopped by PID; every loop is bounded.
"""
import argparse, http.client, os, shutil, statistics, sys, tempfile, threading, time, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import agent_bench  # address(i), cpu_seconds(pid)
import scale_bench  # start_agent, stop, check_loopback, machine, tail
import scrape_bench  # save


def log(msg):
    print(f"bench-scrape-gzip: {msg}", file=sys.stderr, flush=True)


def scrape(port, pid, gzip, keep=None):
    """One GET /metrics: body bytes, wall s, agent CPU s, the agent's RSS before and at most
    during it (sampled every 50 ms), the Content-Encoding answered."""
    rss0, rss, done = scale_bench.proc_status_kb(pid, "VmRSS"), [], threading.Event()

    def sample():
        while not done.is_set():
            rss.append(scale_bench.proc_status_kb(pid, "VmRSS"))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    c0, t0 = agent_bench.cpu_seconds(pid), time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzip else {"Accept-Encoding": "identity"})
        r = conn.getresponse()
        if r.status != 200:
            raise SystemExit(f"bench-scrape-gzip: /metrics answered {r.status}")
        size, parts = 0, []
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if keep is not None:
                parts.append(chunk)
        encoding = r.getheader("Content-Encoding") or "identity"
    finally:
        conn.close()
    t1, c1 = time.monotonic(), agent_bench.cpu_seconds(pid)
    done.set()
    sampler.join(timeout=5)
    if keep is not None:
        keep.append(b"".join(parts))
    return dict(bytes=size, wall_s=t1 - t0, cpu_s=c1 - c0, encoding=encoding,
                rss_kb_before=rss0, rss_kb_max=max(rss + [rss0]))


def compress_levels(page):
    out = []
    for level in (1, 6):
        t0 = time.process_time()
        z = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip framing
        size = len(z.compress(page)) + len(z.flush())
        out.append(dict(level=level, bytes=size, cpu_s=time.process_time() - t0))
    return out


def run(a):
    d = tempfile.mkdtemp(prefix="scrape-gzip-bench-")
    try:
        p, _, port = scale_bench.start_agent(a.agent, a.targets, d, None)
        try:
            log(f"{a.targets} targets, warm-up {a.warmup:g} s")
            time.sleep(a.warmup)
            c0 = agent_bench.cpu_seconds(p.pid)
            time.sleep(a.idle)
            idle_rate = (agent_bench.cpu_seconds(p.pid) - c0) / a.idle
            rounds, last_plain, last_gzip = [], [], []
            for i in range(a.scrapes):
                row = {}
                for gzip in (False, True):
                    time.sleep(a.spacing)
                    keep = (last_gzip if gzip else last_plain) if i == a.scrapes - 1 else None
                    s = scrape(port, p.pid, gzip, keep)
                    s["net_cpu_s"] = max(0.0, s["cpu_s"] - idle_rate * s["wall_s"])
                    row["gzip" if gzip else "identity"] = s
                    s["rss_growth_kb"] = s["rss_kb_max"] - s["rss_kb_before"]
                    log(f"round {i + 1}/{a.scrapes} {'gzip' if gzip else 'identity'}: {s['bytes'] / 1e6:.1f} MB, "
                        f"{s['wall_s']:.2f} s, agent CPU {s['cpu_s']:.2f} s (net {s['net_cpu_s']:.2f} s), "
                        f"RSS {s['rss_kb_before'] / 1024:.1f} -> max {s['rss_kb_max'] / 1024:.1f} MiB")
                rounds.append(row)
        finally:
            code = scale_bench.stop(p, timeout=180)
        if code != 0:
            log(f"agent exit {code}; its log:\n{scale_bench.tail(d)}")
        gz, plain = last_gzip[0], last_plain[0]
        if rounds[-1]["gzip"]["encoding"] != "gzip" or gz[:2] != b"\x1f\x8b":
            raise SystemExit("bench-scrape-gzip: the gzip scrape was not gzip-encoded")
        unzipped = zlib.decompress(gz, 31)
        summary = {}
        for k in ("identity", "gzip"):
            summary[k] = {m: statistics.median(r[k][m] for r in rounds)
                          for m in ("bytes", "wall_s", "cpu_s", "net_cpu_s", "rss_growth_kb")}
        return dict(exit=code, idle_core_share=idle_rate, rounds=rounds, median=summary,
                    gunzipped_bytes=len(unzipped), plain_bytes=len(plain),
                    levels=compress_levels(plain) if a.levels else None)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def print_table(report):
    m, r = report["machine"], report["result"]
    print(f"scrape gzip bench: {report['targets']} targets at 3 s (per-target histograms), {report['scrapes']} rounds, "
          f"medians; {m['nproc']} cores, {m['cpu']}, Linux {m['kernel']}, {report['date']}; nice {report['nice']}; "
          f"agent idle {r['idle_core_share'] * 100:.1f}% of a core")
    print(f"{'encoding':>9} {'MB':>8} {'wall s':>7} {'agent CPU s':>12} {'net CPU s':>10} {'RSS growth MiB':>15}")
    for k in ("identity", "gzip"):
        s = r["median"][k]
        print(f"{k:>9} {s['bytes'] / 1e6:>8.1f} {s['wall_s']:>7.2f} {s['cpu_s']:>12.2f} {s['net_cpu_s']:>10.2f} "
              f"{s['rss_growth_kb'] / 1024:>15.1f}")
    i, g = r["median"]["identity"], r["median"]["gzip"]
    print(f"gzip/identity: size {g['bytes'] / i['bytes']:.3f}, wall {g['wall_s'] / i['wall_s']:.2f}, "
          f"net CPU {g['net_cpu_s'] / max(i['net_cpu_s'], 1e-9):.2f}; last gzip page gunzips to {r['gunzipped_bytes'] / 1e6:.1f} MB "
          f"(plain page {r['plain_bytes'] / 1e6:.1f} MB)")
    for lv in r["levels"] or []:
        print(f"python zlib level {lv['level']} on the plain page: {lv['bytes'] / 1e6:.1f} MB, {lv['cpu_s']:.2f} s CPU")
    print(f"JSON: {report['json']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="a release probe-agent")
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--warmup", type=float, default=45)
    ap.add_argument("--idle", type=float, default=10, help="s to measure the agent's idle CPU rate")
    ap.add_argument("--scrapes", type=int, default=5, help="rounds of one plain and one gzip scrape")
    ap.add_argument("--spacing", type=float, default=6, help="s before each scrape")
    ap.add_argument("--levels", action="store_true", help="also compress the plain page at zlib levels 1 and 6")
    ap.add_argument("--json", default="bench-out/scrape-gzip.json")
    a = ap.parse_args()
    if not os.access(a.agent, os.X_OK):
        ap.error("--agent must be an executable")
    if not 1 <= a.targets <= 1_000_000 or not 1 <= a.scrapes <= 50 or not 0 < a.warmup <= 600 \
            or not 1 <= a.idle <= 120 or not 0 <= a.spacing <= 60:
        ap.error("targets 1..1,000,000, scrapes 1..50, warm-up (0, 600] s, idle [1, 120] s, spacing [0, 60] s")
    scale_bench.check_loopback([agent_bench.address(i) for i in range(a.targets)])
    result = run(a)
    report = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %z"), machine=scale_bench.machine(), command=" ".join(sys.argv),
                  targets=a.targets, scrapes=a.scrapes, warmup_s=a.warmup, nice=os.nice(0), result=result, json=a.json)
    scrape_bench.save(report, a.json)
    print_table(report)


if __name__ == "__main__":
    main()
