import Foundation
import ProbeAgentCore

/// The agent's state, defined once: the status file (`--status-file`) writes it whole,
/// `GET /v1/status` answers it without the per-target list, `/health` answers its ``health``
/// part, and `agentctl` and the tests decode it. A field added here reaches every view.
public struct AgentStatus: Codable, Sendable {
    public var version: String
    public var pid: Int32
    public var startedAt: Date
    /// When this state was read from the probing loop.
    public var takenAt: Date
    public var uptimeSeconds: Double
    public var configPath: String
    /// The TCP listener actually bound (a configured port 0 shows the port chosen); nil in the
    /// status file, which the loop writes without asking the listeners.
    public var httpListen: String?
    public var adminSocket: String?
    /// Probing has started (the first batch went to the engine).
    public var ready: Bool
    public var cpuSeconds: Double
    public var residentBytes: Int
    public var health: HealthReply
    public var monitorCount: Int
    public var targetCount: Int
    public var monitorsDown: [String]
    public var monitorsSuppressed: [String]
    public var engine: Engine
    public var scheduler: Scheduler
    public var reloads: Reloads
    /// Hostnames whose latest lookup failed, with why.
    public var resolverFailures: [String: String]
    /// Remote-write delivery to the first store; nil when no remote_write is configured.
    public var delivery: ShipperStats?
    /// Every store's, in `remote_write` order (the first is `delivery`); empty without
    /// remote_write, nil from an agent of a one-store release.
    public var stores: [ShipperStats]?
    /// Every target's counters: in the status file; nil in the admin reply (see
    /// `GET /v1/monitors` for a listing).
    public var monitors: [Monitor]?

    public struct Engine: Codable, Sendable {
        public var icmp4: String, icmp6: String, tcpSyn: Bool, capabilitiesDropped: Bool
        public var submitted: UInt64, completed: UInt64, inFlight: Int, sendErrors: UInt64
        public var repliesMatched: UInt64, unmatchedForeign: UInt64, unmatchedStale: UInt64, unmatchedMalformed: UInt64
        public var backpressure: UInt64, txTimestamps: UInt64, userClockResults: UInt64

        /// Replies that matched no probe, for whatever reason.
        public var unmatchedReplies: UInt64 { unmatchedForeign + unmatchedStale + unmatchedMalformed }

        public init(icmp4: String, icmp6: String, tcpSyn: Bool, capabilitiesDropped: Bool, submitted: UInt64,
                    completed: UInt64, inFlight: Int, sendErrors: UInt64, repliesMatched: UInt64, unmatchedForeign: UInt64,
                    unmatchedStale: UInt64, unmatchedMalformed: UInt64, backpressure: UInt64, txTimestamps: UInt64,
                    userClockResults: UInt64) {
            (self.icmp4, self.icmp6, self.tcpSyn, self.capabilitiesDropped) = (icmp4, icmp6, tcpSyn, capabilitiesDropped)
            (self.submitted, self.completed, self.inFlight, self.sendErrors) = (submitted, completed, inFlight, sendErrors)
            (self.repliesMatched, self.unmatchedForeign, self.unmatchedStale) = (repliesMatched, unmatchedForeign, unmatchedStale)
            (self.unmatchedMalformed, self.backpressure, self.txTimestamps) = (unmatchedMalformed, backpressure, txTimestamps)
            self.userClockResults = userClockResults
        }
    }

    public struct Scheduler: Codable, Sendable {
        public var entries: Int, fired: UInt64, skippedInFlight: UInt64, deferredByRateCap: UInt64
        public var missedPeriods: UInt64, staleResults: UInt64, pendingSends: Int
        /// Scheduler lateness: when the loop handed each probe to the engine, minus when it was due.
        public var lateness: LatenessReport
        /// Send lateness: when each probe left (the kernel's TX stamp), minus when it was due.
        public var sendLateness: LatenessReport
        /// What the probing loop's thread runs at: `normal`, `realtime (SCHED_RR 1)`, or
        /// `normal (realtime refused: …)` (`scheduler.loop_priority`).
        public var loopPriority: String

        public init(entries: Int, fired: UInt64, skippedInFlight: UInt64, deferredByRateCap: UInt64, missedPeriods: UInt64,
                    staleResults: UInt64, pendingSends: Int, lateness: LatenessReport, sendLateness: LatenessReport,
                    loopPriority: String) {
            (self.entries, self.fired, self.skippedInFlight, self.deferredByRateCap) = (entries, fired, skippedInFlight, deferredByRateCap)
            (self.missedPeriods, self.staleResults, self.pendingSends) = (missedPeriods, staleResults, pendingSends)
            (self.lateness, self.sendLateness, self.loopPriority) = (lateness, sendLateness, loopPriority)
        }
    }

    /// Reloads since start, and what the last one changed (monitor ids).
    public struct Reloads: Codable, Sendable {
        public var succeeded: Int, failed: Int
        public var lastAt: Date?
        public var lastError: String?
        public var unchanged: [String]?, changed: [String]?, added: [String]?, removed: [String]?
        /// Monitors whose target list changed (a reload or a discovery refresh); the targets
        /// they kept kept their phase and counters.
        public var retargeted: [String]?

        public init(succeeded: Int, failed: Int, lastAt: Date?, lastError: String?, unchanged: [String]?,
                    changed: [String]?, added: [String]?, removed: [String]?, retargeted: [String]? = nil) {
            (self.succeeded, self.failed, self.lastAt, self.lastError) = (succeeded, failed, lastAt, lastError)
            (self.unchanged, self.changed, self.added, self.removed) = (unchanged, changed, added, removed)
            self.retargeted = retargeted
        }
    }

