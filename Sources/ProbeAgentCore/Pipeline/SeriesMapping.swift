/// How a probe result becomes remote-write samples. Per result, at the probe's send time:
///
///   probe_success{monitor, target, protocol, <monitor labels>, <external labels>}  1 or 0
///   probe_rtt_seconds{…}                                                           RTT, on success only
///   probe_status_code{…}                                                           see ``statusCode(_:)``
///
/// so the number of `probe_success` samples of a series is the number of probes made.
public struct SeriesSample: Sendable, Hashable {
    /// Sorted by name, `__name__` first.
    public var labels: [Label]
    public var timestampMilliseconds: Int64
    public var value: Double

    public struct Label: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
}

public enum SeriesMapping {
    public static let successMetric = "probe_success"
    public static let rttMetric = "probe_rtt_seconds"
    public static let statusMetric = "probe_status_code"

    /// 0 ok, 1 timeout, 2 refused, 3 unreachable, 4 error, 5 unresolved, 6 suppressed failure,
    /// 7 ttl_exceeded, 8 fragmentation_needed. Codes never change meaning: new ones are added.
    public static func statusCode(_ r: ResultRecord) -> Double {
        if r.suppressed && r.outcome.isFailure { return 6 }
        switch r.outcome {
        case .ok: return 0
        case .timeout: return 1
        case .refused: return 2
        case .unreachable: return 3
        case .error: return 4
        case .unresolved: return 5
        case .ttlExceeded: return 7
        case .fragmentationNeeded: return 8
        }
    }

    /// The labels every series of a result carries besides `__name__` and `target`: the external
    /// labels, the monitor's own over them, then `protocol` and `monitor`.
    public static func commonLabels(monitorID: String, labels: [(String, String)], probeProtocol: ProbeProtocol,
                                    externalLabels: [(String, String)]) -> [String: String] {
        var base: [String: String] = [:]
        for (k, v) in externalLabels { base[k] = v }
        for (k, v) in labels { base[k] = v }
        base["protocol"] = probeProtocol.rawValue
        base["monitor"] = monitorID
        base["__name__"] = nil
        base["target"] = nil
        return base
    }

    /// The series a result becomes, in the order they are sent; a path sample (``PathSample``)
    /// becomes one of the path metrics instead.
    public enum Metric: Int, Sendable, CaseIterable {
        case success, status, rtt
        case pathHops, pathChanges, pathHopLossRatio, pathHopRTT

        /// A probe result's metrics.
        public static let results: [Metric] = [.success, .status, .rtt]

        public static func path(_ m: PathSample.Metric) -> Metric {
            switch m {
            case .hops: .pathHops
            case .changes: .pathChanges
            case .hopLossRatio: .pathHopLossRatio
            case .hopRTT: .pathHopRTT
            }
        }

        /// The metric name (`__name__`).
        public var name: String {
            switch self {
            case .success: SeriesMapping.successMetric
            case .status: SeriesMapping.statusMetric
            case .rtt: SeriesMapping.rttMetric
            case .pathHops: PathSample.Metric.hops.name
            case .pathChanges: PathSample.Metric.changes.name
            case .pathHopLossRatio: PathSample.Metric.hopLossRatio.name
            case .pathHopRTT: PathSample.Metric.hopRTT.name
            }
        }
    }

    /// Calls `body` with the metric and value of each sample a result becomes, in the order
    /// success, status code, RTT (on success only).
    public static func forEachSample(of r: ResultRecord, _ body: (Metric, Double) throws -> Void) rethrows {
        if let p = r.path { return try body(Metric.path(p.metric), p.value) }
        try body(.success, r.outcome == .ok ? 1 : 0)
        try body(.status, statusCode(r))
        if r.outcome == .ok, let rtt = r.rttNanoseconds { try body(.rtt, Double(rtt) / 1e9) }
    }

    /// How many samples a result becomes.
    public static func sampleCount(of r: ResultRecord) -> Int {
        var n = 0
        forEachSample(of: r) { _, _ in n += 1 }
        return n
    }

    /// The samples of one result, each with its whole label set, sorted by name.
    public static func samples(of r: ResultRecord, externalLabels: [(String, String)]) -> [SeriesSample] {
        var base = commonLabels(monitorID: r.monitorID, labels: r.labels, probeProtocol: r.probeProtocol, externalLabels: externalLabels)
        base["target"] = r.target
        let sorted = base.sorted { $0.key < $1.key }.map { SeriesSample.Label($0.key, $0.value) }
        var out: [SeriesSample] = []
        forEachSample(of: r) { metric, value in
            out.append(SeriesSample(labels: [SeriesSample.Label("__name__", metric.name)] + sorted,
                                    timestampMilliseconds: r.timestampMilliseconds, value: value))
        }
        return out
    }
}
