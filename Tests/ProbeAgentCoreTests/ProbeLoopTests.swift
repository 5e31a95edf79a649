import Foundation
import Testing
@testable import ProbeAgentCore

/// The probing loop's decisions with a manual clock and an engine played by the test: what is
/// submitted when, what results count for, and what is published.
@Suite("Probe loop")
struct ProbeLoopTests {
    static let ms: UInt64 = 1_000_000
    static let s: UInt64 = 1_000_000_000

    static func config(_ monitors: [MonitorConfig]) -> AgentConfig {
        var c = AgentConfig()
        c.monitors = monitors
        return c
    }

    /// An engine that takes at most `room` probes a turn and answers each after `rtt`.
    struct FakeEngine {
        var room = Int.max
        var inFlight: [(request: ProbeRequest, doneAt: UInt64)] = []

        mutating func submit(_ probes: ArraySlice<ProbeRequest>, now: UInt64, rtt: UInt64 = 1_000_000) -> Int {
            let n = min(room, probes.count)
            for p in probes.prefix(n) { inFlight.append((p, now + rtt)) }
            return n
        }

        mutating func poll(now: UInt64, status: (ProbeRequest) -> ProbeStatus = { _ in .ok }) -> [ProbeResult] {
            let done = inFlight.filter { $0.doneAt <= now }
            inFlight.removeAll { $0.doneAt <= now }
            return done.map { ProbeResult(cookie: $0.request.cookie, status: status($0.request), rttNanoseconds: 1_000_000,
                                          sentAtNanoseconds: 1_700_000_000 * Self.s + $0.doneAt) }
        }

        static let s: UInt64 = 1_000_000_000
    }

    /// Runs the loop's turns every `step` from `from` to `to` against `engine`.
    static func run(_ loop: inout ProbeLoop, _ engine: inout FakeEngine, from: UInt64, to: UInt64, step: UInt64 = 10 * ms,
                    rtt: UInt64 = 1_000_000, status: (ProbeRequest) -> ProbeStatus = { _ in .ok }) -> [LoopNotice] {
        var notices: [LoopNotice] = []
        var now = from
        while now < to {
            _ = loop.housekeeping(now: now)
            loop.poll(now: now, wallMilliseconds: 0)
            loop.submitted(engine.submit(loop.pendingProbes, now: now, rtt: rtt))
            loop.completed(engine.poll(now: now, status: status), wallMilliseconds: 0)
            notices += loop.takeNotices()
            now += step
        }
        return notices
    }

    @Test func literalsAreProbedFromTheFirstTurnAndAnUnresolvedNameCountsAsSuch() {
        var loop = ProbeLoop(config: Self.config([
            MonitorConfig(id: "m", probeProtocol: .icmp, targets: ["198.18.1.1", "later.test"], cadence: .seconds(1)),
        ]), now: 0, shipping: true, statusInterval: Self.s)
        var engine = FakeEngine()
        let notices = Self.run(&loop, &engine, from: 0, to: 1_100 * Self.ms)
        #expect(notices.first == .probingStarted(monitors: 1, targets: 2))
        let results = loop.takeResults()
        #expect(results.filter { $0.target == "198.18.1.1" }.allSatisfy { $0.outcome == .ok })
        let unresolved = results.filter { $0.target == "later.test" }.map(\.outcome)
        #expect(!unresolved.isEmpty && unresolved.allSatisfy { $0 == .unresolved })
        // The name resolves: probed at its address from its next due probe.
        loop.resolved(ResolvedNames(addresses: ["later.test": [IPAddress("198.18.1.2")!]], failures: [:]), now: 1_100 * Self.ms)
        let v1 = loop.takeNotices()
        #expect(v1 == [.resolved("later.test", addresses: ["198.18.1.2"])])
        _ = Self.run(&loop, &engine, from: 1_100 * Self.ms, to: 2_200 * Self.ms)
        #expect(engine.inFlight.isEmpty)
        let v2 = loop.takeResults()
        #expect(v2.filter { $0.target == "later.test" }.map(\.outcome) == [.ok])
    }

