#!/usr/bin/env bash
##
## install-deps.sh — install the Debian packages ProbeAgent needs to build, test and run.
##
## Usage: scripts/install-deps.sh [--check] [--list] [-h|--help]
##
##   (no option)  install whatever in DEBIAN_PACKAGES is missing; prints nothing and
##                does not touch apt when everything is already installed.
##                Runs `apt-get update` only when something has to be installed.
##   --check      only report: exit 0 when all are installed, 1 (naming them) otherwise.
##   --list       print the package list, one per line, and exit.
##
## Safe to run any number of times. Needs root only when something is missing.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
# The single list of system packages the project needs. Later issues append here
# (e.g. prometheus-smokeping-prober).
DEBIAN_PACKAGES=(
    liburing-dev      # CProbe: io_uring
    libcap-dev        # CProbe: CAP_NET_RAW handling
    libsnappy-dev     # remote-write compression
    fping             # side-by-side measurement peer
    traceroute        # path tests: agentctl trace next to Debian's traceroute (Tests/support/pathnet.sh)
    mtr-tiny          # path tests: agentctl trace next to mtr's report
    tcpdump           # path tests: TOS and TTL of the probes, seen on the wire
    nftables          # test network: silent host (nft drop)
    iproute2          # test network: namespaces, veth, routes
    prometheus        # remote-write receiver in tests (Tests/support/prometheus.sh)
    victoria-metrics  # second remote-write receiver in tests (Tests/support/victoria-metrics.sh)
    curl              # receiver harness readiness checks
    openssl           # test certificates for remote_write over mTLS and the web config's TLS
    zlib1g-dev        # gzip on /metrics (compress-nio links libz)
    apache2-utils     # htpasswd: bcrypt hashes for the web config's basic_auth_users (tests, README)
    python3           # test helpers: fake remote-write store, TCP listener
    systemd           # systemd-analyze: verify and score config/probe-agent.service in tests
    libcap2-bin       # setcap/getcap: file capabilities (README, agentctl doctor tests)
    dpkg-dev          # scripts/package.sh: dpkg-deb, dpkg-shlibdeps (the release .deb and its tests)
    help2man          # scripts/package.sh: man pages from --help
    lintian           # DebianPackageTests: the .deb is lintian clean
    debootstrap       # scripts/debootstrap-smoke.sh (by hand): a fresh Debian root for the .deb
)

mode=install
while [[ $# -gt 0 ]]; do
    case "$1" in
        --check) mode=check ;;
        --list) mode=list ;;
        -h|--help) usage; exit 0 ;;
        *) usage; fatal "unknown argument: $1" ;;
    esac
    shift
done

if [[ "$mode" == list ]]; then
    printf '%s\n' "${DEBIAN_PACKAGES[@]}"
    exit 0
fi

command -v dpkg-query >/dev/null 2>&1 || fatal "dpkg-query not found: this script supports Debian/Ubuntu only"

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != installed ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$mode" == check ]]; then
    error "missing Debian packages: ${missing[*]}"
    exit 1
fi

if [[ "$(id -u)" -ne 0 ]]; then
    fatal "missing Debian packages: ${missing[*]} — run this script as root (sudo $0) or: sudo apt-get install ${missing[*]}"
fi

log "installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || fatal "apt-get update failed"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || fatal "apt-get install failed for: ${missing[*]}"

# Verify, so a package that apt silently skipped is reported here and not later as a build error.
still=()
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == installed ]] || still+=("$pkg")
done
[[ ${#still[@]} -eq 0 ]] || fatal "still missing after apt-get install: ${still[*]}"
log "installed: ${missing[*]}"
