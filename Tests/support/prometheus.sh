#!/usr/bin/env bash
##
## prometheus.sh — run Debian's Prometheus (2.42) as a remote-write receiver for tests.
##
## Usage: Tests/support/prometheus.sh start NAME PORT [SCRAPE_TARGET]
##        Tests/support/prometheus.sh stop NAME
##        Tests/support/prometheus.sh pause NAME | resume NAME
##
##   start NAME PORT  start /usr/bin/prometheus on 127.0.0.1:PORT with the remote-write
##                    receiver on, a fresh TSDB in a temporary directory, an out-of-order
##                    window of 2h and no scrape jobs (with SCRAPE_TARGET host:port: one job,
##                    `probe-agent`, scraping it every 3 s); wait (at most 30 s) until /-/ready
##                    answers; print the base URL (http://127.0.0.1:PORT) on stdout.
##                    $PROBEAGENT_SCRAPE_OPTIONS: more lines of that job (indented by 4),
##                    e.g. scheme: https, tls_config and basic_auth.
##                    Refuses when PORT is in use or NAME is already running.
##   stop NAME        SIGTERM the recorded PID, SIGKILL after 10 s, delete its data. Idempotent.
##   gc               stop instances whose owner (the caller of `start`, or
##                    $PROBEAGENT_RECEIVER_OWNER) is gone; `start` does this first.
##
## NAME: 1-40 characters [A-Za-z0-9_-], unique per concurrent user (tests pass their PID).
## State: $PROBEAGENT_RECEIVER_STATE (default ${TMPDIR:-/tmp}/probeagent-receivers)/NAME.
## Exits 77 when Prometheus or curl is not installed (scripts/install-deps.sh installs them),
## so a test can skip with that reason; 1 on any other failure.
##
set -euo pipefail
SCRIPT=prometheus.sh
# shellcheck source=receiver-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/receiver-common.sh"

PROMETHEUS=${PROBEAGENT_PROMETHEUS:-/usr/bin/prometheus}

start() {
    [[ $# -eq 2 || $# -eq 3 ]] || { usage; fatal "start needs NAME PORT [SCRAPE_TARGET]"; }
    local name=$1 port=$2 scrape=${3:-}
    [[ -x "$PROMETHEUS" ]] || cannot_run "$PROMETHEUS not installed (Debian package prometheus)"
    prepare "$name" "$port"
    local dir="$STATE_ROOT/$name"
    # out_of_order_time_window lives under storage.tsdb in the config file (Prometheus >= 2.39).
    # Remote-write tests push only; a SCRAPE_TARGET adds the one job that scrapes an agent.
    cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 15s
storage:
  tsdb:
    out_of_order_time_window: 2h
YAML
    if [[ -n "$scrape" ]]; then
        [[ "$scrape" =~ ^127\.[0-9.]+:[0-9]+$ ]] || fatal "SCRAPE_TARGET must be a loopback host:port, got '$scrape'"
        cat >>"$dir/prometheus.yml" <<YAML
scrape_configs:
  - job_name: probe-agent
    scrape_interval: 3s
    scrape_timeout: 3s
    static_configs:
      - targets: ['$scrape']
YAML
        # More of the job (scheme, tls_config, basic_auth …), as YAML indented by 4.
        [[ -z "${PROBEAGENT_SCRAPE_OPTIONS:-}" ]] || printf '%s\n' "$PROBEAGENT_SCRAPE_OPTIONS" >>"$dir/prometheus.yml"
    fi
    launch "$name" "$port" /-/ready "$PROMETHEUS" \
        --config.file="$dir/prometheus.yml" \
        --web.listen-address="127.0.0.1:$port" \
        --web.enable-remote-write-receiver \
        --storage.tsdb.path="$dir/data" \
        --storage.tsdb.retention.time=1d \
        --log.level=warn
}

dispatch "$@"