    @Test func aFullEngineIsBackPressureNotLoss() {
        let targets = (1...200).map { "198.18.1.\($0)" }
        var loop = ProbeLoop(config: Self.config([MonitorConfig(id: "m", probeProtocol: .icmp, targets: targets, cadence: .seconds(10))]),
                             now: 0, shipping: false, statusInterval: Self.s)
        var engine = FakeEngine(room: 7)
        _ = Self.run(&loop, &engine, from: 0, to: 10 * Self.s - Self.ms)
        #expect(loop.pendingCount == 0, "all 200 went out, 7 a turn")
        #expect(loop.ledger.counters.reduce(0) { $0 + Int($1.sent) } == 200)
        #expect(loop.ledger.counters.allSatisfy { $0.ok == $0.sent })
        // While the engine takes nothing, probes wait in order and the loop checks back in 5 ms.
        engine.room = 0
        loop.poll(now: 10 * Self.s + 999 * Self.ms, wallMilliseconds: 0)
        #expect(loop.pendingCount > 0)
        #expect(loop.waitMilliseconds(now: 10 * Self.s + 999 * Self.ms) <= 5)
    }

    @Test func aReloadMidCadenceKeepsUnchangedMonitorsAndDropsResultsOfRemovedOnes() throws {
        let a = MonitorConfig(id: "a", probeProtocol: .icmp, targets: ["198.18.1.1"], cadence: .seconds(1))
        let b = MonitorConfig(id: "b", probeProtocol: .icmp, targets: ["198.18.1.2"], cadence: .seconds(1))
        var loop = ProbeLoop(config: Self.config([a, b]), now: 0, shipping: true, statusInterval: Self.s)
        var engine = FakeEngine()
        _ = Self.run(&loop, &engine, from: 0, to: 2_000 * Self.ms)
        let phaseA = loop.schedule.entries(monitorID: "a").first!.phase
        // A cadence whose answers take 900 ms: b's is in flight when b is removed.
        _ = Self.run(&loop, &engine, from: 2_000 * Self.ms, to: 3_000 * Self.ms, rtt: 900 * Self.ms)
        try #require(engine.inFlight.contains { $0.request.address == IPAddress("198.18.1.2") })
        _ = loop.takeResults() // handed over before the reload
        var next = Self.config([a, MonitorConfig(id: "c", probeProtocol: .icmp, targets: ["198.18.1.3"], cadence: .seconds(2))])
        next.logLevel = .debug
        next.http.listen = "127.0.0.1:1"
        let report = loop.reload(PreparedConfig(next), reason: "test", now: 3_000 * Self.ms, at: Date())
        #expect(report.unchanged == ["a"] && report.removed == ["b"] && report.added == ["c"])
        let notices = loop.takeNotices()
        #expect(notices.contains(.restartRequired(["http", "log_level"])), "\(notices)")
        #expect(notices.contains { if case .reloaded("test", _) = $0 { true } else { false } })
        #expect(loop.schedule.entries(monitorID: "a").first!.phase == phaseA, "a keeps its phase")
        let staleBefore = loop.staleResults
        _ = Self.run(&loop, &engine, from: 3_000 * Self.ms, to: 4_500 * Self.ms)
        #expect(loop.staleResults > staleBefore, "b's late answer belongs to nobody")
        let v3 = loop.takeResults()
        #expect(!v3.contains { $0.monitorID == "b" })
        #expect(loop.reloads.succeeded == 1)
    }

