import ProbeAgentCore
import RemoteWrite

/// Turns a batch of results into a remote-write request body (protobuf, uncompressed), see
/// ``SeriesMapping`` for the series a result becomes.
///
/// Each monitor's label sets — external labels, its own labels, `protocol`, `monitor` and the
/// metric name — are ``LabelLayout``s built once per metric and reused while the monitor's
/// labels stay the same: validated and encoded once, so a sample only fills in its target. One
/// series entry per sample, in batch order, so each series' samples stay in the order the
/// results came.
struct RequestBuilder {
    private struct Template {
        var source: [(String, String)]
        var proto: ProbeProtocol
        /// By ``SeriesMapping/Metric/rawValue``.
        var layouts: [LabelLayout]
    }

    private let external: [(String, String)]
    private var templates: [String: Template] = [:]
    /// Per-series values in layout order: [target].
    private var values = [""]

    init(external: [(String, String)]) { self.external = external }

    mutating func protobuf(_ batch: [ResultRecord]) throws -> [UInt8] {
        var writer = RequestWriter(expectedSeries: batch.count * 3)
        for r in batch {
            let layouts = try template(r).layouts
            values[0] = r.target
            try SeriesMapping.forEachSample(of: r) { metric, value in
                try writer.append(layouts[metric.rawValue], values: values, timestampMs: r.timestampMilliseconds, value: value)
            }
        }
        return writer.protobuf
    }

    private mutating func template(_ r: ResultRecord) throws -> Template {
        if let t = templates[r.monitorID], t.proto == r.probeProtocol, t.source.elementsEqual(r.labels, by: { $0 == $1 }) {
            return t
        }
        let common: [(String, LabelLayout.Value)] = SeriesMapping.commonLabels(
            monitorID: r.monitorID, labels: r.labels, probeProtocol: r.probeProtocol, externalLabels: external
        ).map { ($0.key, .fixed($0.value)) }
        let layouts = try SeriesMapping.Metric.allCases.map { metric in
            try LabelLayout(common + [("__name__", .fixed(metric.name)), ("target", .perSeries(0))])
        }
        let t = Template(source: r.labels, proto: r.probeProtocol, layouts: layouts)
        templates[r.monitorID] = t
        return t
    }
}
