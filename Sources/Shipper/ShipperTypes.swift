import Foundation
import ProbeAgentCore
import SpillLog

/// Everything the shipper needs to know, taken from the config at start.
public struct ShipperOptions: Sendable {
    public var url: String
    /// Extra headers, plus Authorization when basic auth or a bearer token is configured.
    public var headers: [(String, String)] = []
    public var externalLabels: [(String, String)] = []
    public var samplesPerRequest = 2_000
    public var requestsInFlight = 4
    public var flushInterval: Duration = .seconds(1)
    public var timeout: Duration = .seconds(10)
    public var backfillRate = 20_000
    public var freshFirst = false
    public var memItemsCap = 100_000
    public var spillDirectory: String
    public var spill = SpillOptions()
    /// The spill directory's lock, taken early by the agent so that a second one exits before
    /// it starts anything; nil: the spill log takes it itself when the shipper opens it.
    public var spillLock: SpillDirectoryLock?
    public var tls = RemoteWriteConfig.TLSFiles()
    public var agentVersion = "dev"

    public init(url: String, spillDirectory: String) {
        self.url = url
        self.spillDirectory = spillDirectory
    }

    /// Options from a validated config's `remote_write`, `queue` and `spill` sections.
    public init(config: AgentConfig, remoteWrite rw: RemoteWriteConfig) {
        url = rw.url
        headers = rw.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let auth = rw.basicAuth {
            headers.append(("Authorization", "Basic " + Data("\(auth.username):\(auth.password)".utf8).base64EncodedString()))
        } else if let token = rw.bearerToken {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        externalLabels = rw.externalLabels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        samplesPerRequest = rw.samplesPerRequest
        requestsInFlight = rw.requestsInFlight
        flushInterval = rw.flushInterval
        timeout = rw.timeout
        backfillRate = rw.backfillRate
        freshFirst = rw.freshFirst
        memItemsCap = config.memoryQueueCapacity
        spillDirectory = config.spill.directory
        spill = SpillOptions(maxBytes: Int(clamping: config.spill.maxBytes), maxAge: config.spill.maxAge,
                             fsync: .interval(config.spill.fsyncInterval))
        tls = rw.tls
    }

    /// Results per request: each result becomes up to three samples.
    var resultsPerRequest: Int { max(1, samplesPerRequest / 3) }
}

/// Delivery counters and state, as the status file and (later) /metrics report them.
public struct ShipperStats: Sendable, Codable {
    public var mode: DeliveryMode = .normal
    public var modeReason = "starting"
    public var modeChangedAt = Date()
    public var modeHistory: [DeliveryMode] = [.normal]
    public var resultsReceived: UInt64 = 0
    public var resultsShipped: UInt64 = 0
    public var samplesSent: UInt64 = 0
    public var requestsSent: UInt64 = 0
    public var requestsFailed: UInt64 = 0
    public var retries: UInt64 = 0
    public var deadLetterRequests: UInt64 = 0
    public var deadLetterResults: UInt64 = 0
    public var tooOldResultsDropped: UInt64 = 0
    public var undecodableSpillRecords: UInt64 = 0
    public var spillWriteErrors: UInt64 = 0
    /// Results lost because they could be neither queued nor written to disk.
    public var resultsLost: UInt64 = 0
    public var highestSentTimestampMs: Int64 = 0
    /// Remote-write requests sent and not answered yet.
    public var requestsInFlight = 0
    /// Send-to-answer time of every remote-write request.
    public var requestDurations = DurationHistogram()
    public var memQueueDepth = 0
    public var memQueueCap = 0
    public var memQueueOverflows: UInt64 = 0
    public var spillBytes = 0
    public var spillSegments = 0
    public var spillPendingRecords = 0
    public var spillOldestPendingAgeSeconds: Double?
    public var spillDroppedRecords = 0
    public var spillCorruptRecords = 0
    public var spillTornTailBytes = 0
    public var backfillRatePerSecond = 0
    public var lastError: String?

    /// All zero, mode normal.
    public init() {}

    /// The newest sample timestamp the store accepted; nil before the first.
    public var highestSentTimestamp: Date? {
        highestSentTimestampMs > 0 ? Date(timeIntervalSince1970: Double(highestSentTimestampMs) / 1000) : nil
    }

    /// How far the store is behind `now`: now minus ``highestSentTimestamp`` (never negative).
    public func lagSeconds(now: Date = Date()) -> Double? {
        highestSentTimestamp.map { max(0, now.timeIntervalSince($0)) }
    }
}
