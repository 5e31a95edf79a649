# receiver-common.sh — shared by prometheus.sh and victoria-metrics.sh; sourced, not run.
#
# A receiver instance NAME keeps its state in $STATE_ROOT/NAME/:
#   pid      the server's PID (the only handle `stop` uses)
#   owner    PID of the process that asked for it ($PROBEAGENT_RECEIVER_OWNER, default the
#            caller of the script); `gc` stops instances whose owner is gone
#   port     the loopback port it listens on
#   data/    its storage (removed by `stop`)
#   log      its stdout+stderr (removed by `stop`; printed by `start` when it fails)
# STATE_ROOT is $PROBEAGENT_RECEIVER_STATE, default ${TMPDIR:-/tmp}/probeagent-receivers.

log() { printf -- "** %s: %s\n" "$SCRIPT" "$*" >&2; }
error() { printf -- "** %s ERROR: %s\n" "$SCRIPT" "$*" >&2; }
fatal() { error "$@"; exit 1; }
cannot_run() { printf -- "** %s SKIP: %s\n" "$SCRIPT" "$*" >&2; exit 77; }
usage() { sed -n 's/^## \{0,1\}//p' "$0" >&2; }

STATE_ROOT=${PROBEAGENT_RECEIVER_STATE:-${TMPDIR:-/tmp}/probeagent-receivers}
READY_SECONDS=${PROBEAGENT_RECEIVER_READY_SECONDS:-30}
STOP_SECONDS=${PROBEAGENT_RECEIVER_STOP_SECONDS:-10}

check_name() {
    [[ "$1" =~ ^[A-Za-z0-9_-]{1,40}$ ]] || fatal "NAME must be 1-40 characters [A-Za-z0-9_-]: '$1'"
}

check_port() {
    [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1024 && $1 <= 65535 )) \
        || fatal "PORT must be a number in 1024-65535: '$1'"
}

# True when something already listens on 127.0.0.1:PORT (or on the wildcard address).
port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# alive PID: the process exists and is not a zombie.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ "$state" != Z* ]]
}

# wait_ready PID URL: poll URL until it answers 2xx, the process dies, or READY_SECONDS pass.
wait_ready() {
    local pid=$1 url=$2 deadline=$((SECONDS + READY_SECONDS))
    while (( SECONDS < deadline )); do
        alive "$pid" || return 1
        curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# stop_instance NAME [keep]: SIGTERM the recorded PID, SIGKILL after STOP_SECONDS, remove the
# state — or with `keep`, leave the data and the recorded command for `resume_instance`.
# Idempotent: a NAME that is not running is not an error.
stop_instance() {
    local dir="$STATE_ROOT/$1" pid keep=${2:-}
    [[ -d "$dir" ]] || return 0
    if [[ -f "$dir/pid" ]]; then
        pid=$(<"$dir/pid")
        if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            local deadline=$((SECONDS + STOP_SECONDS))
            while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
            if alive "$pid"; then
                log "$1: PID $pid still running after ${STOP_SECONDS}s, sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$((SECONDS + 5))
                while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
            fi
        fi
    fi
    [[ "$keep" == keep ]] || rm -rf -- "$dir"
}

# resume_instance NAME: start a paused instance again, same command, port and data.
resume_instance() {
    local name=$1 dir="$STATE_ROOT/$1" port ready
    [[ -f "$dir/cmd" && -f "$dir/port" && -f "$dir/ready" ]] || fatal "$name was not paused (no recorded command)"
    if [[ -f "$dir/pid" ]] && alive "$(<"$dir/pid")"; then fatal "$name is running; pause it first"; fi
    port=$(<"$dir/port")
    ready=$(<"$dir/ready")
    port_in_use "$port" && fatal "port $port on 127.0.0.1 is already in use"
    local -a cmd
    mapfile -d '' cmd <"$dir/cmd"
    launch "$name" "$port" "$ready" "${cmd[@]}"
}

# launch NAME PORT READY_PATH BINARY ARGS...: start BINARY in the background with its output in
# the state dir, record its PID, wait for READY_PATH, print the base URL.
launch() {
    local name=$1 port=$2 ready_path=$3 dir="$STATE_ROOT/$1"
    shift 3
    # setsid: own session, so the caller's terminal signals do not reach it; we stop it by PID.
    printf '%s\0' "$@" >"$dir/cmd"
    echo "$ready_path" >"$dir/ready"
    setsid "$@" >>"$dir/log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/pid"
    echo "$port" >"$dir/port"
    if ! wait_ready "$pid" "http://127.0.0.1:$port$ready_path"; then
        error "$name: not ready on 127.0.0.1:$port$ready_path within ${READY_SECONDS}s; its log:"
        tail -n 30 "$dir/log" >&2 || true
        stop_instance "$name"
        exit 1
    fi
    echo "http://127.0.0.1:$port"
}

# gc_instances: stop every instance whose owner process is gone (a test that crashed before
# its `stop`). Only instances of this script's kind (the marker file `kind`) are touched.
gc_instances() {
    local dir owner
    [[ -d "$STATE_ROOT" ]] || return 0
    for dir in "$STATE_ROOT"/*/; do
        [[ -f "$dir/kind" && "$(<"$dir/kind")" == "$SCRIPT" && -f "$dir/owner" ]] || continue
        owner=$(<"$dir/owner")
        if [[ "$owner" =~ ^[0-9]+$ ]] && ! alive "$owner"; then
            log "stopping $(basename "$dir"): its owner PID $owner is gone"
            stop_instance "$(basename "$dir")"
        fi
    done
}

# prepare NAME PORT: validate, refuse a running NAME or a busy port, make the state dir.
prepare() {
    local name=$1 port=$2 dir="$STATE_ROOT/$1"
    check_name "$name"
    check_port "$port"
    command -v curl >/dev/null 2>&1 || cannot_run "curl not installed (scripts/install-deps.sh)"
    if [[ -f "$dir/pid" ]] && alive "$(<"$dir/pid")"; then
        fatal "$name is already running (PID $(<"$dir/pid")); stop it first"
    fi
    gc_instances
    rm -rf -- "$dir"
    port_in_use "$port" && fatal "port $port on 127.0.0.1 is already in use"
    mkdir -p -- "$dir/data"
    echo "$SCRIPT" >"$dir/kind"
    echo "${PROBEAGENT_RECEIVER_OWNER:-$PPID}" >"$dir/owner"
}

# dispatch ARGS...: the command line shared by every receiver script; each defines `start`.
dispatch() {
    [[ $# -ge 1 ]] || { usage; exit 1; }
    local cmd=$1
    shift
    case "$cmd" in
        start) start "$@" ;;
        stop|pause|resume)
            [[ $# -eq 1 ]] || { usage; fatal "$cmd needs NAME"; }
            check_name "$1"
            case "$cmd" in
                stop) stop_instance "$1" ;;
                pause) stop_instance "$1" keep ;;
                resume) resume_instance "$1" ;;
            esac
            ;;
        gc) gc_instances ;;
        -h|--help) usage ;;
        *) usage; fatal "unknown command: $cmd" ;;
    esac
}
