/// Which (monitor, target) a path tracker watches.
public struct PathKey: Sendable, Hashable, Comparable {
    public var monitorID: String
    /// The target as the schedule names it (`name/address` for `all_addresses`).
    public var target: String

    public init(monitorID: String, target: String) {
        self.monitorID = monitorID
        self.target = target
    }

    public static func < (a: Self, b: Self) -> Bool { (a.monitorID, a.target) < (b.monitorID, b.target) }
}

/// How a monitor's traces are sent: from its `path:` section and its probe settings.
public struct PathProbing: Sendable, Hashable {
    public var plan: TracePlan
    public var every: UInt64
    public var probeProtocol: ProbeProtocol
    public var kind: ProbeKind
    public var port: UInt16
    /// The monitor's packet options (the trace sets TTL and flow).
    public var options: PacketOptions
    public var perHopSeries: Bool

    public init(_ m: MonitorConfig, path: PathConfig) {
        plan = path.plan(timeout: m.timeout)
        every = UInt64(path.every.nanosecondsValue)
        probeProtocol = m.probeProtocol
        kind = ProbeKind(m.probeProtocol)
        port = m.port ?? 0
        options = m.packet
        perHopSeries = path.perHopSeries
    }
}

/// One target's path monitoring: when its next trace starts, the trace under way, the last
/// completed path and what is known of it (``KnownPath`` has the change rule).
public struct PathTracker: Sendable {
    public let key: PathKey
    /// The target's position in its monitor's list (for its address).
    public internal(set) var targetIndex: Int
    public internal(set) var probing: PathProbing
    /// The flow every trace of this target carries, from its identity: the same one trace
    /// after trace (and across restarts), so a per-flow balancer shows each trace one path.
    public let flow: UInt16
    /// When the next trace is due, ns.
    public internal(set) var nextTraceAt: UInt64
    public internal(set) var run: TraceRun?
    /// Bumped at every trace start: a result quoting another generation is stale.
    var generation: UInt16 = 0
    /// The last completed trace's hops, and when it completed (wall ms); nil before the first.
    public internal(set) var hops: [PathHop]?
    public internal(set) var completedAt: Int64?
    public internal(set) var known = KnownPath()
    public internal(set) var traces: UInt64 = 0
    public internal(set) var changes: UInt64 = 0
    /// When the path last changed (wall ms) and what it was before.
    public internal(set) var changedAt: Int64?
    public internal(set) var previous: [PathHop]?

    init(key: PathKey, targetIndex: Int, probing: PathProbing, now: UInt64) {
        self.key = key
        self.targetIndex = targetIndex
        self.probing = probing
        var h = StableHasher()
        h.combine(key.monitorID)
        h.combine(key.target)
        let hash = h.finalize()
        flow = UInt16(truncatingIfNeeded: hash >> 16) | 1 // never 0: 0 is "no flow" to some tools
        nextTraceAt = now + hash % max(1, probing.every) // spread over `every`: 10k targets do not trace at once
    }

    /// The path as a log line prints it: `198.18.20.2 → 198.18.21.2 → 198.18.22.2`.
    public static func text(_ hops: [PathHop]) -> String {
        hops.isEmpty ? "(no answer)" : hops.map(\.routerText).joined(separator: " → ")
    }
}
