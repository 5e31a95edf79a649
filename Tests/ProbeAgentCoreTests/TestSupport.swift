import Foundation
@testable import ProbeAgentCore

/// A seeded, reproducible random number generator (splitmix64) for property tests.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

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
