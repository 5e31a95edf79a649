import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The agent shipping to a real receiver (Debian's Prometheus 2.42, VictoriaMetrics) that is
/// stopped for over a minute while probing goes on, then started again on the same data.
/// Zero loss: for every series, samples in the store + results still on disk = probes made.
extension LongRunningTests {
@Suite("probe-agent through a receiver outage", .serialized)
struct ReceiverOutageTests {
    /// A receiver run by Tests/support/<script> (start/pause/resume/stop NAME), by PID.
    struct Receiver {
        let script: String
        let name: String
        let port: Int
        let writePath: String

        var base: String { "http://127.0.0.1:\(port)" }

        func run(_ verb: String, extra: [String] = []) throws -> Tools.Output {
            try Tools.run([Tools.root.appendingPathComponent("Tests/support/\(script)").path, verb, name] + extra, timeout: 90)
        }

        /// `count_over_time(probe_success[2h])` per (monitor, target).
        func counts() throws -> [String: Int] {
            let q = "count_over_time(probe_success[2h])".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let data = try Data(contentsOf: URL(string: "\(base)/api/v1/query?query=\(q)")!)
            struct R: Decodable {
                struct D: Decodable {
                    struct S: Decodable { var metric: [String: String]; var value: [Value] }
                    var result: [S]
                }
                var data: D
            }
            enum Value: Decodable {
                case n(Double), s(String)
                init(from d: Decoder) throws {
                    let c = try d.singleValueContainer()
                    if let x = try? c.decode(Double.self) { self = .n(x) } else { self = .s(try c.decode(String.self)) }
                }
            }
            var out: [String: Int] = [:]
            for s in try JSONDecoder().decode(R.self, from: data).data.result {
                if case .s(let v)? = s.value.last { out["\(s.metric["monitor"] ?? "")/\(s.metric["target"] ?? "")"] = Int(Double(v) ?? -1) }
            }
            return out
        }
    }

    static func config(url: String, spill: URL) -> String {
        """
        log_level: info
        spill:
          dir: \(spill.path)
          fsync_interval: 200ms
        remote_write:
          url: \(url)
          samples_per_request: 600
          flush_interval: 500ms
          timeout: 2s
          backfill_rate: 5000
        monitors:
          - id: lo
            protocol: icmp
            cadence: 1s
            targets: [\((1...20).map { "127.0.1.\($0)" }.joined(separator: ", "))]
        """
    }

    func outage(_ receiver: Receiver, seconds: Double) throws {
        let up = try receiver.run("start", extra: ["\(receiver.port)"])
        try #require(up.status == 0, "cannot start \(receiver.script): \(up.stderr)")
        defer { _ = try? receiver.run("stop") }
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(url: receiver.base + receiver.writePath, spill: spill))
        try #require(agent.waitForStatus(timeout: 20) { ($0.delivery?.resultsShipped ?? 0) >= 40 } != nil, "log:\n\(agent.log)")

        let paused = try receiver.run("pause")
        try #require(paused.status == 0, "\(paused.stderr)")
        let degraded = agent.waitForStatus(timeout: 10) { $0.delivery?.mode == .degraded }
        #expect(degraded != nil)
        Thread.sleep(forTimeInterval: seconds)
        let during = try agent.status()
        #expect((during.delivery?.spillPendingRecords ?? 0) >= Int(seconds) * 15, "the outage's results wait on disk")
        let resumed = try receiver.run("resume")
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let back = agent.waitForStatus(timeout: 90) { s in
            s.delivery?.mode == .normal && (s.delivery?.modeHistory.count ?? 0) >= 4
        }
        #expect(back != nil, "recovered; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let s = try agent.status()
        #expect(s.delivery?.modeHistory.starts(with: [.normal, .degraded, .recovery, .normal]) == true,
                "\(s.delivery?.modeHistory ?? [])")
        #expect(s.delivery?.resultsLost == 0 && s.delivery?.spillDroppedRecords == 0 && s.delivery?.tooOldResultsDropped == 0)

        // Give the receiver a moment to make the last request queryable, then count.
        let pending = s.delivery?.spillPendingRecords ?? -1
        var inStore: [String: Int] = [:]
        let made = Dictionary(uniqueKeysWithValues: (s.monitors ?? []).flatMap { m in
            m.targets.map { ("\(m.id)/\($0.target)", Int($0.record?.sent ?? 0)) }
        })
        for _ in 0..<20 {
            inStore = (try? receiver.counts()) ?? [:]
            if inStore.values.reduce(0, +) + pending >= made.values.reduce(0, +) { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let total = made.values.reduce(0, +)
        print("\(receiver.script): \(total) probes made, \(inStore.values.reduce(0, +)) samples per probe_success in the store, \(pending) on disk at stop")
        #expect(total > Int(seconds) * 20)
        #expect(inStore.values.reduce(0, +) + pending == total, "zero loss: store + disk = made")
        for (series, n) in made {
            #expect((inStore[series] ?? 0) <= n && (inStore[series] ?? 0) >= n - pending, "\(series): \(inStore[series] ?? 0) of \(n)")
        }
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"),
                   "needs root and Debian's prometheus"), .timeLimit(.minutes(5)))
    func prometheusDownForOverAMinute() throws {
        try outage(Receiver(script: "prometheus.sh", name: "ro\(getpid())", port: try FakeStore.freePort(),
                            writePath: "/api/v1/write"), seconds: 65)
    }

    @Test(.enabled(if: Tools.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/victoria-metrics"),
                   "needs root and Debian's victoria-metrics"), .timeLimit(.minutes(5)))
    func victoriaMetricsDownForOverAMinute() throws {
        try outage(Receiver(script: "victoria-metrics.sh", name: "rv\(getpid())", port: try FakeStore.freePort(),
                            writePath: "/api/v1/write"), seconds: 65)
    }
}
}
