/// One probe result as the pipeline carries it: from the loop to the memory queue, to the
/// spill log on disk, to a remote-write request. Self-contained (labels included), so a
/// result spilled before a reload is shipped with the labels it was measured under.
public struct ResultRecord: Sendable, Hashable {
    public var monitorID: String
    public var target: String
    public var probeProtocol: ProbeProtocol
    public var outcome: ProbeOutcome
    /// The failure happened while a `depends_on` parent was down.
    public var suppressed: Bool
    /// Round-trip time in nanoseconds, for `.ok`.
    public var rttNanoseconds: UInt64?
    /// When the probe was sent, milliseconds since the Unix epoch (the samples' timestamp).
    public var timestampMilliseconds: Int64
    /// The monitor's own labels, sorted by name (a per-hop path sample's end with `hop`, `router`).
    public var labels: [(String, String)]
    /// Not a probe's result but a path monitor's sample (`outcome` is then `.ok` and unused).
    public var path: PathSample?

    public init(monitorID: String, target: String, probeProtocol: ProbeProtocol, outcome: ProbeOutcome,
                suppressed: Bool, rttNanoseconds: UInt64?, timestampMilliseconds: Int64, labels: [(String, String)]) {
        self.monitorID = monitorID
        self.target = target
        self.probeProtocol = probeProtocol
        self.outcome = outcome
        self.suppressed = suppressed
        self.rttNanoseconds = rttNanoseconds
        self.timestampMilliseconds = timestampMilliseconds
        // The loop passes each monitor's labels sorted already: checking costs no allocation,
        // sorting a copy for every result did.
        let sorted = zip(labels, labels.dropFirst()).allSatisfy { $0.0 <= $1.0 }
        self.labels = sorted ? labels : labels.sorted { $0.0 < $1.0 }
    }

    /// A path monitor's sample for a target's series; `hop`: (TTL, router) for a per-hop one.
    public init(path: PathSample, monitorID: String, target: String, probeProtocol: ProbeProtocol,
                timestampMilliseconds: Int64, labels: [(String, String)], hop: (Int, String)? = nil) {
        self.init(monitorID: monitorID, target: target, probeProtocol: probeProtocol, outcome: .ok, suppressed: false,
                  rttNanoseconds: nil, timestampMilliseconds: timestampMilliseconds, labels: labels)
        if let (ttl, router) = hop { self.labels += [("hop", String(ttl)), ("router", router)] } // after the sorted ones, on purpose
        self.path = path
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.monitorID == b.monitorID && a.target == b.target && a.probeProtocol == b.probeProtocol
            && a.outcome == b.outcome && a.suppressed == b.suppressed && a.rttNanoseconds == b.rttNanoseconds
            && a.timestampMilliseconds == b.timestampMilliseconds && a.path == b.path
            && a.labels.elementsEqual(b.labels) { $0 == $1 }
    }

    public func hash(into h: inout Hasher) {
        h.combine(monitorID)
        h.combine(target)
        h.combine(timestampMilliseconds)
    }
}
