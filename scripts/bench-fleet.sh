#!/usr/bin/env bash
# Fleet benchmark: many probe-agents, each in its own network namespace, remote-writing to one
# VictoriaMetrics in a store namespace over veth pairs (198.18.0.0/15 only; nothing in the root
# namespace). scripts/bench/fleet_bench.py does the work; its docstring says what is measured.
## Usage: scripts/bench-fleet.sh [options]
##   --agents N              agents, each in its own namespace (default 20, at most 200)
##   --targets-per-agent N   ICMP targets per agent, 127.0.0.0/8 on the agent's own loopback
##                           (default 5000)
##   --warmup S              seconds after every agent probes before the window (default 60:
##                           every series is new to the store at first)
##   --duration S            the measured window in seconds (default 60)
##   --json FILE             JSON report (default bench-out/fleet-AGENTSxTARGETS.json)
##   -h, --help              this text
## Builds probe-agent (release), then prints per agent: CPU per probe, RSS, scheduler and send
## lateness, delivery mode, lag and backlog, remote-write bytes on its veth, results made vs
## samples in the store (by its `agent` label); and for the store: samples/s ingested, CPU per
## sample, RSS, bytes on disk per sample. Exits 1 when an agent fell behind (the thresholds are
## printed) or samples are missing from the store, 2 when the run could not be made. Needs
## root. Runs at normal priority: the load average is printed with the figures.
## Everything the run made (namespaces pf-*-TAG, processes, files) is removed on exit, error or
## ^C: by the driver, and again by this script's trap for whatever a killed driver left.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
source "$repo_root/scripts/bench/release-binary.sh"
cd "$repo_root"

[[ "$(id -u)" -eq 0 ]] || fatal "needs root (network namespaces, raw sockets)"
for tool in ip curl python3; do
    command -v "$tool" >/dev/null || fatal "'$tool' not found (scripts/install-deps.sh installs it)"
done
bin=$(release_binary probe-agent)
[[ -x /usr/bin/victoria-metrics ]] || fatal "victoria-metrics not installed (scripts/install-deps.sh)"

work=$(mktemp -d /tmp/fleet-bench.XXXXXX)

# Whatever the driver could not clean up: its processes (by the PIDs it recorded, and only
# while their command line still names this run's directory) and its namespaces.
clean_up() {
    local pid i
    if [[ -f "$work/pids" ]]; then
        while read -r pid; do
            [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$work" || continue
            log "stopping PID $pid left by the driver"
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        done <"$work/pids"
    fi
    if [[ -f "$work/netns" ]]; then
        while read -r ns; do
            if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
                log "deleting namespace $ns left by the driver"
                ip netns del "$ns" || error "could not delete namespace $ns"
            fi
        done <"$work/netns"
    fi
    rm -rf -- "$work"
}
trap clean_up EXIT
trap 'exit 130' INT TERM HUP

rc=0
python3 scripts/bench/fleet_bench.py --agent "$bin" --work "$work" "$@" || rc=$?
exit "$rc"
