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
