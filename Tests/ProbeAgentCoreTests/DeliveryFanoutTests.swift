import Testing
@testable import ProbeAgentCore

/// Two stores behind one write-ahead log, with a manual clock: an in-memory log appended once
/// (a position is the count of chunks appended), a cursor and a committed position per store,
/// and stores the test answers by hand.
struct FanoutHarness {
    var f: DeliveryFanout
    var now: UInt64 = 1_000 * secondNanos
    var log: [[ResultRecord]] = []
    var cursor = [0, 0]
    var committed = [0, 0]
    var inFlight: [[(id: UInt64, records: [ResultRecord])]] = [[], []]
    var delivered: [[ResultRecord]] = [[], []]
    var modes: [[DeliveryMode]] = [[], []]
    var appends = 0
    var produced = 0

    init() {
        f = DeliveryFanout(options: [DeliveryHarness.defaults, DeliveryHarness.defaults], backlogOnDisk: [false, false],
                           now: now, wallMs: 0, random: { 0.5 })
        apply(f.poll(now: now, wallMs: 0))
    }

    var wallMs: Int64 { Int64(now / msNanos) }

    /// `n` new results over 100 series, appended once for both stores.
    mutating func produce(_ n: Int) {
        let records = (0..<n).map { i in
            ResultRecord(monitorID: "m", target: "t\((produced + i) % 100)", probeProtocol: .icmp, outcome: .ok,
                         suppressed: false, rttNanoseconds: 1000, timestampMilliseconds: wallMs + Int64(i / 100), labels: [])
        }
        produced += n
        #expect(f.admission(count: n) == .log, "write-ahead: every batch is logged")
        log.append(records)
        appends += 1
        apply(f.received(records, .appended(end: LogPosition(log.count)), now: now, wallMs: wallMs))
    }

    mutating func apply(_ actions: [DeliveryFanout.Tagged]) {
        for t in actions {
            let e = t.endpoint
            switch t.action {
            case .send(let id, let records):
                inFlight[e].append((id, records))
            case .commit(let position):
                let p = position.value as! Int
                #expect(p > committed[e], "commits only move forward")
                committed[e] = p
            case .skipBacklog(let position):
                cursor[e] = max(cursor[e], position.value as! Int)
            case .readBacklog(let max):
                var read: [(records: [ResultRecord], end: LogPosition)] = []
                var total = 0
                while total < max && cursor[e] < log.count {
                    read.append((log[cursor[e]], LogPosition(cursor[e] + 1)))
                    total += log[cursor[e]].count
                    cursor[e] += 1
                }
                apply(f.backlogRead(e, read, reachedEnd: cursor[e] == log.count, now: now, wallMs: wallMs))
            case .deadLetter:
                Issue.record("nothing is malformed here")
            case .modeChanged(let mode, _):
                modes[e].append(mode)
            }
        }
    }

    /// Answers store `e`'s requests on their way: accepted, or failing with a connection error.
    mutating func answer(_ e: Int, up: Bool) {
        let requests = inFlight[e]
        inFlight[e] = []
        for r in requests {
            if up { delivered[e] += r.records }
            apply(f.answered(e, r.id, up ? .accepted : .failing(reason: "connection refused", retryAfter: nil), now: now, wallMs: wallMs))
        }
    }

    mutating func advance(ms: UInt64) {
        now += ms * msNanos
        apply(f.poll(now: now, wallMs: wallMs))
    }
}

/// The per-store decisions of ``DeliveryFanout``: a store that fails keeps its backlog (its
/// position stays), backs off and probes one request at a time, while the other ships every
/// result on time and commits; back up, the first drains its backlog; nothing lost in either.
@Suite struct DeliveryFanoutTests {
    @Test func aDownStoreHoldsBackNoOther() {
        var h = FanoutHarness()
        // 60 s: 100 results every 500 ms; store 1 refuses connections from 5 s to 45 s.
        var lateOnStore0: [Int64] = []
        for step in 0..<120 {
            let store1Up = step < 10 || step >= 90
            h.produce(100)
            for _ in 0..<5 {
                let before = h.delivered[0].count
                h.answer(0, up: true)
                for r in h.delivered[0][before...] { lateOnStore0.append(h.wallMs - r.timestampMilliseconds) }
                h.answer(1, up: store1Up)
                h.advance(ms: 100)
            }
            if step == 80 {
                // During the outage: store 0 is normal and has committed nearly everything;
                // store 1 is degraded and its position has stayed where the outage began.
                #expect(h.f.machines[0].mode.mode == .normal)
                #expect(h.f.machines[1].mode.mode == .degraded)
                #expect(h.committed[0] >= h.appends - 1, "store 0 commits as it goes: \(h.committed[0]) of \(h.appends)")
                #expect(h.committed[1] <= 11, "store 1's position waits at the outage's start: \(h.committed[1])")
                #expect(h.f.machines[1].windowCount <= DeliveryHarness.defaults.memoryCap, "its backlog waits on disk, not in memory")
                #expect(h.f.worst.endpoint == 1 && h.f.worst.mode.mode == .degraded)
            }
        }
        // Store 0 got every result as it was made: within one flush interval and a step.
        #expect(h.delivered[0].count == 12_000)
        #expect((lateOnStore0.max() ?? .max) <= 600, "store 0's worst delay: \(lateOnStore0.max() ?? -1) ms")
        #expect(h.f.machines[1].counters.retries > 0, "store 1 was probed while down")
        // Store 1 drains its backlog after (backfill 500/s on top of the live rate).
        for _ in 0..<2_000 where h.delivered[1].count < 12_000 || !h.inFlight[1].isEmpty {
            h.answer(0, up: true)
            h.answer(1, up: true)
            h.advance(ms: 50)
        }
        for e in 0..<2 {
            #expect(Set(h.delivered[e]).count == 12_000, "store \(e): every result, none lost")
            #expect(h.committed[e] == h.appends, "store \(e) committed the whole log")
            #expect(h.f.machines[e].counters.resultsLost == 0)
        }
        #expect(h.modes[1] == [.degraded, .recovery, .normal])
        #expect(h.modes[0].isEmpty, "store 0 never left normal")
        #expect(h.f.worst.mode.mode == .normal)
    }

    @Test func lostHandoffAndNextDeadlineAreEveryStores() {
        var h = FanoutHarness()
        h.f.countLost(7, reason: "hand-off full")
        #expect(h.f.machines.map(\.counters.resultsLost) == [7, 7])
        h.produce(10) // 10 of 50 per request: waits for the 100 ms flush
        #expect(h.f.nextDeadline(now: h.now) == h.now + 100 * msNanos)
        h.advance(ms: 100)
        #expect(h.inFlight.map(\.count).allSatisfy { $0 > 0 }, "both stores send")
        #expect(h.f.requestsInFlight == h.inFlight[0].count + h.inFlight[1].count)
    }
}
