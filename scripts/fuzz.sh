#!/usr/bin/env bash
##
## fuzz.sh — build and run the libFuzzer target of the CProbe packet parsers
##           (CProbe/fuzz/parse_fuzz.c + CProbe/packet.c, with ASan + UBSan).
##
## Usage: scripts/fuzz.sh --smoke              bounded run for CI (20 s / 2,000,000 runs)
##        scripts/fuzz.sh [SECONDS] [-- ARGS]  longer run (default 300 s); ARGS go to libFuzzer
##        scripts/fuzz.sh --regen-corpus       rewrite the seed corpus CProbe/fuzz/corpus/
##        scripts/fuzz.sh -h | --help
##
## Compiler: /opt/swift/usr/bin/clang (the Swift toolchain's, which ships libFuzzer), else
## `clang` on PATH; override with CLANG=/path/to/clang. Without a libFuzzer-capable clang,
## --smoke prints "skipped: <reason>" and exits 0; every other mode fails.
##
## Build output: .build-fuzz/ (binary, working corpus, log). Crash / leak / timeout inputs:
## fuzz-out/ (plus the run's log as fuzz-out/parse_fuzz.log). Both are gitignored.
## Reproduce a crash: .build-fuzz/parse_fuzz fuzz-out/crash-<sha1>
## Exit status: 0 = no finding, non-zero = a crash or sanitizer report (or a build failure).
##
set -euo pipefail

log() { printf -- "** %s\n" "$*" >&2; }
error() { printf -- "** ERROR: %s\n" "$*" >&2; }
fatal() { error "$@"; exit 1; }
usage() { sed -n 's/^## \{0,1\}//p' "$0" >&2; }

mode=long
seconds=300
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --smoke) mode=smoke ;;
        --regen-corpus) mode=regen ;;
        --) shift; extra=("$@"); break ;;
        ''|*[!0-9]*) usage; fatal "unknown argument: $1" ;;
        *) [[ "$1" -gt 0 ]] || fatal "SECONDS must be positive"; seconds=$1 ;;
    esac
    shift
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."

build=.build-fuzz
out=fuzz-out
mkdir -p "$build"

# Give up: in --smoke mode a missing toolchain is not a failure of the code under test.
unavailable() {
    if [[ "$mode" == smoke ]]; then
        log "$1"
        echo "fuzz: skipped: $1"
        exit 0
    fi
    fatal "$1"
}

# --- pick a clang with libFuzzer -----------------------------------------------------------
candidates=()
[[ -n "${CLANG:-}" ]] && candidates+=("$CLANG")
[[ -x /opt/swift/usr/bin/clang ]] && candidates+=(/opt/swift/usr/bin/clang)
command -v clang >/dev/null 2>&1 && candidates+=("$(command -v clang)")
[[ ${#candidates[@]} -gt 0 ]] || unavailable "no clang found (/opt/swift/usr/bin/clang or clang on PATH)"

probe_src="$build/probe.c"
printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n && d[0] == 1; }' >"$probe_src"
cc=
ldflags=()
for c in "${candidates[@]}"; do
    # Prefer lld (ships with the Swift toolchain; gold warns about every ASan symbol).
    if "$c" -fsanitize=fuzzer,address,undefined -fuse-ld=lld "$probe_src" -o "$build/probe" 2>/dev/null; then
        cc=$c; ldflags=(-fuse-ld=lld); break
    fi
    if "$c" -fsanitize=fuzzer,address,undefined "$probe_src" -o "$build/probe" 2>/dev/null; then
        cc=$c; ldflags=(); break
    fi
    log "$c: no libFuzzer (-fsanitize=fuzzer,address,undefined does not link)"
done
rm -f "$probe_src" "$build/probe"
[[ -n "$cc" ]] || unavailable "no clang with libFuzzer support (tried: ${candidates[*]})"

# --- build ---------------------------------------------------------------------------------
cflags=(-g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -ICProbe/include -ICProbe/fuzz
        -Wall -Wextra -Wno-unused-parameter)

if [[ "$mode" == regen ]]; then
    "$cc" "${cflags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all "${ldflags[@]}" \
        CProbe/fuzz/gen_corpus.c CProbe/packet.c -o "$build/gen_corpus"
    rm -f CProbe/fuzz/corpus/*
    mkdir -p CProbe/fuzz/corpus
    "$build/gen_corpus" CProbe/fuzz/corpus
    log "wrote $(ls CProbe/fuzz/corpus | wc -l) seeds to CProbe/fuzz/corpus/"
    exit 0
fi

bin="$build/parse_fuzz"
log "building $bin with $cc"
"$cc" "${cflags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "${ldflags[@]}" \
    CProbe/fuzz/parse_fuzz.c CProbe/packet.c -o "$bin" || fatal "build of $bin failed"

# --- run -----------------------------------------------------------------------------------
args=(-max_len=1500 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/")
if [[ "$mode" == smoke ]]; then
    args+=(-max_total_time=20 -runs=2000000)
else
    args+=(-max_total_time="$seconds")
fi
# New inputs go to the working corpus in .build-fuzz; the committed seeds are only read.
mkdir -p "$build/corpus" "$out"
runlog="$build/parse_fuzz.log"
log "running: $bin ${args[*]} ${extra[*]:-} $build/corpus CProbe/fuzz/corpus"
status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} "$build/corpus" CProbe/fuzz/corpus >"$runlog" 2>&1 || status=$?

stat() { sed -n "s/^stat::$1: *//p" "$runlog" | tail -1; }
runs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
cov=$(grep -oE 'cov: [0-9]+' "$runlog" | tail -1 | cut -d' ' -f2 || true)
corp=$(grep -oE 'corp: [0-9]+' "$runlog" | tail -1 | cut -d' ' -f2 || true)
secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$runlog" | tail -1)

if [[ $status -ne 0 ]]; then
    cp "$runlog" "$out/parse_fuzz.log"
    tail -n 60 "$runlog" >&2
    artifacts=$(ls "$out" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | paste -sd' ' - || true)
    error "fuzzer exited with status $status after ${runs:-?} executions; inputs: ${artifacts:-none} (in $out/)"
    echo "fuzz: FAILED (status $status) executions=${runs:-?} exec/s=${rate:-?} artifacts: ${artifacts:-none}"
    exit "$status"
fi
echo "fuzz: ok: ${runs:-?} executions in ${secs:-?} s (${rate:-?} exec/s), coverage ${cov:-?} edges, corpus ${corp:-?} inputs, no crashes"