    @Test func aParentGoingDownSuppressesItsChildAndComingBackLiftsIt() {
        let parent = MonitorConfig(id: "gw", probeProtocol: .icmp, targets: ["198.18.1.1"], cadence: .seconds(1))
        let child = MonitorConfig(id: "svc", probeProtocol: .icmp, targets: ["198.18.1.2"], cadence: .seconds(1), dependsOn: ["gw"])
        var loop = ProbeLoop(config: Self.config([parent, child]), now: 0, shipping: true, statusInterval: Self.s)
        var engine = FakeEngine()
        _ = Self.run(&loop, &engine, from: 0, to: 2 * Self.s)
        var down = true
        let failing = Self.run(&loop, &engine, from: 2 * Self.s, to: 4 * Self.s) { _ in down ? .timeout : .ok }
        #expect(failing.contains(.monitorDown("gw", targets: 1)))
        #expect(failing.contains(.suppressed("svc")))
        #expect(loop.suppressed == ["svc"])
        let v4 = loop.takeResults()
        #expect(v4.filter { $0.monitorID == "svc" && $0.outcome == .timeout }.allSatisfy { $0.suppressed })
        down = false
        let back = Self.run(&loop, &engine, from: 4 * Self.s, to: 6 * Self.s) { _ in down ? .timeout : .ok }
        #expect(back.contains(.monitorUp("gw", answering: 1, targets: 1)))
        #expect(back.contains(.unsuppressed("svc")))
        #expect(loop.suppressed.isEmpty)
    }

    @Test func stopTakesNoMoreProbesAndWaitsForThoseInFlight() {
        var loop = ProbeLoop(config: Self.config([MonitorConfig(id: "m", probeProtocol: .icmp, targets: ["198.18.1.1", "198.18.1.2"],
                                                                cadence: .seconds(1), timeout: .milliseconds(800))]),
                             now: 0, shipping: true, statusInterval: Self.s)
        var engine = FakeEngine(room: 1)
        loop.poll(now: 999 * Self.ms, wallMilliseconds: 0)
        loop.submitted(engine.submit(loop.pendingProbes, now: 999 * Self.ms, rtt: 500 * Self.ms))
        let waiting = loop.pendingCount
        let v5 = loop.stop()
        #expect(v5 == waiting)
        #expect(loop.drainDeadline(now: 1 * Self.s) == 1 * Self.s + 800 * Self.ms + 2 * Self.s)
        loop.poll(now: 5 * Self.s, wallMilliseconds: 0)
        #expect(loop.pendingCount == 0, "nothing new while stopping")
        loop.completed(engine.poll(now: 5 * Self.s), wallMilliseconds: 0)
        let v6 = loop.takeResults()
        #expect(v6.count == 1, "the probe in flight still counts")
    }

    @Test func statusAndStallChecksComeDueOnTheirIntervals() {
        var loop = ProbeLoop(config: Self.config([]), now: 0, shipping: false, statusInterval: 2 * Self.s)
        let v7 = loop.housekeeping(now: 0)
        #expect(v7 == (true, true))
        let v8 = loop.housekeeping(now: 500 * Self.ms)
        #expect(v8 == (false, false))
        let v9 = loop.housekeeping(now: 1 * Self.s)
        #expect(v9 == (false, true))
        let v10 = loop.housekeeping(now: 2 * Self.s)
        #expect(v10 == (true, true))
        #expect(loop.waitMilliseconds(now: 2 * Self.s + 500 * Self.ms) == 1000, "never waits past a second")
    }

    @Test func restartOnlyChangesAreFoundWithoutAHandWrittenList() {
        let old = Self.config([MonitorConfig(id: "m", probeProtocol: .icmp, targets: ["198.18.1.1"])])
        var new = old
        new.monitors[0].cadence = .seconds(5)
        new.defaults.cadence = .seconds(7)
        #expect(new.restartOnlyChanges(from: old).isEmpty, "monitors and defaults apply live")
        new.remoteWrite = [RemoteWriteConfig(url: "http://127.0.0.1:1/w")]
        new.spill.maxBytes = 1
        new.scheduler.loopPriority = .realtime
        new.metrics.perTargetHistograms.toggle()
        #expect(new.restartOnlyChanges(from: old) == ["spill", "remote_write", "metrics", "scheduler.loop_priority"])
        #expect(AgentConfig.yamlName("remoteWrite") == "remote_write")
    }
}
