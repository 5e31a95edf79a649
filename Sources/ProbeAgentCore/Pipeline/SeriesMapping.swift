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

    /// 0 ok, 1 timeout, 2 refused, 3 unreachable, 4 error, 5 unresolved, 6 suppressed failure.
    public static func statusCode(_ r: ResultRecord) -> Double {
        if r.suppressed && r.outcome.isFailure { return 6 }
        switch r.outcome {
        case .ok: return 0
        case .timeout: return 1
        case .refused: return 2
        case .unreachable: return 3
        case .error: return 4
        case .unresolved: return 5
        }
    }

    /// The samples of one result. External labels never override the series' own labels.
    public static func samples(of r: ResultRecord, externalLabels: [(String, String)]) -> [SeriesSample] {
        var base: [String: String] = [:]
        for (k, v) in externalLabels { base[k] = v }
        for (k, v) in r.labels { base[k] = v }
        base["monitor"] = r.monitorID
        base["target"] = r.target
        base["protocol"] = r.probeProtocol.rawValue
        let sorted = base.sorted { $0.key < $1.key }.map { SeriesSample.Label($0.key, $0.value) }
        func series(_ name: String, _ value: Double) -> SeriesSample {
            SeriesSample(labels: [SeriesSample.Label("__name__", name)] + sorted,
                         timestampMilliseconds: r.timestampMilliseconds, value: value)
        }
        var out = [series(successMetric, r.outcome == .ok ? 1 : 0), series(statusMetric, statusCode(r))]
        if r.outcome == .ok, let rtt = r.rttNanoseconds { out.append(series(rttMetric, Double(rtt) / 1e9)) }
        return out
    }
}
