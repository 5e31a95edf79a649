/// How long each turn of the probing loop works, by phase, so a late probe can be traced to
/// what held the loop (a snapshot's copy, a reload, a burst of results, a CPU taken away).
///
/// A turn's work is everything but its wait in the engine. A turn that works longer than
/// ``slowTurnNanoseconds`` delays every probe due meanwhile by as much; ``end(_:cpu:)`` reports
/// it with its phases. The caller passes the time in (CLOCK_MONOTONIC ns), as for the wheel,
/// and, optionally, the thread's CPU time (CLOCK_THREAD_CPUTIME_ID ns): then a slow turn also
/// says how much of it the thread was on a CPU, so a loop that had too much to do can be told
/// from one that was runnable while other threads had the cores.
public struct LoopTurnClock: Sendable {
    public enum Phase: Int, CaseIterable, Sendable {
        case requests, snapshot, status, schedule, submit, results, handover
    }

    /// A turn that worked longer than the slow-turn bound.
    public struct SlowTurn: Sendable, Equatable {
        public var workNanoseconds: UInt64
        /// The thread's CPU time in the turn's work, when the caller passed CPU readings.
        public var onCPUNanoseconds: UInt64?
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

        /// "; on CPU 7.1 ms of it": what the thread ran of the turn's work; the rest it waited
        /// for a core (or a lock, or a page). Empty without CPU readings.
        public var cpuText: String {
            onCPUNanoseconds.map { "; on CPU \(Self.milliseconds($0)) ms of it" } ?? ""
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
    private var cpuStart: UInt64?
    private var cpuSkipped: UInt64 = 0
    private var slowSinceLog = 0
    private var lastLogAt: UInt64?

    /// - Parameters:
    ///   - slowTurnNanoseconds: work above this is a slow turn (10 ms: the on-time bound).
    ///   - logIntervalNanoseconds: at most one slow turn a minute is meant for the log.
    public init(slowTurnNanoseconds: UInt64 = 10_000_000, logIntervalNanoseconds: UInt64 = 60_000_000_000) {
        self.slowTurnNanoseconds = slowTurnNanoseconds
        self.logIntervalNanoseconds = logIntervalNanoseconds
    }

    /// - Parameters:
    ///   - now: CLOCK_MONOTONIC ns.
    ///   - cpu: the calling thread's CPU time, ns (nil: the turn is timed by the wall clock only).
    public mutating func begin(_ now: UInt64, cpu: UInt64? = nil) {
        turnStart = now
        mark = now
        cpuStart = cpu
        cpuSkipped = 0
        for i in phases.indices { phases[i] = 0 }
    }

    /// Charges the time since the previous mark to `phase`.
    public mutating func lap(_ phase: Phase, _ now: UInt64) {
        phases[phase.rawValue] &+= now &- mark
        mark = now
    }

    /// The time since the previous mark was spent waiting in the engine: not work.
    ///
    /// - Parameter cpuWhileWaiting: CPU time the thread used in that wait (the engine reaping
    ///   completions), left out of the turn's CPU as the wait is left out of its work.
    public mutating func skip(_ now: UInt64, cpuWhileWaiting: UInt64 = 0) {
        turnStart &+= now &- mark
        mark = now
        cpuSkipped &+= cpuWhileWaiting
    }

    /// Records the turn; a slow one comes back as a report.
    ///
    /// - Parameter cpu: the thread's CPU time, as given to ``begin(_:cpu:)``.
    public mutating func end(_ now: UInt64, cpu: UInt64? = nil) -> SlowTurn? {
        let work = now &- turnStart
        turns.record(work)
        guard work > slowTurnNanoseconds else { return nil }
        slowSinceLog += 1
        let log = lastLogAt.map { now &- $0 >= logIntervalNanoseconds } ?? true
        var onCPU: UInt64?
        if let start = cpuStart, let cpu, cpu >= start &+ cpuSkipped { onCPU = min(work, cpu - start - cpuSkipped) }
        let report = SlowTurn(workNanoseconds: work, onCPUNanoseconds: onCPU, phaseNanoseconds: phases,
                              slowSinceLastLogged: slowSinceLog, shouldLog: log)
        if log {
            lastLogAt = now
            slowSinceLog = 0
        }
        return report
    }
}
