import ProbeAgentCore
import RemoteWrite

/// Turns a batch of results into a remote-write request body (protobuf, uncompressed), see
/// ``SeriesMapping`` for the series a result becomes.
///
/// Each monitor's label set — external labels, its own labels, `protocol`, `monitor` — is a
/// ``LabelLayout`` built once and reused while the monitor's labels stay the same; a result
/// only fills in the metric name and its target. One series entry per sample, in batch order,
/// so each series' samples stay in the order the results came.
struct RequestBuilder {
    private struct Template {
        var source: [(String, String)]
        var proto: ProbeProtocol
        var layout: LabelLayout
    }

    private let external: [(String, String)]
    private var templates: [String: Template] = [:]
    /// Per-series values in layout order: [metric name, target].
    private var values = ["", ""]

    init(external: [(String, String)]) { self.external = external }

    mutating func protobuf(_ batch: [ResultRecord]) throws -> [UInt8] {
        var writer = RequestWriter(expectedSeries: batch.count * 3)
        for r in batch {
            let layout = try template(r).layout
            values[1] = r.target
            try SeriesMapping.forEachSample(of: r) { metric, value in
                values[0] = metric
                try writer.append(layout, values: values, timestampMs: r.timestampMilliseconds, value: value)
            }
        }
        return writer.protobuf
    }

    private mutating func template(_ r: ResultRecord) throws -> Template {
        if let t = templates[r.monitorID], t.proto == r.probeProtocol, t.source.elementsEqual(r.labels, by: { $0 == $1 }) {
            return t
        }
        var labels: [(String, LabelLayout.Value)] = SeriesMapping.commonLabels(
            monitorID: r.monitorID, labels: r.labels, probeProtocol: r.probeProtocol, externalLabels: external
        ).map { ($0.key, .fixed($0.value)) }
        labels.append(("__name__", .perSeries(0)))
        labels.append(("target", .perSeries(1)))
        let t = Template(source: r.labels, proto: r.probeProtocol, layout: try LabelLayout(labels))
        templates[r.monitorID] = t
        return t
    }
}
