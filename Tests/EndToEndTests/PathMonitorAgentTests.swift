import AdminAPI
import Foundation
import Testing

/// Path monitors through the whole agent, in the chain agent → r1 → r2|r2b → target
/// (Tests/support/pathnet.sh): a route change from r2 to r2b is one `path_changed` event per
/// target with both paths, within one `every`, counted in `probe_path_changes_total` and shown
/// by `agentctl monitors --path`; the echo probes' counters never see a trace probe.
@Suite("Agent: path monitors see a route change", .serialized, .timeLimit(.minutes(3)))
struct PathMonitorAgentTests {
    static let every: TimeInterval = 5
    static let config = """
        monitors:
          - id: path
            protocol: icmp
            cadence: 1s
            timeout: 500ms
            path: {max_hops: 8, every: 5s, per_hop_series: true}
            targets: [198.18.22.2, "2001:db8:22::2"]
          - id: syn
            protocol: tcp-syn
            port: 7
            cadence: 1s
            timeout: 500ms
            path: {max_hops: 8, every: 5s}
            targets: [198.18.22.2]
        """
    static let targets = [("path", "198.18.22.2", PathNetwork.hopsV4, PathNetwork.hopsBV4),
                          ("path", "2001:db8:22::2", PathNetwork.hopsV6, PathNetwork.hopsBV6),
                          ("syn", "198.18.22.2", PathNetwork.hopsV4, PathNetwork.hopsBV4)]

    static func path(_ s: AgentStatus, _ m: String, _ t: String) -> PathDetail? {
        s.monitor(m)?.targets.first { $0.target == t }?.path
    }

    static func hops(_ s: AgentStatus, _ m: String, _ t: String) -> [String]? {
        path(s, m, t)?.hops?.map { $0.routers.first ?? "*" }
    }

    static func pathEvents(_ agent: RunningAgent) throws -> [AgentEvent] {
        let out = try agent.agentctl(["events", "--json"])
        return out.stdout.split(separator: "\n").compactMap { try? JSONDecoder.admin.decode(AgentEvent.self, from: Data($0.utf8)) }
            .filter { $0.kind == .pathChanged }
    }

    @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
    func aRouteChangeIsOneEventPerTargetWithinOneEvery() throws {
        let net = try PathNetwork.up("pm\(getpid())")
        defer { net.down() }
        let agent = try RunningAgent(config: Self.config, launcher: ["ip", "netns", "exec", net.namespace("agent")])
        defer { _ = agent.stop() }
        let address = try #require(agent.waitForListeners(), "agent log: \(agent.log)")
        let first = agent.waitForStatus(timeout: 30) { s in Self.targets.allSatisfy { Self.hops(s, $0.0, $0.1) == $0.2 } }
        _ = try #require(first, "every target traced over r2; status: \(String(describing: try? agent.status().monitors))")
        #expect(try Self.pathEvents(agent).isEmpty)

        try net.route("via-r2b")
        let changedAt = Date()
        let second = agent.waitForStatus(timeout: 3 * Self.every) { s in
            Self.targets.allSatisfy { Self.hops(s, $0.0, $0.1) == $0.3 && (Self.path(s, $0.0, $0.1)?.changes ?? 0) >= 1 }
        }
        _ = try #require(second, "every target traced over r2b; log: \(agent.log.suffix(3000))")
        var events: [AgentEvent] = []
        for _ in 0..<30 where events.count < Self.targets.count {
            events = try Self.pathEvents(agent)
            usleep(100_000)
        }
        #expect(events.count == Self.targets.count, "one event per target: \(events.map(\.message))")
        for (m, t, old, new) in Self.targets {
            let e = try #require(events.first { $0.monitor == m && $0.target == t }, "no event for \(m) \(t)")
            #expect(e.oldPath == old && e.newPath == new, "\(e.message)")
            // Within one `every` of the change, plus the trace itself (3 rounds, 1 s apart) and a second of slack.
            #expect(e.time.timeIntervalSince(changedAt) < Self.every + 4, "\(e.time) vs \(changedAt)")
            #expect(agent.log.contains(old.joined(separator: " → ") + " ⇒ " + new.joined(separator: " → ")))
        }

        let metrics = try net.exec("agent", ["curl", "-sf", "http://\(address)/metrics"]).stdout
        #expect(metrics.contains(#"probe_path_changes_total{monitor="path",target="198.18.22.2",protocol="icmp"} 1"#), "\(metrics.suffix(3000))")
        #expect(metrics.contains(#"probe_path_hops{monitor="path",target="2001:db8:22::2",protocol="icmp"} 3"#))
        #expect(metrics.contains(#"probe_path_hop_loss_ratio{monitor="path",target="198.18.22.2",protocol="icmp",hop="2",router="198.18.23.2"} 0"#))
        #expect(metrics.contains(#"probe_path_hop_rtt_seconds{monitor="path",target="198.18.22.2",protocol="icmp",hop="2",router="198.18.23.2"}"#))
        #expect(!metrics.contains(#"probe_path_hop_loss_ratio{monitor="syn""#), "per-hop series are opt-in")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            let page = FileManager.default.temporaryDirectory.appendingPathComponent("path-metrics-\(getpid()).txt")
            defer { try? FileManager.default.removeItem(at: page) }
            try metrics.write(to: page, atomically: true, encoding: .utf8)
            let lint = try Tools.run(["/bin/sh", "-c", "promtool check metrics < '\(page.path)'"])
            #expect(lint.status == 0, "promtool: \(lint.stdout) \(lint.stderr)")
        }

