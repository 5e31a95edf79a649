import Testing
@testable import ProbeAgentCore

@Suite struct PhaseSpreadingTests {
    /// Counts first fires per 100 ms bucket of a 3 s cadence and checks each is within ±10 % of
    /// the mean.
    func expectEven(_ config: AgentConfig, start: UInt64 = 0) {
        let schedule = Schedule(config: config, now: start)
        let cadence = 3 * secondNanos
        var buckets = [Int](repeating: 0, count: 30)
        for entry in schedule.entries {
            #expect(entry.phase < cadence)
            #expect(entry.nextFire >= start && entry.nextFire < start + cadence)
            buckets[Int(entry.phase / (100 * msNanos))] += 1
        }
        let mean = Double(schedule.entries.count) / 30
        for (index, count) in buckets.enumerated() {
            #expect(abs(Double(count) - mean) <= mean * 0.10, "bucket \(index): \(count) vs mean \(mean)")
        }
    }

    @Test func tenThousandTargetsOfOneMonitorSpreadEvenly() {
        expectEven(loopbackConfig(monitors: 1, targets: 10_000))
    }

    @Test func hundredMonitorsOfHundredTargetsSpreadEvenly() {
        expectEven(loopbackConfig(monitors: 100, targets: 100), start: 123_456_789_000)
    }

    @Test func phaseIsDeterministicAndInRange() {
        let a = PhaseSpreader.phase(monitorID: "web", targetIndex: 7, cadence: 3 * secondNanos)
        #expect(a == PhaseSpreader.phase(monitorID: "web", targetIndex: 7, cadence: 3 * secondNanos))
        #expect(a != PhaseSpreader.phase(monitorID: "web", targetIndex: 8, cadence: 3 * secondNanos))
        #expect(a != PhaseSpreader.phase(monitorID: "db", targetIndex: 7, cadence: 3 * secondNanos))
        for i in 0..<1_000 { #expect(PhaseSpreader.phase(monitorID: "m", targetIndex: i, cadence: 7) < 7) }
        #expect(PhaseSpreader.phase(monitorID: "m", targetIndex: 0, cadence: 0) == 0)
    }

    @Test func firstFireIsTheNextGridPoint() {
        #expect(PhaseSpreader.firstFire(atOrAfter: 0, phase: 5, cadence: 10) == 5)
        #expect(PhaseSpreader.firstFire(atOrAfter: 5, phase: 5, cadence: 10) == 5)
        #expect(PhaseSpreader.firstFire(atOrAfter: 6, phase: 5, cadence: 10) == 15)
        #expect(PhaseSpreader.firstFire(atOrAfter: 100, phase: 5, cadence: 10) == 105)
    }
}
