#!/usr/bin/env bash
# Discovery refresh benchmark: the probing loop's turns while a 100k-target file_sd list
# changes by 1% every few seconds, next to a quiet window of the same length.
set -euo pipefail

usage() {
    cat <<USAGE
Usage: scripts/bench-sd-refresh.sh [options]
  --targets N        loopback targets in the file_sd list (default 100000)
  --churn PCT        percent of the targets replaced per refresh (default 1)
  --refreshes N      refreshes in the refresh window (default 10)
  --interval S       s between refreshes; each window is refreshes x interval (default 8)
  --warmup S         s after the list is loaded before the first window (default 20)
  --json FILE        JSON report (default bench-out/sd-refresh.json)
  --loop-priority P  normal (default) or realtime: the agent's scheduler.loop_priority
  -h, --help         this text
Builds this tree's probe-agent in release mode, then runs scripts/bench/sd_refresh_bench.py
(its docstring says what is measured). Run it under nice -n 10 on a quiet machine; targets are
in 127.0.0.0/8 and checked to route via lo. Needs root or CAP_NET_RAW.
USAGE
}
log() { echo "bench-sd-refresh: $*" >&2; }
fatal() { log "error: $*"; exit 1; }

for arg in "$@"; do
    [[ "$arg" == "-h" || "$arg" == "--help" ]] && { usage; exit 0; }
done
cd "$(dirname "$0")/.."
source scripts/bench/release-binary.sh
bin=$(release_binary probe-agent)
exec python3 scripts/bench/sd_refresh_bench.py --agent "$bin" "$@"
