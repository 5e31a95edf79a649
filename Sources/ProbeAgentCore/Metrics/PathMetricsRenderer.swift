/// Renders the path monitors' series for `/metrics` (after the per-target ones), per target
/// of a monitor with `path:`, with the target's labels (``TargetMetricsRenderer/appendLabels``):
///
/// - `probe_path_hops`: hops of the last path (up to the target, or the farthest answer);
/// - `probe_path_traces_total`, `probe_path_changes_total`;
/// - with `per_hop_series: true`, per hop of the last path (labels `hop` = TTL and `router`,
///   `*` for a hop that did not answer): `probe_path_hop_loss_ratio` and, where it answered,
///   `probe_path_hop_rtt_seconds` (the mean of the trace's answers). Targets × hops series:
///   up to `max_hops` (30) per target.
///
/// And the trace probes' budget: `probeagent_path_*`.
public enum PathMetricsRenderer {
    public static func render(_ paths: PathWatch, config: AgentConfig, labels: SeriesLabelTable, into w: inout ExpositionWriter) {
        guard !paths.isEmpty else { return }
        var proto: [String: String] = [:]
        for m in config.monitors { proto[m.id] = m.probeProtocol.rawValue }
        let trackers = paths.trackers.compactMap { $0 }.filter { proto[$0.key.monitorID] != nil }.sorted { $0.key < $1.key }
        var blocks: [[UInt8]] = []
        for t in trackers {
            var b = ExpositionWriter(capacity: 128)
            TargetMetricsRenderer.appendLabels(&b, monitorID: t.key.monitorID, target: t.key.target,
                                               protocol: proto[t.key.monitorID]!, labels: labels)
            blocks.append(b.take())
        }
        w.header("probe_path_hops", .gauge, "Hops of the target's last traced path (up to the target, or to the farthest answer).")
        for (t, b) in zip(trackers, blocks) where t.hops != nil { w.sample("probe_path_hops", block: b[...], UInt64(t.hops!.count)) }
        w.header("probe_path_traces_total", .counter, "Traces of the target's path completed.")
        for (t, b) in zip(trackers, blocks) { w.sample("probe_path_traces_total", block: b[...], t.traces) }
        w.header("probe_path_changes_total", .counter, "Changes of the target's path: a router not seen before at its hop (silent hops are no change).")
        for (t, b) in zip(trackers, blocks) { w.sample("probe_path_changes_total", block: b[...], t.changes) }
        let perHop = zip(trackers, blocks).filter { $0.0.probing.perHopSeries && $0.0.hops != nil }
        if !perHop.isEmpty {
            w.header("probe_path_hop_loss_ratio", .gauge, "Share of the last trace's probes at this hop that got no answer.")
            for (t, b) in perHop {
                for h in t.hops! { w.sample("probe_path_hop_loss_ratio", block: hopBlock(b, h)[...], h.lossRatio) }
            }
            w.header("probe_path_hop_rtt_seconds", .gauge, "Mean round-trip time of the last trace's answers at this hop.")
            for (t, b) in perHop {
                for h in t.hops! {
                    if let rtt = h.avgRTT { w.sample("probe_path_hop_rtt_seconds", block: hopBlock(b, h)[...], Double(rtt) / 1e9) }
                }
            }
        }
        w.header("probeagent_path_trace_probes_total", .counter, "Trace probes of path monitors handed to the engine.")
        w.sample("probeagent_path_trace_probes_total", [], Double(paths.probesSent))
        w.header("probeagent_path_trace_probes_waiting", .gauge, "Trace probes waiting for scheduler.path_probes_per_second.")
        w.sample("probeagent_path_trace_probes_waiting", [], Double(paths.probesWaiting))
        w.header("probeagent_path_traces_in_progress", .gauge, "Traces under way.")
        w.sample("probeagent_path_traces_in_progress", [], Double(paths.tracing))
    }

    private static func hopBlock(_ block: [UInt8], _ h: PathHop) -> [UInt8] {
        block + Array(",hop=\"\(h.ttl)\",router=\"\(h.routerText)\"".utf8) // an address needs no escaping
    }
}
