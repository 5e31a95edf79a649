#!/usr/bin/env bash
# Agent benchmark: the real probe-agent (release build) on N loopback targets at a 3 s
# cadence: CPU per probe, scheduler lateness, probes per target, loss, RSS.
set -euo pipefail

usage() {
    cat <<USAGE
Usage: scripts/bench-agent.sh [--targets 10000,50000] [--warmup SECONDS] [--window SECONDS] [--json FILE]
  Targets are in 127.0.0.0/8 (never 127.0.0.1 alone). Needs root or CAP_NET_RAW.
  Run it on a quiet machine: lateness is wall-clock and shares the CPUs with anything else.
USAGE
}
log() { echo "bench-agent: $*" >&2; }
fatal() { log "error: $*"; exit 1; }

[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
cd "$(dirname "$0")/.."
source scripts/bench/release-binary.sh
bin=$(release_binary probe-agent)
exec python3 scripts/bench/agent_bench.py --agent "$bin" "$@"
