import TestSupport
import Testing
@testable import ProbeAgentCore

@Suite("Pipeline: record codec, series, backoff, verdicts, modes, memory queue")
struct PipelineTests {
    static let record = ResultRecord(
        monitorID: "edge", target: "127.0.0.1", probeProtocol: .tcpSyn, outcome: .ok, suppressed: false,
        rttNanoseconds: 1_234_567, timestampMilliseconds: 1_763_000_000_123, labels: [("site", "ams"), ("role", "edge")])

    @Test func recordRoundTripsThroughItsBinaryForm() throws {
        for r in [Self.record,
                  ResultRecord(monitorID: "m", target: "::1", probeProtocol: .icmp, outcome: .timeout, suppressed: true,
                               rttNanoseconds: nil, timestampMilliseconds: -5, labels: [])] {
            #expect(try ResultRecord(decoding: r.encoded()) == r)
        }
        #expect(Self.record.labels.map(\.0) == ["role", "site"], "labels are kept sorted")
    }

    @Test func decodingRejectsEveryTruncationAndBadValues() {
        let bytes = Self.record.encoded()
        for n in 0..<bytes.count {
            #expect(throws: ResultRecord.DecodeError.self) { try ResultRecord(decoding: bytes.prefix(n)) }
        }
        var badVersion = bytes
        badVersion[0] = 9
        #expect(throws: ResultRecord.DecodeError.badVersion(9)) { try ResultRecord(decoding: badVersion) }
        var badOutcome = bytes
        badOutcome[2] = 200
        #expect(throws: ResultRecord.DecodeError.self) { try ResultRecord(decoding: badOutcome) }
    }

    @Test func resultBecomesSuccessStatusAndRTTSamples() {
        let s = SeriesMapping.samples(of: Self.record, externalLabels: [("agent", "a1"), ("site", "ignored")])
        #expect(s.map { $0.labels[0].value } == ["probe_success", "probe_status_code", "probe_rtt_seconds"])
        #expect(s.map(\.value) == [1, 0, 0.001234567])
        #expect(s.allSatisfy { $0.timestampMilliseconds == 1_763_000_000_123 })
        let names = s[0].labels.map(\.name)
        #expect(names == ["__name__", "agent", "monitor", "protocol", "role", "site", "target"])
        #expect(s[0].labels.first { $0.name == "site" }?.value == "ams", "external labels never override")
        #expect(s[0].labels.first { $0.name == "protocol" }?.value == "tcp-syn")
        var failed = Self.record
        failed.outcome = .timeout
        failed.suppressed = true
        let f = SeriesMapping.samples(of: failed, externalLabels: [])
        #expect(f.map(\.value) == [0, 6], "no RTT sample on failure; suppressed failure has code 6")
    }

    @Test func backoffGrowsCapsJittersAndHonoursRetryAfter() {
        var b = Backoff(base: .milliseconds(100), cap: .seconds(1))
        let delay1 = b.next(random: 0.999_999)
        #expect(delay1 < .milliseconds(101))
        let delay2 = b.next(random: 0.999_999)
        #expect(delay2 < .milliseconds(201))
        let delay3 = b.next(random: 0.5)
        #expect(delay3 == .milliseconds(200))
        for _ in 0..<40 { _ = b.next(random: 0.9) }
        let delay4 = b.next(random: 1)
        #expect(delay4 == .seconds(1), "capped, no overflow after many attempts")
        let delay5 = b.next(random: 0, retryAfter: .seconds(7))
        #expect(delay5 == .seconds(7))
        let delay6 = b.next(random: 0, retryAfter: .seconds(9_999))
        #expect(delay6 == .seconds(300), "Retry-After clamped")
        b.reset()
        #expect(b.attempt == 0)
    }

