import Yams

/// A monitor's `path:` section: trace every target's path on a cadence of its own
/// (``PathWatch`` carries it out).
public struct PathConfig: Sendable, Hashable {
    /// The highest TTL / hop limit a trace probes (1-64).
    public var maxHops: Int = 30
    /// From one trace of a target to the next.
    public var every: Duration = .seconds(60)
    /// Export RTT and loss per hop (`per_hop_series`): targets × hops series more, so opt-in.
    public var perHopSeries = false

    public static let keys = ["max_hops", "every", "per_hop_series"]
    /// A trace's rounds (probes per hop): loss per hop has a resolution of one third.
    public static let rounds = 3
    /// From one round's start to the next one's.
    public static let roundInterval: Duration = .seconds(1)
    /// The shortest `every`: a trace of 3 rounds of 30 hops takes a few seconds.
    public static let shortestEvery: Duration = .seconds(5)

    public init(maxHops: Int = 30, every: Duration = .seconds(60), perHopSeries: Bool = false) {
        self.maxHops = maxHops
        self.every = every
        self.perHopSeries = perHopSeries
    }

    /// How one trace of a monitor with this section probes (its probes time out as its echo probes do).
    public func plan(timeout: Duration) -> TracePlan {
        TracePlan(maxHops: maxHops, rounds: Self.rounds, roundInterval: UInt64(Self.roundInterval.nanosecondsValue),
                  timeout: UInt64(timeout.nanosecondsValue))
    }
}

extension MonitorConfig {
    /// `path: {max_hops, every, per_hop_series}` on an icmp or tcp-syn monitor; `every` at
    /// least the monitor's cadence and ``PathConfig/shortestEvery``.
    static func readPath(_ fields: Fields, _ proto: ProbeProtocol?, cadence: Duration, _ what: String,
                         _ reader: inout NodeReader) -> PathConfig? {
        guard let node = fields["path"] else { return nil }
        if let proto, proto == .tcpConnect {
            reader.error(at: node, "path does not apply to protocol tcp-connect in \(what) (a trace needs TTL-limited packets); use icmp or tcp-syn")
            return nil
        }
        guard let f = reader.fields(node, in: "path of \(what)", known: PathConfig.keys) else { return nil }
        var path = PathConfig()
        if let n = f["max_hops"], let v = reader.int(n, "path.max_hops of \(what)", in: TracePlan.maxHopsRange) { path.maxHops = v }
        if let n = f["every"], let v = reader.duration(n, "path.every of \(what)") {
            if v < cadence {
                reader.error(at: n, "path.every \(DurationParser.format(v)) in \(what) is shorter than its cadence \(DurationParser.format(cadence))")
            } else if v < PathConfig.shortestEvery || v > .seconds(86_400) {
                reader.error(at: n, "path.every \(DurationParser.format(v)) in \(what) must be between \(DurationParser.format(PathConfig.shortestEvery)) and 24h")
            } else {
                path.every = v
            }
        }
        if let n = f["per_hop_series"], let v = reader.bool(n, "path.per_hop_series of \(what)") { path.perHopSeries = v }
        return path
    }
}
