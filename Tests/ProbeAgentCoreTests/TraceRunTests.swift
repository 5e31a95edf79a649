import Testing
@testable import ProbeAgentCore

/// The trace state machine on a manual clock, against a simulated path: hops answer with
/// time exceeded, the target with a reply, a silent hop with timeouts.
@Suite("TraceRun: TTL rounds, stopping at the target, silent hops, gaps")
struct TraceRunTests {
    static let target = IPAddress("198.18.22.2")!
    static let routers = [IPAddress("198.18.20.2")!, IPAddress("198.18.21.2")!]
    static let ms: UInt64 = 1_000_000

    /// A path of `routers` then the target; TTLs in `silent` time out. Answers every probe due
    /// at once (RTT = 1 ms × TTL) and returns the TTLs sent per call.
    static func drive(_ run: inout TraceRun, silent: Set<Int> = [], routers: [IPAddress] = routers,
                      targetOutcome: ProbeOutcome = .ok, limit: Int = 1000) -> [[Int]] {
        var now: UInt64 = 0, sends: [[Int]] = []
        for _ in 0..<limit where !run.isFinished {
            let due = run.probesDue(now: now)
            if !due.isEmpty { sends.append(due.map { Int($0.ttl) }) }
            for p in due {
                let ttl = Int(p.ttl)
                #expect(run.options(for: p).ttl == p.ttl && run.options(for: p).flow == 77)
                if silent.contains(ttl) {
                    run.record(p.id, outcome: .timeout, reporter: nil, rttNanoseconds: 0, now: now)
                } else if ttl <= routers.count {
                    run.record(p.id, outcome: .ttlExceeded, reporter: routers[ttl - 1], rttNanoseconds: UInt64(ttl) * ms, now: now)
                } else {
                    run.record(p.id, outcome: targetOutcome, reporter: nil, rttNanoseconds: UInt64(ttl) * ms, now: now)
                }
            }
            now = run.nextWake() ?? now + 10 * ms
        }
        return sends
    }

