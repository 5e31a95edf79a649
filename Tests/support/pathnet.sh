#!/usr/bin/env bash
##
## pathnet.sh — a private chain of forwarding namespaces for ProbeAgent's path tests:
## agent → r1 → r2 → target, and a second router r2b between r1 and the target.
##
## Usage: Tests/support/pathnet.sh COMMAND [NAME] [ARGS...]
##
##   up NAME              create the chain (removes a stale one of the same NAME first), then
##                        run `check`. Prints nothing on success.
##   down NAME            remove every namespace of NAME. Idempotent.
##   check NAME           verify from the agent namespace that both test prefixes leave over
##                        its veth to r1 only, that no namespace has a default route, and that
##                        each has only lo and its veths.
##   exec NAME NODE CMD.. run CMD inside NODE: agent, r1, r2, r2b or target.
##   route NAME WAY       how r1 forwards to the target's link, both families: via-r2 (as
##                        after `up`), via-r2b (the target's return route too), or ecmp (a
##                        multipath route over r2 and r2b, hashed on L4 (policy 1) so each
##                        flow keeps one; returns go via r2). Then runs `check`.
##   info NAME            print the addresses below as KEY=VALUE lines.
##   gc                   remove chains whose owner process (the caller of `up`, or
##                        $PROBEAGENT_PATHNET_OWNER) is gone.
##
## NAME: 1-20 characters [A-Za-z0-9_-], unique per concurrent user (tests pass their PID).
## Needs root, ip and nft; exits 77 when it cannot run here so a test can skip with that
## reason. Any other failure exits 1.
##
## Topology — nothing is connected to the root namespace or to any real network:
##
##   pp-a-NAME (agent)  p1 198.18.20.1/30  2001:db8:20::1/64
##          │ veth
##   pp-1-NAME (r1)     p0 198.18.20.2/30  2001:db8:20::2/64   ← hop 1
##                      p2 198.18.21.1/30  2001:db8:21::1/64
##          │ veth
##   pp-2-NAME (r2)     p1 198.18.21.2/30  2001:db8:21::2/64   ← hop 2
##                      p3 198.18.22.1/30  2001:db8:22::1/64
##          │ veth
##   pp-t-NAME (target) p2 198.18.22.2/30  2001:db8:22::2/64   ← hop 3, the target
##                      p4 198.18.24.2/30  2001:db8:24::2/64
##
##   pp-b-NAME (r2b)    p1 198.18.23.2/30  2001:db8:23::2/64   ← hop 2 on the second path
##                      p3 198.18.24.1/30  2001:db8:24::1/64     (r1 p4 198.18.23.1 / 2001:db8:23::1)
##
## Each router answers for itself with the address of its link towards the agent (the way
## back), so a trace to the target reads 198.18.20.2, 198.18.21.2, 198.18.22.2 (v6 likewise).
## Routers forward, with no ICMP error rate limit (a trace sends bursts of errors their way).
## Tools for tests: `exec NAME r1 nft ...` (drop its time-exceeded), `exec NAME r1 ip link set
## p2 mtu 1280` (a narrow link), `exec NAME target tcpdump ...` (what arrives).
##
set -euo pipefail

NETNS_TAG=pathnet
NETNS_NAME_MAX=20
# shellcheck source=netns-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns-lib.sh"

STATE_ROOT=${PROBEAGENT_PATHNET_STATE:-/run/probeagent-pathnet}
NODES=(agent r1 r2 target r2b)
# Link i joins NODES[i] and NODES[i+1]: prefix 198.18.(20+i).0/30 and 2001:db8:(20+i)::/64;
# the interface in a node is named p<index of the node at the other end>.
TARGET_V4=198.18.22.2
TARGET_V6=2001:db8:22::2
HOPS_V4=(198.18.20.2 198.18.21.2 198.18.22.2)
HOPS_V6=(2001:db8:20::2 2001:db8:21::2 2001:db8:22::2)
# The second path (r1 → r2b → target), node index 4: link 3 joins r1 and r2b, link 4 r2b and the target.
HOPS_B_V4=(198.18.20.2 198.18.23.2 198.18.22.2)
HOPS_B_V6=(2001:db8:20::2 2001:db8:23::2 2001:db8:22::2)

