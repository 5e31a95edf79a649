import AdminAPI
import Foundation
import RemoteWrite
import Testing

/// The real agent shipping to a store whose answers the test controls (Tests/support/fake-store.py).
/// Every check ends in the same ledger: results made = delivered + still on disk + given up
/// (dead letter, too old), each counted.
@Suite("probe-agent delivery through store failures", .serialized)
struct DeliveryTests {
    /// 10 loopback ICMP targets and one refused TCP port, every second; small requests.
    static func config(store: String, spill: URL, extra: String = "") -> String {
        """
        log_level: info
        scheduler:
          tick: 10ms
        queue:
          mem_items_cap: 200
        \(TestConfig.delivery(store: store, spill: spill, more: "  backfill_rate: 2000\n  external_labels:\n    agent: test"))
        \(extra)
        monitors:
          - id: lo
            protocol: icmp
            cadence: 1s
            targets: [\((1...10).map { "127.0.0.\($0)" }.joined(separator: ", "))]
          - id: closed
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 300ms
            targets: [127.0.0.11]
        """
    }

    struct Ledger {
        var made = 0
        var delivered = 0
        var pending = 0
        var deadLetter = 0
        var tooOld = 0

        /// Every result made was delivered once or waits in the log, undelivered.
        var nothingLost: Bool { delivered + pending == made }
    }

    static func ledger(_ s: AgentStatus, _ store: FakeStore) throws -> Ledger {
        Ledger(made: s.sentTotal,
               delivered: try store.deliveredResults(), pending: s.delivery?.spillPendingRecords ?? -1,
               deadLetter: Int(s.delivery?.deadLetterResults ?? 0), tooOld: Int(s.delivery?.tooOldResultsDropped ?? 0))
    }

