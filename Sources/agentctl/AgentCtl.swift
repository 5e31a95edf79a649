import ArgumentParser

@main
struct AgentCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Inspect and drive ProbeAgent.",
        discussion: """
            Commands available now:
              probe   one-off ICMP / TCP probes through the agent's io_uring engine, like fping.
            """,
        subcommands: [ProbeCommand.self]
    )
}
