#!/usr/bin/env bash
# Sourced by the scripts/bench-*.sh wrappers (run from the repository root): `release_binary
# PRODUCT` installs the Debian packages, builds PRODUCT in release mode (build output to
# stderr) and prints its path.
# Expects `log` and `fatal` from the caller and the repository root as the working directory.
release_binary() {
    local product=$1 bin
    scripts/install-deps.sh
    log "building $product (release)"
    swift build -c release --product "$product" >&2 || fatal "release build of $product failed"
    bin="$(swift build -c release --show-bin-path)/$product"
    [[ -x "$bin" ]] || fatal "no $product at $bin"
    printf '%s\n' "$bin"
}

# `exec_bench PRODUCT SCRIPT ARGS...`: the release PRODUCT, then `python3 SCRIPT --agent BIN
# ARGS...` in its place (the wrappers' whole job).
exec_bench() {
    local product=$1 script=$2 bin
    shift 2
    bin=$(release_binary "$product")
    exec python3 "$script" --agent "$bin" "$@"
}
