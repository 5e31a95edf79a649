/// A label set prepared once and reused for many series: a sender's fixed labels (a monitor's
/// own, the external ones) are validated, sorted and encoded to protobuf bytes once; only the
/// few labels that differ per series (the metric name, the target) are filled in per series by
/// ``RequestWriter``.
///
/// Why: at 100k targets nearly every result in a request is its own series, and building,
/// sorting and validating a label array per series cost more than the probe (see
/// scripts/bench-scale.sh). With a layout a series costs a few memcpys.
public struct LabelLayout: Sendable {
    /// A label's value: known now, or the `n`th value given per series.
    public enum Value: Sendable, Hashable {
        case fixed(String)
        case perSeries(Int)
    }

    enum Part: Sendable {
        /// Consecutive fixed labels, already encoded as `TimeSeries.labels` entries.
        case encoded([UInt8])
        /// The per-series label at this index, with its name; `isMetricName`: it is `__name__`,
        /// whose values must be valid metric names (decided once here, not per series).
        case perSeries(index: Int, name: String, isMetricName: Bool)
    }

    let parts: [Part]
    /// How many per-series values a series of this layout takes.
    public let perSeriesCount: Int
    let fixedBytes: Int

    /// Validates and sorts `labels` (remote write 1.0 rules, see ``LabelRules``).
    ///
    /// - Parameter labels: every label of the series, `__name__` included; per-series indexes
    ///   must be 0..<k, each used once.
    /// - Throws: ``RemoteWriteError`` naming the first rule broken.
    public init(_ labels: [(String, Value)]) throws {
        var perSeries = Set<Int>()
        for (name, value) in labels {
            guard LabelRules.isValidLabelName(name) else { throw RemoteWriteError.invalidLabelName(name) }
            switch value {
            case .fixed(let v):
                guard !v.isEmpty else { throw RemoteWriteError.emptyLabelValue(name: name) }
                if name == LabelRules.metricNameLabel, !LabelRules.isValidMetricName(v) { throw RemoteWriteError.invalidMetricName(v) }
            case .perSeries(let i):
                guard i >= 0, perSeries.insert(i).inserted else { throw RemoteWriteError.duplicateLabelName(name) }
            }
        }
        guard perSeries == Set(0..<perSeries.count) else { throw RemoteWriteError.duplicateLabelName("per-series index") }
        guard labels.contains(where: { $0.0 == LabelRules.metricNameLabel }) else { throw RemoteWriteError.missingMetricName }
        let sorted = labels.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.0 == b.0 { throw RemoteWriteError.duplicateLabelName(a.0) }

        var parts: [Part] = []
        var run = WireWriter()
        for (name, value) in sorted {
            switch value {
            case .fixed(let v):
                run.label(name, v)
            case .perSeries(let i):
                if !run.bytes.isEmpty { parts.append(.encoded(run.bytes)) }
                run = WireWriter()
                parts.append(.perSeries(index: i, name: name, isMetricName: name == LabelRules.metricNameLabel))
            }
        }
        if !run.bytes.isEmpty { parts.append(.encoded(run.bytes)) }
        self.parts = parts
        perSeriesCount = perSeries.count
        fixedBytes = parts.reduce(0) { if case .encoded(let b) = $1 { $0 + b.count } else { $0 } }
    }
}

/// A remote-write `WriteRequest` written series by series from ``LabelLayout``s, one sample
/// per series entry (as Prometheus itself sends; a series may appear in several entries, in
/// timestamp order). The bytes are the protobuf wire format, uncompressed.
public struct RequestWriter: Sendable {
    private var wire: WireWriter

    public init(expectedSeries: Int = 0) {
        wire = WireWriter(reservingCapacity: expectedSeries * 128)
    }

    /// Appends one series entry with one sample.
    ///
    /// - Parameter values: the layout's per-series label values, by index; none may be empty.
    /// - Throws: ``RemoteWriteError/emptyLabelValue(name:)`` or
    ///   ``RemoteWriteError/invalidMetricName(_:)``; nothing is written then.
    public mutating func append(_ layout: LabelLayout, values: [String], timestampMs: Int64, value: Double) throws {
        precondition(values.count == layout.perSeriesCount, "a layout with \(layout.perSeriesCount) per-series labels got \(values.count) values")
        var size = layout.fixedBytes
        for part in layout.parts {
            guard case .perSeries(let i, let name, let isMetricName) = part else { continue }
            guard !values[i].isEmpty else { throw RemoteWriteError.emptyLabelValue(name: name) }
            if isMetricName, !LabelRules.isValidMetricName(values[i]) { throw RemoteWriteError.invalidMetricName(values[i]) }
            size += WireWriter.labelEntrySize(name, values[i])
        }
        let sample = (timestampMs: timestampMs, value: value)
        size += WireWriter.sampleEntrySize(sample)
        wire.beginTimeSeries(size: size)
        for part in layout.parts {
            switch part {
            case .encoded(let bytes): wire.raw(bytes)
            case .perSeries(let i, let name, _): wire.label(name, values[i])
            }
        }
        wire.sample(sample)
    }

    public var isEmpty: Bool { wire.bytes.isEmpty }

    /// The uncompressed protobuf bytes so far.
    public var protobuf: [UInt8] { wire.bytes }
}