    @Test func firstRoundGoesAWindowDeepThenLaterRoundsStopAtTheTarget() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 3, window: 8), flow: 77, now: 0)
        let sends = Self.drive(&run)
        #expect(sends.first == [1, 2, 3, 4, 5], "nothing answered yet: gapLimit (5) TTLs deep")
        #expect(run.isFinished)
        #expect(run.reach == 3)
        #expect(sends.dropFirst() == [[1, 2, 3], [1, 2, 3]])
        let hops = Array(run.reportedHops)
        #expect(hops.map { $0.hosts.map(\.address) } == [[Self.routers[0]], [Self.routers[1]], [Self.target]])
        #expect(hops.map(\.received) == [3, 3, 3])
        #expect(hops.map(\.lossPercent) == [0, 0, 0])
        #expect(hops.map(\.lastOutcome) == [.ttlExceeded, .ttlExceeded, .ok])
        #expect(hops[1].rtts == [2 * Self.ms, 2 * Self.ms, 2 * Self.ms])
    }

    @Test func roundsStartAnIntervalApartOnTheManualClock() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 2, roundInterval: 500 * Self.ms), flow: 77, now: 0)
        let first = run.probesDue(now: 0)
        for p in first {
            run.record(p.id, outcome: p.ttl < 3 ? .ttlExceeded : .ok, reporter: p.ttl < 3 ? Self.routers[Int(p.ttl) - 1] : nil,
                       rttNanoseconds: 1, now: 20 * Self.ms)
        }
        #expect(run.nextWake() == 500 * Self.ms)
        #expect(run.probesDue(now: 499 * Self.ms).isEmpty, "not before the interval")
        #expect(run.probesDue(now: 500 * Self.ms).map(\.ttl) == [1, 2, 3])
        #expect(!run.isFinished)
    }

    @Test func aSilentHopShowsAsLossAndTheTraceGoesOn() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 4), flow: 77, now: 0)
        _ = Self.drive(&run, silent: [1])
        let hops = Array(run.reportedHops)
        #expect(hops.count == 3)
        #expect(hops[0].hosts.isEmpty && hops[0].lost == 4 && hops[0].lossPercent == 100)
        #expect(hops[1].hosts.map(\.address) == [Self.routers[1]])
        #expect(hops[2].lastOutcome == .ok && hops[2].lossPercent == 0)
    }

    @Test func aPathThatGoesDarkStopsGapLimitPastTheLastAnswer() {
        var run = TraceRun(target: Self.target, plan: TracePlan(maxHops: 30, rounds: 2, gapLimit: 5), flow: 77, now: 0)
        let sends = Self.drive(&run, silent: Set(2...30))
        #expect(sends.flatMap { $0 }.max() == 6, "TTL 1 answered, then 5 silent ones: 2...6")
        #expect(run.reach == nil && run.isFinished)
        #expect(run.reportedHops.count == 1, "the report ends at the farthest answer")
    }

    @Test func aRouterSayingUnreachableEndsThePathThere() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 1), flow: 77, now: 0)
        for p in run.probesDue(now: 0) {
            let outcome: ProbeOutcome = p.ttl == 1 ? .ttlExceeded : .fragmentationNeeded
            run.record(p.id, outcome: outcome, reporter: Self.routers[p.ttl == 1 ? 0 : 1], rttNanoseconds: 1,
                       mtu: outcome == .fragmentationNeeded ? 1280 : nil, now: 0)
        }
        #expect(run.isFinished && run.reach == 2)
        let report = TraceReport(target: "t", protocol: "icmp", port: nil, run: run)
        #expect(!report.reached)
        #expect(report.hops.map(\.outcome) == ["ttl_exceeded", "fragmentation_needed"])
        #expect(report.hops[1].mtu == 1280 && report.hops[1].hosts == ["198.18.21.2"])
    }

    @Test func resultsOfUnknownOrRepeatedProbesAreIgnored() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 1), flow: 77, now: 0)
        let due = run.probesDue(now: 0)
        run.record(due[0].id, outcome: .ttlExceeded, reporter: Self.routers[0], rttNanoseconds: 1, now: 0)
        run.record(due[0].id, outcome: .ttlExceeded, reporter: Self.routers[0], rttNanoseconds: 1, now: 0)
        run.record(0xdead_00, outcome: .ok, reporter: nil, rttNanoseconds: 1, now: 0)
        #expect(run.hops[0].received == 1)
        #expect(run.reach == nil)
    }

    @Test func tcpRefusedAtTheTargetCountsAsReached() {
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 2), flow: 77, now: 0)
        _ = Self.drive(&run, targetOutcome: .refused)
        let report = TraceReport(target: "t", protocol: "tcp-syn", port: 80, run: run)
        #expect(report.reached && report.hops.count == 3 && report.hops[2].outcome == "refused")
    }

    @Test func aSecondRouterAtOneTTLIsListedAsASecondHost() {
        let other = IPAddress("198.18.31.2")!
        var run = TraceRun(target: Self.target, plan: TracePlan(rounds: 2), flow: 77, now: 0)
        var round = 0
        var now: UInt64 = 0
        while !run.isFinished {
            for p in run.probesDue(now: now) {
                // Hop 2 is `other` in the first round, routers[1] in the second (the path changed).
                let reporter: IPAddress? = switch p.ttl {
                case 1: Self.routers[0]
                case 2: round == 0 ? other : Self.routers[1]
                default: nil
                }
                run.record(p.id, outcome: p.ttl < 3 ? .ttlExceeded : .ok, reporter: reporter, rttNanoseconds: 1, now: now)
            }
            round += 1
            now = run.nextWake() ?? now
        }
        #expect(run.hops[1].hosts.map(\.address) == [other, Self.routers[1]])
        let report = TraceReport(target: "t", protocol: "icmp", port: nil, run: run)
        #expect(report.hops[1].hosts == ["198.18.31.2", "198.18.21.2"])
    }
}
