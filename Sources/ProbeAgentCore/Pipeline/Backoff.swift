/// Exponential backoff with full jitter (delay drawn from [0, min(cap, base·2^attempt)]),
/// honouring a store's Retry-After when it asks for longer. The caller supplies the random
/// draw, so tests are deterministic.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration
    /// A Retry-After longer than this is clamped (a misconfigured store must not park us for hours).
    public var retryAfterCap: Duration
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30), retryAfterCap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
        self.retryAfterCap = retryAfterCap
    }

    /// The delay before the next try, and one more attempt counted.
    ///
    /// - Parameters:
    ///   - random: a draw in [0, 1).
    ///   - retryAfter: what the store asked for, if anything.
    public mutating func next(random: Double, retryAfter: Duration? = nil) -> Duration {
        let ceiling = min(cap, base * Double(1 << min(attempt, 30)))
        attempt += 1
        let jittered = ceiling * max(0, min(1, random))
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, retryAfterCap))
    }

    public mutating func reset() { attempt = 0 }
}
