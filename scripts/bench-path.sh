#!/usr/bin/env bash
# Path monitor benchmark: 10,000 loopback targets at a 3 s echo cadence, without and with
# `path: {max_hops: 30, every: 60s}`, phases alternating (ABAB) in one run.
## Usage: scripts/bench-path.sh [options]
##   --targets N     loopback targets (default 10000)
##   --warmup S      s after the targets are loaded before a phase's window (default 15)
##   --window S      measured window per phase, s (default 60: every target traces once)
##   --rounds R      A B pairs (default 2)
##   --json FILE     JSON report (default bench-out/path.json)
##   --baseline-agent BIN
##                   another tree's release probe-agent (e.g. main's), run echo only first in
##                   each round: the echo probe's cost without the path monitors' code
##   -h, --help      this text
## Per phase: agent CPU µs per echo probe and per probe sent (traces included), trace probes/s,
## scheduler lateness p50/p99 and share within 10 ms; then the medians and the ratio. On
## loopback a trace ends at hop 1 (7 probes); the worst case of 30-hop traces is printed too.
## Builds this tree's probe-agent in release mode. Targets are in 127.0.0.0/8 (never
## 127.0.0.1), checked to route via lo. Needs root or CAP_NET_RAW. Run it on a quiet machine.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
source "$repo_root/scripts/bench/release-binary.sh"
cd "$repo_root" && exec_bench probe-agent scripts/bench/path_bench.py "$@"
