import AdminAPI
import ArgumentParser

@main
struct AgentCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Inspect and drive ProbeAgent.",
        discussion: """
            Talking to a running agent (over its admin socket; see --socket):
              status         up? probing? engine, scheduler and send lateness, loop priority, delivery mode
              queue-stats    memory queue, spill log, backfill ETA, remote write, lag
              monitors       state and success rate per monitor;
                             --monitor ID: its targets (and which router sent an
                             ICMP error); --graph: depends_on tree
              reload         re-read the config now: what changed, or why not
              events         recent events; --follow streams them
            Checking a host:
              doctor         CAP_NET_RAW, io_uring, kernel, ping_group_range,
                             config, admin socket; each problem with a fix hint
            Without an agent:
              probe          one-off ICMP / TCP probes, like fping (-b -M -O -H -S -I)
              trace          the path to a target, like mtr: hops, loss, min/avg/max
              config check   validate config files (errors as file:line:column)

            Every command takes --json. Exit status of the agent commands:
            0 ok, 1 the agent answered with a failure, 3 it could not be reached.
            """,
        version: AgentVersion.current,
        subcommands: [StatusCommand.self, QueueStatsCommand.self, MonitorsCommand.self, ReloadCommand.self,
                      EventsCommand.self, ProbeCommand.self, TraceCommand.self, ConfigCommand.self, DoctorCommand.self]
    )
}