require_env() { require_root_and ip nft; }

set_names() {
    NAME=$1
    STATE=$STATE_ROOT/$NAME
}

# Namespace of node index i (0 agent, 1 r1, 2 r2, 3 target, 4 r2b).
ns_of() {
    local tags=(a 1 2 t b)
    echo "pp-${tags[$1]}-$NAME"
}

node_index() {
    local i
    for i in "${!NODES[@]}"; do [[ "${NODES[$i]}" == "$1" ]] && { echo "$i"; return 0; }; done
    fatal "unknown node '$1' (one of: ${NODES[*]})"
}


do_down() {
    local i ns ok=1
    for i in "${!NODES[@]}"; do
        ns=$(ns_of "$i")
        if ns_exists "$ns"; then ip netns del "$ns" || { error "could not delete namespace $ns"; ok=0; }; fi
    done
    rm -rf -- "$STATE"
    [[ $ok -eq 1 ]]
}

on_up_exit() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then error "up failed; tearing down"; do_down || true; fi
    return "$rc"
}

# The left and right node of link l: 0-2 the chain (l, l+1), 3 r1–r2b, 4 r2b–target.
link_left() { local left=(0 1 2 1 4); echo "${left[$1]}"; }
link_right() { local right=(1 2 3 4 3); echo "${right[$1]}"; }
# The address of node index n on link l: .1 / ::1 for the left end, .2 / ::2 for the right.
v4_of() { echo "198.18.$((20 + $2)).$(($1 == $(link_left "$2") ? 1 : 2))"; }
v6_of() { echo "2001:db8:$((20 + $2))::$(($1 == $(link_left "$2") ? 1 : 2))"; }

do_up() {
    local owner=${PROBEAGENT_PATHNET_OWNER:-$PPID} i l ns left right
    for i in "${!NODES[@]}"; do
        if ns_exists "$(ns_of "$i")"; then
            log "removing stale chain '$NAME'"
            do_down || fatal "could not remove stale chain '$NAME'"
            break
        fi
    done
    trap on_up_exit EXIT
    mkdir -p -- "$STATE"
    echo "$owner" >"$STATE/owner"

    for i in "${!NODES[@]}"; do
        ns=$(ns_of "$i")
        ip netns add "$ns"
        # Before any veth exists, so they inherit it: no DAD, no router advertisements.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
        ip -n "$ns" link set lo up
    done
    # Links, created inside the namespaces (never in the root one).
    local a b
    for l in 0 1 2 3 4; do
        a=$(link_left "$l"); b=$(link_right "$l")
        left=$(ns_of "$a"); right=$(ns_of "$b")
        in_ns "$left" link add "p$b" type veth peer name "p$a" netns "$right"
        in_ns "$left" addr add "$(v4_of "$a" "$l")/30" dev "p$b"
        in_ns "$left" -6 addr add "$(v6_of "$a" "$l")/64" dev "p$b" nodad
        in_ns "$right" addr add "$(v4_of "$b" "$l")/30" dev "p$a"
        in_ns "$right" -6 addr add "$(v6_of "$b" "$l")/64" dev "p$a" nodad
        in_ns "$left" link set "p$b" up
        in_ns "$right" link set "p$a" up
    done
    # Routers forward, and answer every probe: no ICMP error rate limit. No reverse-path
    # filter anywhere: after a route change the way back may differ from the way in. ECMP
    # hashes on L4 (ports, and the ICMP identifier where the kernel reads it).
    for i in 1 2 3 4; do
        ip netns exec "$(ns_of "$i")" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    done
    for i in 1 2 4; do
        ip netns exec "$(ns_of "$i")" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
            net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
            net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
    done
    ip netns exec "$(ns_of 3)" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
    # Routes: the test prefixes only, towards the target rightwards and back leftwards.
    in_ns "$(ns_of 0)" route add 198.18.0.0/15 via "$(v4_of 1 0)" dev p1
    in_ns "$(ns_of 0)" -6 route add 2001:db8::/32 via "$(v6_of 1 0)" dev p1
    in_ns "$(ns_of 1)" route add 198.18.22.0/30 via "$(v4_of 2 1)" dev p2
    in_ns "$(ns_of 1)" -6 route add 2001:db8:22::/64 via "$(v6_of 2 1)" dev p2
    in_ns "$(ns_of 2)" route add 198.18.20.0/30 via "$(v4_of 1 1)" dev p1
    in_ns "$(ns_of 2)" -6 route add 2001:db8:20::/64 via "$(v6_of 1 1)" dev p1
    in_ns "$(ns_of 3)" route add 198.18.0.0/15 via "$(v4_of 2 2)" dev p2
    in_ns "$(ns_of 3)" -6 route add 2001:db8::/32 via "$(v6_of 2 2)" dev p2
    # r2b: to the target over its own link, back to the agent via r1.
    in_ns "$(ns_of 4)" route add 198.18.22.0/30 via "$(v4_of 3 4)" dev p3
    in_ns "$(ns_of 4)" -6 route add 2001:db8:22::/64 via "$(v6_of 3 4)" dev p3
    in_ns "$(ns_of 4)" route add 198.18.20.0/30 via "$(v4_of 1 3)" dev p1
    in_ns "$(ns_of 4)" -6 route add 2001:db8:20::/64 via "$(v6_of 1 3)" dev p1
    # Wait (bounded) until no address is tentative and every link has carrier.
    for ((i = 0; i < 50; i++)); do            # at most 5 s
        if links_ready; then break; fi
        sleep 0.1
    done
    trap - EXIT
    do_check || { do_down || true; fatal "check failed after up; chain '$NAME' removed"; }
}

