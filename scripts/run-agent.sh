#!/usr/bin/env bash
##
## run-agent.sh — build the agent and agentctl in release mode and run the agent on the example configuration.
##
## Usage: scripts/run-agent.sh [PROBE_AGENT_ARGS...]
##
##   1. scripts/install-deps.sh
##   2. swift build -c release --product probe-agent, then --product agentctl
##      (.build/release/agentctl status, in another terminal, talks to the running agent)
##   3. exec .build/release/probe-agent --config config/agent.yaml ARGS
##
## Raw ICMP / TCP SYN probes need CAP_NET_RAW: run as root, or once after building
##   sudo setcap cap_net_raw+ep .build/release/probe-agent
## (the capability is lost whenever the binary is rebuilt). As root, name the user to run as
## once the sockets are open (scripts/run-agent.sh --user nobody), or pass --run-as-root.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
cd "$repo_root"

config=config/agent.yaml
[[ -f "$config" ]] || fatal "example configuration $config not found (run from a checkout of the repository)"

scripts/install-deps.sh

for product in probe-agent agentctl; do
    log "swift build -c release --product $product"
    swift build -c release --product "$product"
done

log "exec .build/release/probe-agent --config $config $*"
exec .build/release/probe-agent --config "$config" "$@"
