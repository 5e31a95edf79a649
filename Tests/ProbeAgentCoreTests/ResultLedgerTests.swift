import Testing
@testable import ProbeAgentCore

@Suite("Result ledger: counters, health, suppression, reload")
struct ResultLedgerTests {
    static let yaml = """
        monitors:
          - id: parent
            protocol: icmp
            targets: [127.0.0.1, 127.0.0.2]
          - id: child
            protocol: icmp
            targets: [127.0.0.3]
            depends_on: [parent]
        """

    /// The cookie of a slot's entry (generation 0: its first entry).
    static func c(_ slot: Int, generation: UInt32 = 0) -> ProbeCookie { ProbeCookie(slot: slot, generation: generation) }

    static func config(_ text: String = yaml) throws -> AgentConfig { try AgentConfig.load(yaml: text, file: "t.yaml") }

    @Test func countsEveryOutcomeAndSentIsTheirSum() throws {
        var l = ResultLedger(config: try Self.config())
        for o in [ProbeOutcome.ok, .timeout, .refused, .unreachable, .error, .unresolved, .ok] {
            _ = l.record(Self.c(0), monitorID: "parent", outcome: o, rttNanoseconds: 5, sentAtNanoseconds: 1)
        }
        let r = try #require(l.counters(for: Self.c(0)))
        #expect(r.sent == 7 && r.ok == 2 && r.timeouts == 1 && r.refused == 1 && r.unreachable == 1 && r.errors == 1 && r.unresolved == 1)
        #expect(r.sent == r.ok + r.timeouts + r.refused + r.unreachable + r.errors + r.unresolved + r.suppressed)
        #expect(r.lastOutcome == .ok && r.lastRTTNanoseconds == 5)
    }

    @Test func aSlotsRecordIsOnlyFoundForTheEntryItBelongsTo() throws {
        var l = ResultLedger(config: try Self.config())
        _ = l.record(Self.c(1), monitorID: "parent", outcome: .ok, rttNanoseconds: 5, sentAtNanoseconds: 1)
        #expect(l.record(for: Self.c(1), monitorID: "parent", target: "127.0.0.2")?.ok == 1)
        #expect(l.record(for: Self.c(1), monitorID: "parent", target: "127.0.0.2")?.target == "127.0.0.2")
        #expect(l.counters(for: Self.c(1, generation: 1)) == nil, "a reload gave the slot to another entry")
        #expect(l.counters(for: Self.c(0)) == nil)
        #expect(l.counters(for: Self.c(99)) == nil)
        // The slot's next entry starts from zero.
        _ = l.record(Self.c(1, generation: 1), monitorID: "child", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: 1)
        #expect(l.counters(for: Self.c(1, generation: 1))?.sent == 1 && l.counters(for: Self.c(1, generation: 1))?.ok == 0)
        #expect(l.counters(for: Self.c(1)) == nil)
    }

    @Test func countersPackIntoNinetySixBytes() {
        // One per target: 100k targets' ledger is 8 MB, not 14.
        #expect(MemoryLayout<TargetCounters>.stride == 96)
        var t = TargetCounters(generation: 0)
        #expect(t.lastRTTNanoseconds == nil && t.lastSentAtNanoseconds == nil)
        t.lastRTTNanoseconds = 0
        t.lastSentAtNanoseconds = 7
        #expect(t.lastRTTNanoseconds == 0 && t.lastSentAtNanoseconds == 7)
    }

    @Test func childFailuresAreSuppressedOnlyWhileTheParentIsDown() throws {
        var l = ResultLedger(config: try Self.config())
        // Parent half down: not down yet, child failure counts as an outage.
        _ = l.record(Self.c(0), monitorID: "parent", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil)
        #expect(l.record(Self.c(2), monitorID: "child", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed == false)
        // Every parent target failing: down (a transition), child failures suppressed.
        let t = l.record(Self.c(1), monitorID: "parent", outcome: .unreachable, rttNanoseconds: nil, sentAtNanoseconds: nil).transition
        #expect(t?.isDown == true && t?.monitorID == "parent" && t?.failingTargets == 2)
        // Failing again changes nothing: no second transition.
        #expect(l.record(Self.c(1), monitorID: "parent", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).transition == nil)
        #expect(l.record(Self.c(2), monitorID: "child", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed)
        // A child success is never suppressed; parent recovery ends suppression.
        #expect(l.record(Self.c(2), monitorID: "child", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil).suppressed == false)
        let up = l.record(Self.c(0), monitorID: "parent", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil).transition
        #expect(up?.isDown == false)
        #expect(l.record(Self.c(2), monitorID: "child", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed == false)
        let child = try #require(l.counters(for: Self.c(2)))
        #expect(child.suppressed == 1 && child.timeouts == 2 && child.ok == 1)
    }

    @Test func reloadKeepsUnchangedDropsRemovedRecountsChanged() throws {
        var l = ResultLedger(config: try Self.config())
        for (slot, target) in [(0, "127.0.0.1"), (1, "127.0.0.2")] {
            _ = l.record(Self.c(slot), monitorID: "parent", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil)
        }
        _ = l.record(Self.c(2), monitorID: "child", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil)
        #expect(l.health["parent"]?.isDown == true)
        // child removed, parent unchanged, new monitor added in slot 2.
        let next = try Self.config("""
            monitors:
              - id: parent
                protocol: icmp
                targets: [127.0.0.1, 127.0.0.2]
              - id: fresh
                protocol: icmp
                targets: [127.0.0.9]
            """)
        l.apply(next, removedSlots: [2], recount: ["fresh": [2]])
        #expect(l.counters(for: Self.c(0))?.sent == 1 && l.counters(for: Self.c(1))?.sent == 1, "unchanged monitor keeps its counters")
        #expect(l.counters(for: Self.c(2)) == nil, "removed entry's record dropped")
        #expect(l.health["child"] == nil)
        #expect(l.health["parent"]?.isDown == true)
        #expect(l.health["fresh"] == MonitorHealth(failingTargets: 0, totalTargets: 1))
        // A record at a reused slot for another (monitor, target) starts fresh.
        _ = l.record(Self.c(2, generation: 1), monitorID: "fresh", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil)
        #expect(l.counters(for: Self.c(2, generation: 1))?.sent == 1)
        #expect(l.record(for: Self.c(2, generation: 1), monitorID: "fresh", target: "127.0.0.9")?.monitorID == "fresh")
    }
}