links_ready() {
    local i ns
    for i in "${!NODES[@]}"; do
        ns=$(ns_of "$i")
        [[ -z "$(in_ns "$ns" -6 addr show tentative)" ]] || return 1
        ! in_ns "$ns" -o link show | grep -v ': lo:' | grep -qv LOWER_UP || return 1
    done
}

do_check() {
    local ok=1 i ns out ifs want dst
    for i in "${!NODES[@]}"; do
        ns=$(ns_of "$i")
        ns_exists "$ns" || fatal "namespace $ns does not exist"
        out=$(in_ns "$ns" -4 route show default; in_ns "$ns" -6 route show default)
        if [[ -n "$out" ]]; then error "$ns has a default route: $out"; ok=0; fi
        ifs=$(in_ns "$ns" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' ')
        case $i in 0) want="lo p1 " ;; 1) want="lo p0 p2 p4 " ;; 2) want="lo p1 p3 " ;; 3) want="lo p2 p4 " ;; 4) want="lo p1 p3 " ;; esac
        if [[ "$ifs" != "$want" ]]; then error "$ns has unexpected interfaces: $ifs"; ok=0; fi
        for ifs in $want; do
            [[ "$ifs" == lo ]] && continue
            in_ns "$ns" -d link show "$ifs" | grep -q veth || { error "$ns $ifs is not a veth"; ok=0; }
        done
    done
    # Both families' test prefixes leave the agent over its veth to r1; nothing else is routed.
    for dst in 198.18.0.1 198.18.22.2 199.18.255.254; do
        out=$(in_ns "$(ns_of 0)" route get "$dst" 2>&1 | head -n1) || true
        if [[ $dst == 199.* ]]; then
            [[ "$out" == *"unreachable"* ]] || { error "agent routes $dst (must not): $out"; ok=0; }
        elif [[ " $out " != *" via 198.18.20.2 dev p1 "* ]]; then
            error "route to $dst does not go via r1: $out"; ok=0
        fi
    done
    out=$(in_ns "$(ns_of 0)" route get "$TARGET_V6" 2>&1 | head -n1) || true
    [[ " $out " == *" via 2001:db8:20::2 dev p1 "* ]] || { error "route to $TARGET_V6 does not go via r1: $out"; ok=0; }
    # r1 reaches the target's link only over r2 and/or r2b, and nothing outside the test prefixes.
    out=$(in_ns "$(ns_of 1)" route show 198.18.22.0/30; in_ns "$(ns_of 1)" -6 route show 2001:db8:22::/64)
    out=$(grep -oE 'via [0-9a-f:.]+' <<<"$out" | sort -u | tr '\n' ' ')
    [[ -n "$out" && "$(sed -E 's/via (198\.18\.21\.2|198\.18\.23\.2|2001:db8:21::2|2001:db8:23::2) //g' <<<"$out")" == "" ]] \
        || { error "r1 routes the target's link elsewhere than r2/r2b: $out"; ok=0; }
    out=$(in_ns "$(ns_of 1)" route get 199.18.255.254 2>&1 | head -n1) || true
    [[ "$out" == *"unreachable"* ]] || { error "r1 routes 199.18.255.254 (must not): $out"; ok=0; }
    [[ $ok -eq 1 ]]
}

