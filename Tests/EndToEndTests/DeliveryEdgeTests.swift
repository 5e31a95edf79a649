import Foundation
import Testing

/// Delivery when the spill disk refuses writes, and in fresh-first order.
@Suite("probe-agent delivery edge cases", .serialized)
struct DeliveryEdgeTests {
    @Test(.enabled(if: Tools.isRoot, "needs root to mount a tmpfs and for raw ICMP"), .timeLimit(.minutes(3)))
    func fullSpillDiskIsReportedCountedAndProbingGoesOn() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = try DeliveryTests.tempDir("tiny")
        let mount = try Tools.run(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", spill.path])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer {
            _ = try? Tools.run(["/bin/umount", spill.path])
            try? FileManager.default.removeItem(at: spill)
        }
        // Small memory queue, many results per second: the disk fills within seconds.
        let cfg = DeliveryTests.config(store: store.url, spill: spill)
            .replacingOccurrences(of: "mem_items_cap: 200", with: "mem_items_cap: 50")
            .replacingOccurrences(of: "cadence: 1s\n    targets: [127.0.0.1", with: "cadence: 100ms\n    targets: [127.0.0.1")
        let agent = try RunningAgent(config: cfg)
        let s = try #require(agent.waitForStatus(timeout: 40) { ($0.delivery?.resultsLost ?? 0) > 0 }, "log:\n\(agent.log)")
        #expect((s.delivery?.spillWriteErrors ?? 0) > 0)
        #expect(s.delivery?.lastError?.contains(spill.path) == true, "the error names the spill directory: \(s.delivery?.lastError ?? "nil")")
        let fired = s.scheduler.fired
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try agent.status().scheduler.fired > fired, "probing goes on with the disk full")
        #expect(agent.stop() == 0)
        #expect(agent.log.contains("spill write failed"))
        let f = try agent.status()
        let made = f.sentTotal
        let d = try #require(f.delivery)
        // Accounting still closes: made = on disk + lost (+ whatever the memory queue held at
        // stop that the full disk refused, which is counted as lost too).
        #expect(d.spillPendingRecords + Int(d.resultsLost) == made, "made \(made), on disk \(d.spillPendingRecords), lost \(d.resultsLost)")
    }

    /// 55 results/s (ten targets every 200 ms, one every 1 s) in requests of 5 results, up to 4
    /// requests at once.
    static func manyRequestsConfig(store: FakeStore, spill: URL) -> String {
        DeliveryTests.config(store: store.url, spill: spill)
            .replacingOccurrences(of: "  samples_per_request: 60", with: "  samples_per_request: 15\n  requests_in_flight: 4")
            .replacingOccurrences(of: "cadence: 1s\n    targets: [127.0.0.1", with: "cadence: 200ms\n    targets: [127.0.0.1")
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func severalRequestsInFlightKeepEverySeriesInOrder() throws {
        let store = try FakeStore()
        try store.setMode("hang:0.3") // every answer takes 300 ms
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        // 55 results/s in requests of 5: ~11 requests/s, so with 300 ms each the agent needs
        // about 3 on their way at once to keep up.
        let agent = try RunningAgent(config: Self.manyRequestsConfig(store: store, spill: spill))
        #expect(agent.waitForStatus(timeout: 40) { ($0.delivery?.resultsShipped ?? 0) >= 150 } != nil, "log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        let stats = try store.stats()
        #expect((2...4).contains(stats.maxInFlight ?? 0), "requests at once: \(stats.maxInFlight ?? 0), allowed 4")
        // In the order the store received them, every series' samples only move forward.
        let requests = try store.requests()
        DeliveryTests.expectEverySeriesInOrder(requests)
        // Every request was answered 204 after its wait: made = delivered + on disk.
        let delivered = requests.flatMap(\.series).filter { $0.name == "probe_success" }.reduce(0) { $0 + $1.samples.count }
        let s = try agent.status()
        let made = s.sentTotal
        let l = DeliveryTests.Ledger(made: made, delivered: delivered, pending: s.delivery?.spillPendingRecords ?? -1)
        #expect(l.nothingLost, "\(l)")
        #expect(s.delivery?.tooOldResultsDropped == 0 && s.delivery?.deadLetterResults == 0)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(3)))
    func backlogDrainsInParallelRequestsAndResendsOnlyWhatFailed() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: Self.manyRequestsConfig(store: store, spill: spill))
        #expect(agent.waitForStatus(timeout: 40) { ($0.delivery?.spillPendingRecords ?? 0) >= 150 } != nil, "log:\n\(agent.log)")
        // Every second request fails: chunks of the backlog go out as up to four requests, some
        // of which fail and must be resent alone.
        try store.setMode("flaky:2")
        #expect(agent.waitForStatus(timeout: 60) { ($0.delivery?.resultsShipped ?? 0) >= 40 } != nil, "log:\n\(agent.log)")
        try store.setMode("ok")
        #expect(agent.waitForStatus(timeout: 60) { $0.delivery?.mode == .normal } != nil, "backlog drained; log:\n\(agent.log)")
        #expect(agent.stop() == 0)
        // Among the accepted requests, in the order the store got them: each series only moves
        // forward and no sample arrives twice.
        let requests = try store.requests()
        let modes = requests.map(\.mode)
        let firstAccepted = try #require(modes.firstIndex(of: "ok"))
        #expect(modes[firstAccepted...].contains("500"), "some requests failed while the backlog drained")
        DeliveryTests.expectEverySeriesInOrder(requests.filter { $0.mode == "ok" })
        let l = try DeliveryTests.ledger(try agent.status(), store)
        #expect(l.nothingLost && l.tooOld == 0 && l.deadLetter == 0, "\(l)")
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func freshFirstShipsLiveResultsWhileTheBacklogDrains() throws {
        let store = try FakeStore()
        try store.setMode("500")
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let cfg = DeliveryTests.config(store: store.url, spill: spill, extra: "")
            .replacingOccurrences(of: "  backfill_rate: 2000", with: "  backfill_rate: 2\n  fresh_first: true")
            .replacingOccurrences(of: "spill:\n", with: "spill:\n  mode: on_failure\n")
        let agent = try RunningAgent(config: cfg)
        // 40 results on disk: ~4 s of probing once the first failures moved delivery to the spill
        // log; the bound is generous because every suite shares the two cores in CI.
        #expect(agent.waitForStatus(timeout: 40) { ($0.delivery?.spillPendingRecords ?? 0) >= 40 } != nil, "log:\n\(agent.log)")
        try store.setMode("ok")
        // Backfill is throttled to 2 results/s, so recovery lasts ~20 s: live results (11/s) must
        // not wait behind it. Up to ~10 s may pass first: the backoff left over from the outage.
        let s = try #require(agent.waitForStatus(timeout: 45) { s in
            s.delivery?.mode == .recovery && (s.delivery?.resultsShipped ?? 0) >= 40
        }, "log:\n\(agent.log)")
        #expect((s.delivery?.spillPendingRecords ?? 0) > 0, "backlog still draining while live results ship")
        let newest = try store.requests().filter { $0.mode == "ok" }.flatMap(\.series).flatMap(\.samples).map(\.timestampMs).max() ?? 0
        #expect(Int64(Date().timeIntervalSince1970 * 1000) - newest < 5_000, "fresh results are at most seconds old")
        #expect(agent.stop() == 0)
        let l = try DeliveryTests.ledger(try agent.status(), store)
        #expect(l.nothingLost)
    }
}
