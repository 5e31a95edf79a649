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

    static func config(_ text: String = yaml) throws -> AgentConfig { try AgentConfig.load(yaml: text, file: "t.yaml") }

    @Test func countsEveryOutcomeAndSentIsTheirSum() throws {
        var l = ResultLedger(config: try Self.config())
        for o in [ProbeOutcome.ok, .timeout, .refused, .unreachable, .error, .unresolved, .ok] {
            _ = l.record(slot: 0, monitorID: "parent", target: "127.0.0.1", outcome: o, rttNanoseconds: 5, sentAtNanoseconds: 1)
        }
        let r = try #require(l.records[0])
        #expect(r.sent == 7 && r.ok == 2 && r.timeouts == 1 && r.refused == 1 && r.unreachable == 1 && r.errors == 1 && r.unresolved == 1)
        #expect(r.sent == r.ok + r.timeouts + r.refused + r.unreachable + r.errors + r.unresolved + r.suppressed)
        #expect(r.lastOutcome == .ok && r.lastRTTNanoseconds == 5)
    }

    @Test func aSlotsRecordIsOnlyFoundForTheEntryItBelongsTo() throws {
        var l = ResultLedger(config: try Self.config())
        _ = l.record(slot: 1, monitorID: "parent", target: "127.0.0.2", outcome: .ok, rttNanoseconds: 5, sentAtNanoseconds: 1)
        #expect(l.record(slot: 1, monitorID: "parent", target: "127.0.0.2")?.ok == 1)
        #expect(l.record(slot: 1, monitorID: "parent", target: "127.0.0.1") == nil)
        #expect(l.record(slot: 1, monitorID: "child", target: "127.0.0.2") == nil)
        #expect(l.record(slot: 0, monitorID: "parent", target: "127.0.0.1") == nil)
        #expect(l.record(slot: 99, monitorID: "parent", target: "127.0.0.2") == nil)
    }

    @Test func childFailuresAreSuppressedOnlyWhileTheParentIsDown() throws {
        var l = ResultLedger(config: try Self.config())
        // Parent half down: not down yet, child failure counts as an outage.
        _ = l.record(slot: 0, monitorID: "parent", target: "127.0.0.1", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil)
        #expect(l.record(slot: 2, monitorID: "child", target: "127.0.0.3", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed == false)
        // Every parent target failing: down (a transition), child failures suppressed.
        let t = l.record(slot: 1, monitorID: "parent", target: "127.0.0.2", outcome: .unreachable, rttNanoseconds: nil, sentAtNanoseconds: nil).transition
        #expect(t?.isDown == true && t?.monitorID == "parent" && t?.failingTargets == 2)
        #expect(l.record(slot: 2, monitorID: "child", target: "127.0.0.3", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed)
        // A child success is never suppressed; parent recovery ends suppression.
        #expect(l.record(slot: 2, monitorID: "child", target: "127.0.0.3", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil).suppressed == false)
        let up = l.record(slot: 0, monitorID: "parent", target: "127.0.0.1", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil).transition
        #expect(up?.isDown == false)
        #expect(l.record(slot: 2, monitorID: "child", target: "127.0.0.3", outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil).suppressed == false)
        let c = try #require(l.records[2])
        #expect(c.suppressed == 1 && c.timeouts == 2 && c.ok == 1)
    }

    @Test func reloadKeepsUnchangedDropsRemovedRecountsChanged() throws {
        var l = ResultLedger(config: try Self.config())
        for (slot, target) in [(0, "127.0.0.1"), (1, "127.0.0.2")] {
            _ = l.record(slot: slot, monitorID: "parent", target: target, outcome: .timeout, rttNanoseconds: nil, sentAtNanoseconds: nil)
        }
        _ = l.record(slot: 2, monitorID: "child", target: "127.0.0.3", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil)
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
        #expect(l.records[0]?.sent == 1 && l.records[1]?.sent == 1, "unchanged monitor keeps its counters")
        #expect(l.records[2] == nil, "removed entry's record dropped")
        #expect(l.health["child"] == nil)
        #expect(l.health["parent"]?.isDown == true)
        #expect(l.health["fresh"] == MonitorHealth(failingTargets: 0, totalTargets: 1))
        // A record at a reused slot for another (monitor, target) starts fresh.
        _ = l.record(slot: 2, monitorID: "fresh", target: "127.0.0.9", outcome: .ok, rttNanoseconds: 1, sentAtNanoseconds: nil)
        #expect(l.records[2]?.sent == 1 && l.records[2]?.monitorID == "fresh")
    }
}
