/// One snapshot of the probing loop's tables, shared by every scrape that starts within its
/// reuse window, so scrapes never make the loop take (and later copy) a snapshot each.
///
/// Why: a snapshot holds the loop's copy-on-write tables, and the loop copies a table the next
/// time it changes it while a snapshot still holds it (tens of ms at 200k targets, with the
/// probes due meanwhile waiting). So the loop is asked at most once per `window`, however many
/// scrapes come: the first scrape after the window asks (`.fetch`); scrapes that come while
/// that request is out wait for its answer (`.wait`); later ones within the window get the
/// same snapshot (`.use`). Each scrape still renders its own page from it, in ~1 MiB chunks as
/// its client reads: a rendered page is too big to keep (238 MB at 100k targets with
/// histograms).
///
/// Pure: the caller passes the time (CLOCK_MONOTONIC ns) and keeps whatever `Waiter` is (a
/// continuation); the answers to hand out are returned, never called here.
public struct SharedSnapshot<Value, Waiter> {
    public enum Action {
        /// A snapshot younger than the window: serve it.
        case use(Value)
        /// Ask the loop, then hand the answer to ``fetched(_:now:)``.
        case fetch
        /// A request to the loop is already out; the waiter gets its answer.
        case wait
    }

    /// How long a snapshot serves new scrapes after it was taken.
    public let windowNanoseconds: UInt64
    private var current: (value: Value, takenAt: UInt64)?
    private var waiting: [Waiter] = []
    private var fetching = false
    /// Times the loop was asked, and scrapes served from a snapshot another one asked for.
    public private(set) var fetches: UInt64 = 0
    public private(set) var reuses: UInt64 = 0

    public init(windowNanoseconds: UInt64) {
        self.windowNanoseconds = windowNanoseconds
    }

    /// A scrape wants a snapshot at `now`; `waiter` is kept only for `.fetch` and `.wait`.
    public mutating func request(now: UInt64, _ waiter: Waiter) -> Action {
        if let c = current, now &- c.takenAt < windowNanoseconds {
            reuses += 1
            return .use(c.value)
        }
        current = nil // past its window: let its tables go as soon as its readers are done
        waiting.append(waiter)
        if fetching {
            reuses += 1
            return .wait
        }
        fetching = true
        fetches += 1
        return .fetch
    }

    /// The loop's answer (nil: it could not give one, e.g. it is stopping — not kept). Returns
    /// everyone waiting for it, the fetcher included.
    public mutating func fetched(_ value: Value?, now: UInt64) -> [Waiter] {
        fetching = false
        if let value { current = (value, now) }
        defer { waiting = [] }
        return waiting
    }

    /// Drops the kept snapshot once its window is over, so its tables are freed when the
    /// scrapes still reading it finish, not when the next scrape comes. True when dropped.
    public mutating func expire(now: UInt64) -> Bool {
        guard let c = current, now &- c.takenAt >= windowNanoseconds else { return false }
        current = nil
        return true
    }

    /// The kept snapshot's age at `now`, nil when none is kept.
    public func age(now: UInt64) -> UInt64? { current.map { now &- $0.takenAt } }
}
