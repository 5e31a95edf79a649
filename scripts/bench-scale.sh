#!/usr/bin/env bash
# Scale benchmark: the whole probe-agent pipeline (probing, remote write to a local receiver,
# spill dir, http listener) at 10k-200k loopback targets on a 3 s cadence, next to fping and
# a minimal raw-socket prober (scripts/bench/raw_floor.c) on the same targets, with and without
# the kernel timestamps ProbeAgent takes.
## Usage: scripts/bench-scale.sh [options]
##   --targets N,N,...          target counts (default 10000,50000,100000,200000)
##   --warmup S                 seconds after the agent has started before the window (default 60:
##                              the store takes every series' first sample slowly after a start)
##   --peer-warmup S            the same for the empty agent, fping and the floors (default 10)
##   --window S                 measured window in seconds (default 30)
##   --json FILE                JSON report (default bench-out/scale.json)
##   --receiver vm|prometheus|none
##                              remote-write receiver started on loopback (default vm; falls back
##                              to prometheus when VictoriaMetrics is not installed)
##   --no-fping                 skip fping (it runs only at N <= 10000: its sequence space)
##   --no-floor                 skip the raw-socket floors, plain and with kernel timestamps (needs cc)
##   --no-histograms            metrics.per_target_histograms: false
##   --log-level LEVEL          the agent's log_level (debug: every loop turn over 10 ms)
##   --loop-priority normal|realtime
##                              the agent's scheduler.loop_priority (realtime: the loop at SCHED_RR 1)
##   --keep-logs DIR            copy each N's agent log to DIR/agent-N.log
##   -h, --help                 this text
## Per N: CPU µs per probe (user+sys over the window), receiver CPU, peak RSS and RSS per target
## above an empty agent, lateness p50/p99/max and share within 10 ms, both as handed to the engine
## (scheduler) and as sent (kernel TX timestamp; "sent within 10 ms" is this one), results made /
## shipped / in the receiver, loss, GET /metrics time and size (n/a until the agent serves it),
## and the agent's CPU per probe as a ratio to fping's, to the floor's and to the floor's with kernel
## RX/TX timestamps (raw_floor --stamps: what ProbeAgent's precision costs in the kernel).
## Targets are in 127.0.0.0/8 (never 127.0.0.1 alone), checked to route via lo before sending.
## Needs root or CAP_NET_RAW. Run it on a quiet machine: CPU and lateness share the cores.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
source "$repo_root/scripts/bench/release-binary.sh"
cd "$repo_root" && exec_bench probe-agent scripts/bench/scale_bench.py "$@"
