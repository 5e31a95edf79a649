import ArgumentParser

@main
struct AgentCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Inspect and drive ProbeAgent.",
        discussion: """
            Commands available now:
              probe          one-off ICMP / TCP probes via the agent's engine, like fping.
              config check   validate config files; every error as file:line:column.
            """,
        subcommands: [ProbeCommand.self, ConfigCommand.self, DoctorCommand.self]
    )
}
