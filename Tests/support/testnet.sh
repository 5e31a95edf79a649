#!/usr/bin/env bash
##
## testnet.sh — a private two-namespace test network for ProbeAgent's tests.
##
## Usage: Tests/support/testnet.sh COMMAND [NAME] [ARGS...]
##
##   up NAME          create the network (removes a stale one of the same NAME first),
##                    start the TCP listener, then run `check`. Prints nothing on success.
##   down NAME        remove everything of NAME (listener, namespaces, state). Idempotent.
##   check NAME       verify from the client namespace that every test prefix is routed over
##                    the veth to the server, that there is no default route, and that the
##                    namespaces have no interface but lo and the veth between them.
##   exec NAME CMD..  run CMD inside the client namespace (where probes are sent from).
##   sexec NAME CMD.. run CMD inside the server namespace (e.g. to inject packets).
##   info NAME        print the addresses below as KEY=VALUE lines.
##   gc               tear down networks whose owner process (the caller of `up`, or
##                    $PROBEAGENT_TESTNET_OWNER) is gone.
##
## NAME: 1-24 characters [A-Za-z0-9_-], unique per concurrent user (tests pass their PID).
## Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN), ip, nft and python3; exits 77 when it cannot
## run here so a test can skip with that reason. Any other failure exits 1.
##
## Topology — nothing is connected to the root namespace or to any real network:
##
##   pa-c-NAME (client)                         pa-s-NAME (server, forwarding on)
##   pa0 198.18.0.1/30, 2001:db8::1/64 <-veth-> pa0 198.18.0.2/30, 2001:db8::2/64
##   routes: 198.18.0.0/15 via 198.18.0.2,
##           2001:db8::/32 via 2001:db8::2, no default route
##
##   alive       198.18.1.0/24   2001:db8:1::/64  local (AnyIP) in the server: echo replies,
##                                                closed ports answer RST
##   open port   198.18.1.1:8080 [2001:db8:1::1]:8080  TCP listener (accepts, closes)
##   silent      198.18.2.0/24   2001:db8:2::/64  local in the server, dropped by nft → timeout
##   prohibited  198.18.3.0/24   2001:db8:3::/64  `prohibit` route in the server → ICMP
##                                                v4 type 3 code 13, v6 type 1 code 1
##   unreachable 198.18.4.0/24   2001:db8:4::/64  `unreachable` route in the server → ICMP
##                                                v4 type 3 code 1, v6 type 1 code 0
##
## The listener exits by itself after $PROBEAGENT_TESTNET_LISTENER_SECONDS (default 1800).
## State lives in $PROBEAGENT_TESTNET_STATE (default /run/probeagent-testnet)/NAME.
##
set -euo pipefail

NETNS_TAG=testnet
NETNS_NAME_MAX=24
# shellcheck source=netns-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns-lib.sh"

STATE_ROOT=${PROBEAGENT_TESTNET_STATE:-/run/probeagent-testnet}
LISTENER_SECONDS=${PROBEAGENT_TESTNET_LISTENER_SECONDS:-1800}
VETH=pa0
LISTEN_PORT=8080
C_V4=198.18.0.1;  S_V4=198.18.0.2
C_V6=2001:db8::1; S_V6=2001:db8::2
# Addresses `check` routes for: one per prefix of the topology.
CHECK_DSTS=(198.18.1.1 198.18.2.1 198.18.3.1 198.18.4.1
            2001:db8:1::1 2001:db8:2::1 2001:db8:3::1 2001:db8:4::1)

require_env() { require_root_and ip nft python3; }

set_names() {
    NAME=$1
    CNS=pa-c-$NAME
    SNS=pa-s-$NAME
    STATE=$STATE_ROOT/$NAME
}

cns() { ip -n "$CNS" "$@"; }
sns() { ip -n "$SNS" "$@"; }

# True while PID exists and is not a zombie (an exited child waits for its reaper).
pid_running() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Prints the listener's PID if the pidfile names a live process that is our listener.
listener_pid() {
    local pid
    [[ -s "$STATE/listener.pid" ]] || return 1
    pid=$(<"$STATE/listener.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "probeagent-testnet-listener $NAME " || return 1
    echo "$pid"
}

do_down() {
    local pid i
    if pid=$(listener_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do       # at most 5 s
            pid_running "$pid" || break
            sleep 0.1
        done
        if pid_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    # Deleting a namespace destroys its end of the veth and with it the peer, and its nft rules.
    ns_exists "$CNS" && { ip netns del "$CNS" || error "could not delete namespace $CNS"; }
    ns_exists "$SNS" && { ip netns del "$SNS" || error "could not delete namespace $SNS"; }
    rm -rf -- "$STATE"
    ! ns_exists "$CNS" && ! ns_exists "$SNS"
}

# The open port: a TCP listener bound to the AnyIP addresses (IP_FREEBIND), accepting and
# closing connections, that exits by itself at its deadline. It writes its PID once bound.
LISTENER_PY='
import os, selectors, socket, sys, time
name, pidfile, port, seconds = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + seconds
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
sel = selectors.DefaultSelector()
for fam, addr in ((socket.AF_INET, "198.18.1.1"), (socket.AF_INET6, "2001:db8:1::1")):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.bind((addr, port))
    s.listen(1024)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
tmp = pidfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(tmp, pidfile)
while time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1.0):
        for _ in range(256):
            try:
                c, _ = key.fileobj.accept()
            except (BlockingIOError, InterruptedError):
                break
            c.close()
'

# EXIT trap while `up` builds: a failure (set -e) tears down whatever was built.
on_up_exit() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then error "up failed; tearing down"; do_down || true; fi
    return "$rc"
}

