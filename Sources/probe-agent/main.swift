// The daemon arrives with the scheduler issue; until then it says so instead of pretending.
import ProbeAgentCore
import ProbeEngine

print("probe-agent: the scheduler is not built yet; use `agentctl probe` for one-off probes")
