import ProbeAgentCore
import RemoteWrite

/// Turns a batch of results into a remote-write request body (protobuf, uncompressed), see
/// ``SeriesMapping`` for the series a result becomes.
///
/// Each monitor's label sets — external labels, its own labels, `protocol`, `monitor` and the
/// metric name — are ``LabelLayout``s built once per metric and reused while the monitor's
/// labels stay the same: validated and encoded once, so a sample only fills in its target. One
/// series entry per sample, in batch order, so each series' samples stay in the order the
/// results came. The `address` label of an `all_addresses` target (the record's last label)
/// is per series too, so the addresses of one monitor share its template.
struct RequestBuilder {
    private struct Template {
        var source: [(String, String)]
        var proto: ProbeProtocol
        /// By ``SeriesMapping/Metric/rawValue``.
        var layouts: [LabelLayout]
    }

    private let external: [(String, String)]
    private var templates: [String: Template] = [:]
    /// Templates of monitors whose records carry an `address`.
    private var addressTemplates: [String: Template] = [:]
    /// Per-series values in layout order: [target], or [target, address].
    private var values = [""]
    private var addressValues = ["", ""]

    /// Path samples' layouts, by monitor, metric and whether an `address` label is there.
    private var pathTemplates: [String: (source: [(String, String)], proto: ProbeProtocol, layout: LabelLayout)] = [:]

    /// Templates made so far (a new monitor, protocol or label set makes one; the same ones reuse it).
    private(set) var templatesBuilt = 0

    init(external: [(String, String)]) { self.external = external }

    /// A path monitor's sample: its metric's series, with `hop` and `router` (per-hop samples)
    /// and `address` per series like `target`.
    private mutating func appendPath(_ r: ResultRecord, _ p: PathSample, to writer: inout RequestWriter) throws {
        var own = r.labels
        var values = [r.target]
        var perSeries: [(String, LabelLayout.Value)] = [("target", .perSeries(0))]
        if p.metric.isPerHop, own.count >= 2 {
            let router = own.removeLast(), hop = own.removeLast()
            values += [hop.1, router.1]
            perSeries += [("hop", .perSeries(1)), ("router", .perSeries(2))]
        }
        let (rest, address) = Self.splitAddress(own)
        if let address {
            own = rest
            values.append(address)
            perSeries.append(("address", .perSeries(values.count - 1)))
        }
        let metric = SeriesMapping.Metric.path(p.metric)
        let key = "\(r.monitorID)\u{0}\(metric.rawValue)\u{0}\(values.count)"
        if let t = pathTemplates[key], t.proto == r.probeProtocol, t.source.elementsEqual(own, by: { $0 == $1 }) {
            return try writer.append(t.layout, values: values, timestampMs: r.timestampMilliseconds, value: p.value)
        }
        let common: [(String, LabelLayout.Value)] = SeriesMapping.commonLabels(
            monitorID: r.monitorID, labels: own, probeProtocol: r.probeProtocol, externalLabels: external
        ).map { ($0.key, .fixed($0.value)) }
        let layout = try LabelLayout(common + [("__name__", .fixed(metric.name))] + perSeries)
        pathTemplates[key] = (own, r.probeProtocol, layout)
        templatesBuilt += 1
        try writer.append(layout, values: values, timestampMs: r.timestampMilliseconds, value: p.value)
    }

    mutating func protobuf(_ batch: [ResultRecord]) throws -> [UInt8] {
        var writer = RequestWriter(expectedSeries: batch.count * 3)
        for r in batch {
            if let p = r.path {
                try appendPath(r, p, to: &writer)
                continue
            }
            let (own, address) = Self.splitAddress(r.labels)
            let layouts = try template(r, own: own, withAddress: address != nil).layouts
            if let address {
                addressValues[0] = r.target
                addressValues[1] = address
            } else {
                values[0] = r.target
            }
            let perSeries = address != nil ? addressValues : values
            try SeriesMapping.forEachSample(of: r) { metric, value in
                try writer.append(layouts[metric.rawValue], values: perSeries, timestampMs: r.timestampMilliseconds, value: value)
            }
        }
        return writer.protobuf
    }

    /// The `address` label of an `all_addresses` target and the record's other labels. Found by
    /// name, not place: the record keeps its labels sorted, so `address` comes before a monitor
    /// label such as `site` (it is reserved: only the loop sets it). Without one, `labels` as
    /// they are (no copy).
    static func splitAddress(_ labels: [(String, String)]) -> (own: [(String, String)], address: String?) {
        guard let i = labels.firstIndex(where: { $0.0 == "address" }) else { return (labels, nil) }
        var own = labels
        let address = own.remove(at: i).1
        return (own, address)
    }

    private mutating func template(_ r: ResultRecord, own: [(String, String)], withAddress: Bool) throws -> Template {
        let cached = withAddress ? addressTemplates[r.monitorID] : templates[r.monitorID]
        if let t = cached, t.proto == r.probeProtocol, t.source.elementsEqual(own, by: { $0 == $1 }) {
            return t
        }
        let common: [(String, LabelLayout.Value)] = SeriesMapping.commonLabels(
            monitorID: r.monitorID, labels: own, probeProtocol: r.probeProtocol, externalLabels: external
        ).map { ($0.key, .fixed($0.value)) }
        let perSeries: [(String, LabelLayout.Value)] = withAddress
            ? [("target", .perSeries(0)), ("address", .perSeries(1))] : [("target", .perSeries(0))]
        let layouts = try SeriesMapping.Metric.results.map { metric in
            try LabelLayout(common + [("__name__", .fixed(metric.name))] + perSeries)
        }
        let t = Template(source: own, proto: r.probeProtocol, layouts: layouts)
        if withAddress { addressTemplates[r.monitorID] = t } else { templates[r.monitorID] = t }
        templatesBuilt += 1
        return t
    }
}
