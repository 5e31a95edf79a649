import Testing
@testable import ProbeAgentCore

/// `path:` on a monitor: what the loader accepts and refuses (file:line:col), and that it is
/// applied live without touching the echo probes' schedule.
@Suite("Config: path monitors (path: max_hops, every, per_hop_series)")
struct PathConfigTests {
    static func monitor(_ path: String, protocol p: String = "icmp", port: String = "", cadence: String = "3s") -> String {
        "monitors:\n  - id: a\n    protocol: \(p)\n\(port)    cadence: \(cadence)\n    targets: [198.18.22.2]\n    path: \(path)\n"
    }

    @Test func pathIsReadWithItsDefaults() throws {
        let c = try AgentConfig.load(yaml: Self.monitor("{max_hops: 12, every: 30s, per_hop_series: true}"), file: "agent.yaml")
        #expect(c.monitors[0].path == PathConfig(maxHops: 12, every: .seconds(30), perHopSeries: true))
        let d = try AgentConfig.load(yaml: Self.monitor("{}"), file: "agent.yaml")
        #expect(d.monitors[0].path == PathConfig(maxHops: 30, every: .seconds(60), perHopSeries: false))
        let syn = try AgentConfig.load(yaml: Self.monitor("{every: 10s}", protocol: "tcp-syn", port: "    port: 443\n"), file: "agent.yaml")
        #expect(syn.monitors[0].path?.every == .seconds(10))
        #expect(try AgentConfig.load(yaml: Self.monitor("{}").replacingOccurrences(of: "    path: {}\n", with: ""), file: "agent.yaml").monitors[0].path == nil)
    }

    @Test func badPathsAreErrorsAtTheirPosition() {
        let cases: [(String, String)] = [
            (Self.monitor("{max_hops: 0}"), "6:22: error: path.max_hops of monitor 'a' 0 is out of range 1..64"),
            (Self.monitor("{max_hops: 65}"), "6:22: error: path.max_hops of monitor 'a' 65 is out of range 1..64"),
            (Self.monitor("{every: 2s}", cadence: "1s"), "6:19: error: path.every 2s in monitor 'a' must be between 5s and 24h"),
            (Self.monitor("{every: 30s}", cadence: "60s"), "6:19: error: path.every 30s in monitor 'a' is shorter than its cadence 1m"),
            (Self.monitor("{per_hop: true}"), "6:12: error: unknown key 'per_hop' in path of monitor 'a'"),
            (Self.monitor("{}", protocol: "tcp-connect", port: "    port: 80\n"),
             "7:11: error: path does not apply to protocol tcp-connect in monitor 'a' (a trace needs TTL-limited packets); use icmp or tcp-syn"),
        ]
        for (yaml, expected) in cases {
            let errors = configErrors(yaml)
            #expect(errors.map(\.description) == ["agent.yaml:" + expected])
        }
    }

    @Test func pathIsLiveAndLeavesTheEchoScheduleAlone() throws {
        let plain = try AgentConfig.load(yaml: Self.monitor("{}").replacingOccurrences(of: "    path: {}\n", with: ""), file: "agent.yaml")
        let traced = try AgentConfig.load(yaml: Self.monitor("{every: 10s}"), file: "agent.yaml")
        #expect(plain.monitors[0].configHash == traced.monitors[0].configHash, "the echo probes keep phase and counters")
        #expect(traced.restartOnlyChanges(from: plain).isEmpty)
        var loop = ProbeLoop(config: plain, now: 0, shipping: false, statusInterval: 1_000_000_000)
        #expect(loop.paths.isEmpty)
        let report = loop.reload(PreparedConfig(traced, running: plain), reason: "test", now: 1, at: .now)
        #expect(report.unchanged == ["a"])
        #expect(loop.paths.count == 1)
    }

    @Test func theScheduleBudgetForTraceProbesIsReadAndChecked() throws {
        let c = try AgentConfig.load(yaml: "scheduler:\n  path_probes_per_second: 250\n" + Self.monitor("{}"), file: "agent.yaml")
        #expect(c.scheduler.pathProbesPerSecond == 250)
        #expect(configErrors("scheduler:\n  path_probes_per_second: 0\n" + Self.monitor("{}")).map(\.description)
            == ["agent.yaml:2:27: error: scheduler.path_probes_per_second 0 is out of range 1..1000000"])
    }
}
