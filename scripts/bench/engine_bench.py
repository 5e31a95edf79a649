#!/usr/bin/env python3
"""Engine benchmark: CPU per ICMP probe round trip, ProbeAgent's engine vs fping.

Two runs, both tools on the same loopback targets (127.0.0.0/8, never 127.0.0.1 alone), CPU
(user+sys) of each process read from wait4():
  A. N targets (default 50,000), one round: whole-process CPU per probe, loss, mean RTT.
     fping cannot go further here: its 16-bit sequence space refuses N x rounds > ~65k.
  B. M targets (default 10,000) at 1 and R rounds (default 6): marginal CPU per probe
     = (cpu(R) - cpu(1)) / ((R - 1) * M), which cancels start-up and target parsing.
ProbeAgent also reports, from inside agentctl, the CPU spent in the engine calls alone.
"""
import argparse, json, os, platform, re, subprocess, sys, tempfile, time

SUMMARY = re.compile(r"^(\S+).*xmt/rcv/%loss = (\d+)/(\d+)/\d+%(?:, min/avg/max = [\d.]+/([\d.]+)/[\d.]+)?")


def targets(n):
    out = []
    for i in range(n):  # 127.1.0.1 .. : never 127.0.0.1 alone
        out.append(f"127.{1 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}")
    return out


def run_rusage(cmd, timeout):
    """Run cmd, return (output, cpu_seconds, wall_seconds, exit_code) with the child's own rusage."""
    with tempfile.TemporaryFile(mode="w+") as out:
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            os.execvp(cmd[0], cmd)
        deadline = start + timeout
        while True:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)  # our own child, by PID
                os.wait4(pid, 0)
                raise SystemExit(f"timed out: {' '.join(cmd)}")
            time.sleep(0.01)
        wall = time.monotonic() - start
        out.seek(0)
        return out.read(), ru.ru_utime + ru.ru_stime, wall, os.waitstatus_to_exitcode(status)


def summarize(output):
    sent = recv = 0
    avgs = []
    for line in output.splitlines():
        m = SUMMARY.match(line)
        if m:
            sent += int(m.group(2))
            recv += int(m.group(3))
            if m.group(4):
                avgs.append(float(m.group(4)))
    return sent, recv, (sum(avgs) / len(avgs) if avgs else None)


def write_targets(n):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    f.write("\n".join(targets(n)) + "\n")
    f.close()
    return f.name


def measure(tool, agentctl, tfile, rounds):
    if tool == "probeagent":
        cmd = [agentctl, "probe", "-q", "--json", "-c", str(rounds), "-i", "1s", "-f", tfile]
    else:  # -i 0: no pacing between packets, -r 0: no retries, -p 1000: one round per second
        cmd = ["fping", "-q", "-c", str(rounds), "-i", "0", "-r", "0", "-p", "1000", "-f", tfile]
    out, cpu, wall, code = run_rusage(cmd, timeout=900)
    r = dict(cpu_s=cpu, wall_s=wall, exit=code)
    if tool == "probeagent":
        doc = json.loads(out[out.index("{"):])
        s = doc["summary"]
        avgs = [x["avgMs"] for x in s if x.get("avgMs") is not None]
        r.update(sent=sum(x["sent"] for x in s), received=sum(x["received"] for x in s),
                 mean_avg_rtt_ms=sum(avgs) / len(avgs) if avgs else None,
                 engine_us_per_probe=doc["cost"]["engineCpuMicrosecondsPerProbe"])
    else:
        sent, recv, rtt = summarize(out)
        r.update(sent=sent, received=recv, mean_avg_rtt_ms=rtt)
        if code not in (0, 1):
            r["error"] = out.strip().splitlines()[-1] if out.strip() else f"exit {code}"
    r["us_per_probe"] = cpu * 1e6 / r["sent"] if r["sent"] else None
    r["loss_pct"] = 100.0 * (r["sent"] - r["received"]) / r["sent"] if r["sent"] else None
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agentctl", required=True)
    ap.add_argument("--targets", type=int, default=50000, help="run A: targets, one round")
    ap.add_argument("--marginal-targets", type=int, default=10000, help="run B: targets")
    ap.add_argument("--rounds", type=int, default=6, help="run B: rounds (fping needs targets x rounds < 65k)")
    ap.add_argument("--json", default="bench-out/engine.json")
    a = ap.parse_args()

    tools = ("probeagent", "fping")
    big, small = write_targets(a.targets), write_targets(a.marginal_targets)
    run_a = {t: measure(t, a.agentctl, big, 1) for t in tools}
    run_b = {}
    for t in tools:
        lo, hi = measure(t, a.agentctl, small, 1), measure(t, a.agentctl, small, a.rounds)
        run_b[t] = dict(one_round=lo, rounds=hi, marginal_us_per_probe=(hi["cpu_s"] - lo["cpu_s"]) * 1e6
                        / (a.marginal_targets * (a.rounds - 1)))
    os.unlink(big)
    os.unlink(small)
    pa_a, fp_a = run_a["probeagent"], run_a["fping"]
    report = dict(
        date=time.strftime("%Y-%m-%d"), machine=f"{platform.node()} {os.cpu_count()} cores Linux {platform.release()}",
        command=" ".join(sys.argv), run_a=dict(targets=a.targets, rounds=1, results=run_a),
        run_b=dict(targets=a.marginal_targets, rounds=a.rounds, results=run_b),
        ratio_fping_over_probeagent_whole=fp_a["us_per_probe"] / pa_a["us_per_probe"],
        ratio_fping_over_probeagent_marginal=run_b["fping"]["marginal_us_per_probe"]
        / run_b["probeagent"]["marginal_us_per_probe"],
    )
    os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(report, f, indent=2)

    fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"
    print(f"{report['machine']}, {report['date']}")
    print(f"A: {a.targets} loopback targets, 1 round (whole process)")
    print(f"  {'tool':<11} {'CPU µs/probe':>13} {'engine µs/probe':>16} {'loss %':>7} {'mean RTT ms':>12}")
    for t in tools:
        r = run_a[t]
        print(f"  {t:<11} {fmt(r['us_per_probe']):>13} {fmt(r.get('engine_us_per_probe')):>16} "
              f"{fmt(r['loss_pct']):>7} {fmt(r['mean_avg_rtt_ms'], 4):>12}")
    print(f"B: {a.marginal_targets} targets, 1 vs {a.rounds} rounds (marginal CPU per probe)")
    for t in tools:
        r = run_b[t]
        extra = f"   engine-only {fmt(r['rounds'].get('engine_us_per_probe'))}" if t == "probeagent" else ""
        err = f"   ({r['rounds']['error']})" if r["rounds"].get("error") else ""
        print(f"  {t:<11} {fmt(r['marginal_us_per_probe']):>13}{extra}{err}")
    print(f"fping / probeagent CPU per probe: whole {report['ratio_fping_over_probeagent_whole']:.2f}x, "
          f"marginal {report['ratio_fping_over_probeagent_marginal']:.2f}x")
    print(f"JSON: {a.json}")


if __name__ == "__main__":
    main()
