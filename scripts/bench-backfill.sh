#!/usr/bin/env bash
# Backfill benchmark: the release probe-agent drains its spill log into a real Prometheus
# (Tests/support/prometheus.sh) after a timed outage; prints results/s and the zero-loss check.
## Usage: scripts/bench-backfill.sh [--targets N] [--outage SECONDS]
##   Defaults: 2000 loopback targets (127.3.0.0/16) at 1 s, 30 s outage. Needs root (raw ICMP).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
source "$repo_root/scripts/bench/release-binary.sh"
cd "$repo_root" && exec_bench probe-agent scripts/bench/backfill_bench.py "$@"
