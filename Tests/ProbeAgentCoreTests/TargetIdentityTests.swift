import Foundation
import Testing
@testable import ProbeAgentCore

/// A target is (monitor, target, port): reloads and discovery refreshes that add or remove
/// targets, or change labels, keep every other target's entry, phase and counters; only a
/// change of protocol, port, cadence or timeout re-phases. Manual clock, engine played by the test.
@Suite("Target identity across reloads")
struct TargetIdentityTests {
    typealias T = ProbeLoopTests
    static func targets(_ range: Range<Int>) -> [String] { range.map { "198.18.\($0 / 250 + 1).\($0 % 250 + 1)" } }

    @Test func addingAndRemovingTargetsKeepsTheOthersPhaseCountersAndGrid() throws {
        var monitor = MonitorConfig(id: "m", probeProtocol: .icmp, targets: Self.targets(0..<1_000), cadence: .seconds(1))
        var loop = ProbeLoop(config: T.config([monitor]), now: 0, shipping: true, statusInterval: T.s)
        var engine = T.FakeEngine()
        // One target that will be removed fails, and so does one that stays.
        let failing: (ProbeRequest) -> ProbeStatus = { [IPAddress("198.18.1.5"), IPAddress("198.18.1.6")].contains($0.address) ? .timeout : .ok }
        _ = T.run(&loop, &engine, from: 0, to: 3_000 * T.ms, status: failing)
        #expect(loop.ledger.health["m"] == MonitorHealth(failingTargets: 2, totalTargets: 1_000))
        let before = Dictionary(uniqueKeysWithValues: loop.schedule.entriesWithCookies.map { ($0.entry.target, $0) })
        let sentBefore = before.mapValues { loop.ledger.counters(for: $0.cookie)?.sent ?? 0 }
        #expect(sentBefore.values.allSatisfy { $0 >= 2 })
        _ = loop.takeResults()

        // Drop one, add two, change the monitor's labels: a discovery refresh's kind of change.
        let running = loop.config
        monitor.targets.removeAll { $0 == "198.18.1.5" }
        monitor.targets.insert("198.18.9.1", at: 10)
        monitor.targets.append("198.18.9.2")
        monitor.labels = ["site": "ams"]
        let prepared = PreparedConfig(T.config([monitor]), running: running)
        #expect(prepared.diffs["m"]?.keptCount == 999)
        let report = loop.reload(prepared, reason: "test", now: 3_004 * T.ms, at: Date())
        #expect(report.retargeted == ["m"] && report.changed.isEmpty)
        #expect(report.removedCookies.count == 1)

        for (cookie, entry) in loop.schedule.entriesWithCookies {
            guard let old = before[entry.target] else { continue }
            #expect(cookie == old.cookie, "\(entry.target) keeps its entry")
            #expect(entry.phase == old.entry.phase && entry.nextFire == old.entry.nextFire)
            #expect(loop.ledger.counters(for: cookie)?.sent == sentBefore[entry.target], "\(entry.target) keeps its counters")
        }
        #expect(loop.schedule.entries.count == 1_001)
        #expect(loop.ledger.health["m"] == MonitorHealth(failingTargets: 1, totalTargets: 1_001), "the removed failure goes, the kept one stays")

        // Two more cadences: the kept targets fire on their old grid and count on; new ones start at 0.
        var scheduled: [String: [UInt64]] = [:]
        var now = 3_004 * T.ms
        while now < 5_004 * T.ms {
            loop.poll(now: now, wallMilliseconds: 0)
            for p in loop.pendingProbes {
                let e = try #require(loop.schedule.entry(for: ProbeCookie(rawValue: p.cookie)))
                scheduled[e.target, default: []].append(p.dueNanoseconds)
            }
            loop.submitted(engine.submit(loop.pendingProbes, now: now))
            loop.completed(engine.poll(now: now, status: failing), wallMilliseconds: 0)
            now += 10 * T.ms
        }
        for (target, old) in before where target != "198.18.1.5" {
            for due in scheduled[target] ?? [] { #expect(due % T.s == old.entry.phase, "\(target) stays on its grid") }
        }
        let records = loop.takeResults()
        #expect(records.contains { $0.target == "198.18.9.1" && $0.labels.contains { $0 == ("site", "ams") } })
        #expect(!records.contains { $0.target == "198.18.1.5" })
        var since: [String: UInt64] = [:]
        for r in records { since[r.target, default: 0] += 1 }
        for (cookie, entry) in loop.schedule.entriesWithCookies {
            let sent = loop.ledger.counters(for: cookie)?.sent ?? 0
            #expect(sent == (sentBefore[entry.target] ?? 0) + (since[entry.target] ?? 0), "\(entry.target): counting on")
            #expect((since[entry.target] ?? 0) >= 1)
        }
    }

    @Test func onlyProtocolPortCadenceOrTimeoutRephase() {
        var monitor = MonitorConfig(id: "m", probeProtocol: .icmp, targets: Self.targets(0..<10), cadence: .seconds(3))
        var schedule = Schedule(config: T.config([monitor]), now: 0)
        monitor.labels = ["a": "b"]
        monitor.dependsOn = []
        #expect(schedule.apply(T.config([monitor]), now: 5 * T.ms).unchanged == ["m"])
        monitor.timeout = .milliseconds(700)
        let report = schedule.apply(T.config([monitor]), now: 10 * T.ms)
        #expect(report.changed == ["m"] && report.removedCookies.count == 10)
    }

    @Test func aDiffAgainstAnotherListIsNotTrustedButRecomputed() {
        let monitor = MonitorConfig(id: "m", probeProtocol: .icmp, targets: Self.targets(0..<100))
        var schedule = Schedule(config: T.config([monitor]), now: 0)
        let before = Dictionary(uniqueKeysWithValues: schedule.entries.map { ($0.target, $0.phase) })
        var next = monitor
        next.targets = Array(Self.targets(0..<100).reversed()) + ["198.18.9.9"]
        // A hint computed against some other list (the loop applied another change meanwhile).
        let stale = TargetDiff(from: Self.targets(50..<60), to: next.targets)
        let report = schedule.apply(T.config([next]), now: T.ms, diffs: ["m": stale])
        #expect(report.retargeted == ["m"] && report.removedCookies.isEmpty)
        let entries = schedule.entries(monitorID: "m")
        #expect(entries.map(\.target) == next.targets)
        for e in entries where e.target != "198.18.9.9" { #expect(e.phase == before[e.target]) }
    }
}
