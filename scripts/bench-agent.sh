#!/usr/bin/env bash
# Agent benchmark: the real probe-agent (release build) on N loopback targets at a 3 s
# cadence: CPU per probe, scheduler lateness, probes per target, loss, RSS.
## Usage: scripts/bench-agent.sh [--targets 10000,50000] [--warmup SECONDS] [--window SECONDS] [--json FILE]
##   Targets are in 127.0.0.0/8 (never 127.0.0.1 alone). Needs root or CAP_NET_RAW.
##   Run it on a quiet machine: lateness is wall-clock and shares the CPUs with anything else.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
source "$repo_root/scripts/bench/release-binary.sh"
cd "$repo_root" && exec_bench probe-agent scripts/bench/agent_bench.py "$@"
