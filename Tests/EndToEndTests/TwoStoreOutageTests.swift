import AdminAPI
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Two stores (`remote_write` as a list), two real VictoriaMetrics: the second is stopped for
/// 60 s (by PID) while probing goes on. The first gets every sample on time throughout
/// (counts and newest timestamps queried from it during the outage); the second gets its
/// backlog once it is back; per series, store + still on disk = probes made, in both.
extension LongRunningTests {
@Suite("probe-agent with two stores, one down for a minute", .serialized)
struct TwoStoreOutageTests {
    typealias Receiver = ReceiverOutageTests.Receiver

    /// ReceiverOutageTests' config (20 loopback targets at 1 s) with two stores: "first", and
    /// the second named by default after its URL.
    static func config(_ a: Receiver, _ b: Receiver, spill: URL) -> String {
        let one = ReceiverOutageTests.config(url: a.base + a.writePath, spill: spill)
        let store = one[one.range(of: "remote_write:\n")!.upperBound..<one.range(of: "monitors:")!.lowerBound]
        let indented = store.split(separator: "\n").map { "  " + $0 }
        let second = indented.map { $0.replacingOccurrences(of: a.base + a.writePath, with: b.base + b.writePath) }
        let list = ["  - name: first"] + indented + ["  -" + second[0].dropFirst(3)] + second.dropFirst()
        return one.replacingOccurrences(of: String(store), with: list.joined(separator: "\n") + "\n")
    }

    /// The newest sample time of `probe_success` per series in the store, as Unix seconds
    /// (VictoriaMetrics' `tlast_over_time`).
    static func newest(_ r: Receiver) throws -> [String: Double] {
        let q = "tlast_over_time(probe_success[1m])".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let data = try Data(contentsOf: URL(string: "\(r.base)/api/v1/query?query=\(q)")!)
        let top = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let result = ((top?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        var out: [String: Double] = [:]
        for s in result {
            let m = s["metric"] as? [String: String] ?? [:]
            if let v = (s["value"] as? [Any])?.last as? String { out["\(m["monitor"] ?? "")/\(m["target"] ?? "")"] = Double(v) }
        }
        return out
    }

    static func made(_ s: AgentStatus) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (s.monitors ?? []).flatMap { m in m.targets.map { ("\(m.id)/\($0.target)", Int($0.record?.sent ?? 0)) } })
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root and Debian's victoria-metrics"), .timeLimit(.minutes(5)))
    func secondStoreDownForAMinute() throws {
        let a = Receiver(script: "victoria-metrics.sh", name: "ta\(getpid())", port: try FakeStore.freePort(), writePath: "/api/v1/write")
        let b = Receiver(script: "victoria-metrics.sh", name: "tb\(getpid())", port: try FakeStore.freePort(), writePath: "/api/v1/write")
        for r in [a, b] {
            let up = try r.run("start", extra: ["\(r.port)"])
            try #require(up.status == 0, "cannot start \(r.name): \(up.stderr)")
        }
        defer { for r in [a, b] { _ = try? r.run("stop") } }
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(a, b, spill: spill))
        try #require(agent.waitForStatus(timeout: 20) { s in (s.stores ?? []).allSatisfy { $0.resultsShipped >= 40 } && s.stores?.count == 2 } != nil,
                     "log:\n\(agent.log)")
        let names = try agent.status().stores?.map { $0.endpoint }
        #expect(names == ["first", "127.0.0.1_\(b.port)"], "the second is named after its URL's host and port")

        let paused = try b.run("pause")
        try #require(paused.status == 0, "\(paused.stderr)")
        let outageStart = Date()
        #expect(agent.waitForStatus(timeout: 10) { $0.stores?[1].mode == .degraded } != nil)
        // During the outage, every 10 s: the first store has every result made up to ~2 s ago.
        var worstLag = 0.0, worstMissing = 0
        while Date().timeIntervalSince(outageStart) < 60 {
            Thread.sleep(forTimeInterval: 10)
            let s = try agent.status()
            #expect(s.stores?[0].mode == .normal, "the first store never leaves normal")
            let now = Date().timeIntervalSince1970
            let newest = try Self.newest(a)
            let inA = try a.counts()
            for (series, n) in Self.made(s) {
                worstLag = max(worstLag, now - (newest[series] ?? 0))
                worstMissing = max(worstMissing, n - (inA[series] ?? 0))
            }
        }
        print("two stores: during the outage the first store was at most \(String(format: "%.1f", worstLag)) s behind, missing at most \(worstMissing) samples of a series")
        #expect(worstLag < 5, "first store on time: newest sample \(worstLag) s old at worst")
        #expect(worstMissing <= 4, "first store has every result but the last seconds': \(worstMissing) missing at worst")
        // Every surface names the store: /metrics, /health (the store worst off), queue-stats.
        let second = "127.0.0.1_\(b.port)"
        let page = try ServiceSurfaceTests.get("http://\(try #require(agent.httpAddress))/metrics").body
        #expect(page.contains("probeagent_delivery_mode{remote_name=\"first\",url=\"\(a.base + a.writePath)\",mode=\"normal\"} 1"), "\(page.prefix(4000))")
        #expect(page.contains("probeagent_delivery_mode{remote_name=\"\(second)\",url=\"\(b.base + b.writePath)\",mode=\"degraded\"} 1"))
        let health = try ServiceSurfaceTests.get("http://\(try #require(agent.httpAddress))/health")
        #expect(health.status == 200 && health.body.contains("\"mode\":\"degraded\"") && health.body.contains("remote_write '\(second)'"), "\(health)")
        let table = try agent.agentctl(["queue-stats"]).stdout
        #expect(table.contains("store first") && table.contains("store \(second)") && table.contains("degraded"), "\(table)")
        let during = try agent.status()
        #expect((during.stores?[1].spillPendingRecords ?? 0) >= 50 * 20, "the second store's results wait on disk")
        #expect((during.stores?[0].spillPendingRecords ?? .max) < 200, "the first store's position moves on")

        let resumed = try b.run("resume")
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let back = agent.waitForStatus(timeout: 90) { s in
            s.stores?[1].mode == .normal && (s.stores?[1].modeHistory.count ?? 0) >= 4
        }
        #expect(back != nil, "the second store recovered; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let s = try agent.status()
        let stores = try #require(s.stores)
        #expect(stores[0].modeHistory == [.normal], "\(stores[0].modeHistory)")
        #expect(stores[1].modeHistory.starts(with: [.normal, .degraded, .recovery, .normal]), "\(stores[1].modeHistory)")
        let made = Self.made(s)
        let total = made.values.reduce(0, +)
        #expect(total > 60 * 20)
        for (i, r) in [a, b].enumerated() {
            let d = stores[i]
            #expect(d.resultsLost == 0 && d.spillDroppedRecords == 0 && d.tooOldResultsDropped == 0)
            let pending = d.spillPendingRecords
            var inStore: [String: Int] = [:]
            for _ in 0..<20 {
                inStore = (try? r.counts()) ?? [:]
                if inStore.values.reduce(0, +) + pending >= total { break }
                Thread.sleep(forTimeInterval: 1)
            }
            print("two stores: \(d.endpoint): \(total) probes made, \(inStore.values.reduce(0, +)) in the store, \(pending) on disk at stop")
            #expect(inStore.values.reduce(0, +) + pending == total, "\(d.endpoint): zero loss, store + disk = made")
            for (series, n) in made {
                #expect((inStore[series] ?? 0) <= n && (inStore[series] ?? 0) >= n - pending, "\(series): \(inStore[series] ?? 0) of \(n)")
            }
        }
    }
}
}
