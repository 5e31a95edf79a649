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

/// `GET /v1/queue-stats`: the way from a result to the store.
public struct QueueStatsReply: Codable, Sendable {
    /// false when no remote_write is configured (everything below is then zero).
    public var remoteWriteConfigured: Bool
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

    public init(remoteWriteConfigured: Bool, url: String?, delivery: DeliverySummary?, memory: Memory, spill: Spill,
                backfill: Backfill, remoteWrite: RemoteWrite, resultsReceived: UInt64, resultsShipped: UInt64,
                resultsLost: UInt64) {
        (self.remoteWriteConfigured, self.url, self.delivery) = (remoteWriteConfigured, url, delivery)
        (self.memory, self.spill, self.backfill, self.remoteWrite) = (memory, spill, backfill, remoteWrite)
        (self.resultsReceived, self.resultsShipped, self.resultsLost) = (resultsReceived, resultsShipped, resultsLost)
    }
}
