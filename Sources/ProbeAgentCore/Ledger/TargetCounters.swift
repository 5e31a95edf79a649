/// The counters and latest result of one schedule slot, packed into 96 bytes.
///
/// One of these per (monitor, target), so the layout matters at 100k targets: no strings (the
/// names live once per monitor in the schedule; ``TargetRecord`` joins them back for the status
/// file and the admin API), no 9-byte optionals (a sentinel instead), and no `sent` counter:
/// every probe lands in exactly one outcome counter, so `sent` is their sum. Counters stay
/// UInt64: they are Prometheus counters and must not wrap.
public struct TargetCounters: Sendable, Hashable {
    public internal(set) var ok: UInt64 = 0
    public internal(set) var timeouts: UInt64 = 0
    public internal(set) var refused: UInt64 = 0
    public internal(set) var unreachable: UInt64 = 0
    public internal(set) var errors: UInt64 = 0
    public internal(set) var unresolved: UInt64 = 0
    public internal(set) var suppressed: UInt64 = 0
    public internal(set) var ttlExceeded: UInt64 = 0
    public internal(set) var fragmentationNeeded: UInt64 = 0
    private var lastRTT = Self.none
    private var lastSentAt = Self.none
    /// The generation of the slot's entry these counters belong to (see ``ProbeCookie``).
    var generation: UInt32 = 0
    public internal(set) var lastOutcome: ProbeOutcome?
    public internal(set) var lastSuppressed = false
    /// False for a slot with no result yet, or whose entry a reload removed.
    var isLive = false

    /// `UInt64.max` nanoseconds (584 years) stands for "none".
    private static let none = UInt64.max

    init() {}

    init(generation: UInt32) {
        self.generation = generation
        isLive = true
    }

    /// Probes sent: the sum of the outcome counters (each probe lands in exactly one).
    public var sent: UInt64 {
        ok &+ timeouts &+ refused &+ unreachable &+ errors &+ unresolved &+ suppressed &+ ttlExceeded &+ fragmentationNeeded
    }

    /// Round-trip time of the latest probe, if it was answered.
    public internal(set) var lastRTTNanoseconds: UInt64? {
        get { lastRTT == Self.none ? nil : lastRTT }
        set { lastRTT = newValue ?? Self.none }
    }

    /// Send time of the latest probe, nanoseconds since the Unix epoch.
    public internal(set) var lastSentAtNanoseconds: UInt64? {
        get { lastSentAt == Self.none ? nil : lastSentAt }
        set { lastSentAt = newValue ?? Self.none }
    }
}

extension TargetRecord {
    /// A slot's counters with the names of the entry they belong to.
    public init(monitorID: String, target: String, counters c: TargetCounters) {
        self.init(monitorID: monitorID, target: target)
        sent = c.sent
        ok = c.ok
        timeouts = c.timeouts
        refused = c.refused
        unreachable = c.unreachable
        errors = c.errors
        unresolved = c.unresolved
        suppressed = c.suppressed
        ttlExceeded = c.ttlExceeded
        fragmentationNeeded = c.fragmentationNeeded
        lastOutcome = c.lastOutcome
        lastSuppressed = c.lastSuppressed
        lastRTTNanoseconds = c.lastRTTNanoseconds
        lastSentAtNanoseconds = c.lastSentAtNanoseconds
    }
}
