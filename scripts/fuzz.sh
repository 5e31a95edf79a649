#!/usr/bin/env bash
##
## fuzz.sh — build and run the libFuzzer targets for hostile input:
##   packet         CProbe packet parsers (CProbe/fuzz/parse_fuzz.c + CProbe/packet.c; ASan + UBSan)
##   config         YAML text → AgentConfig → schedule          (Fuzz/Sources/fuzz-config)
##   spill-log      segment files + read.pos → SpillLog recovery, read, append, reopen
##                                                               (Fuzz/Sources/fuzz-spill-log)
##   result-record  bytes → ResultRecord / ResultBlock decoders (Fuzz/Sources/fuzz-result-record)
##   store-answer   status + headers + body → StoreVerdict      (Fuzz/Sources/fuzz-store-answer)
##   web            Accept-Encoding, Authorization, web config  (Fuzz/Sources/fuzz-web)
##   sd             a discovery answer → TargetGroup.parse       (Fuzz/Sources/fuzz-sd)
## The Swift targets are the package in Fuzz/, built with -sanitize=fuzzer,address (Fuzz/README.md).
##
## Usage: scripts/fuzz.sh --smoke                       every target for 15 s (CI; scripts/test.sh runs it)
##        scripts/fuzz.sh [SECONDS] [TARGET...] [-- ARGS]
##                                                      each TARGET (default: all, one after the
##                                                      other) for SECONDS (default 300); ARGS go
##                                                      to libFuzzer
##        scripts/fuzz.sh --regen-corpus                rewrite the generated seed corpora
##                                                      (crash-* files, found inputs, are kept)
##        scripts/fuzz.sh --list | -h | --help
##
## Toolchain: the Swift toolchain's clang and swiftc (/opt/swift/usr/bin), which ship libFuzzer;
## override the C compiler with CLANG=/path/to/clang. Without a toolchain that builds and links
## the targets this script FAILS, in every mode: a fuzz step that did not run is not a pass.
##
## Build output: .build-fuzz/ (C binary, Swift scratch path .build-fuzz/swift, working corpora
## .build-fuzz/corpus/TARGET, logs .build-fuzz/TARGET.log). Committed seeds (read only):
## CProbe/fuzz/corpus/, Fuzz/corpus/TARGET/. Crash / leak / timeout inputs:
## fuzz-out/TARGET-crash-<sha1> (and the run's log, fuzz-out/TARGET.log). Both are gitignored.
## Reproduce: .build-fuzz/parse_fuzz FILE, .build-fuzz/swift/debug/fuzz-TARGET FILE.
## Exit status: 0 = every target ran and found nothing; non-zero = a finding or a build failure.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
all_targets=(packet config spill-log result-record store-answer web sd)
smoke_seconds=15

mode=long
seconds=300
targets=()
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --smoke) mode=smoke ;;
        --regen-corpus) mode=regen ;;
        --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        packet|config|spill-log|result-record|store-answer|web|sd) targets+=("$1") ;;
        ''|*[!0-9]*) usage; fatal "unknown argument: $1 (targets: ${all_targets[*]})" ;;
        *) [[ "$1" -gt 0 ]] || fatal "SECONDS must be positive"; seconds=$1 ;;
    esac
    shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
[[ "$mode" == smoke ]] && seconds=$smoke_seconds

cd "$repo_root"
build=.build-fuzz
out=fuzz-out
swift_scratch="$build/swift"
mkdir -p "$build" "$out"
started=$SECONDS

wants() { local t; for t in "${targets[@]}"; do [[ "$t" == "$1" ]] && return 0; done; return 1; }
wants_swift() { local t; for t in "${targets[@]}"; do [[ "$t" != packet ]] && return 0; done; return 1; }

# --- the C target: a clang with libFuzzer --------------------------------------------------
cc=
ldflags=()
pick_clang() {
    local candidates=() c probe_src="$build/probe.c"
    [[ -n "${CLANG:-}" ]] && candidates+=("$CLANG")
    [[ -x /opt/swift/usr/bin/clang ]] && candidates+=(/opt/swift/usr/bin/clang)
    command -v clang >/dev/null 2>&1 && candidates+=("$(command -v clang)")
    [[ ${#candidates[@]} -gt 0 ]] || fatal "no clang found (/opt/swift/usr/bin/clang or clang on PATH): cannot fuzz"
    printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n && d[0] == 1; }' >"$probe_src"
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
    [[ -n "$cc" ]] || fatal "no clang with libFuzzer support (tried: ${candidates[*]}): cannot fuzz"
}

cflags=(-g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -ICProbe/include -ICProbe/fuzz
        -Wall -Wextra -Wno-unused-parameter)

build_packet() {
    log "building $build/parse_fuzz with $cc"
    "$cc" "${cflags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "${ldflags[@]}" \
        CProbe/fuzz/parse_fuzz.c CProbe/packet.c -o "$build/parse_fuzz" || fatal "build of $build/parse_fuzz failed"
}

# --- the Swift targets: the package in Fuzz/ -----------------------------------------------
# -enable-testing: fuzz-spill-log frames records with SpillLog's own (internal) encoder.
swift_flags=(--package-path Fuzz --scratch-path "$swift_scratch"
             -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)

build_swift() {
    command -v swift >/dev/null 2>&1 || fatal "swift not on PATH (the toolchain is /opt/swift/usr/bin): cannot fuzz"
    log "swift build ${swift_flags[*]}"
    local t0=$SECONDS
    swift build "${swift_flags[@]}" >"$build/swift-build.log" 2>&1 \
        || { tail -n 40 "$build/swift-build.log" >&2; fatal "build of the Swift fuzz targets failed (log: $build/swift-build.log)"; }
    log "Swift fuzz targets built in $((SECONDS - t0)) s"
    swift_bin=$(swift build "${swift_flags[@]}" --show-bin-path)
}

# binary, seed directory and input size limit of a target
binary() { if [[ "$1" == packet ]]; then echo "$build/parse_fuzz"; else echo "$swift_bin/fuzz-$1"; fi; }
seeds() { if [[ "$1" == packet ]]; then echo CProbe/fuzz/corpus; else echo "Fuzz/corpus/$1"; fi; }
max_len() {
    case "$1" in
        packet) echo 1500 ;;
        store-answer) echo 8192 ;;
        # config: documents up to 16 KiB (the example config is 10 KiB).
        *) echo 16384 ;;
    esac
}

