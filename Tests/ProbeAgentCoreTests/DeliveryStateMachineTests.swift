import Testing
@testable import ProbeAgentCore

/// The delivery policy with a manual clock, an in-memory log (a position is the count of chunks
/// appended) and a store the test answers by hand.
struct DeliveryHarness {
    typealias Machine = DeliveryStateMachine
    var m: Machine
    var now: UInt64 = 1_000 * secondNanos
    var log: [[ResultRecord]] = []
    var cursor = 0
    var committed = 0
    var inFlight: [(id: UInt64, records: [ResultRecord])] = []
    var delivered: [ResultRecord] = []
    var deadLettered: [ResultRecord] = []
    var modes: [(DeliveryMode, String)] = []
    var produced = 0
    var diskFull = false
    var requestSizes: [Int] = []

    init(options: Machine.Options = Self.defaults, log: [[ResultRecord]] = [], committed: Int = 0) {
        self.log = log
        self.committed = committed
        cursor = committed
        m = Machine(options: options, backlogOnDisk: committed < log.count, now: now, wallMs: 0, random: { 0.5 })
        apply(m.poll(now: now, wallMs: 0))
    }

    static var defaults: Machine.Options {
        var o = Machine.Options()
        o.lanes = 4
        o.resultsPerRequest = 50
        o.memoryCap = 1_000
        o.backfillRate = 500
        o.flushInterval = .milliseconds(100)
        o.stallAfter = .seconds(30)
        return o
    }

    /// `n` new results over `series` series, one per series per call, timestamps = the clock.
    mutating func produce(_ n: Int, series: Int = 100) {
        let records = (0..<n).map { i in
            ResultRecord(monitorID: "m", target: "t\((produced + i) % series)", probeProtocol: .icmp, outcome: .ok,
                         suppressed: false, rttNanoseconds: 1000, timestampMilliseconds: Int64(now / msNanos) + Int64(i / series),
                         labels: [])
        }
        produced += n
        let outcome: Machine.LogOutcome
        if m.admission(count: n) == .log {
            if diskFull {
                outcome = .refused(reason: "disk full")
            } else {
                log.append(records)
                outcome = .appended(end: LogPosition(log.count))
            }
        } else {
            outcome = .notLogged
        }
        apply(m.received(records, outcome, now: now, wallMs: Int64(now / msNanos)))
    }

    mutating func apply(_ actions: [Machine.Action]) {
        for a in actions {
            switch a {
            case .send(let id, let records):
                inFlight.append((id, records))
                requestSizes.append(records.count)
            case .commit(let position):
                let p = position.value as! Int
                #expect(p > committed, "commits only move forward")
                committed = p
            case .skipBacklog(let position):
                cursor = max(cursor, position.value as! Int)
            case .readBacklog(let max):
                var read: [(records: [ResultRecord], end: LogPosition)] = []
                var total = 0
                while total < max && cursor < log.count {
                    read.append((log[cursor], LogPosition(cursor + 1)))
                    total += log[cursor].count
                    cursor += 1
                }
                apply(m.backlogRead(read, reachedEnd: cursor == log.count, now: now, wallMs: Int64(now / msNanos)))
            case .deadLetter(let records, _):
                deadLettered += records
            case .modeChanged(let mode, let reason):
                modes.append((mode, reason))
            }
        }
    }

    /// Answers every request on its way with `verdict(records)` (accepted ones are delivered).
    mutating func answerAll(_ verdict: ([ResultRecord]) -> StoreVerdict = { _ in .accepted }) {
        let requests = inFlight
        inFlight = []
        for r in requests {
            let v = verdict(r.records)
            if v == .accepted { delivered += r.records }
            apply(m.answered(r.id, v, now: now, wallMs: Int64(now / msNanos)))
        }
    }

    mutating func advance(ms: UInt64) {
        now += ms * msNanos
        apply(m.poll(now: now, wallMs: Int64(now / msNanos)))
    }

    /// Runs until nothing is left, answering as `verdict` says; bounded.
    mutating func drain(_ verdict: ([ResultRecord]) -> StoreVerdict = { _ in .accepted }) {
        for _ in 0..<10_000 where !(m.isIdle && inFlight.isEmpty) {
            answerAll(verdict)
            advance(ms: 50)
        }
    }

    /// Every series' samples reached the store in timestamp order.
    func inOrderPerSeries() -> Bool {
        var last: [String: Int64] = [:]
        for r in delivered {
            if let l = last[r.target], l > r.timestampMilliseconds { return false }
            last[r.target] = r.timestampMilliseconds
        }
        return true
    }
}

