/// How long each turn of the probing loop works, by phase, so a late probe can be traced to
/// what held the loop (a snapshot's copy, a reload, a burst of results, a CPU taken away).
///
/// A turn's work is everything but its wait in the engine. A turn that works longer than
/// ``slowTurnNanoseconds`` delays every probe due meanwhile by as much; ``end(_:)`` reports
/// it with its phases. The caller passes the time in (CLOCK_MONOTONIC ns), as for the wheel.
public struct LoopTurnClock: Sendable {
    public enum Phase: Int, CaseIterable, Sendable {
        case requests, snapshot, status, schedule, submit, results, handover
    }

    /// A turn that worked longer than the slow-turn bound.
    public struct SlowTurn: Sendable, Equatable {
        public var workNanoseconds: UInt64
        /// Time per phase, in ``Phase`` order.
        public var phaseNanoseconds: [UInt64]
        /// Slow turns since the previous report that was meant to be logged, this one included.
        public var slowSinceLastLogged: Int
        /// At most one report per ``logIntervalNanoseconds`` is meant for an info line.
        public var shouldLog: Bool

        /// "schedule 1.2 ms, submit 30.1 ms": the phases of 0.1 ms or more.
        public var phasesText: String {
            Phase.allCases.filter { phaseNanoseconds[$0.rawValue] >= 100_000 }
                .map { "\($0) \(Self.milliseconds(phaseNanoseconds[$0.rawValue])) ms" }.joined(separator: ", ")
        }

        public static func milliseconds(_ ns: UInt64) -> String {
            let tenths = (ns + 50_000) / 100_000
            return "\(tenths / 10).\(tenths % 10)"
        }
    }

    public let slowTurnNanoseconds: UInt64
    public let logIntervalNanoseconds: UInt64
    /// Work per turn.
    public private(set) var turns = DurationHistogram()
    private var phases = [UInt64](repeating: 0, count: Phase.allCases.count)
    private var mark: UInt64 = 0
    private var turnStart: UInt64 = 0
    private var slowSinceLog = 0
    private var lastLogAt: UInt64?

    /// - Parameters:
    ///   - slowTurnNanoseconds: work above this is a slow turn (10 ms: the on-time bound).
    ///   - logIntervalNanoseconds: at most one slow turn a minute is meant for the log.
    public init(slowTurnNanoseconds: UInt64 = 10_000_000, logIntervalNanoseconds: UInt64 = 60_000_000_000) {
        self.slowTurnNanoseconds = slowTurnNanoseconds
        self.logIntervalNanoseconds = logIntervalNanoseconds
    }

    public mutating func begin(_ now: UInt64) {
        turnStart = now
        mark = now
        for i in phases.indices { phases[i] = 0 }
    }

    /// Charges the time since the previous mark to `phase`.
    public mutating func lap(_ phase: Phase, _ now: UInt64) {
        phases[phase.rawValue] &+= now &- mark
        mark = now
    }

    /// The time since the previous mark was spent waiting in the engine: not work.
    public mutating func skip(_ now: UInt64) {
        turnStart &+= now &- mark
        mark = now
    }

    /// Records the turn; a slow one comes back as a report.
    public mutating func end(_ now: UInt64) -> SlowTurn? {
        let work = now &- turnStart
        turns.record(work)
        guard work > slowTurnNanoseconds else { return nil }
        slowSinceLog += 1
        let log = lastLogAt.map { now &- $0 >= logIntervalNanoseconds } ?? true
        let report = SlowTurn(workNanoseconds: work, phaseNanoseconds: phases, slowSinceLastLogged: slowSinceLog, shouldLog: log)
        if log {
            lastLogAt = now
            slowSinceLog = 0
        }
        return report
    }
}
