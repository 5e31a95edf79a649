#!/usr/bin/env bash
# Scrape benchmark: 50 slow /metrics readers against a probe-agent probing 100k loopback
# targets; the probing loop's lateness and the agent's RSS, idle and under the readers.
# With --gzip: size, time and agent CPU of one scrape with and without gzip instead.
## Usage: scripts/bench-scrape.sh [--before BIN] [options]
##        scripts/bench-scrape.sh --gzip [--targets N] [--scrapes N] [--levels] [--json FILE]
##   --gzip             one scrape at a time, plain and gzip (Accept-Encoding: gzip), SCRAPES
##                      rounds: body size, time to the last byte, the agent's CPU for it
##                      (scripts/bench/scrape_gzip_bench.py; --levels: also zlib levels 1 vs 6)
##   --before BIN       also measure BIN (e.g. a release build of main), before this tree's agent
##   --targets N        loopback targets (default 100000)
##   --readers N        concurrent slow readers (default 50)
##   --rate B           bytes/s each reader takes (default 4096)
##   --hold S           s a reader keeps one response before reconnecting (default 20)
##   --warmup S         s after start before the idle window (default 45)
##   --window S         s of each window, idle then load (default 60)
##   --loop-priority normal|realtime
##                      the agent's scheduler.loop_priority (default normal)
##   --receiver vm|prometheus|none
##                      remote-write receiver started on loopback (default none)
##   --json FILE        JSON report (default bench-out/scrape.json)
##   -h, --help         this text
## Builds this tree's probe-agent in release mode, then runs scripts/bench/scrape_bench.py (its
## docstring says what is measured). Run it under nice -n 10 on a quiet machine; targets are in
## 127.0.0.0/8 and checked to route via lo. Needs root or CAP_NET_RAW.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
agents=()
args=()
gzip=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --gzip) gzip=yes; shift ;;
        --before) [[ $# -ge 2 && -x "$2" ]] || fatal "--before needs an executable"; agents+=(--agent "before=$2"); shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
cd "$repo_root"
source scripts/bench/release-binary.sh
bin=$(release_binary probe-agent)
if [[ $gzip == yes ]]; then
    [[ ${#agents[@]} -eq 0 ]] || fatal "--gzip measures this tree's agent only (plain vs gzip is the before/after)"
    exec python3 scripts/bench/scrape_gzip_bench.py --agent "$bin" "${args[@]}"
fi
exec python3 scripts/bench/scrape_bench.py "${agents[@]}" --agent "after=$bin" "${args[@]}"
