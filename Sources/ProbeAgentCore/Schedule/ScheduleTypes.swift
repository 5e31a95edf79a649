/// Identifies one scheduled (monitor, target) entry to the engine and back.
///
/// The 64-bit value goes into `cprobe_request.cookie` and comes back in the result. Packing:
/// bits 63…32 = the entry's slot in the schedule table, bits 31…0 = the slot's generation.
/// A reload that removes or replaces an entry bumps the generation, so a late result carrying an
/// old cookie is recognised as stale and discarded instead of being credited to a new entry.
public struct ProbeCookie: Hashable, Sendable, CustomStringConvertible {
    /// The packed value.
    public let rawValue: UInt64

    /// Wraps a packed value (as read back from the engine).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    init(slot: Int, generation: UInt32) {
        rawValue = UInt64(UInt32(truncatingIfNeeded: slot)) << 32 | UInt64(generation)
    }

    /// The entry's slot in the schedule table (stable while its monitor is unchanged).
    public var slot: Int { Int(rawValue >> 32) }
    public var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// `slot:generation`.
    public var description: String { "\(slot):\(generation)" }
}

/// One (monitor, target) entry of the schedule, as a value built on demand: the schedule keeps
/// per-monitor fields once per monitor (see `MonitorPlan`), not in every entry.
public struct ScheduleEntry: Sendable, Hashable {
    /// The monitor's id.
    public var monitorID: String
    /// The target as written in the config.
    public var target: String
    /// The target's position in the monitor's `targets`.
    public var targetIndex: Int
    /// Probe kind.
    public var probeProtocol: ProbeProtocol
    /// TCP port, `nil` for ICMP.
    public var port: UInt16?
    /// Per-probe deadline.
    public var timeout: Duration
    /// Cadence, in nanoseconds.
    public var cadence: UInt64
    /// Phase offset within the cadence, in nanoseconds (see ``PhaseSpreader``).
    public var phase: UInt64
    /// The next scheduled fire time, in nanoseconds on the caller's clock.
    public internal(set) var nextFire: UInt64
}

/// A probe that is due: what to send and the cookie to send it with.
public struct DueProbe: Sendable, Hashable {
    /// Echo this in the engine request; hand the result back to ``Schedule/complete(_:)``.
    public var cookie: ProbeCookie
    /// Monitor id.
    public var monitorID: String
    /// Target as written in the config.
    public var target: String
    /// The target's position in the monitor's `targets`.
    public var targetIndex: Int
    /// TCP port, `nil` for ICMP.
    public var port: UInt16?
    /// Per-probe deadline.
    public var timeout: Duration
    /// When it was scheduled to fire, in nanoseconds.
    public var scheduled: UInt64
}

/// The due probes of one protocol, for one engine submission.
public struct ProbeBatch: Sendable, Hashable {
    /// The protocol every probe in the batch uses.
    public var probeProtocol: ProbeProtocol
    /// The probes, in scheduled order.
    public var probes: [DueProbe]
}

/// Counters the scheduler keeps (exported as self metrics).
public struct ScheduleStats: Sendable, Hashable {
    /// Probes handed out.
    public var fired: UInt64 = 0
    /// Fires skipped because the entry's previous probe was still in flight (or still deferred).
    public var skippedInFlight: UInt64 = 0
    /// Fires postponed to a later tick by the global rate cap (each is still sent).
    public var deferredByRateCap: UInt64 = 0
    /// Whole periods skipped because the caller was more than a cadence late.
    public var missedPeriods: UInt64 = 0
    /// Results whose cookie no longer names a live entry (removed or replaced by a reload).
    public var staleResults: UInt64 = 0
}

/// What a reload did.
public struct ReloadReport: Sendable, Hashable {
    /// Monitors whose targets and probing are unchanged: entries, phases and next fires kept as
    /// they were (their labels or `depends_on` may have changed: the schedule holds neither).
    public var unchanged: [String] = []
    /// Monitors whose protocol, port, cadence or timeout changed: old entries removed, new ones
    /// scheduled on the new grid.
    public var changed: [String] = []
    /// Monitors whose target list changed and nothing else the schedule holds: the targets
    /// they keep keep their entries (phase, next fire, cookie, counters); removed targets'
    /// entries go, new targets get entries of their own.
    public var retargeted: [String] = []
    /// New monitors.
    public var added: [String] = []
    /// Monitors no longer in the config: entries removed.
    public var removed: [String] = []
    /// Cookies of every entry removed (including the old entries of changed monitors). Results
    /// that still arrive for them are stale: ``Schedule/complete(_:)`` returns `false`.
    public var removedCookies: [ProbeCookie] = []
    /// The subset of ``removedCookies`` whose probe was in flight at the reload.
    public var discardedInFlight: [ProbeCookie] = []
    /// For each retargeted monitor, where its removed entries are in ``removedCookies`` (the
    /// ledger updates its health from them, in O(churn) instead of recounting every target).
    var removedSpan: [String: Range<Int>] = [:]
}
