#!/usr/bin/env bash
# Config load benchmark: wall time of `agentctl config check` on large valid configs and on the
# hostile ones the loader's limits refuse, for one or more agentctl binaries side by side (e.g.
# a build of main and a build of a branch), so the cost of the limit checks shows as a ratio.
## Usage: scripts/bench-config-load.sh [--runs N] AGENTCTL...
##   Generates, in a temp dir: m100k.yaml (100,000 monitors of one target with labels, 10.6 MB),
##   t100k.yaml (1,000 monitors of 100 targets, 2.1 MB), deep.yaml (5,000 nested lists) and
##   laughs.yaml (a "billion laughs"). Runs each AGENTCTL's "config check" N times (default 3)
##   on each valid file and once on each hostile one (killed after 60 s or at 4 GiB), and prints
##   the run with the median CPU time (its CPU and wall time, exit status, peak RSS) per file and
##   binary. Example:
##     scripts/bench-config-load.sh /work/main/.build/release/agentctl .build/release/agentctl
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
runs=3
binaries=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --runs) runs="${2:?}"; shift 2 ;;
        *) binaries+=("$1"); shift ;;
    esac
done
[[ ${#binaries[@]} -gt 0 ]] || { usage >&2; fatal "name at least one agentctl"; }
for b in "${binaries[@]}"; do [[ -x "$b" ]] || fatal "not executable: $b"; done

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-config-load.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import sys
d = sys.argv[1]
def ip(n): return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
with open(f"{d}/m100k.yaml", "w") as f:
    f.write("monitors:\n")
    for m in range(100_000):
        f.write(f"  - id: host-{m:06d}\n    protocol: icmp\n    labels: {{site: site-{m % 50}, role: edge}}\n"
                f"    targets: [{ip(m)}]\n")
with open(f"{d}/t100k.yaml", "w") as f:
    f.write("monitors:\n")
    for m in range(1000):
        f.write(f"  - id: mon-{m:05d}\n    protocol: icmp\n    labels: {{site: site-{m % 50}}}\n    targets:\n")
        f.writelines(f"      - {ip(m * 100 + t)}\n" for t in range(100))
with open(f"{d}/deep.yaml", "w") as f:
    f.write("monitors: []\nx: " + "[" * 5000 + "]" * 5000 + "\n")
lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
with open(f"{d}/laughs.yaml", "w") as f:
    f.write("\n".join(lines) + "\nmonitors: *a9\n")
PY

# One run: CPU seconds (user + system: steadier than wall time on a shared machine), wall
# seconds, exit status and peak RSS (GNU time). Bounded: killed after 60 s (exit 124) and held
# to 4 GiB of address space (an unbounded loader dies there instead of taking the machine: a
# billion laughs grew past 19 GB before the limits).
one() {
    /usr/bin/time -o "$work/time" -f "%U %S %e %x %M" timeout 60 prlimit --as=4294967296 "$1" config check "$2" \
        >/dev/null 2>&1 || true
    tail -1 "$work/time" | awk '{ printf "%.2fs cpu %.2fs wall exit %d %d MB\n", $1 + $2, $3, $4, $5 / 1024 }'
}

log "machine: $(nproc) cores, $(uname -r); $runs runs per valid file"
printf '%-12s %-10s %s\n' file bytes "$(printf '%s  |  ' "${binaries[@]}")"
for file in m100k t100k deep laughs; do
    path="$work/$file.yaml"
    n=$runs
    [[ $file == deep || $file == laughs ]] && n=1
    row="$(printf '%-12s %-10s' "$file" "$(stat -c %s "$path")")"
    for b in "${binaries[@]}"; do
        times=()
        for ((i = 0; i < n; i++)); do times+=("$(one "$b" "$path")"); done
        median="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")"
        row+="  $median"
    done
    echo "$row"
done
