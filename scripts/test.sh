#!/usr/bin/env bash
##
## test.sh — build and run every ProbeAgent test. This is the command the README and CI use.
##
## Usage: scripts/test.sh [SWIFT_TEST_ARGS...]
##
##   1. scripts/install-deps.sh           (installs missing Debian packages; quiet otherwise)
##   2. swift build --build-tests
##   3. swift test --disable-xctest ARGS  (extra arguments go to `swift test`, e.g. --filter X)
##   4. scripts/fuzz.sh --smoke           (only if that script exists and is executable)
##
## Tests find the namespace test network through PROBEAGENT_TESTNET (Tests/support/testnet.sh).
## Tests that need root or CAP_NET_RAW skip with the reason when run without them; CI runs as
## root and runs them. The last line printed is the test runner's closing line.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
cd "$repo_root"

scripts/install-deps.sh

PROBEAGENT_TESTNET="$(pwd)/Tests/support/testnet.sh"
export PROBEAGENT_TESTNET
[[ -x "$PROBEAGENT_TESTNET" ]] || fatal "$PROBEAGENT_TESTNET is missing or not executable"

# Networks left behind by an earlier run that was killed (their owner process is gone).
if [[ "$(id -u)" -eq 0 ]]; then
    "$PROBEAGENT_TESTNET" gc || log "testnet gc failed (continuing)"
fi

log "swift build --build-tests"
swift build --build-tests

test_log=$(mktemp "${TMPDIR:-/tmp}/probeagent-test.XXXXXX")
trap 'rm -f -- "$test_log"' EXIT

log "swift test --disable-xctest $*"
set +e
swift test --disable-xctest "$@" 2>&1 | tee "$test_log"
test_rc=${PIPESTATUS[0]}
set -e

# The runner's closing line (Swift Testing: "Test run with N tests ... passed|failed ...").
closing=$(grep -E 'Test run with [0-9]+ tests?' "$test_log" | tail -n1 || true)

if [[ $test_rc -ne 0 ]]; then
    error "swift test failed (exit $test_rc)"
    [[ -z "$closing" ]] || printf '%s\n' "$closing"
    exit "$test_rc"
fi

if [[ -x scripts/fuzz.sh ]]; then
    log "scripts/fuzz.sh --smoke"
    scripts/fuzz.sh --smoke
fi

# Repeat the closing line last, so it is what a reader (or CI) sees at the end.
if [[ -n "$closing" ]]; then
    printf '%s\n' "$closing"
else
    error "swift test printed no closing line: did any test run?"
    exit 1
fi
