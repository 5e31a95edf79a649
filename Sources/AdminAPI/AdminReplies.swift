import Foundation

/// Delivery mode in one line: `normal`, `degraded` or `recovery`, why, and since when.
public struct DeliverySummary: Codable, Sendable {
    public var mode: String
    public var reason: String
    public var modeChangedAt: Date
    public init(mode: String, reason: String, modeChangedAt: Date) {
        (self.mode, self.reason, self.modeChangedAt) = (mode, reason, modeChangedAt)
    }
}

/// `GET /v1/queue-stats`: the way from a result to the store(s). The top-level figures are
/// the first `remote_write` endpoint's (as with one store); `stores` has every endpoint's, in
/// config order. The spill log's bytes, segments and corrupt records are shared by all.
public struct QueueStatsReply: Codable, Sendable {
    /// false when no remote_write is configured (everything below is then zero).
    public var remoteWriteConfigured: Bool
    /// Every store, in `remote_write` order (empty without remote_write); nil from an agent of
    /// a one-store release (still running after an upgrade): then ``everyStore`` makes it
    /// from the top-level figures.
    public var stores: [Store]?

    /// Every store: `stores`, or the one store the top-level figures describe.
    public var everyStore: [Store] {
        if let stores { return stores }
        guard remoteWriteConfigured, let delivery else { return [] }
        return [Store(name: "", url: url ?? "", delivery: delivery, memory: memory, pendingResults: spill.pendingResults,
                      oldestAgeSeconds: spill.oldestAgeSeconds, droppedResults: spill.droppedResults, backfill: backfill,
                      remoteWrite: remoteWrite, resultsShipped: resultsShipped, resultsLost: resultsLost)]
    }
    public var url: String?
    public var delivery: DeliverySummary?
    public var memory: Memory
    public var spill: Spill
    public var backfill: Backfill
    public var remoteWrite: RemoteWrite
    /// Results made by the probing loop and handed to delivery / delivered to the store.
    public var resultsReceived: UInt64
    public var resultsShipped: UInt64
    /// Results that could be neither queued nor written to disk (should stay 0).
    public var resultsLost: UInt64

    /// One store's part: the endpoint, its mode, memory, backlog in the spill log (at its own
    /// read position), drain rate and remote-write counters.
    public struct Store: Codable, Sendable {
        public var name: String
        public var url: String
        public var delivery: DeliverySummary
        public var memory: Memory
        /// Results in the spill log this store has not received, the age of the oldest, and
        /// those the caps dropped before it got them.
        public var pendingResults: Int
        public var oldestAgeSeconds: Double?
        public var droppedResults: Int
        public var backfill: Backfill
        public var remoteWrite: RemoteWrite
        public var resultsShipped: UInt64
        public var resultsLost: UInt64
        public init(name: String, url: String, delivery: DeliverySummary, memory: Memory, pendingResults: Int,
                    oldestAgeSeconds: Double?, droppedResults: Int, backfill: Backfill, remoteWrite: RemoteWrite,
                    resultsShipped: UInt64, resultsLost: UInt64) {
            (self.name, self.url, self.delivery, self.memory) = (name, url, delivery, memory)
            (self.pendingResults, self.oldestAgeSeconds, self.droppedResults) = (pendingResults, oldestAgeSeconds, droppedResults)
            (self.backfill, self.remoteWrite, self.resultsShipped, self.resultsLost) = (backfill, remoteWrite, resultsShipped, resultsLost)
        }
    }

    public struct Memory: Codable, Sendable {
        public var depth: Int, capacity: Int
        /// Times the memory queue was full and results went to disk instead (not lost).
        public var overflows: UInt64
        public init(depth: Int, capacity: Int, overflows: UInt64) { (self.depth, self.capacity, self.overflows) = (depth, capacity, overflows) }
    }

    public struct Spill: Codable, Sendable {
        public var directory: String?
        public var bytes: Int, segments: Int, pendingResults: Int
        public var oldestAgeSeconds: Double?
        /// Dropped by the byte or age cap (counted, never silent).
        public var droppedResults: Int
        public var corruptRecords: Int
        public init(directory: String?, bytes: Int, segments: Int, pendingResults: Int, oldestAgeSeconds: Double?,
                    droppedResults: Int, corruptRecords: Int) {
            (self.directory, self.bytes, self.segments, self.pendingResults) = (directory, bytes, segments, pendingResults)
            (self.oldestAgeSeconds, self.droppedResults, self.corruptRecords) = (oldestAgeSeconds, droppedResults, corruptRecords)
        }
    }

    public struct Backfill: Codable, Sendable {
        /// The configured drain rate (results per second).
        public var ratePerSecond: Int
        /// Time to drain the spill log at that rate; nil when nothing is pending.
        public var etaSeconds: Double?
        public init(ratePerSecond: Int, etaSeconds: Double?) { (self.ratePerSecond, self.etaSeconds) = (ratePerSecond, etaSeconds) }
    }

    public struct RemoteWrite: Codable, Sendable {
        public var samplesSent: UInt64, requestsSent: UInt64, requestsFailed: UInt64, retries: UInt64
        /// Requests sent and not answered yet.
        public var requestsInFlight: Int
        public var deadLetterRequests: UInt64, deadLetterResults: UInt64, tooOldDropped: UInt64
        /// Newest sample timestamp the store accepted, and how far behind now it is.
        public var highestSentTimestamp: Date?
        public var lagSeconds: Double?
        public var lastError: String?
        public init(samplesSent: UInt64, requestsSent: UInt64, requestsFailed: UInt64, retries: UInt64,
                    requestsInFlight: Int, deadLetterRequests: UInt64, deadLetterResults: UInt64, tooOldDropped: UInt64,
                    highestSentTimestamp: Date?, lagSeconds: Double?, lastError: String?) {
            (self.samplesSent, self.requestsSent, self.requestsFailed, self.retries) = (samplesSent, requestsSent, requestsFailed, retries)
            self.requestsInFlight = requestsInFlight
            (self.deadLetterRequests, self.deadLetterResults, self.tooOldDropped) = (deadLetterRequests, deadLetterResults, tooOldDropped)
            (self.highestSentTimestamp, self.lagSeconds, self.lastError) = (highestSentTimestamp, lagSeconds, lastError)
        }
    }

    public init(remoteWriteConfigured: Bool, stores: [Store]? = nil, url: String?, delivery: DeliverySummary?, memory: Memory,
                spill: Spill, backfill: Backfill, remoteWrite: RemoteWrite, resultsReceived: UInt64, resultsShipped: UInt64,
                resultsLost: UInt64) {
        (self.remoteWriteConfigured, self.stores, self.url, self.delivery) = (remoteWriteConfigured, stores, url, delivery)
        (self.memory, self.spill, self.backfill, self.remoteWrite) = (memory, spill, backfill, remoteWrite)
        (self.resultsReceived, self.resultsShipped, self.resultsLost) = (resultsReceived, resultsShipped, resultsLost)
    }
}
