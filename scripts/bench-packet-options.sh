#!/usr/bin/env bash
##
## bench-packet-options.sh — what per-packet options cost the engine: `agentctl probe` (release)
## on the same loopback targets without options, with a TTL control message (-H 64, the
## default TTL, so only the cmsg differs) and with TTL + TOS (-H 64 -O 4), runs interleaved.
##
## Usage: scripts/bench-packet-options.sh [--targets N] [--rounds R] [--runs K]
##   Defaults: 10000 targets in 127.0.0.0/8 (never 127.0.0.1 alone), 5 rounds 1 s apart,
##   5 interleaved runs per variant. Prints each run's engine-only CPU µs per probe
##   (`cost.engineCpuMicrosecondsPerProbe`) and the medians. Needs root or CAP_NET_RAW.
##
set -euo pipefail

log() { printf -- "bench-packet-options: %s\n" "$*" >&2; }
fatal() { log "error: $*"; exit 1; }
usage() { sed -n 's/^## \{0,1\}//p' "$0" >&2; }

targets=10000 rounds=5 runs=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        --targets) targets=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --runs) runs=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage; fatal "unknown argument: $1" ;;
    esac
    shift
done
cd "$(dirname "$0")/.."
source scripts/bench/release-binary.sh
bin=$(release_binary agentctl)
tfile=$(mktemp)
trap 'rm -f "$tfile"' EXIT
python3 -c "
n = $targets
print('\n'.join(f'127.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}' for i in range(n)))" >"$tfile"
[[ $(ip route get 127.1.0.1 2>/dev/null) == *" dev lo "* ]] || fatal "127.1.0.1 does not route via lo"

declare -A results=([none]="" [ttl]="" [ttl_tos]="")
for ((k = 1; k <= runs; k++)); do
    for variant in none ttl ttl_tos; do
        case $variant in none) extra=() ;; ttl) extra=(-H 64) ;; ttl_tos) extra=(-H 64 -O 4) ;; esac
        us=$("$bin" probe -q --json -c "$rounds" -i 1s "${extra[@]}" -f "$tfile" \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f" % d["cost"]["engineCpuMicrosecondsPerProbe"])')
        results[$variant]+="$us "
        log "run $k $variant: $us µs/probe"
    done
done
echo "$(hostname) $(nproc) cores $(uname -r), $targets targets x $rounds rounds, $runs runs each"
for variant in none ttl ttl_tos; do
    median=$(printf '%s\n' ${results[$variant]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    printf '%-8s engine µs/probe: %s  median %s\n' "$variant" "${results[$variant]}" "$median"
done
