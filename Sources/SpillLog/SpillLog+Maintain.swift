// Periodic upkeep driven by the owner's clock: the age cap and the interval fsync.
//
// The log has no clock and no timer of its own; the owner calls maintain(now:) from its loop
// (every few hundred milliseconds is plenty) with wall-clock time, which is what record
// timestamps are in. Age cap: a segment goes when its NEWEST record is older than `maxAge`,
// so a segment is only dropped once everything in it is too old (records are dropped at most
// one segment's time-span late). The newest timestamp per segment is kept in memory (rebuilt
// from the records' own timestamps at open), so this is O(segments dropped) per call.

extension SpillLog {
    /// Drops segments past the age cap and fsyncs when the interval policy says it is due.
    ///
    /// - Parameter nowNanos: wall-clock time, nanoseconds since the Unix epoch.
    public func maintain(nowNanos: Int64) throws {
        try checkOpen()
        if let maxAge = options.maxAge {
            let cutoff = nowNanos &- maxAge.nanosecondsClamped
            while let first = segments.first, first.records > 0, first.newestNanos < cutoff {
                try dropOldest()
            }
        }
        if case .interval(let interval) = options.fsync, writeUnsynced || directoryUnsynced {
            let due = lastSyncNanos.map { nowNanos < $0 || nowNanos - $0 >= interval.nanosecondsClamped } ?? true
            if due {
                try sync()
                lastSyncNanos = nowNanos
            }
        }
    }

    /// Forces appended records and directory changes to disk now, whatever the policy.
    public func flush() throws {
        try checkOpen()
        try sync()
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}