do_up() {
    local owner=${PROBEAGENT_TESTNET_OWNER:-$PPID} i
    # Clean a stale network of the same NAME first.
    if ns_exists "$CNS" || ns_exists "$SNS" || [[ -e "$STATE" ]]; then
        log "removing stale network '$NAME'"
        do_down || fatal "could not remove stale network '$NAME'"
    fi
    # Any failure from here on (set -e exits) tears down what was built.
    trap on_up_exit EXIT
    mkdir -p -- "$STATE"
    echo "$owner" >"$STATE/owner"

    ip netns add "$CNS"
    ip netns add "$SNS"
    local ns
    for ns in "$CNS" "$SNS"; do
        # Before the veth exists, so it inherits them: no DAD (a tentative address loses the
        # first IPv6 packets), no router advertisements.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
        ip -n "$ns" link set lo up
    done
    # Both ends are created directly inside the namespaces: the veth never exists in the
    # root namespace.
    cns link add "$VETH" type veth peer name "$VETH" netns "$SNS"

    # Client: addresses on the veth, routes for the test prefixes only, no default route.
    cns addr add "$C_V4/30" dev "$VETH"
    cns -6 addr add "$C_V6/64" dev "$VETH" nodad
    cns link set "$VETH" up
    cns route add 198.18.0.0/15 via "$S_V4" dev "$VETH"
    cns -6 route add 2001:db8::/32 via "$S_V6" dev "$VETH"

    # Server: forwarding on (for the ICMP errors of prohibit/unreachable routes), no ICMP
    # error rate limit (tests send bursts), AnyIP prefixes, blackhole-by-nft, error routes.
    ip netns exec "$SNS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
    sns addr add "$S_V4/30" dev "$VETH"
    sns -6 addr add "$S_V6/64" dev "$VETH" nodad
    sns link set "$VETH" up
    sns route add local 198.18.1.0/24 dev lo
    sns -6 route add local 2001:db8:1::/64 dev lo
    sns route add local 198.18.2.0/24 dev lo
    sns -6 route add local 2001:db8:2::/64 dev lo
    sns route add prohibit 198.18.3.0/24
    sns -6 route add prohibit 2001:db8:3::/64
    sns route add unreachable 198.18.4.0/24
    sns -6 route add unreachable 2001:db8:4::/64
    ip netns exec "$SNS" nft -f - <<'NFT'
table inet probeagent_testnet {
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 198.18.2.0/24 drop
        ip6 daddr 2001:db8:2::/64 drop
    }
}
NFT

    # Static neighbours both ways: no ARP/ND on the first probe (no lost or slow first packet).
    local cmac smac
    cmac=$(cns link show "$VETH" | awk '/link\/ether/ {print $2}')
    smac=$(sns link show "$VETH" | awk '/link\/ether/ {print $2}')
    [[ -n "$cmac" && -n "$smac" ]] || fatal "cannot read the veth MAC addresses"
    cns neigh replace "$S_V4" lladdr "$smac" dev "$VETH" nud permanent
    cns -6 neigh replace "$S_V6" lladdr "$smac" dev "$VETH" nud permanent
    sns neigh replace "$C_V4" lladdr "$cmac" dev "$VETH" nud permanent
    sns -6 neigh replace "$C_V6" lladdr "$cmac" dev "$VETH" nud permanent

    # Wait (bounded) until no address is tentative and both ends have carrier.
    for ((i = 0; i < 50; i++)); do            # at most 5 s
        if [[ -z "$(cns -6 addr show tentative; sns -6 addr show tentative)" ]] \
            && cns link show "$VETH" | grep -q LOWER_UP && sns link show "$VETH" | grep -q LOWER_UP; then
            break
        fi
        sleep 0.1
    done

    # The listener: killed by PID in `down`; exits by itself at its deadline. It must hold
    # none of the caller's file descriptors: a caller that reads our output to EOF, or (like
    # Foundation's Process on Linux) detects our exit through an inherited socket, would
    # otherwise wait for the listener instead of for us. So: stdio to a log, all else closed.
    (
        for fd in "/proc/$BASHPID/fd/"*; do
            fd=${fd##*/}
            if [[ "$fd" =~ ^[0-9]+$ && "$fd" -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec ip netns exec "$SNS" python3 -c "$LISTENER_PY" "probeagent-testnet-listener" "$NAME" \
            "$STATE/listener.pid" "$LISTEN_PORT" "$LISTENER_SECONDS" \
            </dev/null >"$STATE/listener.log" 2>&1
    ) &
    for ((i = 0; i < 100; i++)); do           # at most 10 s
        [[ -s "$STATE/listener.pid" ]] && break
        kill -0 $! 2>/dev/null || break
        sleep 0.1
    done
    listener_pid >/dev/null || { cat "$STATE/listener.log" >&2 || true; false; }

    trap - EXIT
    do_check || { do_down || true; fatal "check failed after up; network '$NAME' removed"; }
}

do_check() {
    local ok=1 dst out via ifs ns
    ns_exists "$CNS" || fatal "namespace $CNS does not exist"
    ns_exists "$SNS" || fatal "namespace $SNS does not exist"

    # No default route in the client, for either family.
    out=$(cns -4 route show default; cns -6 route show default)
    if [[ -n "$out" ]]; then error "client has a default route: $out"; ok=0; fi

    # Each namespace has only lo and the veth; the client's veth peer is in the server ns.
    for ns in "$CNS" "$SNS"; do
        ifs=$(ip -n "$ns" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' ')
        if [[ "$ifs" != "lo $VETH " ]]; then error "$ns has unexpected interfaces: $ifs"; ok=0; fi
    done
    if ! cns -d link show "$VETH" | grep -q "veth"; then error "client $VETH is not a veth"; ok=0; fi
    if ! cns link show "$VETH" | grep -q "link-netns $SNS"; then
        error "client $VETH is not linked to namespace $SNS"; ok=0
    fi

    # Every test prefix leaves the client via the veth to the server.
    for dst in "${CHECK_DSTS[@]}"; do
        if [[ "$dst" == *:* ]]; then via=$S_V6; else via=$S_V4; fi
        out=$(cns route get "$dst" 2>&1 | head -n1) || true
        if [[ " $out " != *" via $via dev $VETH "* ]]; then
            error "route to $dst does not go via $via dev $VETH: $out"; ok=0
        fi
    done

    if ! listener_pid >/dev/null; then error "TCP listener is not running"; ok=0; fi
    [[ $ok -eq 1 ]]
}

do_info() {
    cat <<INFO
CLIENT_NS=$CNS
SERVER_NS=$SNS
CLIENT_V4=$C_V4
CLIENT_V6=$C_V6
SERVER_V4=$S_V4
SERVER_V6=$S_V6
ALIVE_V4=198.18.1.0/24
ALIVE_V6=2001:db8:1::/64
OPEN_V4=198.18.1.1
OPEN_V6=2001:db8:1::1
OPEN_PORT=$LISTEN_PORT
SILENT_V4=198.18.2.0/24
SILENT_V6=2001:db8:2::/64
PROHIBIT_V4=198.18.3.0/24
PROHIBIT_V6=2001:db8:3::/64
UNREACHABLE_V4=198.18.4.0/24
UNREACHABLE_V6=2001:db8:4::/64
INFO
}

do_gc() {
    local ns name
    netns_gc_orphans network
    # Namespaces of ours with no state at all (e.g. the state dir was wiped by a reboot of /run).
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ "$ns" =~ ^pa-[cs]-([A-Za-z0-9_-]{1,24})$ ]] || continue
        name=${BASH_REMATCH[1]}
        [[ -n "${NETNS_GC_SEEN[$name]:-}" ]] && continue
        NETNS_GC_SEEN[$name]=1
        log "removing orphan network '$name'"
        set_names "$name"; do_down || true
    done
}

[[ $# -ge 1 ]] || { usage; exit 1; }
cmd=$1; shift
case "$cmd" in
    -h|--help|help) usage; exit 0 ;;
    up|down|check|info)
        check_name "$@"; set_names "$1"
        [[ "$cmd" == info ]] || require_env
        "do_$cmd"
        ;;
    exec|sexec)
        check_name "$@"; set_names "$1"; shift
        [[ $# -ge 1 ]] || fatal "$cmd: missing command"
        require_env
        if [[ "$cmd" == exec ]]; then ns=$CNS; else ns=$SNS; fi
        ns_exists "$ns" || fatal "namespace $ns does not exist (run: $0 up $NAME)"
        exec ip netns exec "$ns" "$@"
        ;;
    gc) require_env; do_gc ;;
    *) usage; fatal "unknown command: $cmd" ;;
esac
