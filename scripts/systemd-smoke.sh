#!/usr/bin/env bash
##
## systemd-smoke.sh — run config/probe-agent.service under a real systemd, in namespaces.
##
## Usage: scripts/systemd-smoke.sh [--root DIR] [-h|--help]
##
## Boots /lib/systemd/systemd as PID 1 of fresh PID, mount, UTS, IPC, network and cgroup
## namespaces (loopback only; /run, /tmp, /var/lib, /var/log are private tmpfs), with a handful
## of stub targets and journald, and starts the unit from config/ as written, except: ExecStart
## points at a copy of the debug build, the config is a loopback one, and WatchdogSec=4s.
##
## --root DIR: boot DIR instead, a Debian root with the probe-agent package installed
## (scripts/debootstrap-smoke.sh makes one): its own systemd, the packaged binaries and the
## packaged unit (same two changes: the loopback config, WatchdogSec=4s), chrooted into DIR
## inside the namespaces. "admin" then also checks that a non-root member of the package's
## group probe-agent can use agentctl and a non-member cannot.
## Then checks, printing one line each and exiting 1 on the first failure:
##   ready      Type=notify: active, STATUS "probing …"
##   sandbox    non-root dynamic user, every capability set empty, no_new_privs, seccomp on
##   journal    the agent's lines carry syslog priorities (info = 6, warning = 4)
##   reload     systemctl reload → STATUS "… config reloaded"
##   admin      agentctl status and doctor reach the admin socket in RuntimeDirectory=
##   watchdog   SIGSTOP the agent → systemd kills and restarts it (Result=watchdog)
##   stop       systemctl stop → exit 0, Result=success
##
## Needs root, util-linux (unshare, nsenter) and systemd. Touches nothing outside the
## namespaces except a cgroup "probe-agent-smoke-PID" under /sys/fs/cgroup/{systemd,unified}
## (removed at the end). Not part of scripts/test.sh: it boots an init system.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
root=""
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --root) [[ $# -eq 2 ]] || fatal "--root needs a directory"; root=$(cd "$2" && pwd) ;;
    "") ;;
    *) fatal "unknown argument: $1 (see --help)" ;;
esac
[[ "$(id -u)" -eq 0 ]] || fatal "needs root (it boots systemd in namespaces)"
[[ -x "$root/lib/systemd/systemd" ]] || fatal "$root/lib/systemd/systemd missing: apt-get install systemd"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo="$here/.."
if [[ -n "$root" ]]; then
    # The packaged binaries and unit, where the package put them.
    agent="$root/usr/bin/probe-agent" agentctl="$root/usr/bin/agentctl" unit="$root/lib/systemd/system/probe-agent.service"
    bin_in_ns=/usr/bin
    [[ -x "$agent" && -x "$agentctl" && -f "$unit" ]] || fatal "probe-agent is not installed in $root"
else
    agent="$repo/.build/debug/probe-agent" agentctl="$repo/.build/debug/agentctl" unit="$repo/config/probe-agent.service"
    bin_in_ns=/run/smoke
    [[ -x "$agent" && -x "$agentctl" ]] || fatal "$agent or $agentctl missing: swift build"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/probe-agent-smoke.XXXXXX")
cgroup="probe-agent-smoke-$$"
boot_pid="" init_pid=""
cleanup() {
    # SIGKILL to the namespace's PID 1 ends every process in it.
    [[ -z "$init_pid" ]] || kill -KILL "$init_pid" 2>/dev/null || true
    [[ -z "$boot_pid" ]] || kill -KILL "$boot_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    for h in systemd unified; do
        for _ in $(seq 50); do # until the killed processes have left the cgroups
            [[ -d /sys/fs/cgroup/$h/$cgroup ]] || break
            find "/sys/fs/cgroup/$h/$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.1
        done
    done
    rm -rf -- "$stage"
}
trap cleanup EXIT

