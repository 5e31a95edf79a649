import Foundation
import ProbeAgentCore
import SpillLog

/// Everything the shipper needs to know, taken from the config at start.
public struct ShipperOptions: Sendable {
    public var url: String
    /// Extra headers (`remote_write.headers`).
    public var headers: [(String, String)] = []
    /// Basic auth or a bearer token, inline or from a file re-read when it changes.
    public var authorization: StoreAuthorization = .none
    public var externalLabels: [(String, String)] = []
    public var samplesPerRequest = 2_000
    public var requestsInFlight = 4
    public var flushInterval: Duration = .seconds(1)
    public var timeout: Duration = .seconds(10)
    public var backfillRate = 20_000
    public var freshFirst = false
    public var writeAhead = true
    public var stallTimeout: Duration = .seconds(30)
    public var memItemsCap = 100_000
    public var spillDirectory: String
    public var spill = SpillOptions()
    /// The spill directory's lock, taken early by the agent so that a second one exits before
    /// it starts anything; nil: the spill log takes it itself when the shipper opens it.
    public var spillLock: SpillDirectoryLock?
    public var tls = RemoteWriteConfig.TLSFiles()
    public var agentVersion = "dev"
    /// Byte cap over the dead-letter directory (`spill.dead_letter_max_bytes`); the oldest
    /// request goes first past it.
    public var deadLetterMaxBytes: Int64 = 64 << 20

    public init(url: String, spillDirectory: String) {
        self.url = url
        self.spillDirectory = spillDirectory
    }

    /// Options from a validated config's `remote_write`, `queue` and `spill` sections.
    public init(config: AgentConfig, remoteWrite rw: RemoteWriteConfig) {
        url = rw.url
        headers = rw.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        authorization = StoreAuthorization(rw)
        externalLabels = rw.externalLabels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        samplesPerRequest = rw.samplesPerRequest
        requestsInFlight = rw.requestsInFlight
        flushInterval = rw.flushInterval
        timeout = rw.timeout
        backfillRate = rw.backfillRate
        freshFirst = rw.freshFirst
        writeAhead = config.spill.mode == .writeAhead
        stallTimeout = rw.stallTimeout
        memItemsCap = config.memoryQueueCapacity
        spillDirectory = config.spill.directory
        spill = SpillOptions(maxBytes: Int(clamping: config.spill.maxBytes), maxAge: config.spill.maxAge,
                             fsync: .interval(config.spill.fsyncInterval))
        tls = rw.tls
        deadLetterMaxBytes = config.spill.deadLetterMaxBytes
    }

    /// Results per request: each result becomes up to three samples.
    var resultsPerRequest: Int { max(1, samplesPerRequest / 3) }

    /// The delivery policy's settings.
    var machineOptions: DeliveryStateMachine.Options {
        var o = DeliveryStateMachine.Options()
        o.lanes = requestsInFlight
        o.resultsPerRequest = resultsPerRequest
        o.flushInterval = flushInterval
        o.memoryCap = memItemsCap
        o.backfillRate = backfillRate
        o.writeAhead = writeAhead
        o.freshFirst = freshFirst
        o.stallAfter = stallTimeout
        return o
    }
}

extension ShipperOptions: CustomStringConvertible {
    /// The options without a secret: header names only, the authorization redacted.
    public var description: String {
        "ShipperOptions(url: \(url), authorization: \(authorization), headers: \(headers.map(\.0)), "
            + "spill: \(spillDirectory), deadLetterMaxBytes: \(deadLetterMaxBytes))"
    }
}

/// Delivery counters and state, as the status file, /metrics and the admin API report them:
/// the state machine's ``DeliveryCounters`` and the shipper's own ``ShipperState``, read as one
/// (`stats.resultsShipped`, `stats.spillBytes`) and encoded as one flat JSON object.
@dynamicMemberLookup
public struct ShipperStats: Sendable, Encodable {
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

    /// The newest sample timestamp the store accepted; nil before the first.
    public var highestSentTimestamp: Date? {
        counters.highestSentTimestampMs > 0 ? Date(timeIntervalSince1970: Double(counters.highestSentTimestampMs) / 1000) : nil
    }

    /// How far the store is behind `now`: now minus ``highestSentTimestamp`` (never negative).
    public func lagSeconds(now: Date = Date()) -> Double? {
        highestSentTimestamp.map { max(0, now.timeIntervalSince($0)) }
    }
}

/// The shipper's own part of ``ShipperStats``: the mode, its I/O counters, the queue and the
/// spill log as they are now.
public struct ShipperState: Sendable, Encodable {
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
    /// Why delivery is stalled (``Shipper/stallReason(now:)``), nil when it is not.
    public var stalled: String?
    /// Remote-write requests sent and not answered yet.
    public var requestsInFlight = 0
    /// Send-to-answer time of every remote-write request.
    public var requestDurations = DurationHistogram()
    public var memQueueDepth = 0
    public var memQueueCap = 0
    public var spillBytes = 0
    public var spillSegments = 0
    /// Results in the spill log not yet delivered. (The log's read position moves over whole
    /// appended chunks, so a restart also sends again the delivered results of a partly
    /// acknowledged chunk: at most one chunk per lane, see DeliveryStateMachine.)
    public var spillPendingRecords = 0
    public var spillOldestPendingAgeSeconds: Double?
    public var spillDroppedRecords = 0
    public var spillCorruptRecords = 0
    public var spillTornTailBytes = 0
    public var backfillRatePerSecond = 0
    /// The dead-letter directory (spill.dead_letter_max_bytes): bytes kept, and the requests
    /// and results the cap dropped since start.
    public var deadLetterBytes: Int64 = 0
    public var deadLetterDroppedRequests: UInt64 = 0
    public var deadLetterDroppedResults: UInt64 = 0
}
