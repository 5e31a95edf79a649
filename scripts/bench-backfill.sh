#!/usr/bin/env bash
# Backfill benchmark: the release probe-agent drains its spill log into a real Prometheus
# (Tests/support/prometheus.sh) after a timed outage; prints results/s and the zero-loss check.
set -euo pipefail

usage() {
    cat <<USAGE
Usage: scripts/bench-backfill.sh [--targets N] [--outage SECONDS]
  Defaults: 2000 loopback targets (127.3.0.0/16) at 1 s, 30 s outage. Needs root (raw ICMP).
USAGE
}
log() { echo "bench-backfill: $*" >&2; }
fatal() { log "error: $*"; exit 1; }

[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
cd "$(dirname "$0")/.."
source scripts/bench/release-binary.sh
bin=$(release_binary probe-agent)
exec python3 scripts/bench/backfill_bench.py --agent "$bin" "$@"