    /// Walks requests in the order the store got them and expects every series' samples to
    /// move forward (none older than, or as old as, one already received).
    /// - Returns: each series' newest timestamp, keyed by its label set ("name=value,…").
    @discardableResult
    static func expectEverySeriesInOrder(_ requests: [(mode: String, series: [Series])],
                                         sourceLocation: SourceLocation = #_sourceLocation) -> [String: Int64] {
        var newest: [String: Int64] = [:]
        for request in requests {
            for series in request.series {
                let key = series.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                for sample in series.samples {
                    #expect(sample.timestampMs > newest[key, default: .min],
                            "\(key): \(sample.timestampMs) after \(newest[key] ?? 0)", sourceLocation: sourceLocation)
                    newest[key] = sample.timestampMs
                }
            }
        }
        return newest
    }

    static func tempDir(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func outageWithRetryAfterAndErrorsLosesNothingAndKeepsOrder() throws {
        let store = try FakeStore()
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        #expect(agent.waitForStatus(timeout: 15) { ($0.delivery?.resultsShipped ?? 0) >= 20 } != nil, "log:\n\(agent.log)")
        try store.setMode("429:2")
        let degraded = agent.waitForStatus(timeout: 10) { $0.delivery?.mode == .degraded }
        #expect(degraded != nil)
        Thread.sleep(forTimeInterval: 3)
        try store.setMode("500")
        Thread.sleep(forTimeInterval: 3)
        let during = try agent.status()
        #expect((during.delivery?.spillPendingRecords ?? 0) > 0, "results wait on disk during the outage")
        try store.setMode("ok")
        let normal = agent.waitForStatus(timeout: 30) { s in
            s.delivery?.mode == .normal && s.delivery?.modeHistory.contains(.recovery) == true
        }
        #expect(normal != nil, "back to normal; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let s = try agent.status()
        let l = try Self.ledger(s, store)
        #expect(l.made > 60)
        #expect(l.nothingLost, "made \(l.made) = delivered \(l.delivered) + pending \(l.pending)")
        #expect(s.delivery?.resultsLost == 0 && s.delivery?.spillDroppedRecords == 0)
        let history = s.delivery?.modeHistory ?? []
        #expect(history.starts(with: [.normal, .degraded, .recovery, .normal]), "\(history)")
        #expect((s.delivery?.retries ?? 0) >= 1)
        // 429 with Retry-After: 2 → no two failed tries closer than 2 s while it lasted.
        let tries = try store.requests().enumerated().filter { $0.element.mode.hasPrefix("429") }
        #expect(tries.count >= 1 && tries.count <= 3, "\(tries.count) tries in ~3 s of 429 with Retry-After 2")
        // Every series arrived in timestamp order, across all requests.
        let last = Self.expectEverySeriesInOrder(try store.requests().filter { $0.mode == "ok" })
        #expect(last.keys.contains { $0.contains("__name__=probe_rtt_seconds") && $0.contains("agent=test") })
        // Exact label sets, sorted by name: metric name, external label, monitor, protocol, target.
        #expect(last.keys.contains("__name__=probe_rtt_seconds,agent=test,monitor=lo,protocol=icmp,target=127.0.0.3"))
        #expect(last.keys.contains("__name__=probe_status_code,agent=test,monitor=closed,protocol=tcp-connect,target=127.0.0.11"))
        #expect(last.keys.contains("__name__=probe_success,agent=test,monitor=closed,protocol=tcp-connect,target=127.0.0.11"))
        #expect(!last.keys.contains { $0.contains("probe_rtt_seconds") && $0.contains("monitor=closed") }, "no RTT for refused probes")
    }

    /// `probeagent_remote_write_sent_bytes_total` counts the request bodies as the store got
    /// them: between the bytes the store had saved before the scrape and those it has after.
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func sentBytesAreTheBodiesTheStoreGot() throws {
        let store = try FakeStore()
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        #expect(agent.waitForStatus(timeout: 20) { ($0.delivery?.requestsSent ?? 0) >= 5 } != nil, "log:\n\(agent.log)")
        func saved() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: store.dir.path).filter { $0.hasSuffix(".bin") }
                .reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: store.dir.appendingPathComponent($1).path)[.size] as? Int) ?? 0) }
        }
        let before = try saved()
        let metrics = try ServiceSurfaceTests.get("http://\(try #require(agent.waitForListeners()))/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("probeagent_remote_write_sent_bytes_total{") }
        let counted = try #require(line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }, "\(String(describing: line))")
        usleep(1_500_000) // requests on their way reach the store
        let after = try saved()
        #expect(before > 0 && Double(before) <= counted && counted <= Double(after), "saved \(before) ≤ counted \(counted) ≤ saved \(after)")
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func rejectedRequestsGoToDeadLetterAndAreNotRetried() throws {
        let store = try FakeStore()
        try store.setMode("400")
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        let s = try #require(agent.waitForStatus(timeout: 15) { ($0.delivery?.deadLetterRequests ?? 0) >= 3 })
        #expect(s.delivery?.retries == 0, "a 400 is never retried")
        #expect(s.delivery?.mode == .normal, "a bad request is not an outage")
        let letters = try FileManager.default.contentsOfDirectory(atPath: spill.appendingPathComponent("dead-letter").path)
        #expect(letters.contains { $0.hasSuffix(".bin") } && letters.contains { $0.hasSuffix(".txt") })
        try store.setMode("ok")
        #expect(agent.waitForStatus(timeout: 10) { ($0.delivery?.resultsShipped ?? 0) >= 10 } != nil)
        #expect(agent.stop() == 0)
        let l = try Self.ledger(try agent.status(), store)
        #expect(l.delivered + l.pending + l.deadLetter == l.made)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func tooOldSamplesAreSplitOffWithoutWedgingTheQueue() throws {
        let store = try FakeStore()
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        #expect(agent.waitForStatus(timeout: 15) { ($0.delivery?.resultsShipped ?? 0) >= 10 } != nil)
        try store.setMode("too-old:12")
        let s = try #require(agent.waitForStatus(timeout: 15) { s in
            (s.delivery?.tooOldResultsDropped ?? 0) > 0 && (try? store.stats().mode) == "ok" && (s.delivery?.resultsShipped ?? 0) > 30
        }, "log:\n\(agent.log)")
        #expect(s.delivery?.mode == .normal)
        #expect(agent.stop() == 0)
        let l = try Self.ledger(try agent.status(), store)
        #expect(l.tooOld >= 1 && l.tooOld < l.made / 2)
        #expect(l.delivered + l.pending + l.tooOld == l.made, "made \(l.made) delivered \(l.delivered) pending \(l.pending) too old \(l.tooOld)")
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func hangingStoreTimesOutThenRecovers() throws {
        let store = try FakeStore()
        try store.setMode("hang:20")
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.config(store: store.url, spill: spill))
        let degraded = try #require(agent.waitForStatus(timeout: 15) { $0.delivery?.mode == .degraded })
        #expect(degraded.delivery?.lastError?.isEmpty == false)
        try store.setMode("ok")
        #expect(agent.waitForStatus(timeout: 40) { $0.delivery?.mode == .normal && ($0.delivery?.resultsShipped ?? 0) > 0 } != nil,
                "log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let l = try Self.ledger(try agent.status(), store)
        #expect(l.nothingLost, "at-least-once: \(l)")
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func sigtermPersistsAndKill9LosesAtMostTheFsyncInterval() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = try Self.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let cfg = Self.config(store: store.url, spill: spill)

        // 1. Outage, SIGTERM: everything made is on disk.
        let first = try RunningAgent(config: cfg)
        Thread.sleep(forTimeInterval: 4)
        #expect(first.stop() == 0)
        let s1 = try first.status()
        let l1 = try Self.ledger(s1, store)
        #expect(l1.delivered == 0 && l1.pending == l1.made, "SIGTERM persisted all \(l1.made)")

        // 2. Outage continues, a second agent backlogs more, then is killed with SIGKILL.
        let second = try RunningAgent(config: cfg)
        Thread.sleep(forTimeInterval: 4)
        let beforeKill = try #require(second.waitForStatus(timeout: 5) { _ in true })
        second.signal(SIGKILL)
        _ = second.process.wait(timeout: 10)
        let madeBeforeKill = beforeKill.sentTotal

        // 3. Store back, third agent: backfill of everything the first two left on disk.
        try store.setMode("ok")
        let third = try RunningAgent(config: cfg)
        let s3 = try #require(third.waitForStatus(timeout: 30) { s in
            s.delivery?.mode == .normal && (try? store.deliveredResults()) ?? 0 >= l1.made + madeBeforeKill
        }, "log:\n\(third.log)")
        #expect(third.stop() == 0)
        let l3 = try Self.ledger(try third.status(), store)
        let delivered = l3.delivered + l3.pending - l3.made // everything not made by the third agent
        // Status of the killed agent is at most 1 s old; 11 results/s, fsync every 200 ms.
        #expect(delivered >= l1.made + madeBeforeKill - 11 / 5 - 1, "delivered \(delivered) of \(l1.made) + \(madeBeforeKill)")
        #expect((s3.delivery?.spillTornTailBytes ?? 0) >= 0)
    }
}
