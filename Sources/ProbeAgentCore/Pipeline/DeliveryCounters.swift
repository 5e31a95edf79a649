/// What delivery has done since start, counted by the ``DeliveryStateMachine`` (the one place
/// these facts are counted); the shipper reports them inside its `ShipperStats`.
public struct DeliveryCounters: Sendable, Equatable, Codable {
    public var resultsReceived: UInt64 = 0
    public var resultsShipped: UInt64 = 0
    public var samplesSent: UInt64 = 0
    public var requestsSent: UInt64 = 0
    public var requestsFailed: UInt64 = 0
    public var retries: UInt64 = 0
    public var deadLetterRequests: UInt64 = 0
    public var deadLetterResults: UInt64 = 0
    public var tooOldResultsDropped: UInt64 = 0
    /// Results the spill log refused (disk full, EIO, read-only), shipped from memory only.
    public var notDurableResults: UInt64 = 0
    /// Results that fit neither in the log nor in memory, or were refused by a full hand-off
    /// from the probing loop (the shipper stalled).
    public var resultsLost: UInt64 = 0
    /// Newest sample timestamp the store accepted.
    public var highestSentTimestampMs: Int64 = 0
    /// Results that waited on disk only because memory was full (not lost).
    public var memQueueOverflows: UInt64 = 0
    /// Times a 413 answer made the requests smaller.
    public var requestSizeHalvings: UInt64 = 0
    public var lastError: String?

    public init() {}
}
