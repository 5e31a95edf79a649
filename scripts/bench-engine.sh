#!/usr/bin/env bash
# Engine benchmark: CPU per ICMP probe through the CProbe engine (via `agentctl probe`,
# release build) next to fping on the same loopback targets, in the same run.
## Usage: scripts/bench-engine.sh [--targets N] [--marginal-targets N] [--rounds R] [--json FILE]
##   Defaults: run A 50000 targets x 1 round; run B 10000 targets x 1 and 6 rounds;
##   targets in 127.0.0.0/8 (never 127.0.0.1 alone); JSON in bench-out/engine.json.
##   Needs root (or CAP_NET_RAW on agentctl and fping). Loopback only.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
cd "$repo_root"
source scripts/bench/release-binary.sh
bin=$(release_binary agentctl)
exec python3 scripts/bench/engine_bench.py --agentctl "$bin" "$@"
