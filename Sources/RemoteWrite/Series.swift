/// One remote-write series: a complete label set and its samples.
///
/// Labels are kept in the order the remote-write 1.0 specification requires: sorted by name
/// (byte order, the order Prometheus itself keeps labels in). With the names ProbeAgent uses —
/// lower-case letters, digits and `_` — that puts `__name__` first. Samples are kept in timestamp
/// order. Both orders are established by ``init(labels:samples:)``, which also validates.
public struct Series: Sendable, Equatable {
    /// One sample: milliseconds since the Unix epoch and the value.
    public typealias Sample = (timestampMs: Int64, value: Double)

    /// The label set, sorted by name; `__name__` is always present.
    public let labels: [(String, String)]
    /// The samples, sorted by timestamp (stable: equal timestamps keep their given order).
    public let samples: [Sample]

    /// Makes a validated series.
    ///
    /// - Parameters:
    ///   - labels: name/value pairs in any order. Must contain `__name__`; names must be unique,
    ///     non-empty and match `[a-zA-Z_][a-zA-Z0-9_]*` (the metric name in `__name__` may also
    ///     contain `:`); values must be non-empty.
    ///   - samples: in any order; at least one.
    /// - Throws: ``RemoteWriteError`` naming the first rule broken.
    public init(labels: [(String, String)], samples: [Sample]) throws {
        self.labels = try LabelRules.validatedAndSorted(labels)
        guard !samples.isEmpty else {
            throw RemoteWriteError.noSamples(metric: LabelRules.metricName(self.labels))
        }
        // Stable sort: enumerated offsets break ties.
        self.samples = samples.enumerated()
            .sorted { ($0.element.timestampMs, $0.offset) < ($1.element.timestampMs, $1.offset) }
            .map(\.element)
    }

    /// Convenience: a series named `name` with further labels.
    /// For labels that are already valid and sorted by name (the shipper builds them from a
    /// validated config): checks only what is cheap — no samples, unsorted or duplicate names,
    /// empty values — in debug builds and release alike; samples are kept in the order given
    /// unless out of timestamp order.
    public init(sortedLabels: [(String, String)], samples: [Sample]) throws {
        for (a, b) in zip(sortedLabels, sortedLabels.dropFirst()) where !a.0.utf8.lexicographicallyPrecedes(b.0.utf8) {
            throw RemoteWriteError.duplicateLabelName(b.0)
        }
        for (name, value) in sortedLabels where value.isEmpty { throw RemoteWriteError.emptyLabelValue(name: name) }
        guard sortedLabels.first?.0 == LabelRules.metricNameLabel else { throw RemoteWriteError.missingMetricName }
        guard !samples.isEmpty else { throw RemoteWriteError.noSamples(metric: sortedLabels[0].1) }
        labels = sortedLabels
        let ordered = zip(samples, samples.dropFirst()).allSatisfy { $0.timestampMs <= $1.timestampMs }
        self.samples = ordered ? samples : samples.enumerated()
            .sorted { ($0.element.timestampMs, $0.offset) < ($1.element.timestampMs, $1.offset) }
            .map(\.element)
    }

    public init(name: String, labels: [(String, String)] = [], samples: [Sample]) throws {
        try self.init(labels: [("__name__", name)] + labels, samples: samples)
    }

    /// The value of label `name`, if present.
    public subscript(label name: String) -> String? {
        labels.first { $0.0 == name }?.1
    }

    /// The metric name (value of `__name__`).
    public var name: String { LabelRules.metricName(labels) }

    public static func == (lhs: Series, rhs: Series) -> Bool {
        lhs.labels.elementsEqual(rhs.labels) { $0 == $1 }
            && lhs.samples.elementsEqual(rhs.samples) {
                $0.timestampMs == $1.timestampMs
                    && ($0.value == $1.value || ($0.value.isNaN && $1.value.isNaN))
            }
    }
}