# r1's way to the target's link (and the target's way back), both families.
do_route() {
    local way=${1:-}
    local r1 t
    r1=$(ns_of 1); t=$(ns_of 3)
    case $way in
        via-r2)
            in_ns "$r1" route replace 198.18.22.0/30 via 198.18.21.2 dev p2
            in_ns "$r1" -6 route replace 2001:db8:22::/64 via 2001:db8:21::2 dev p2
            in_ns "$t" route replace 198.18.0.0/15 via 198.18.22.1 dev p2
            in_ns "$t" -6 route replace 2001:db8::/32 via 2001:db8:22::1 dev p2
            ;;
        via-r2b)
            in_ns "$r1" route replace 198.18.22.0/30 via 198.18.23.2 dev p4
            in_ns "$r1" -6 route replace 2001:db8:22::/64 via 2001:db8:23::2 dev p4
            in_ns "$t" route replace 198.18.0.0/15 via 198.18.24.1 dev p4
            in_ns "$t" -6 route replace 2001:db8::/32 via 2001:db8:24::1 dev p4
            ;;
        ecmp)
            in_ns "$r1" route replace 198.18.22.0/30 nexthop via 198.18.21.2 dev p2 nexthop via 198.18.23.2 dev p4
            in_ns "$r1" -6 route del 2001:db8:22::/64 2>/dev/null || true
            in_ns "$r1" -6 route add 2001:db8:22::/64 nexthop via 2001:db8:21::2 dev p2 nexthop via 2001:db8:23::2 dev p4
            in_ns "$t" route replace 198.18.0.0/15 via 198.18.22.1 dev p2
            in_ns "$t" -6 route replace 2001:db8::/32 via 2001:db8:22::1 dev p2
            ;;
        *) fatal "route: give via-r2, via-r2b or ecmp (not '$way')" ;;
    esac
    do_check
}

do_info() {
    cat <<INFO
AGENT_NS=$(ns_of 0)
R1_NS=$(ns_of 1)
R2_NS=$(ns_of 2)
TARGET_NS=$(ns_of 3)
TARGET_V4=$TARGET_V4
TARGET_V6=$TARGET_V6
HOPS_V4=${HOPS_V4[*]}
HOPS_V6=${HOPS_V6[*]}
R2B_NS=$(ns_of 4)
HOPS_B_V4=${HOPS_B_V4[*]}
HOPS_B_V6=${HOPS_B_V6[*]}
INFO
}

do_gc() { netns_gc_orphans chain; }

[[ $# -ge 1 ]] || { usage; exit 1; }
cmd=$1; shift
case "$cmd" in
    -h|--help|help) usage; exit 0 ;;
    up|down|check|info)
        check_name "$@"; set_names "$1"
        [[ "$cmd" == info ]] || require_env
        "do_$cmd"
        ;;
    route)
        check_name "$@"; set_names "$1"; shift
        require_env
        do_route "$@"
        ;;
    exec)
        check_name "$@"; set_names "$1"; shift
        [[ $# -ge 2 ]] || fatal "exec: give a node and a command"
        require_env
        ns=$(ns_of "$(node_index "$1")"); shift
        ns_exists "$ns" || fatal "namespace $ns does not exist (run: $0 up $NAME)"
        exec ip netns exec "$ns" "$@"
        ;;
    gc) require_env; do_gc ;;
    *) usage; fatal "unknown command: $cmd" ;;
esac
