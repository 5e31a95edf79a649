/// Which hostnames to look up, when, and what is known of each: the resolver's decisions,
/// pure (the caller passes CLOCK_MONOTONIC nanoseconds and performs the lookups).
///
/// - A new name is looked up at once; a good answer is refreshed every `interval`; a failed
///   one is retried sooner (1 s, doubling, up to `interval`) so a name that was not yet in DNS
///   at boot is probed soon after it appears.
/// - At most `maxConcurrent` lookups run at once. A lookup still unanswered after `timeout`
///   counts as a failure ("no answer within …") while it goes on: the last good addresses
///   stay, no second lookup of that name starts until the first returns (its late answer is
///   still taken), and its slot goes to the next name, so hung names do not hold up good ones.
///   Hung lookups hold a thread each (getaddrinfo cannot be cancelled): at most `maxHeld`.
public struct NameResolutionTable<Address: Hashable & Sendable>: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The latest good answer, kept through later failures.
        public var addresses: [Address]?
        /// Why the latest lookup failed (nil once one succeeds).
        public var failure: String?
        fileprivate var inFlightSince: UInt64?
        fileprivate var nextLookupAt: UInt64 = 0
        fileprivate var failuresInARow = 0
        fileprivate var timedOut = false
    }

    public private(set) var entries: [String: Entry] = [:]
    private let interval: UInt64
    private let timeout: UInt64
    private let maxConcurrent: Int
    private let maxHeld: Int
    private var inFlight = 0
    private var hung = 0

    /// - Parameters: nanoseconds, except `maxConcurrent`.
    public init(interval: UInt64, timeout: UInt64, maxConcurrent: Int = 8, maxHeld: Int = 64) {
        self.interval = max(interval, 1_000_000_000)
        self.timeout = timeout
        self.maxConcurrent = max(1, maxConcurrent)
        self.maxHeld = max(self.maxConcurrent, maxHeld)
    }

    /// The names to know of now: new ones are due at once, dropped ones forgotten (an answer
    /// for a dropped name that is still in flight is ignored when it comes).
    public mutating func setNames(_ names: some Sequence<String>, now: UInt64) {
        var next: [String: Entry] = [:]
        for name in names { next[name] = entries[name] ?? Entry(nextLookupAt: now) }
        entries = next
        inFlight = entries.values.filter { $0.inFlightSince != nil }.count
        hung = entries.values.filter(\.timedOut).count
    }

    /// The names to look up now, marked in flight.
    public mutating func startDue(now: UInt64) -> [String] {
        let room = min(maxConcurrent - (inFlight - hung), maxHeld - inFlight)
        guard room > 0 else { return [] }
        var due = entries.filter { $0.value.inFlightSince == nil && $0.value.nextLookupAt <= now }
            .sorted { ($0.value.nextLookupAt, $0.key) < ($1.value.nextLookupAt, $1.key) }
            .map(\.key)
        due = Array(due.prefix(room))
        for name in due { entries[name]?.inFlightSince = now }
        inFlight += due.count
        return due
    }

    /// A lookup returned. Returns whether what is known of the name changed.
    @discardableResult
    public mutating func finished(_ name: String, _ answer: Result<[Address], LookupFailure>, now: UInt64) -> Bool {
        guard var e = entries[name], e.inFlightSince != nil else { return false }
        let before = e
        if e.timedOut { hung -= 1 }
        e.inFlightSince = nil
        e.timedOut = false
        inFlight -= 1
        switch answer {
        case .success(let addresses) where !addresses.isEmpty:
            e.addresses = addresses
            e.failure = nil
            e.failuresInARow = 0
            e.nextLookupAt = now + interval
        case .success:
            fail(&e, "no addresses", now: now)
        case .failure(let why):
            fail(&e, why.reason, now: now)
        }
        entries[name] = e
        return e.addresses != before.addresses || e.failure != before.failure
    }

    /// Lookups unanswered for `timeout` become failures (once each). Returns whether any did.
    @discardableResult
    public mutating func expire(now: UInt64) -> Bool {
        var changed = false
        for (name, e) in entries {
            guard let since = e.inFlightSince, !e.timedOut, now >= since + timeout else { continue }
            entries[name]?.failure = "no answer within \(timeout / 1_000_000) ms (resolver unreachable or hung)"
            entries[name]?.timedOut = true
            hung += 1
            changed = true
        }
        return changed
    }

    /// When the driver should next call ``startDue(now:)`` / ``expire(now:)``.
    public var nextWakeAt: UInt64? {
        entries.values.map { e in e.inFlightSince.map { $0 + timeout } ?? e.nextLookupAt }.min()
    }

    public var addresses: [String: [Address]] { entries.compactMapValues(\.addresses) }
    public var failures: [String: String] { entries.compactMapValues(\.failure) }

    private mutating func fail(_ e: inout Entry, _ why: String, now: UInt64) {
        e.failure = why
        e.failuresInARow += 1
        let retry = UInt64(1_000_000_000) << UInt64(min(e.failuresInARow - 1, 10))
        e.nextLookupAt = now + min(interval, retry)
    }
}

/// Why a lookup failed, as the resolver said it.
public struct LookupFailure: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
