# netns-lib.sh — what the tests' namespace scripts (testnet.sh, pathnet.sh) share: their
# messages, the NAME rule, the root-and-tools check, namespace helpers, and the sweep of
# networks whose owner process is gone. Sourced, not run: set NETNS_TAG (the word in
# messages: testnet, pathnet) and NETNS_NAME_MAX (longest NAME) first; the sourcing script
# defines set_names NAME and do_down, which netns_gc_orphans calls.

log() { printf -- "** %s: %s\n" "$NETNS_TAG" "$*" >&2; }
error() { printf -- "** %s ERROR: %s\n" "$NETNS_TAG" "$*" >&2; }
fatal() { error "$@"; exit 1; }
# Exit status 77: the test that called us skips, with this reason.
cannot_run() { printf -- "** %s SKIP: %s\n" "$NETNS_TAG" "$*" >&2; exit 77; }
usage() { sed -n 's/^## \{0,1\}//p' "$0" >&2; }

# Root, and each of TOOLS on PATH; else skip (77) naming what is missing.
require_root_and() {
    [[ "$(id -u)" -eq 0 ]] || cannot_run "needs root to create network namespaces (running as uid $(id -u))"
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || cannot_run "'$tool' not found (scripts/install-deps.sh installs iproute2 and nftables)"
    done
}

check_name() {
    [[ $# -ge 1 && -n "$1" ]] || { usage; fatal "missing NAME"; }
    [[ "$1" =~ ^[A-Za-z0-9_-]{1,$NETNS_NAME_MAX}$ ]] || fatal "bad NAME '$1': use 1-$NETNS_NAME_MAX characters [A-Za-z0-9_-]"
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }
in_ns() { local ns=$1; shift; ip -n "$ns" "$@"; }

# Takes down every network under STATE_ROOT whose owner (the pid in its `owner` file) is gone,
# saying so with WHAT ("network", "chain"); the names it looked at go in NETNS_GC_SEEN.
declare -gA NETNS_GC_SEEN=()
netns_gc_orphans() {
    local what=$1 dir name owner
    [[ -d "$STATE_ROOT" ]] || return 0
    for dir in "$STATE_ROOT"/*/; do
        [[ -d "$dir" ]] || continue
        name=$(basename "$dir")
        [[ "$name" =~ ^[A-Za-z0-9_-]{1,$NETNS_NAME_MAX}$ ]] || continue
        NETNS_GC_SEEN[$name]=1
        owner=$(cat "$dir/owner" 2>/dev/null || true)
        if [[ "$owner" =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null; then continue; fi
        log "removing $what '$name' (owner ${owner:-unknown} is gone)"
        set_names "$name"; do_down || true
    done
}