@Suite struct DeliveryStateMachineTests {
    @Test func writeAheadLogsEverythingBeforeItWaitsAndCommitsOnlyWhatTheStoreAcknowledged() {
        var h = DeliveryHarness()
        // A slow store: 200 results a second made, requests answered only every 2.5 s.
        for second in 0..<40 {
            for _ in 0..<10 {
                h.produce(20)
                h.advance(ms: 100)
            }
            if second % 5 == 4 { h.answerAll() }
            // At any moment: everything made is in the log, and the log's unacknowledged part
            // holds everything not yet delivered.
            #expect(h.log.reduce(0) { $0 + $1.count } == h.produced)
            let undelivered = Set(h.log.joined()).subtracting(h.delivered)
            #expect(undelivered.isSubset(of: Set(h.log[h.committed...].joined())))
            // The cap, passed by less than one log record at most: a backlog read asks for
            // "about" the room left and the log hands back whole records (20 results here).
            // Which lane a series takes is seeded per process, so where a read ends varies.
            #expect(h.m.windowCount < 1_000 + 20)
        }
        #expect(h.m.mode.mode == .recovery, "the window filled; newer results wait on disk")
        // "kill -9": a new machine on the same log resumes from the committed position.
        var after = DeliveryHarness(log: h.log, committed: h.committed)
        after.drain()
        let ordered = after.inOrderPerSeries()
        #expect(ordered, "after the restart, in order")
        #expect(Set(after.delivered + h.delivered) == Set(h.log.joined()), "nothing lost")
        #expect(after.committed == after.log.count)
        #expect(after.m.mode.mode == .normal)
    }

    @Test func aFlappingStoreLosesNothingAndKeepsEverySeriesInOrder() {
        var h = DeliveryHarness()
        for i in 0..<200 {
            h.produce(37)
            h.advance(ms: 60)
            let failing = i % 3 == 0
            h.answerAll { _ in failing ? .failing(reason: "HTTP 503 Service Unavailable", retryAfter: nil) : .accepted }
        }
        h.drain()
        #expect(h.delivered.count == h.produced && Set(h.delivered).count == h.produced)
        let ordered = h.inOrderPerSeries()
        #expect(ordered)
        #expect(h.m.counters.requestsFailed > 0 && h.m.counters.retries > 0)
        #expect(h.modes.contains { $0.0 == .degraded } && h.m.mode.mode == .normal)
        #expect(h.committed == h.log.count)
    }

