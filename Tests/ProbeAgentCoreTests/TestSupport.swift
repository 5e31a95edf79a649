import TestSupport
import Foundation
@testable import ProbeAgentCore


/// Loads YAML and returns the errors (empty if it loaded).
func configErrors(_ yaml: String, file: String = "agent.yaml") -> [ConfigError] {
    do {
        _ = try AgentConfig.load(yaml: yaml, file: file)
        return []
    } catch {
        return error.errors
    }
}

/// The repository root (for `config/agent.yaml`).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let secondNanos: UInt64 = 1_000_000_000
let msNanos: UInt64 = 1_000_000

/// A config of `count` monitors `m0…`, each with `targets` loopback targets.
func loopbackConfig(monitors count: Int, targets: Int, cadence: Duration = .seconds(3)) -> AgentConfig {
    var config = AgentConfig()
    config.monitors = (0..<count).map { m in
        MonitorConfig(id: "m\(m)", probeProtocol: .icmp,
                      targets: (0..<targets).map { "127.\(($0 >> 16) & 255).\(($0 >> 8) & 255).\($0 & 255)" },
                      cadence: cadence)
    }
    return config
}

extension ConfigError {
    /// `line:column`, for compact position checks.
    var position: String { "\(line):\(column)" }
}