    public struct Monitor: Codable, Sendable {
        public var id: String
        public var `protocol`: String
        public var configHash: String
        public var down: Bool
        public var suppressed: Bool
        public var targets: [Target]
        /// With a `shard`: the targets of the whole list (`targets` are this agent's share).
        public var listedTargets: Int?
        public init(id: String, protocol: String, configHash: String, down: Bool, suppressed: Bool, targets: [Target],
                    listedTargets: Int? = nil) {
            (self.id, self.protocol, self.configHash, self.down, self.suppressed, self.targets) =
                (id, `protocol`, configHash, down, suppressed, targets)
            self.listedTargets = listedTargets
        }
    }

    public struct Target: Codable, Sendable {
        public var target: String
        /// The address probed (nil while a hostname is unresolved).
        public var address: String?
        /// Counters since start; nil before the first result.
        public var record: TargetRecord?
        /// The target's path, when its monitor has `path:`.
        public var path: PathDetail?
        public init(target: String, address: String?, record: TargetRecord?, path: PathDetail? = nil) {
            (self.target, self.address, self.record, self.path) = (target, address, record, path)
        }
    }

    public init(version: String, pid: Int32, startedAt: Date, takenAt: Date, configPath: String, httpListen: String?,
                adminSocket: String?, ready: Bool, cpuSeconds: Double, residentBytes: Int, health: HealthReply,
                monitorCount: Int, targetCount: Int, monitorsDown: [String], monitorsSuppressed: [String], engine: Engine,
                scheduler: Scheduler, reloads: Reloads, resolverFailures: [String: String], stores: [ShipperStats],
                monitors: [Monitor]?) {
        (self.version, self.pid, self.startedAt, self.takenAt) = (version, pid, startedAt, takenAt)
        uptimeSeconds = takenAt.timeIntervalSince(startedAt)
        (self.configPath, self.httpListen, self.adminSocket, self.ready) = (configPath, httpListen, adminSocket, ready)
        (self.cpuSeconds, self.residentBytes, self.health) = (cpuSeconds, residentBytes, health)
        (self.monitorCount, self.targetCount, self.monitorsDown, self.monitorsSuppressed) =
            (monitorCount, targetCount, monitorsDown, monitorsSuppressed)
        (self.engine, self.scheduler, self.reloads) = (engine, scheduler, reloads)
        (self.resolverFailures, self.delivery, self.stores, self.monitors) = (resolverFailures, stores.first, stores, monitors)
    }

    public func monitor(_ id: String) -> Monitor? { monitors?.first { $0.id == id } }
}

/// A lateness histogram since start (in the status reply and the status file): its count,
/// quantiles (bucket upper bounds), and per-bucket (not cumulative) counts, the last one above
/// every bound — so a client can take the difference of two readings for a window.
public struct LatenessReport: Codable, Sendable {
    public var count: UInt64
    public var p50Seconds: Double, p99Seconds: Double, maxSeconds: Double
    public var bucketUpperBoundsSeconds: [Double], bucketCounts: [UInt64]

    public init(_ h: DurationHistogram) {
        count = h.count
        (p50Seconds, p99Seconds) = (Double(h.quantile(0.5)) / 1e9, Double(h.quantile(0.99)) / 1e9)
        maxSeconds = Double(h.max) / 1e9
        (bucketUpperBoundsSeconds, bucketCounts) = (DurationHistogram.boundsSeconds, h.counts)
    }
}

/// `GET /health` on the TCP listener, and ``AgentStatus/health``: `stalled` (HTTP 503) when
/// the probing loop has not turned for 5 s or delivery as a whole is stalled (``DeliveryStall``:
/// the shipper, the log, or every store; one store of several stalled is named but `ok`), else `ok`, with the
/// delivery mode, why, and the backlog.
public struct HealthReply: Codable, Sendable {
    /// `ok` or `stalled`.
    public var status: String
    public var mode: String
    public var reason: String
    public var modeChangedAt: Date
    public var backlog: Backlog

    public struct Backlog: Codable, Sendable {
        public var memoryResults: Int
        public var spilledResults: Int
        public var spilledBytes: Int
        public var oldestAgeSeconds: Double?
    }

    /// - Parameters:
    ///   - loopAlive: the probing loop turned within the last 5 s.
    ///   - deliveryStalled: why delivery is stalled (the shipper's stall reason), nil if it is not.
    ///   - stores: each store's stats; empty without remote_write. The mode, reason and backlog
    ///     are the store's worst off (``ShipperStats/worst(of:)``), named in the reason when
    ///     there are several.
    public init(loopAlive: Bool, deliveryStalled: String?, stores: [ShipperStats]) {
        let d = ShipperStats.worst(of: stores) ?? ShipperStats()
        status = loopAlive && deliveryStalled == nil ? "ok" : "stalled"
        // A store stalled on its own is named here while /health stays 200: the others deliver.
        let own = d.stalled ?? d.modeReason
        let why = stores.count > 1 ? "remote_write '\(d.endpoint)': \(own)" : own
        reason = !loopAlive ? "the probing loop has not turned for more than 5 s"
            : deliveryStalled ?? (stores.isEmpty ? "no remote_write configured: results are not shipped" : why)
        (mode, modeChangedAt) = (d.mode.rawValue, d.modeChangedAt)
        backlog = Backlog(memoryResults: d.memQueueDepth, spilledResults: d.spillPendingRecords,
                          spilledBytes: d.spillBytes, oldestAgeSeconds: d.spillOldestPendingAgeSeconds)
    }
}
