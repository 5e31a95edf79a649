import Foundation

/// Delivery counters and state, as the status file, /metrics and the admin API report them:
/// the state machine's ``DeliveryCounters`` and the shipper's own ``ShipperState``, read as one
/// (`stats.resultsShipped`, `stats.spillBytes`) and encoded as one flat JSON object.
@dynamicMemberLookup
public struct ShipperStats: Sendable, Codable {
    public var counters = DeliveryCounters()
    public var state = ShipperState()

    /// All zero, mode normal.
    public init() {}

    public subscript<T>(dynamicMember path: WritableKeyPath<DeliveryCounters, T>) -> T {
        get { counters[keyPath: path] }
        set { counters[keyPath: path] = newValue }
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<ShipperState, T>) -> T {
        get { state[keyPath: path] }
        set { state[keyPath: path] = newValue }
    }

    /// One object: the counters' keys and the state's (no name is in both).
    public func encode(to encoder: Encoder) throws {
        try counters.encode(to: encoder)
        try state.encode(to: encoder)
    }

    public init(from decoder: Decoder) throws {
        counters = try DeliveryCounters(from: decoder)
        state = try ShipperState(from: decoder)
    }

    /// The newest sample timestamp the store accepted; nil before the first.
    public var highestSentTimestamp: Date? {
        counters.highestSentTimestampMs > 0 ? Date(timeIntervalSince1970: Double(counters.highestSentTimestampMs) / 1000) : nil
    }

    /// The store worst off: stalled before degraded before recovery before normal, the first
    /// on a tie; nil for none.
    public static func worst(of stores: [ShipperStats]) -> ShipperStats? {
        func rank(_ s: ShipperStats) -> Int { s.stalled != nil ? 3 : s.mode == .degraded ? 2 : s.mode == .recovery ? 1 : 0 }
        return stores.enumerated().max { a, b in
            (rank(a.element), b.offset) < (rank(b.element), a.offset)
        }?.element
    }

    /// Whether delivery as a whole is stalled, read from the stores' published figures: every
    /// store is, which is ``DeliveryStall``'s rule (a shared stall marks every store).
    public static func deliveryStalled(_ stores: [ShipperStats]) -> Bool {
        !stores.isEmpty && stores.allSatisfy { $0.stalled != nil }
    }

    /// How far the store is behind `now`: now minus ``highestSentTimestamp`` (never negative).
    public func lagSeconds(now: Date = Date()) -> Double? {
        highestSentTimestamp.map { max(0, now.timeIntervalSince($0)) }
    }
}

/// The shipper's own part of ``ShipperStats``: the mode, its I/O counters, the queue and the
/// spill log as they are now.
public struct ShipperState: Sendable, Codable {
    /// The store (`remote_write` endpoint) these figures are about: its name and URL. The
    /// spill log's size, segments, written bytes, write errors and corrupt records, and the
    /// dead-letter directory, are shared by every store (the same figures in each).
    public var endpoint = ""
    public var url = ""
    public var mode: DeliveryMode = .normal
    public var modeReason = "starting"
    public var modeChangedAt = Date()
    public var modeHistory: [DeliveryMode] = [.normal]
    public var undecodableSpillRecords: UInt64 = 0
    public var spillWriteErrors: UInt64 = 0
    /// Bytes of result blocks appended to the spill log (compressed), since start.
    public var spillBytesWritten: UInt64 = 0
    /// Results per request now (smaller after 413 answers).
    public var resultsPerRequest = 0
    /// Why this store's delivery is stalled (``DeliveryStall``: its own requests unanswered,
    /// or a stall every store shares), nil when it is not.
    public var stalled: String?
    /// Remote-write requests sent and not answered yet.
    public var requestsInFlight = 0
    /// Send-to-answer time of every remote-write request.
    public var requestDurations = DurationHistogram()
    /// Bytes of request bodies sent to the store (compressed), retries included.
    public var bodyBytesSent: UInt64 = 0
    public var memQueueDepth = 0
    public var memQueueCap = 0
    public var spillBytes = 0
    public var spillSegments = 0
    /// Results in the spill log not yet delivered to this store. (Its read position moves over whole
    /// appended chunks, so a restart also sends again the delivered results of a partly
    /// acknowledged chunk: at most one chunk per lane, see DeliveryStateMachine.)
    public var spillPendingRecords = 0
    public var spillOldestPendingAgeSeconds: Double?
    /// Results this store had not received that the spill log's caps dropped.
    public var spillDroppedRecords = 0
    public var spillCorruptRecords = 0
    public var spillTornTailBytes = 0
    public var backfillRatePerSecond = 0
    /// The dead-letter directory (spill.dead_letter_max_bytes): bytes kept, and the requests
    /// and results the cap dropped since start.
    public var deadLetterBytes: Int64 = 0
    public var deadLetterDroppedRequests: UInt64 = 0
    public var deadLetterDroppedResults: UInt64 = 0

    /// All zero, mode normal.
    public init() {}
}
