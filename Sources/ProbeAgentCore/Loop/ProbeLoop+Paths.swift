/// Path monitors (``PathWatch``): trace probes join the pending queue after the turn's echo
/// probes, and only when no echo probe waits for the engine; their results (cookies with
/// ``PathWatch/cookieFlag``) go to their trace, never to the ledger or the outbox of echo
/// results. Without a monitor with `path:`, none of this runs.
extension ProbeLoop {
    /// The trace probes due, after the echo probes `poll` took; `backlog`: echo probes that
    /// were already waiting for the engine before (then traces wait).
    mutating func pollPaths(now: UInt64, backlog: Int) {
        guard backlog == 0 else { return }
        let book = addresses
        for r in paths.poll(now: now, address: { book.address(monitorID: $0.key.monitorID, targetIndex: $0.targetIndex, target: $0.key.target) }) {
            appendPending(r)
        }
    }

    /// A trace probe's result; at the end of a trace, its samples for delivery and its change.
    mutating func completedTrace(_ r: ProbeResult, now: UInt64, wallMilliseconds: Int64) {
        guard let end = paths.record(r, now: now, wallMilliseconds: wallMilliseconds) else { return }
        if shipping, let t = paths.tracker(end.key) { shipPathSamples(t, wallMilliseconds: wallMilliseconds) }
        if let change = end.change { appendNotice(.pathChanged(change)) }
    }

    /// A completed trace's samples, the series of /metrics (``PathSample``).
    private mutating func shipPathSamples(_ t: PathTracker, wallMilliseconds: Int64) {
        let (name, labels) = series(monitorID: t.key.monitorID, target: t.key.target)
        func record(_ metric: PathSample.Metric, _ value: Double, hop: PathHop? = nil) {
            appendResult(ResultRecord(path: PathSample(metric, value), monitorID: t.key.monitorID, target: name,
                                      probeProtocol: t.probing.probeProtocol, timestampMilliseconds: wallMilliseconds,
                                      labels: labels, hop: hop.map { ($0.ttl, $0.routerText) }))
        }
        record(.changes, Double(t.changes))
        guard let hops = t.hops else { return }
        record(.hops, Double(hops.count))
        guard t.probing.perHopSeries else { return }
        for h in hops {
            record(.hopLossRatio, h.lossRatio, hop: h)
            if let rtt = h.avgRTT { record(.hopRTT, Double(rtt) / 1e9, hop: h) }
        }
    }
}
