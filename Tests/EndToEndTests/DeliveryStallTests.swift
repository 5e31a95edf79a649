import Foundation
import Testing

/// Delivery that cannot make progress is never silent: a store that takes requests and never
/// answers, and a spill log that cannot be opened, both make /health answer 503 with the reason,
/// while probing goes on; with two stores, one that never answers is that store's stall only.
@Suite("delivery stalls are seen", .serialized)
struct DeliveryStallTests {
    static func health(_ agent: RunningAgent) throws -> (status: Int, reason: String) {
        let address = try #require(agent.waitForListeners())
        let reply = try ServiceSurfaceTests.get("http://\(address)/health")
        let json = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
        return (reply.status, json?["reason"] as? String ?? reply.body)
    }

    /// Polls /health until `ready`; the reply that matched, nil if none did within `timeout`.
    static func waitForHealth(_ agent: RunningAgent, timeout: TimeInterval,
                              _ ready: ((status: Int, reason: String)) -> Bool) -> (status: Int, reason: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let h = try? health(agent), ready(h) { return h }
            usleep(200_000)
        }
        return nil
    }

    // 23 s alone; once over 2 minutes with the whole suite on the same two cores, hence 4.
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func aStoreThatNeverAnswersIsAStallWithinTheStallTimeout() throws {
        let store = try FakeStore()
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let cfg = DeliveryTests.config(store: store.url, spill: spill)
            .replacingOccurrences(of: "  timeout: 1s", with: "  timeout: 60s\n  stall_timeout: 2s")
        let agent = try RunningAgent(config: cfg)
        #expect(agent.waitForStatus(timeout: 20) { ($0.delivery?.resultsShipped ?? 0) >= 20 } != nil, "log:\n\(agent.log)")
        let ok = try Self.health(agent)
        #expect(ok.status == 200)
        try store.setMode("hang:12")
        let hung = Date()
        let stalled = Self.waitForHealth(agent, timeout: 15) { $0.status == 503 }
        #expect(stalled != nil, "no 503 while the store hangs; log:\n\(agent.log)")
        #expect(stalled?.reason.contains("delivery stalled: no answer from the store") == true, "\(String(describing: stalled))")
        // stall_timeout (2 s) plus the first flush (200 ms) and the status polling.
        #expect(Date().timeIntervalSince(hung) < 8, "seen within the stall timeout, not the request timeout")
        let s = try #require(agent.waitForStatus(timeout: 5) { $0.delivery?.stalled?.contains("delivery stalled") == true },
                             "the status file says so too")
        #expect(s.sentTotal > 0, "probing goes on")
        try store.setMode("ok")
        let back = Self.waitForHealth(agent, timeout: 40) { $0.status == 200 }
        #expect(back != nil, "healthy again once the store answers; log:\n\(agent.log)")
        // Both changes were events on the admin stream (and log lines).
        #expect(agent.waitForLog("delivery resumed", timeout: 5))
        let events = try agent.agentctl(["events", "--json"])
        #expect(events.stdout.contains("\"delivery_stalled\"") && events.stdout.contains("\"delivery_resumed\""), "\(events.stdout)")
        #expect(agent.stop() == 0)
    }

    /// Two stores: one that never answers is that store's stall only — named in /health, its
    /// status and metric, an event — while /health stays 200 (the watchdog is fed) and the
    /// other store goes on delivering; both hung is delivery stalled as a whole (503).
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func oneOfTwoStoresThatNeverAnswersStallsThatStoreOnly() throws {
        let (a, b) = (try FakeStore(), try FakeStore())
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        let one = DeliveryTests.config(store: a.url, spill: spill)
            .replacingOccurrences(of: "  timeout: 1s", with: "  timeout: 60s\n  stall_timeout: 2s")
        let store = one[one.range(of: "remote_write:\n")!.upperBound..<one.range(of: "\nmonitors:")!.lowerBound]
            .split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { "  " + $0 }
        let list = ["  - name: a"] + store + ["  - name: b"] + store.map { $0.replacingOccurrences(of: a.url, with: b.url) }
        let cfg = one.replacingOccurrences(of: String(store.map { $0.dropFirst(2) }.joined(separator: "\n")),
                                           with: list.joined(separator: "\n"))
        let agent = try RunningAgent(config: cfg)
        #expect(agent.waitForStatus(timeout: 20) { s in (s.stores ?? []).count == 2 && s.stores!.allSatisfy { $0.resultsShipped >= 20 } } != nil,
                "config:\n\(cfg)\nlog:\n\(agent.log)")

        try b.setMode("hang:10")
        let seen = agent.waitForStatus(timeout: 15) { $0.stores?[1].stalled != nil }
        #expect(seen?.stores?[0].stalled == nil, "store a is not stalled; log:\n\(agent.log)")
        let h = try Self.health(agent)
        #expect(h.status == 200 && h.reason.contains("remote_write 'b': delivery stalled: no answer from remote_write 'b' for over 2s"),
                "\(h)")
        // Over 5 s of b's stall, /health stays 200 and store a keeps shipping.
        let shippedBefore = try agent.status().stores?[0].resultsShipped ?? 0
        let until = Date().addingTimeInterval(5)
        var worst = 200
        while Date() < until {
            worst = max(worst, (try? Self.health(agent).status) ?? 0)
            usleep(250_000)
        }
        #expect(worst == 200, "never 503 while store a delivers")
        let shippedAfter = try agent.status().stores?[0].resultsShipped ?? 0
        #expect(shippedAfter >= shippedBefore + 40, "store a went on: \(shippedBefore) → \(shippedAfter)")
        let metrics = try ServiceSurfaceTests.get("http://\(try #require(agent.waitForListeners()))/metrics").body
        #expect(metrics.contains("probeagent_delivery_stalled 0"))
        #expect(metrics.contains("probeagent_remote_write_stalled{remote_name=\"b\",url=\"\(b.url)\"} 1"), "\(metrics.split(separator: "\n").filter { $0.contains("stalled") })")
        #expect(metrics.contains("probeagent_remote_write_stalled{remote_name=\"a\",url=\"\(a.url)\"} 0"))
        #expect(agent.waitForLog("(the other stores are delivering)", timeout: 5), "an event and a log line name the store")

        // Both hung: nothing delivers, so delivery as a whole is stalled.
        try a.setMode("hang:10")
        let both = Self.waitForHealth(agent, timeout: 15) { $0.status == 503 }
        #expect(both?.reason.contains("remote_write 'a'") == true && both?.reason.contains("remote_write 'b'") == true,
                "\(String(describing: both)); log:\n\(agent.log)")
        try a.setMode("ok")
        try b.setMode("ok")
        #expect(Self.waitForHealth(agent, timeout: 40) { $0.status == 200 && !$0.reason.contains("stalled") } != nil,
                "healthy again once both answer; log:\n\(agent.log)")
        #expect(agent.waitForLog("delivery resumed", timeout: 10))
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func aSpillLogThatCannotBeOpenedIsReportedAndItsResultsCountedLost() throws {
        let store = try FakeStore()
        let spill = try DeliveryTests.tempDir("spill")
        defer { try? FileManager.default.removeItem(at: spill) }
        // A read position that is a directory: the log refuses to open (not a crash).
        try FileManager.default.createDirectory(at: spill.appendingPathComponent("read.pos"), withIntermediateDirectories: false)
        let agent = try RunningAgent(config: DeliveryTests.config(store: store.url, spill: spill))
        let down = Self.waitForHealth(agent, timeout: 20) { $0.status == 503 }
        #expect(down?.reason.contains("delivery stopped: spill log \(spill.path) cannot be opened") == true,
                "\(String(describing: down)); log:\n\(agent.log)")
        let lost = agent.waitForStatus(timeout: 20) { ($0.delivery?.resultsLost ?? 0) > 10 }
        #expect(lost != nil, "results that cannot be kept are counted as lost; log:\n\(agent.log)")
        #expect(agent.log.contains("cannot be opened"))
        #expect(agent.stop() == 0)
    }
}
