import Foundation
import ProbeAgentCore
import SpillLog

/// Everything the shipper needs to know, taken from the config at start: the spill log's and
/// memory's settings, shared by every store, and one ``StoreOptions`` per store.
public struct ShipperOptions: Sendable {
    /// The stores, in `remote_write` order (names unique); never empty.
    public var stores: [StoreOptions]
    public var writeAhead = true
    /// Results each store may hold in memory (`queue.mem_items_cap`).
    public var memItemsCap = 100_000
    public var spillDirectory: String
    public var spill = SpillOptions()
    /// The spill directory's lock, taken early by the agent so that a second one exits before
    /// it starts anything; nil: the spill log takes it itself when the shipper opens it.
    public var spillLock: SpillDirectoryLock?
    /// Byte cap over the dead-letter directory (`spill.dead_letter_max_bytes`); the oldest
    /// request goes first past it.
    public var deadLetterMaxBytes: Int64 = 64 << 20

    public init(stores: [StoreOptions], spillDirectory: String) {
        precondition(!stores.isEmpty, "at least one store")
        self.stores = stores
        self.spillDirectory = spillDirectory
    }

    /// Options from a validated config's `remote_write` (one or more endpoints), `queue` and
    /// `spill` sections.
    public init(config: AgentConfig) {
        self.init(stores: config.remoteWrite.map(StoreOptions.init), spillDirectory: config.spill.directory)
        writeAhead = config.spill.mode == .writeAhead
        memItemsCap = config.memoryQueueCapacity
        spill = SpillOptions(maxBytes: Int(clamping: config.spill.maxBytes), maxAge: config.spill.maxAge,
                             fsync: .interval(config.spill.fsyncInterval))
        deadLetterMaxBytes = config.spill.deadLetterMaxBytes
    }

    /// The delivery policy's settings for store `i`.
    func machineOptions(_ i: Int) -> DeliveryStateMachine.Options {
        let store = stores[i]
        var o = DeliveryStateMachine.Options()
        o.lanes = store.requestsInFlight
        o.resultsPerRequest = store.resultsPerRequest
        o.flushInterval = store.flushInterval
        o.memoryCap = memItemsCap
        o.backfillRate = store.backfillRate
        o.writeAhead = writeAhead
        o.freshFirst = store.freshFirst
        o.stallAfter = store.stallTimeout
        return o
    }
}

/// One store (`remote_write` endpoint): where and how to send, and its delivery settings.
public struct StoreOptions: Sendable {
    /// The endpoint's name: its reader in the spill log and its `remote_name` label.
    public var name: String
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
    public var stallTimeout: Duration = .seconds(30)
    public var tls = RemoteWriteConfig.TLSFiles()
    public var agentVersion = "dev"

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// Options from one validated `remote_write` endpoint.
    public init(_ rw: RemoteWriteConfig) {
        self.init(name: rw.name, url: rw.url)
        headers = rw.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        authorization = StoreAuthorization(rw)
        externalLabels = rw.externalLabels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        samplesPerRequest = rw.samplesPerRequest
        requestsInFlight = rw.requestsInFlight
        flushInterval = rw.flushInterval
        timeout = rw.timeout
        backfillRate = rw.backfillRate
        freshFirst = rw.freshFirst
        stallTimeout = rw.stallTimeout
        tls = rw.tls
    }

    /// Results per request: each result becomes up to three samples.
    var resultsPerRequest: Int { max(1, samplesPerRequest / 3) }
}

extension StoreOptions: CustomStringConvertible {
    /// The options without a secret: header names only, the authorization redacted.
    public var description: String {
        "StoreOptions(name: \(name), url: \(url), authorization: \(authorization), headers: \(headers.map(\.0)))"
    }
}

extension ShipperOptions: CustomStringConvertible {
    /// The options without a secret (see ``StoreOptions``).
    public var description: String {
        "ShipperOptions(stores: \(stores), spill: \(spillDirectory), deadLetterMaxBytes: \(deadLetterMaxBytes))"
    }
}
