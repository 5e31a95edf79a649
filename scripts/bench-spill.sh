#!/usr/bin/env bash
# Spill log benchmark: write and drain rates (records/s, MB/s) of 120-byte records with the
# fsync interval at 1 s, on the repository's own disk (a temp dir under the repo, removed after).
## Usage: scripts/bench-spill.sh [--records N] [--batch N] [--readers R]
##   Appends N records (default 1000000) in batches (default 500), then reads and commits them
##   all in batches of the same size, with R readers (default 1; one per remote_write
##   endpoint), each reading and committing every record. Release build of the spill-bench target.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
records=1000000
batch=500
readers=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --records) records="${2:?}"; shift 2 ;;
        --batch) batch="${2:?}"; shift 2 ;;
        --readers) readers="${2:?}"; shift 2 ;;
        *) usage >&2; fatal "unknown argument $1" ;;
    esac
done

cd "$repo_root"
log "building spill-bench (release)"
swift build -c release --product spill-bench >&2 || fatal "release build failed"
bin="$(swift build -c release --show-bin-path)/spill-bench"
[[ -x "$bin" ]] || fatal "no spill-bench at $bin"

work="$(mktemp -d "$PWD/.spill-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "disk: $(df -h --output=source,fstype,size,avail "$PWD" | tail -1)"
"$bin" "$work/spill" "$records" "$batch" "$readers"
