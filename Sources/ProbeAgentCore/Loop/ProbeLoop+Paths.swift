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

    /// A trace probe's result.
    mutating func completedTrace(_ r: ProbeResult, now: UInt64, wallMilliseconds: Int64) {
        guard let change = paths.record(r, now: now, wallMilliseconds: wallMilliseconds) else { return }
        appendNotice(.pathChanged(change))
    }
}