# --- Stage: everything the namespace needs, copied into its private /run at boot. ---
mkdir -p "$stage/units"
cp "$agent" "$agentctl" "$stage/"
cat >"$stage/agent.yaml" <<'EOF'
log_level: info
monitors:
  - id: lo-icmp
    protocol: icmp
    cadence: 1s
    timeout: 200ms
    targets: [127.0.0.1, "::1"]
  - id: lo-closed
    protocol: tcp-connect
    port: 9
    cadence: 1s
    timeout: 200ms
    targets: [127.0.0.1]
EOF
sed -e "s#/usr/local/bin/probe-agent#/run/smoke/probe-agent#" \
    -e "s#/etc/probe-agent/agent.yaml#/run/smoke/agent.yaml#" \
    -e "s#^WatchdogSec=.*#WatchdogSec=4s#" \
    "$unit" >"$stage/units/probe-agent.service"
for t in sysinit basic shutdown network-online network multi-user sockets paths timers slices local-fs swap emergency rescue; do
    printf '[Unit]\nDescription=%s (stub)\n' "$t" >"$stage/units/$t.target"
done
printf '[Unit]\nDescription=smoke\nWants=probe-agent.service systemd-journald.service\n' >"$stage/units/smoke.target"
for u in systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket; do
    cp "$root/lib/systemd/system/$u" "$stage/units/"
done
# With --root the same mounts are made inside DIR (after /dev and /sys from the host), and
# systemd runs chrooted into it: R prefixes every path until then.
cat >"$stage/boot.sh" <<EOF
#!/bin/bash
set -e
R="$root"
if [[ -n "\$R" ]]; then
    # A mount point of its own: the unit's sandbox (ProtectSystem= …) re-mounts "/".
    mount --bind "\$R" "\$R"
    for d in /dev /sys; do mount --rbind "\$d" "\$R\$d"; done
fi
mount -t tmpfs tmpfs "\$R/run"
cp -r "$stage" "\$R/run/smoke" # before /tmp, where the stage is, is covered
chmod -R a+rX "\$R/run/smoke"
for d in /tmp /var/lib /var/log /sys/fs/cgroup; do mount -t tmpfs tmpfs "\$R\$d"; done
mkdir "\$R/sys/fs/cgroup/systemd" "\$R/sys/fs/cgroup/unified"
mount -t cgroup -o none,name=systemd cgroup "\$R/sys/fs/cgroup/systemd"
mount -t cgroup2 cgroup2 "\$R/sys/fs/cgroup/unified"
mount -t proc proc "\$R/proc"
exec chroot "\$R/" env -i container=probe-agent-smoke SYSTEMD_UNIT_PATH=/run/smoke/units \
    /lib/systemd/systemd --unit=smoke.target --log-target=console --show-status=no
EOF
chmod +x "$stage/boot.sh"

# --- Boot: own cgroup first, so the cgroup namespace's root is that, not the host's. ---
for h in systemd unified; do mkdir -p "/sys/fs/cgroup/$h/$cgroup"; done
bash -c "echo \$\$ >/sys/fs/cgroup/systemd/$cgroup/cgroup.procs; echo \$\$ >/sys/fs/cgroup/unified/$cgroup/cgroup.procs
         exec timeout -s KILL 180 unshare --pid --fork --kill-child=SIGKILL --mount --uts --ipc --net --cgroup \
              --propagation private '$stage/boot.sh'" >"$stage/boot.log" 2>&1 &
boot_pid=$!

for _ in $(seq 50); do
    init_pid=$(pgrep -f -n "^/lib/systemd/systemd --unit=smoke.target" || true)
    [[ -n "$init_pid" ]] && break
    sleep 0.2
done
[[ -n "$init_pid" ]] || fatal "systemd did not boot: $(cat "$stage/boot.log")"
# -r -w: into systemd's root as well (the host's, or DIR with --root).
nsenter="nsenter -t $init_pid -m -p -n -u -i -r -w --"
in_ns() { $nsenter "$@"; }
prop() { in_ns systemctl show -p "$1" --value probe-agent.service; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    for _ in $(seq $((secs * 5))); do "$@" && return 0; sleep 0.2; done
    in_ns journalctl --no-pager -u probe-agent.service -n 20 -o cat >&2 || true
    fatal "$what: not within ${secs}s"
}
ok() { printf 'OK    %-9s %s\n' "$1" "$2"; }

