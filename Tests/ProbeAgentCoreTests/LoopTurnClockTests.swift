import Testing
@testable import ProbeAgentCore

@Suite("Loop turn clock: work per turn by phase, slow turns reported")
struct LoopTurnClockTests {
    @Test func chargesPhasesAndLeavesTheWaitOut() {
        var c = LoopTurnClock(slowTurnNanoseconds: 10_000_000, logIntervalNanoseconds: 60_000_000_000)
        c.begin(1_000_000_000)
        c.lap(.schedule, 1_001_000_000) // 1 ms
        c.lap(.submit, 1_003_000_000) // 2 ms
        c.skip(1_500_000_000) // 497 ms asleep in the engine: not work
        c.lap(.results, 1_500_500_000) // 0.5 ms
        #expect(c.end(1_500_500_000) == nil) // 3.5 ms of work: not slow
        #expect(c.turns.count == 1 && c.turns.max == 3_500_000)
    }

    @Test func reportsSlowTurnsWithTheirPhasesAndRateLimitsTheLogLine() throws {
        var c = LoopTurnClock(slowTurnNanoseconds: 10_000_000, logIntervalNanoseconds: 60_000_000_000)
        func turn(at t: UInt64, submit: UInt64) -> LoopTurnClock.SlowTurn? {
            c.begin(t)
            c.lap(.schedule, t + 500_000)
            c.lap(.submit, t + 500_000 + submit)
            return c.end(t + 500_000 + submit)
        }
        let first = try #require(turn(at: 1_000_000_000, submit: 30_000_000))
        #expect(first.shouldLog && first.slowSinceLastLogged == 1)
        #expect(first.workNanoseconds == 30_500_000)
        #expect(first.phasesText == "schedule 0.5 ms, submit 30.0 ms")
        // Within the minute: reported, not for the log; counted for the next line.
        let second = try #require(turn(at: 2_000_000_000, submit: 12_000_000))
        #expect(!second.shouldLog && second.slowSinceLastLogged == 1)
        #expect(turn(at: 3_000_000_000, submit: 1_000_000) == nil)
        let later = try #require(turn(at: 62_000_000_000, submit: 20_000_000))
        #expect(later.shouldLog && later.slowSinceLastLogged == 2)
        #expect(c.turns.count == 4 && c.turns.max == 30_500_000)
    }

    @Test func saysHowMuchOfASlowTurnTheThreadWasOnACPU() throws {
        var c = LoopTurnClock(slowTurnNanoseconds: 10_000_000, logIntervalNanoseconds: 60_000_000_000)
        c.begin(1_000_000_000, cpu: 50_000_000)
        c.lap(.submit, 1_025_000_000) // 25 ms of wall clock...
        c.skip(1_030_000_000, cpuWhileWaiting: 1_000_000) // the wait's 1 ms of reaping is not the turn's
        c.lap(.results, 1_031_000_000)
        let ended = c.end(1_031_000_000, cpu: 58_000_000) // ...of which 7 ms ran
        let slow = try #require(ended)
        #expect(slow.workNanoseconds == 26_000_000)
        #expect(slow.onCPUNanoseconds == 7_000_000)
        #expect(slow.cpuText == "; on CPU 7.0 ms of it")
        // Without CPU readings the report says nothing about them.
        c.begin(2_000_000_000)
        c.lap(.submit, 2_020_000_000)
        let endedWallOnly = c.end(2_020_000_000)
        let wallOnly = try #require(endedWallOnly)
        #expect(wallOnly.onCPUNanoseconds == nil && wallOnly.cpuText == "")
    }
}
