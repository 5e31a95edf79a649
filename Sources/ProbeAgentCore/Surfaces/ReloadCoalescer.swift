/// Reload requests (admin API, SIGHUP, the file changing) folded so that at most one reload
/// runs and at most one waits: everything asked while one runs becomes the single next one,
/// and each requester is answered with the outcome of the first reload that started after
/// it asked.
///
/// Why not join the running one: it may have read the file before the edit that prompted the
/// request. Why not queue each: a reload of a 100k-target file parses for seconds, so a burst
/// of requests would be a queue of identical parses and swaps.
///
/// A reload runs from ``request(reason:waiter:)`` or ``finished()`` handing out a batch until
/// the caller reports it done with ``finished()``. Pure: `Waiter` is whatever the caller
/// answers (a reply closure); nothing here is called.
public struct ReloadCoalescer<Waiter> {
    /// Requests served by one reload.
    public struct Batch {
        public var waiters: [Waiter] = []
        public var reasons: [String] = []

        /// "admin API ×3, SIGHUP": each reason once, in the order first asked, with its count.
        public var reason: String {
            var order: [String] = []
            var counts: [String: Int] = [:]
            for r in reasons {
                if counts[r] == nil { order.append(r) }
                counts[r, default: 0] += 1
            }
            return order.map { counts[$0]! > 1 ? "\($0) ×\(counts[$0]!)" : $0 }.joined(separator: ", ")
        }
    }

    private var running: Batch?
    private var next: Batch?
    /// Requests that joined a reload already waiting, since start.
    public private(set) var coalesced: UInt64 = 0

    public init() {}

    /// A reload is asked for. Returns the batch to start now, or nil: it will be answered with
    /// the next reload, which starts when the running one is ``finished()``.
    public mutating func request(reason: String, waiter: Waiter) -> Batch? {
        guard running != nil else {
            running = Batch(waiters: [waiter], reasons: [reason])
            return running
        }
        if next == nil {
            next = Batch()
        } else {
            coalesced += 1
        }
        next!.waiters.append(waiter)
        next!.reasons.append(reason)
        return nil
    }

    /// The running reload is done: its requesters to answer with its outcome, and the batch to
    /// start now (everything asked meanwhile), if any.
    public mutating func finished() -> (done: Batch, start: Batch?) {
        let done = running ?? Batch()
        running = next
        next = nil
        return (done, running)
    }

    public var isRunning: Bool { running != nil }
    public var waitingCount: Int { next?.waiters.count ?? 0 }
}
