import Testing
@testable import ProbeAgentCore

/// `packets: N` with `spacing`: the loop's decisions on a manual clock, against the fake engine
/// of ProbeLoopTests. Every packet is counted; the entry completes with the last of them.
@Suite("Probe loop: bursts of packets per cycle")
struct BurstLoopTests {
    typealias T = ProbeLoopTests
    static let ms = T.ms, s = T.s

    static func burstLoop(packets: Int = 5, spacing: Duration = .milliseconds(20)) -> ProbeLoop {
        var m = MonitorConfig(id: "b", probeProtocol: .icmp, targets: ["198.18.1.1"], cadence: .seconds(1), timeout: .milliseconds(300))
        m.packets = packets
        m.spacing = spacing
        return ProbeLoop(config: T.config([m]), now: 0, shipping: true, statusInterval: 10 * s)
    }

    @Test func theBurstLeavesSpacingApartAndEveryPacketIsCounted() throws {
        var loop = Self.burstLoop()
        var engine = T.FakeEngine()
        var sentAt: [UInt64] = []
        var now: UInt64 = 0
        while now < 2_990 * Self.ms { // three cycles (phases are spread within the first second)
            loop.poll(now: now, wallMilliseconds: 0)
            sentAt += loop.pendingProbes.map { _ in now }
            #expect(loop.pendingProbes.allSatisfy { $0.dueNanoseconds <= now })
            loop.submitted(engine.submit(loop.pendingProbes, now: now))
            loop.completed(engine.poll(now: now, status: { _ in .ok }), wallMilliseconds: 0)
            now += loop.waitMilliseconds(now: now) == 0 ? Self.ms : UInt64(loop.waitMilliseconds(now: now)) * Self.ms
        }
        #expect(sentAt.count == 15, "5 packets × 3 cycles")
        let firstBurst = Array(sentAt.prefix(5))
        #expect(zip(firstBurst, firstBurst.dropFirst()).allSatisfy { $1 - $0 >= 20 * Self.ms && $1 - $0 < 22 * Self.ms },
                "20 ms apart: \(firstBurst)")
        let c = try #require(loop.ledger.counters.first)
        #expect(c.sent == 15 && c.ok == 15)
        #expect(loop.schedule.stats.skippedInFlight == 0, "each cycle's entry completed before its next")
        #expect(loop.burstLeft.isEmpty && loop.spaced.isEmpty)
    }

    @Test func oneLostPacketOfFiveIsTwentyPercentLossFromTheCounters() throws {
        var loop = Self.burstLoop()
        var engine = T.FakeEngine()
        var n = 0
        // The fake engine times out every fifth probe (as the target's nft rule drops one in five).
        _ = T.run(&loop, &engine, from: 0, to: 2_000 * Self.ms, step: Self.ms, status: { _ in
            n += 1
            return n % 5 == 0 ? .timeout : .ok
        })
        let c = try #require(loop.ledger.counters.first)
        #expect(c.sent == 10 && c.timeouts == 2 && c.ok == 8)
        #expect(Double(c.timeouts) / Double(c.sent) == 0.2)
        let records = loop.takeResults()
        #expect(records.count == 10, "every packet is a result for the store")
    }

    @Test func stoppingDropsTheBurstNotYetSent() {
        var loop = Self.burstLoop(packets: 4, spacing: .milliseconds(100))
        var now: UInt64 = 0
        while loop.spaced.isEmpty && now < 2 * Self.s { // until the entry comes due
            loop.poll(now: now, wallMilliseconds: 0)
            now += Self.ms
        }
        let (waiting, pending) = (loop.spaced.count, loop.pendingCount)
        #expect(waiting == 3 && pending == 1)
        #expect(loop.stop() == 4)
        #expect(loop.spaced.isEmpty && loop.pendingCount == 0)
    }

    @Test func burstsMustEndWithinTheCadence() {
        let errors = configErrors("""
            monitors:
              - id: a
                protocol: icmp
                cadence: 1s
                timeout: 500ms
                packets: 5
                spacing: 200ms
                targets: [198.18.1.1]
            """)
        #expect(errors.map(\.description) == ["agent.yaml:7:14: error: 5 packets 200ms apart plus timeout 500ms take 1300ms, not less than cadence 1s in monitor 'a'"])
        let range = configErrors("monitors:\n  - id: a\n    protocol: icmp\n    packets: 0\n    targets: [198.18.1.1]\n")
        #expect(range.map(\.description) == ["agent.yaml:4:14: error: packets of monitor 'a' 0 is out of range 1..100"])
    }
}
