import Foundation

/// `GET /v1/status`: what the agent is, how it runs, and whether it is healthy.
public struct StatusReply: Codable, Sendable {
    public var version: String
    public var pid: Int32
    public var startedAt: Date
    public var uptimeSeconds: Double
    public var configPath: String
    /// The TCP listener actually bound (a configured port 0 shows the port chosen).
    public var httpListen: String?
    public var adminSocket: String
    /// Probing has started (the first batch went to the engine).
    public var ready: Bool
    public var monitors: Int
    public var targets: Int
    public var monitorsDown: [String]
    public var monitorsSuppressed: [String]
    public var engine: Engine
    public var scheduler: Scheduler
    public var reloads: Reloads
    /// nil when no remote_write is configured.
    public var delivery: DeliverySummary?
    public var cpuSeconds: Double
    public var residentBytes: Int

    public struct Engine: Codable, Sendable {
        public var icmp4: String, icmp6: String, tcpSyn: Bool, capabilitiesDropped: Bool
        public var inFlight: Int, submitted: UInt64, completed: UInt64, sendErrors: UInt64
        public var unmatchedReplies: UInt64
        public init(icmp4: String, icmp6: String, tcpSyn: Bool, capabilitiesDropped: Bool, inFlight: Int,
                    submitted: UInt64, completed: UInt64, sendErrors: UInt64, unmatchedReplies: UInt64) {
            (self.icmp4, self.icmp6, self.tcpSyn, self.capabilitiesDropped) = (icmp4, icmp6, tcpSyn, capabilitiesDropped)
            (self.inFlight, self.submitted, self.completed, self.sendErrors) = (inFlight, submitted, completed, sendErrors)
            self.unmatchedReplies = unmatchedReplies
        }
    }

    public struct Scheduler: Codable, Sendable {
        public var entries: Int, fired: UInt64, pendingSends: Int
        /// Scheduler lateness: when the loop handed each probe to the engine, minus when it was due.
        public var lateness: LatenessReport
        /// Send lateness: when each probe left (the kernel's TX stamp), minus when it was due.
        public var sendLateness: LatenessReport
        /// What the probing loop's thread runs at: `normal`, `realtime (SCHED_RR 1)`, or
        /// `normal (realtime refused: …)` (`scheduler.loop_priority`).
        public var loopPriority: String
        public init(entries: Int, fired: UInt64, pendingSends: Int, lateness: LatenessReport, sendLateness: LatenessReport,
                    loopPriority: String) {
            (self.entries, self.fired, self.pendingSends) = (entries, fired, pendingSends)
            (self.lateness, self.sendLateness, self.loopPriority) = (lateness, sendLateness, loopPriority)
        }
    }

    public struct Reloads: Codable, Sendable {
        public var succeeded: Int, failed: Int
        public var lastAt: Date?
        public var lastError: String?
        public init(succeeded: Int, failed: Int, lastAt: Date?, lastError: String?) {
            (self.succeeded, self.failed, self.lastAt, self.lastError) = (succeeded, failed, lastAt, lastError)
        }
    }

    public init(version: String, pid: Int32, startedAt: Date, uptimeSeconds: Double, configPath: String,
                httpListen: String?, adminSocket: String, ready: Bool, monitors: Int, targets: Int,
                monitorsDown: [String], monitorsSuppressed: [String], engine: Engine, scheduler: Scheduler,
                reloads: Reloads, delivery: DeliverySummary?, cpuSeconds: Double, residentBytes: Int) {
        (self.version, self.pid, self.startedAt, self.uptimeSeconds) = (version, pid, startedAt, uptimeSeconds)
        (self.configPath, self.httpListen, self.adminSocket, self.ready) = (configPath, httpListen, adminSocket, ready)
        (self.monitors, self.targets, self.monitorsDown, self.monitorsSuppressed) = (monitors, targets, monitorsDown, monitorsSuppressed)
        (self.engine, self.scheduler, self.reloads, self.delivery) = (engine, scheduler, reloads, delivery)
        (self.cpuSeconds, self.residentBytes) = (cpuSeconds, residentBytes)
    }
}

/// A lateness histogram since start (in the status reply and the status file): its count,
/// quantiles (bucket upper bounds), and per-bucket (not cumulative) counts, the last one above
/// every bound — so a client can take the difference of two readings for a window.
public struct LatenessReport: Codable, Sendable {
    public var count: UInt64
    public var p50Seconds: Double, p99Seconds: Double, maxSeconds: Double
    public var bucketUpperBoundsSeconds: [Double], bucketCounts: [UInt64]
    public init(count: UInt64, p50Seconds: Double, p99Seconds: Double, maxSeconds: Double,
                bucketUpperBoundsSeconds: [Double], bucketCounts: [UInt64]) {
        (self.count, self.p50Seconds, self.p99Seconds, self.maxSeconds) = (count, p50Seconds, p99Seconds, maxSeconds)
        (self.bucketUpperBoundsSeconds, self.bucketCounts) = (bucketUpperBoundsSeconds, bucketCounts)
    }
}

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