# ready
wait_for 30 "ready" bash -c "[[ \$($nsenter systemctl show -p ActiveState --value probe-agent 2>/dev/null) == active ]]"
status=$(prop StatusText)
[[ "$status" == probing* ]] || fatal "ready: STATUS is '$status'"
ok ready "active, STATUS=$status"

# sandbox
main=$(prop MainPID)
proc=$(in_ns cat "/proc/$main/status")
uid=$(awk '/^Uid:/ {print $2}' <<<"$proc")
[[ "$uid" != 0 ]] || fatal "sandbox: runs as root"
for f in CapInh CapPrm CapEff CapAmb; do
    [[ "$(awk -v f="$f:" '$1 == f {print $2}' <<<"$proc")" == 0000000000000000 ]] || fatal "sandbox: $f not empty"
done
grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$proc" || fatal "sandbox: no_new_privs unset"
grep -q '^Seccomp:[[:space:]]*2' <<<"$proc" || fatal "sandbox: no seccomp filter"
ok sandbox "uid $uid, no capabilities, no_new_privs, seccomp filter"

# journal
wait_for 10 "journal" bash -c "$nsenter journalctl -u probe-agent.service -o export | grep -q '^MESSAGE=monitor lo-closed down'"
priorities=$(in_ns journalctl -u probe-agent.service -o export | awk '
    /^PRIORITY=/ {p = substr($0, 10)} /^MESSAGE=/ {m = substr($0, 9)}
    /^$/ { if (m ~ /^engine up: /) info = p; if (m ~ /^monitor lo-closed down/) warn = p; m = "" }
    END {print info " " warn}')
[[ "$priorities" == "6 4" ]] || fatal "journal: priorities of info/warning lines are '$priorities'"
ok journal "info → 6, warning → 4"

# reload
in_ns systemctl reload probe-agent.service
wait_for 10 "reload" bash -c "[[ \$($nsenter systemctl show -p StatusText --value probe-agent) == *'config reloaded' ]]"
ok reload "$(prop StatusText)"

# admin: the socket in RuntimeDirectory= answers agentctl (as root; its mode keeps others out)
in_ns "$bin_in_ns/agentctl" status >/dev/null || fatal "admin: agentctl status failed"
doctor=$(in_ns "$bin_in_ns/agentctl" doctor --config /run/smoke/agent.yaml --agent-binary "$bin_in_ns/probe-agent" || true)
grep -q '^OK    admin socket  */run/probe-agent/admin.sock' <<<"$doctor" || fatal "admin: doctor says: $doctor"
ok admin "agentctl status and doctor reach /run/probe-agent/admin.sock"
if [[ -n "$root" ]]; then
    # The socket is 0660 and belongs to the package's user and group: "nobody" may use it
    # with that group as a supplementary group, and not without.
    owner=$(in_ns stat -c '%U:%G %a' /run/probe-agent/admin.sock)
    [[ "$owner" == "probe-agent:probe-agent 660" ]] || fatal "admin: the socket is $owner"
    as_nobody() { in_ns setpriv --reuid nobody --regid nogroup "$@" "$bin_in_ns/agentctl" status; }
    as_nobody --groups probe-agent >/dev/null || fatal "admin: a member of group probe-agent cannot run agentctl status"
    if as_nobody --clear-groups >/dev/null 2>&1; then fatal "admin: agentctl status works outside group probe-agent"; fi
    ok operator "socket $owner: a member of group probe-agent runs agentctl, others are refused"
fi

# watchdog
in_ns kill -STOP "$main"
wait_for 30 "watchdog restart" bash -c "[[ \$($nsenter systemctl show -p NRestarts --value probe-agent) == 1 && \
    \$($nsenter systemctl show -p ActiveState --value probe-agent) == active ]]"
ok watchdog "frozen PID $main killed, restarted as PID $(prop MainPID)"

# stop
in_ns systemctl stop probe-agent.service
result=$(prop Result) code=$(prop ExecMainStatus)
[[ "$result" == success && "$code" == 0 ]] || fatal "stop: Result=$result ExecMainStatus=$code"
ok stop "Result=success, exit 0"