    @Test func storeAnswersAreClassified() {
        func verdict(_ status: Int?, _ body: String = "", retryAfter: String? = nil, location: String? = nil) -> StoreVerdict {
            StoreResponse.classify(StoreAnswer(status: status, body: body, retryAfter: retryAfter, location: location,
                                               transportError: status == nil ? "connection refused by 127.0.0.1:9" : nil))
        }
        #expect(verdict(204) == .accepted)
        #expect(verdict(nil) == .failing(reason: "connection refused by 127.0.0.1:9", retryAfter: nil))
        #expect(verdict(503, "busy") == .failing(reason: "HTTP 503 Service Unavailable: busy", retryAfter: nil))
        #expect(verdict(429, retryAfter: "12") == .failing(reason: "HTTP 429 Too Many Requests", retryAfter: .seconds(12)))
        #expect(verdict(429, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT") == .failing(reason: "HTTP 429 Too Many Requests", retryAfter: nil))
        #expect(verdict(400, "snappy: corrupt input") == .malformed(reason: "HTTP 400 Bad Request: snappy: corrupt input"))
        #expect(verdict(422, "bad labels\nmore") == .malformed(reason: "HTTP 422 Unprocessable Content: bad labels"))
        for status in [401, 403, 404, 405, 407, 408, 500, 502] {
            guard case .failing = verdict(status, "x") else { Issue.record("\(status) must mean the store is failing"); continue }
        }
        #expect(verdict(413, "too big") == .tooLarge(reason: "HTTP 413 Content Too Large: too big"))
        #expect(verdict(302, location: "https://elsewhere/") == .failing(
            reason: "HTTP 302 Found: redirect to https://elsewhere/ not followed; fix remote_write.url", retryAfter: nil))
        #expect(verdict(500, "too old sample") == .tooOld)
        #expect(verdict(400, "out of bounds") == .tooOld)
    }

    @Test func modesFollowStoreHealthAndBacklog() {
        var m = ModeTracker(nowMilliseconds: 0)
        let change1 = m.update(storeFailing: false, backlog: 0, reason: "ok", nowMilliseconds: 1)
        #expect(change1 == nil)
        let change2 = m.update(storeFailing: true, backlog: 0, reason: "connection refused", nowMilliseconds: 2)
        #expect(change2 == .degraded)
        let change3 = m.update(storeFailing: true, backlog: 10, reason: "still", nowMilliseconds: 3)
        #expect(change3 == nil)
        let change4 = m.update(storeFailing: false, backlog: 10, reason: "store answered", nowMilliseconds: 4)
        #expect(change4 == .recovery)
        let change5 = m.update(storeFailing: false, backlog: 0, reason: "backlog drained", nowMilliseconds: 5)
        #expect(change5 == .normal)
        #expect(m.history == [.normal, .degraded, .recovery, .normal])
        #expect(m.reason == "backlog drained" && m.changedAtMilliseconds == 5)
    }

    @Test func memoryQueuePopsWhileThePredicateTakesAndKeepsTheRest() {
        var q = MemoryQueue<Int>(capacity: 8)
        for i in [1, 2, 7, 3] { _ = q.push(i) }
        let small = q.pop(max: 10) { $0 < 5 }
        #expect(small == [1, 2])
        #expect(q.count == 2)
        let none = q.pop(max: 10) { $0 < 5 }
        #expect(none.isEmpty && q.count == 2)
        #expect(q.drain() == [7, 3])
    }

    @Test func memoryQueueReleasesABurstsStorageWhenItRunsEmpty() {
        let burst = MemoryQueue<Int>.keptCapacity * 4
        var q = MemoryQueue<Int>(capacity: burst)
        for i in 0..<burst { _ = q.push(i) }
        #expect(q.storageCapacity >= burst)
        let firstHalf = q.pop(max: burst / 2)
        #expect(firstHalf == Array(0..<burst / 2) && q.storageCapacity >= burst) // not empty yet: kept
        #expect(q.storageReleases == 0)
        let rest = q.drain()
        #expect(rest == Array(burst / 2..<burst))
        #expect(q.isEmpty && q.storageCapacity == 0)
        #expect(q.storageReleases == 1, "counted, so the shipper can hand the pages back")
        // Steady state under the kept size reuses its storage.
        for i in 0..<100 { _ = q.push(i) }
        let small = q.storageCapacity
        _ = q.drain()
        #expect(small > 0 && q.storageCapacity == small && q.storageReleases == 1)
        for i in 0..<3 { _ = q.push(i) }
        #expect(q.drain() == [0, 1, 2])
    }

    @Test func aSteadyFlowKeepsTheQueuesStorageTheSizeOfItsBacklog() {
        // A few hundred results in flight, never empty, 100k capacity: storage must follow the
        // backlog, not creep to the capacity (it did: 8+ MB resident at 100k targets).
        var q = MemoryQueue<Int>(capacity: 100_000)
        var next = 0, expected = 0
        for _ in 0..<300 { _ = q.push(next); next += 1 }
        for _ in 0..<2_000 {
            for _ in 0..<100 { _ = q.push(next); next += 1 }
            for v in q.pop(max: 100) { #expect(v == expected); expected += 1 }
        }
        #expect(q.count == 300 && q.storageCapacity <= 512)
    }

    @Test(arguments: [1, 2, 3]) func memoryQueueMatchesAnArrayModel(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var q = MemoryQueue<Int>(capacity: 1_000)
        var model: [Int] = []
        var next = 0
        for _ in 0..<20_000 {
            if Int.random(in: 0..<10, using: &rng) < 6 {
                let accepted = q.push(next)
                #expect(accepted == (model.count < 1_000))
                if accepted { model.append(next) }
                next += 1
            } else {
                let n = Int.random(in: 0...40, using: &rng)
                let got = q.pop(max: n)
                #expect(got == Array(model.prefix(n)))
                model.removeFirst(got.count)
            }
            #expect(q.count == model.count)
        }
        #expect(q.drain() == model)
    }

    @Test func memoryQueueIsABoundedFIFO() {
        var q = MemoryQueue<Int>(capacity: 4)
        for i in 0..<4 { let pushed = q.push(i); #expect(pushed) }
        let pushedWhenFull = q.push(99)
        #expect(!pushedWhenFull && q.refused == 1)
        let firstThree = q.pop(max: 3)
        #expect(firstThree == [0, 1, 2])
        for i in 4..<7 { let pushed = q.push(i); #expect(pushed) }
        #expect(q.isFull)
        let rest = q.drain()
        #expect(rest == [3, 4, 5, 6])
        #expect(q.isEmpty)
        // Long run against a model.
        var model: [Int] = []
        var rng = SystemRandomNumberGenerator()
        var next = 0
        for _ in 0..<10_000 {
            if Bool.random(using: &rng) {
                let ok = q.push(next)
                if model.count < 4 { #expect(ok); model.append(next) } else { #expect(!ok) }
                next += 1
            } else {
                let n = Int.random(in: 0...3, using: &rng)
                let got = q.pop(max: n)
                #expect(got == Array(model.prefix(n)))
                model.removeFirst(min(n, model.count))
            }
        }
    }
}
