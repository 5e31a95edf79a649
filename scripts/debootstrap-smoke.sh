#!/usr/bin/env bash
##
## debootstrap-smoke.sh — install the .deb into a fresh Debian root (no Swift in it) and boot it.
##
## Usage: scripts/debootstrap-smoke.sh [--deb FILE] [--suite SUITE] [--mirror URL] [--keep] [-h|--help]
##
##   1. the package: --deb FILE, or scripts/package.sh builds it
##   2. debootstrap --variant=minbase SUITE (default: this host's, e.g. bookworm) with systemd and
##      procps, into a temp dir; checks that no Swift runtime is in it
##   3. apt-get install ./probe-agent_*.deb inside it (chroot): Depends come from the mirror,
##      postinst creates the user, enables the unit, starts nothing (no systemd running there);
##      the packaged config passes `agentctl config check`
##   4. scripts/systemd-smoke.sh --root DIR: boots the root's own systemd in namespaces and checks
##      ready, sandbox, journal, reload, admin (and a group member's agentctl), watchdog, stop
##   5. removes the root (--keep leaves it, and says where)
##
## Needs root, debootstrap and the Debian mirror (--mirror, default http://deb.debian.org/debian;
## ~100 MB, a few minutes). By hand: not part of scripts/test.sh. Probes go to loopback only.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deb="" suite="" mirror=http://deb.debian.org/debian keep=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        --deb) [[ $# -ge 2 ]] || fatal "--deb needs a file"; deb=$(realpath "$2"); shift ;;
        --suite) [[ $# -ge 2 ]] || fatal "--suite needs a name"; suite=$2; shift ;;
        --mirror) [[ $# -ge 2 ]] || fatal "--mirror needs a URL"; mirror=$2; shift ;;
        --keep) keep=yes ;;
        -h|--help) usage; exit 0 ;;
        *) fatal "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
[[ "$(id -u)" -eq 0 ]] || fatal "needs root (debootstrap, chroot, namespaces)"
command -v debootstrap >/dev/null || fatal "debootstrap missing: scripts/install-deps.sh installs it"
if [[ -z "$suite" ]]; then
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n "$suite" ]] || fatal "cannot tell this host's Debian suite: pass --suite"
fi
if [[ -z "$deb" ]]; then
    deb=$("$here/package.sh" | tail -n1)
fi
[[ -f "$deb" ]] || fatal "$deb: no such package"

root=$(mktemp -d "${TMPDIR:-/tmp}/probe-agent-debootstrap.XXXXXX")
chmod 0755 "$root" # it becomes "/": the agent's user must be able to enter it
cleanup() {
    if [[ "$keep" == yes ]]; then log "kept the root: $root"; return; fi
    # Every mount was made in a private mount namespace; refuse to delete through one anyway.
    if findmnt -rn -o TARGET | grep -q "^$root"; then error "mounts left under $root; not removing it"; return; fi
    rm -rf --one-file-system -- "$root"
}
trap cleanup EXIT

log "debootstrap --variant=minbase $suite $root $mirror"
debootstrap --variant=minbase --include=systemd,procps "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; fatal "debootstrap failed (log: $root.log)"; }
rm -f -- "$root.log"
swift=$(find "$root" -xdev \( -name 'libswiftCore*' -o -name 'libFoundation*.so*' -o -name 'libdispatch.so*' -o -path "$root/opt/swift" \) -print -quit)
[[ -z "$swift" ]] || fatal "the fresh root holds a Swift runtime: $swift"
echo "OK    root      Debian $suite minbase + systemd in $root, no Swift runtime in it"

# chroot: the maintainer scripts run as on a real host (DPKG_ROOT empty), with /proc mounted in a
# mount namespace of their own; /run/systemd/system does not exist there, so nothing is started.
in_root() { unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" "$@"; }
cp "$deb" "$root/tmp/"
in_root apt-get update -q >"$root/tmp/install.log" 2>&1 || { tail -n 30 "$root/tmp/install.log" >&2; fatal "apt-get update failed"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
    >>"$root/tmp/install.log" 2>&1 || { tail -n 30 "$root/tmp/install.log" >&2; fatal "apt-get install of the .deb failed"; }
installed=$(in_root dpkg-query -W -f '${Version} ${Depends}' probe-agent)
echo "OK    install   probe-agent $installed"
in_root getent passwd probe-agent >/dev/null || fatal "postinst created no user probe-agent"
[[ -L "$root/etc/systemd/system/multi-user.target.wants/probe-agent.service" ]] || fatal "postinst did not enable the unit"
ldd_out=$(in_root ldd /usr/bin/probe-agent)
if grep -q "not found" <<<"$ldd_out"; then fatal "ldd: $ldd_out"; fi
in_root /usr/bin/agentctl config check /etc/probe-agent/agent.yaml >/dev/null || fatal "the packaged config is invalid"
echo "OK    config    user probe-agent, unit enabled, every library found, /etc/probe-agent/agent.yaml valid"

"$here/systemd-smoke.sh" --root "$root"
