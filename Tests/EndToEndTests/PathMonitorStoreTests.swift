import Foundation
import Testing

/// Path monitors' samples through remote write into a real VictoriaMetrics: the store runs in
/// the chain's agent namespace (Tests/support/pathnet.sh), on that namespace's loopback, so the
/// agent beside it writes to it and nothing leaves the namespaces. After the first traces the
/// store has each target's hop count and its per-hop RTT and loss under `hop` and `router`;
/// after a route change r2 → r2b, `probe_path_changes_total` 1 and the new router at hop 2.
@Suite("Agent: path samples reach a real VictoriaMetrics", .serialized, .timeLimit(.minutes(3)))
struct PathMonitorStoreTests {
    static let port = 18428

    /// Instant query inside the agent namespace: value by (monitor, target, hop, router).
    static func query(_ net: PathNetwork, _ promql: String) throws -> [String: Double] {
        let out = try net.exec("agent", ["curl", "-sf", "--data-urlencode", "query=\(promql)", "http://127.0.0.1:\(port)/api/v1/query"])
        guard out.status == 0, let top = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any],
              let result = (top["data"] as? [String: Any])?["result"] as? [[String: Any]] else { return [:] }
        var values: [String: Double] = [:]
        for s in result {
            let m = s["metric"] as? [String: String] ?? [:]
            let key = [m["monitor"], m["target"], m["hop"], m["router"]].compactMap { $0 }.joined(separator: " ")
            if let v = (s["value"] as? [Any])?.last as? String { values[key] = Double(v) }
        }
        return values
    }

    /// Polls `promql` until `ready` holds (at most `timeout`); the last answer.
    static func wait(_ net: PathNetwork, _ promql: String, timeout: TimeInterval,
                     _ ready: ([String: Double]) -> Bool) throws -> [String: Double] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Double] = [:]
        repeat {
            last = try query(net, promql)
            if ready(last) { return last }
            usleep(500_000)
        } while Date() < deadline
        return last
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root and Debian's victoria-metrics"))
    func hopsPerHopSeriesAndChangesReachTheStore() throws {
        let net = try PathNetwork.up("ps\(getpid())")
        defer { net.down() }
        let vm = LongRunningTests.ReceiverOutageTests.Receiver(script: "victoria-metrics.sh", name: "ps\(getpid())", port: Self.port, writePath: "/api/v1/write")
        let started = try Tools.run(["ip", "netns", "exec", net.namespace("agent"),
                                     Tools.root.appendingPathComponent("Tests/support/victoria-metrics.sh").path, "start", vm.name, "\(vm.port)"],
                                    timeout: 90)
        try #require(started.status == 0, "victoria-metrics in the agent namespace: \(started.stderr)")
        defer { _ = try? vm.run("stop") }
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let config = TestConfig.delivery(store: "http://127.0.0.1:\(Self.port)/api/v1/write", spill: spill) + "\n"
            + PathMonitorAgentTests.config
        let agent = try RunningAgent(config: config, launcher: ["ip", "netns", "exec", net.namespace("agent")])
        defer { _ = agent.stop() }
        _ = try #require(agent.waitForListeners(), "agent log: \(agent.log)")

        let hops = try Self.wait(net, "last_over_time(probe_path_hops[5m])", timeout: 40) { $0.count == 3 }
        #expect(hops == ["path 198.18.22.2": 3, "path 2001:db8:22::2": 3, "syn 198.18.22.2": 3], "log: \(agent.log.suffix(2000))")
        let rtt = try Self.wait(net, "last_over_time(probe_path_hop_rtt_seconds[5m])", timeout: 10) { $0.count >= 6 }
        for (ttl, router) in zip(1..., PathNetwork.hopsV4) {
            let v = rtt["path 198.18.22.2 \(ttl) \(router)"]
            #expect(v != nil && v! > 0 && v! < 1, "hop \(ttl) \(router): \(rtt)")
        }
        #expect(!rtt.keys.contains { $0.hasPrefix("syn ") }, "per-hop series only where per_hop_series is on: \(rtt.keys)")
        let loss = try Self.query(net, "last_over_time(probe_path_hop_loss_ratio{monitor=\"path\",target=\"198.18.22.2\"}[5m])")
        #expect(loss.count == 3 && loss.values.allSatisfy { $0 == 0 }, "\(loss)")

        try net.route("via-r2b")
        let changes = try Self.wait(net, "last_over_time(probe_path_changes_total[5m])", timeout: 3 * PathMonitorAgentTests.every + 10) {
            $0.count == 3 && $0.values.allSatisfy { $0 == 1 }
        }
        #expect(changes == ["path 198.18.22.2": 1, "path 2001:db8:22::2": 1, "syn 198.18.22.2": 1], "log: \(agent.log.suffix(2000))")
        // A new series (the new router's) becomes searchable a moment after its first sample.
        let newHop = "path 198.18.22.2 2 \(PathNetwork.hopsBV4[1])"
        let hop2 = try Self.wait(net, "last_over_time(probe_path_hop_rtt_seconds{monitor=\"path\",target=\"198.18.22.2\",hop=\"2\"}[1m])",
                                 timeout: 15) { $0[newHop] != nil }
        #expect(hop2[newHop] != nil, "the new router at hop 2: \(hop2)")
        #expect(agent.stop() == 0)
    }
}