    @Test func unauthorizedIsAFailingStoreNotADeadLetter() {
        var h = DeliveryHarness()
        let reason = "HTTP 401 Unauthorized: invalid token"
        for _ in 0..<100 { // 20 s of 401s
            h.produce(10)
            h.advance(ms: 200)
            h.answerAll { _ in .failing(reason: reason, retryAfter: nil) }
            if h.produced > 50 { #expect(h.m.mode.mode == .degraded && h.m.mode.reason == reason) }
            #expect(h.m.requestsInFlight <= 1, "one probe request at a time while failing")
        }
        #expect(h.delivered.isEmpty && h.deadLettered.isEmpty)
        h.drain()
        #expect(h.deadLettered.isEmpty)
        #expect(Set(h.delivered) == Set(h.log.joined()) && h.delivered.count == h.produced)
        let inOrder = h.inOrderPerSeries()
        #expect(inOrder)
        #expect(h.m.mode.mode == .normal)
    }

    @Test func contentTooLargeHalvesRequests() {
        var h = DeliveryHarness()
        h.produce(400)
        h.advance(ms: 200)
        #expect(h.requestSizes.max() == 50)
        h.answerAll { r in r.count > 20 ? .tooLarge(reason: "HTTP 413 Content Too Large") : .accepted }
        #expect(h.m.requestLimit == 25)
        h.requestSizes = []
        h.drain { r in r.count > 20 ? .tooLarge(reason: "HTTP 413 Content Too Large") : .accepted }
        #expect(h.m.requestLimit == 12 && h.m.counters.requestSizeHalvings == 2)
        let inOrder = h.inOrderPerSeries()
        #expect(h.delivered.count == 400 && inOrder)
        #expect(h.requestSizes.suffix(5).allSatisfy { $0 <= 12 })
    }

    @Test func aBacklogWhollyOlderThanTheStoresWindowIsGivenUpAndCountedNotWedged() {
        var h = DeliveryHarness()
        h.produce(300)
        // The store says "too old" for everything made before the cut.
        let cut = Int64(h.now / msNanos) + 10
        h.now += 60 * secondNanos
        h.produce(100)
        h.drain { r in r.contains { $0.timestampMilliseconds < cut } ? .tooOld : .accepted }
        #expect(h.m.counters.tooOldResultsDropped == 300)
        #expect(h.delivered.count == 100 && h.deadLettered.isEmpty)
        #expect(h.committed == h.log.count && h.m.isIdle)
    }

    @Test func malformedRequestsAreDeadLetteredAndCommitted() {
        var h = DeliveryHarness()
        h.produce(100)
        h.advance(ms: 200)
        h.answerAll { _ in .malformed(reason: "HTTP 400 Bad Request: bad labels") }
        #expect(h.deadLettered.count == 100 && h.m.counters.deadLetterResults == 100)
        #expect(h.committed == h.log.count && h.m.mode.mode == .normal)
    }

    @Test func aRefusingDiskShipsFromMemoryCountedAsNotDurableThenCountsTheRestAsLost() {
        var h = DeliveryHarness()
        h.diskFull = true
        h.produce(600)
        h.produce(600) // over the memory cap of 1,000: nowhere to keep these
        #expect(h.m.counters.notDurableResults == 600 && h.m.counters.resultsLost == 600)
        h.drain()
        #expect(h.delivered.count == 600)
        #expect(UInt64(h.delivered.count) + h.m.counters.resultsLost == UInt64(h.produced), "nothing silently dropped")
    }

    @Test func noAnswerForTheStallTimeIsAStall() {
        var h = DeliveryHarness()
        h.produce(100)
        h.advance(ms: 200)
        #expect(!h.inFlight.isEmpty)
        h.now += 29 * secondNanos
        #expect(!h.m.isStalled(now: h.now))
        h.now += 2 * secondNanos
        #expect(h.m.isStalled(now: h.now))
        h.answerAll()
        #expect(!h.m.isStalled(now: h.now))
    }

    @Test func onFailureModeLogsOnlyWhenTheStoreFails() {
        var o = DeliveryHarness.defaults
        o.writeAhead = false
        var h = DeliveryHarness(options: o)
        h.produce(100)
        #expect(h.log.isEmpty)
        h.advance(ms: 200)
        h.answerAll { _ in .failing(reason: "connection refused", retryAfter: nil) }
        h.produce(100)
        #expect(h.log.count == 1, "logged while the store fails")
        h.drain()
        let inOrder = h.inOrderPerSeries()
        #expect(h.delivered.count == 200 && inOrder)
        // At stop, what is only in memory leaves the machine to be logged.
        h.produce(30)
        #expect(h.m.takeUnlogged().count == 30)
    }

    @Test func aBacklogFromAnEarlierRunDrainsAtTheBackfillRateThenModeIsNormal() {
        let old = (0..<20).map { c in
            (0..<100).map { i in
                ResultRecord(monitorID: "m", target: "t\(i)", probeProtocol: .icmp, outcome: .timeout, suppressed: false,
                             rttNanoseconds: nil, timestampMilliseconds: Int64(c), labels: [])
            }
        }
        var h = DeliveryHarness(log: old, committed: 5)
        #expect(h.m.diskBehind)
        for _ in 0..<20 { // 1 s: 500 results of budget a second
            h.advance(ms: 50)
            h.answerAll()
        }
        #expect(h.delivered.count <= 600 && h.delivered.count >= 300, "\(h.delivered.count) delivered")
        h.drain()
        let inOrder = h.inOrderPerSeries()
        #expect(h.delivered.count == 1_500 && inOrder)
        #expect(h.m.mode.mode == .normal && h.committed == 20)
    }
}

@Suite struct DeliveryLaneTests {
    static func record(_ i: Int) -> ResultRecord {
        ResultRecord(monitorID: "m", target: "t\(i)", probeProtocol: .icmp, outcome: .ok, suppressed: false,
                     rttNanoseconds: 1, timestampMilliseconds: Int64(i), labels: [])
    }

    @Test func popAndSplitKeepEachResultWithItsChunk() {
        var lane = DeliveryLane()
        // chunk 0: results 0-2, chunk 1: 3-4, chunk 2: 5-9
        for i in 0..<10 { lane.push(Self.record(i), chunk: i < 3 ? 0 : i < 5 ? 1 : 2) }
        #expect(lane.runs.count == 3)
        let first = lane.pop(max: 4)
        #expect(first.records.map(\.target) == ["t0", "t1", "t2", "t3"])
        #expect(first.runs == [.init(chunk: 0, count: 3), .init(chunk: 1, count: 1)])
        let (head, tail) = first.split(at: 2)
        #expect(head.runs == [.init(chunk: 0, count: 2)] && tail.runs == [.init(chunk: 0, count: 1), .init(chunk: 1, count: 1)])
        #expect(first.split(into: 3).map(\.count) == [3, 1])
        lane.retry = [tail]
        let rest = lane.drain()
        #expect(rest.records.map(\.target) == ["t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"])
        #expect(rest.runs == [.init(chunk: 0, count: 1), .init(chunk: 1, count: 1), .init(chunk: 1, count: 1),
                              .init(chunk: 2, count: 5)])
        #expect(lane.records.isEmpty && lane.runs.isEmpty && lane.retry.isEmpty)
    }
}
