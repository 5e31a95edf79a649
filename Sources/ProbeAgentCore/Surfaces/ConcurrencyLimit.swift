/// A cap on how many of one kind of work run at once (scrapes being rendered, event streams
/// followed), counting what it turned away.
///
/// Past the cap the caller refuses at once (HTTP 503 with a Retry-After) rather than queue:
/// a queue of scrapes or followers is memory held for clients that are not being served.
public struct ConcurrencyLimit: Sendable, Equatable {
    public let limit: Int
    public private(set) var inUse = 0
    /// Everything turned away since start.
    public private(set) var refused: UInt64 = 0
    /// Everything let in since start.
    public private(set) var admitted: UInt64 = 0

    public init(limit: Int) {
        precondition(limit > 0, "a concurrency limit of \(limit) admits nothing")
        self.limit = limit
    }

    /// Takes a place if one is free; false (and counted) when `limit` are in use.
    public mutating func enter() -> Bool {
        guard inUse < limit else {
            refused += 1
            return false
        }
        inUse += 1
        admitted += 1
        return true
    }

    /// Gives back a place ``enter()`` took.
    public mutating func leave() {
        assert(inUse > 0, "leave() without a matching enter()")
        inUse = max(0, inUse - 1)
    }
}
