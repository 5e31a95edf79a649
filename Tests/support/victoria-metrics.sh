#!/usr/bin/env bash
##
## victoria-metrics.sh — run Debian's VictoriaMetrics as a remote-write receiver for tests.
##
## Usage: Tests/support/victoria-metrics.sh start NAME PORT
##        Tests/support/victoria-metrics.sh stop NAME
##        Tests/support/victoria-metrics.sh pause NAME | resume NAME
##
##   start NAME PORT  start /usr/bin/victoria-metrics on 127.0.0.1:PORT with fresh storage in
##                    a temporary directory (remote write at /api/v1/write); wait (at most
##                    30 s) until /health answers; print the base URL on stdout.
##                    Refuses when PORT is in use or NAME is already running.
##   stop NAME        SIGTERM the recorded PID, SIGKILL after 10 s, delete its data. Idempotent.
##   gc               stop instances whose owner (the caller of `start`, or
##                    $PROBEAGENT_RECEIVER_OWNER) is gone; `start` does this first.
##
## NAME: 1-40 characters [A-Za-z0-9_-], unique per concurrent user (tests pass their PID).
## State: $PROBEAGENT_RECEIVER_STATE (default ${TMPDIR:-/tmp}/probeagent-receivers)/NAME.
## Exits 77 when victoria-metrics or curl is not installed, 1 on any other failure.
##
set -euo pipefail
SCRIPT=victoria-metrics.sh
# shellcheck source=receiver-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/receiver-common.sh"

VICTORIA=${PROBEAGENT_VICTORIA_METRICS:-/usr/bin/victoria-metrics}

start() {
    [[ $# -eq 2 ]] || { usage; fatal "start needs NAME PORT"; }
    local name=$1 port=$2
    [[ -x "$VICTORIA" ]] || cannot_run "$VICTORIA not installed (Debian package victoria-metrics)"
    prepare "$name" "$port"
    local dir="$STATE_ROOT/$name"
    # -search.latencyOffset=0: make just-written samples visible to queries at once (default 30s).
    # -retentionPeriod=100y: accept timestamps far in the past (the default 1 month would not).
    launch "$name" "$port" /health "$VICTORIA" \
        -httpListenAddr="127.0.0.1:$port" \
        -storageDataPath="$dir/data" \
        -retentionPeriod=100y \
        -search.latencyOffset=0s \
        -loggerLevel=ERROR
}

dispatch "$@"