# --- regenerate the seed corpora -----------------------------------------------------------
# Generated seeds are replaced; crash-* files (inputs a run found, kept as regressions) stay.
regen() {
    if wants packet; then
        "$cc" "${cflags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all "${ldflags[@]}" \
            CProbe/fuzz/gen_corpus.c CProbe/packet.c -o "$build/gen_corpus"
        mkdir -p CProbe/fuzz/corpus
        find CProbe/fuzz/corpus -maxdepth 1 -type f ! -name 'crash-*' -delete
        "$build/gen_corpus" CProbe/fuzz/corpus
        log "wrote $(ls CProbe/fuzz/corpus | wc -l) seeds to CProbe/fuzz/corpus/"
    fi
    local t
    for t in "${targets[@]}"; do
        [[ "$t" == packet ]] && continue
        SWIFT_BACKTRACE=enable=no "$(binary "$t")" --write-seeds "Fuzz/corpus/$t" || fatal "seeds of $t"
    done
}

# --- run one target ------------------------------------------------------------------------
# Prints one summary line on stdout; returns libFuzzer's status.
run_target() {
    local t=$1 bin seeds_dir runlog corpus status=0
    bin=$(binary "$t")
    seeds_dir=$(seeds "$t")
    runlog="$build/$t.log"
    corpus="$build/corpus/$t"
    mkdir -p "$corpus"
    # malloc_limit_mb: no input of at most max_len bytes may make a decoder allocate 64 MiB at once.
    local args=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1
                -artifact_prefix="$out/$t-" -max_total_time="$seconds")
    [[ "$mode" == smoke && "$t" == packet ]] && args+=(-runs=2000000)
    # New inputs go to the working corpus; the committed seeds are only read.
    log "$t: $bin ${args[*]} ${extra[*]:-} $corpus $seeds_dir"
    # SWIFT_BACKTRACE: the Swift runtime's crash handler would race libFuzzer's (and hang).
    SWIFT_BACKTRACE=enable=no \
    ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} "$corpus" "$seeds_dir" >"$runlog" 2>&1 || status=$?

    stat_of() { sed -n "s/^stat::$1: *//p" "$runlog" | tail -1; }
    local runs rate rss cov ft corp secs
    runs=$(stat_of number_of_executed_units)
    rate=$(stat_of average_exec_per_sec)
    rss=$(stat_of peak_rss_mb)
    cov=$(grep -oE 'cov: [0-9]+' "$runlog" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$runlog" | tail -1 | cut -d' ' -f2 || true)
    corp=$(grep -oE 'corp: [0-9]+' "$runlog" | tail -1 | cut -d' ' -f2 || true)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$runlog" | tail -1)

    if [[ $status -ne 0 ]]; then
        cp "$runlog" "$out/$t.log"
        tail -n 60 "$runlog" >&2
        local artifacts
        artifacts=$(cd "$out" && ls | grep -E "^$t-(crash|leak|timeout|oom|slow-unit)-" | paste -sd' ' - || true)
        error "$t: fuzzer exited with status $status after ${runs:-?} executions; inputs: ${artifacts:-none} (in $out/)"
        echo "fuzz: $t: FAILED (status $status) executions=${runs:-?} exec/s=${rate:-?} artifacts: ${artifacts:-none}"
        return "$status"
    fi
    echo "fuzz: $t: ok: ${runs:-?} executions in ${secs:-?} s (${rate:-?} exec/s), coverage ${cov:-?} edges / ${ft:-?} features, corpus ${corp:-?} inputs, peak RSS ${rss:-?} MB, no crashes"
}

# --- main ----------------------------------------------------------------------------------
if wants packet; then pick_clang; fi
wants packet && [[ "$mode" != regen ]] && build_packet
wants_swift && build_swift
if [[ "$mode" == regen ]]; then regen; exit 0; fi

failed=()
for t in "${targets[@]}"; do
    run_target "$t" || failed+=("$t")
done
log "fuzz.sh: ${#targets[@]} target(s) in $((SECONDS - started)) s (build included)"
if [[ ${#failed[@]} -gt 0 ]]; then
    error "findings in: ${failed[*]}"
    exit 1
fi