        let text = try agent.agentctl(["monitors", "--monitor", "path", "--path"]).stdout
        #expect(text.contains("path to 198.18.22.2:") && text.contains("1 changes; last change"), "\(text)")
        #expect(text.contains("was 198.18.20.2 → 198.18.21.2 → 198.18.22.2"), "\(text)")
        let rows = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.contains { $0.count > 2 && $0[0] == "2" && $0[1] == "198.18.23.2" && $0[2] == "0.0%" }, "\(text)")

        // The echo probes' counters saw only echo probes: every one answered, no ttl_exceeded.
        let s = try agent.status()
        for (m, t, _, _) in Self.targets {
            let r = try #require(s.monitor(m)?.targets.first { $0.target == t }?.record)
            #expect(r.ttlExceeded == 0 && r.timeouts == 0 && r.sent > 0, "\(m) \(t): \(r)")
            #expect(r.ok + r.refused == r.sent || r.ok + r.refused + 1 == r.sent, "\(m) \(t): \(r)")
        }
        #expect(agent.stop() == 0)
    }
}

extension LongRunningTests {
    @Suite("Agent: path monitors over ECMP", .serialized, .timeLimit(.minutes(4)))
    struct PathMonitorECMPTests {
        @Test(.enabled(if: Tools.isRoot, "needs root to build network namespaces"))
        func equalCostNextHopsMakeNoFalseChangesOverTenTraces() throws {
            let net = try PathNetwork.up("pe\(getpid())")
            defer { net.down() }
            try net.route("ecmp")
            let agent = try RunningAgent(config: PathMonitorAgentTests.config, launcher: ["ip", "netns", "exec", net.namespace("agent")])
            defer { _ = agent.stop() }
            _ = try #require(agent.waitForListeners(), "agent log: \(agent.log)")
            let done = agent.waitForStatus(timeout: 12 * PathMonitorAgentTests.every + 15) { s in
                PathMonitorAgentTests.targets.allSatisfy { (PathMonitorAgentTests.path(s, $0.0, $0.1)?.traces ?? 0) >= 10 }
            }
            let s = try #require(done, "10 traces of every target; log: \(agent.log.suffix(3000))")
            for (m, t, hops, hopsB) in PathMonitorAgentTests.targets {
                let p = try #require(PathMonitorAgentTests.path(s, m, t))
                #expect(p.changes == 0, "\(m) \(t)")
                let now = PathMonitorAgentTests.hops(s, m, t)
                #expect(now == hops || now == hopsB, "one of the two paths: \(String(describing: now))")
                #expect(p.hops?[1].routers.count == 1, "one flow, one router at hop 2: \(String(describing: p.hops))")
            }
            #expect(try PathMonitorAgentTests.pathEvents(agent).isEmpty)
            #expect(agent.stop() == 0)

            // The multipath route is real: Debian's traceroute, whose UDP probes each take a new
            // port (a new flow), meets both r2 and r2b at hop 2 — the "hops" a per-probe flow
            // invents, which the agent's constant flow never saw. 10 probes at hop 2 all hashed
            // one way has odds 1 in 512; three tries make a false failure 1 in 10^8.
            var hop2: Set<String> = []
            for _ in 0..<3 where hop2.count < 2 {
                let tr = try net.exec("agent", ["traceroute", "-n", "-q", "10", "-w", "1", "-f", "2", "-m", "2", "198.18.22.2"])
                try #require(tr.status == 0, "traceroute: \(tr.stderr)")
                hop2.formUnion(tr.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
                    .filter { $0 == PathNetwork.hopsV4[1] || $0 == PathNetwork.hopsBV4[1] })
            }
            #expect(hop2 == [PathNetwork.hopsV4[1], PathNetwork.hopsBV4[1]], "traceroute saw only \(hop2) at hop 2")
        }
    }
}
