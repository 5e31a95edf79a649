/// How one trace probes its path: how far, how many rounds, how fast. A value; ``TraceRun``
/// carries it out.
///
/// A round probes TTL 1, 2, 3 … — at most `window` of them in flight at once — until the
/// target (or a router that says the destination is unreachable) answers, or until `gapLimit`
/// TTLs past the farthest answer so far have been sent with no answer (a path that goes dark,
/// as traceroute's `* * *` lines would, without probing all of `maxHops`). Once a round has
/// reached the target, later rounds probe only up to its distance.
public struct TracePlan: Sendable, Hashable {
    /// The highest TTL / hop limit probed (1...64; traceroute and mtr use 30).
    public var maxHops: Int
    /// Rounds: probes per hop (mtr's report cycles, traceroute's `-q`).
    public var rounds: Int
    /// From the start of one round to the start of the next, ns (a round that takes longer
    /// delays the next).
    public var roundInterval: UInt64
    /// Per-probe timeout, ns.
    public var timeout: UInt64
    /// TTLs in flight at once while the distance is unknown.
    public var window: Int
    /// Silent TTLs past the farthest answer before a round stops going further.
    public var gapLimit: Int

    public static let maxHopsRange = 1...64

    public init(maxHops: Int = 30, rounds: Int = 3, roundInterval: UInt64 = 1_000_000_000,
                timeout: UInt64 = 1_000_000_000, window: Int = 8, gapLimit: Int = 5) {
        precondition(Self.maxHopsRange.contains(maxHops) && rounds >= 1 && window >= 1 && gapLimit >= 1 && timeout > 0,
                     "TracePlan out of range")
        self.maxHops = maxHops
        self.rounds = rounds
        self.roundInterval = roundInterval
        self.timeout = timeout
        self.window = window
        self.gapLimit = gapLimit
    }
}

/// One probe a trace wants sent now: its TTL, and an id to report its result under.
public struct TraceProbe: Sendable, Hashable {
    /// Unique within the run (round * 256 + ttl).
    public var id: UInt32
    public var ttl: UInt8
}
