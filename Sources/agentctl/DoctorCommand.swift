import AdminAPI
import ArgumentParser
import Foundation
import ProbeAgentCore

/// `agentctl doctor`: can the agent run here, and is it running?
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this host can run the agent, and that it is running.",
        discussion: """
            One row per check, `OK|WARN|FAIL  check  detail`, with a `fix:` line under each WARN \
            and FAIL:
              config             the config loads (errors as file:line:column)
              agent cap_net_raw  file capabilities of the probe-agent executable
              cap_net_raw        CAP_NET_RAW of this process (and the bounding set)
              io_uring sysctl    kernel.io_uring_disabled
              io_uring           a real ring, buffer ring and multishot recvmsg
              kernel             Linux 6.0 or later
              ping_group_range   unprivileged ICMP possible for one of your groups
              admin socket       connect(2) to the agent's admin socket

            --json prints an array of {"check", "status", "detail", "hint"} instead (hint null \
            when OK).

            Exit status: 0 no check failed (warnings allowed); 1 some check failed.

            Defaults: --config /etc/probe-agent/agent.yaml if it exists, else config/agent.yaml; \
            --socket $PROBE_AGENT_SOCKET, else the config's admin.socket; --agent-binary the \
            probe-agent next to agentctl, else /usr/local/bin/probe-agent.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The agent's config file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The agent's admin socket.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("The probe-agent executable to inspect.", valueName: "path"))
    var agentBinary: String?

    @Flag(name: .long, help: "Print JSON (one array) instead of a table.")
    var json = false

    func run() throws {
        let configPath = config ?? Self.defaultConfig()
        let (configRow, cfg) = DoctorChecks.config(configPath)
        // The precedence the agent commands use (AgentConnection.socketPath), with the config
        // doctor loaded anyway.
        let env = ProcessInfo.processInfo.environment[AdminPaths.socketEnvironment].flatMap { $0.isEmpty ? nil : $0 }
        let socketPath = socket ?? env ?? cfg?.admin.socketPath ?? AdminPaths.defaultSocket
        let findings = [
            configRow,
            DoctorChecks.agentBinaryCapability(agentBinary ?? Self.defaultAgentBinary()),
            DoctorChecks.processCapability(),
            DoctorChecks.ioUringSysctl(),
            DoctorChecks.ioUring(),
            DoctorChecks.kernel(),
            DoctorChecks.pingGroupRange(),
            DoctorChecks.adminSocket(socketPath),
        ]
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(findings), as: UTF8.self))
        } else {
            print(DoctorFinding.table(findings), terminator: "")
        }
        if findings.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }

    static func defaultConfig() -> String {
        let installed = "/etc/probe-agent/agent.yaml"
        return FileManager.default.fileExists(atPath: installed) ? installed : "config/agent.yaml"
    }

    /// probe-agent beside this agentctl (a build directory, or an install prefix), else the
    /// path the systemd unit runs.
    static func defaultAgentBinary() -> String {
        if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("probe-agent").path
            if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        }
        return "/usr/local/bin/probe-agent"
    }
}
