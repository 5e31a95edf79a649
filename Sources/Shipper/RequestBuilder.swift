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
            try append(&writer, layout, SeriesMapping.successMetric, r, r.outcome == .ok ? 1 : 0)
            try append(&writer, layout, SeriesMapping.statusMetric, r, SeriesMapping.statusCode(r))
            if r.outcome == .ok, let rtt = r.rttNanoseconds {
                try append(&writer, layout, SeriesMapping.rttMetric, r, Double(rtt) / 1e9)
            }
        }
        return writer.protobuf
    }

    private mutating func append(_ w: inout RequestWriter, _ layout: LabelLayout, _ metric: String, _ r: ResultRecord, _ value: Double) throws {
        values[0] = metric
        try w.append(layout, values: values, timestampMs: r.timestampMilliseconds, value: value)
    }

    private mutating func template(_ r: ResultRecord) throws -> Template {
        if let t = templates[r.monitorID], t.proto == r.probeProtocol, t.source.elementsEqual(r.labels, by: { $0 == $1 }) {
            return t
        }
        // External labels never override the series' own; the reserved ones are ours.
        var merged: [String: String] = [:]
        for (k, v) in external { merged[k] = v }
        for (k, v) in r.labels { merged[k] = v }
        merged["protocol"] = r.probeProtocol.rawValue
        merged["monitor"] = r.monitorID
        var labels: [(String, LabelLayout.Value)] = merged.filter { $0.key != "__name__" && $0.key != "target" }.map { ($0.key, .fixed($0.value)) }
        labels.append(("__name__", .perSeries(0)))
        labels.append(("target", .perSeries(1)))
        let t = Template(source: r.labels, proto: r.probeProtocol, layout: try LabelLayout(labels))
        templates[r.monitorID] = t
        return t
    }
}
