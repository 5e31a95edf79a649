# Sourced first by every scripts/*.sh, with the script's arguments
# (`source "$(dirname "$0")/lib/common.sh" "$@"`), for what they all do alike: answer -h and
# --help with the script's help, and define
#   log MSG, error MSG, fatal MSG   messages on stderr, prefixed with the script's name
#                                   (fatal exits 1)
#   usage                           the script's help: its lines that start with `##`
#   help_if_asked "$@"              usage and exit 0 when an argument is -h or --help
#   repo_root                       the repository's root (every script runs from there)
script_name=$(basename "$0" .sh)
log() { printf -- "%s: %s\n" "$script_name" "$*" >&2; }
error() { printf -- "%s: ERROR: %s\n" "$script_name" "$*" >&2; }
fatal() { error "$@"; exit 1; }
usage() { sed -n 's/^## \{0,1\}//p' "$0"; }
help_if_asked() {
    local arg
    for arg in "$@"; do
        if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then usage; exit 0; fi
    done
}
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

help_if_asked "$@"
