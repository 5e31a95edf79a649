import Foundation
import Logging
import ProbeAgentCore
import RemoteWrite
import SpillLog
import Synchronization

/// Ships every probe result to the store with Prometheus remote write, never dropping one that
/// was accepted: memory queue while the store keeps up, the spill log on disk while it does
/// not, backfill (oldest first, at `backfill_rate`) when it is back.
///
/// Ordering: by default live results queue *behind* the backlog — whenever anything is on disk,
/// new results are appended to the spill log too, and everything leaves in order, so each series
/// reaches the store in timestamp order. The memory queue holds results only while the disk is
/// empty (when it must spill, it moves its own contents first). With `fresh_first`, live results
/// go straight out while the backlog drains alongside (for stores that accept out-of-order data).
///
/// Live results leave through Shipper+Live.swift, the backlog through Shipper+Backlog.swift.
///
/// Threading: all state below is owned by the shipper thread; other threads see `stats` (a
/// locked copy) and call `stop()`.
public final class Shipper: @unchecked Sendable {
    let options: ShipperOptions
    let log: Logger
    let handoff: ResultHandoff
    let spill: SpillLog
    let store: StoreClient
    let deadLetter: DeadLetterBox
    var queue: MemoryQueue<ResultRecord>
    private var modes: ModeTracker
    private var backoff = Backoff()
    var storeFailing = false
    var nextTryAt: UInt64 = 0
    var queueSince: UInt64?
    var backfillTokens: Double = 0
    /// Live results written behind the backlog while the store is healthy: read back on top of
    /// `backfill_rate`, so the backlog shrinks at that rate whatever the live rate (at 100k
    /// targets live results alone come at 33k/s, more than the default rate).
    var liveCredit: Double = 0
    /// The backlog chunk whose requests partly failed, to be read again.
    var retryChunk: RetryChunk?
    var lastRefill: UInt64
    var counters = ShipperStats()
    var requestBuilder: RequestBuilder
    var inFlight = InFlightRequests()
    let answers = StoreAnswers()
    private let published = Mutex(ShipperStats())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let onModeChange: @Sendable (DeliveryMode, String) -> Void
    private let onBuffersFreed: @Sendable () -> Void
    private var queueReleasesSeen: UInt64 = 0

    /// Opens the spill log (repairing a torn tail) and the HTTP client; throws a clear error
    /// naming the directory when the spill log cannot be opened.
    ///
    /// - Parameters:
    ///   - onModeChange: told every mode change (on the shipper thread), with its reason.
    ///   - onBuffersFreed: told (on the shipper thread) when a drained burst has left large
    ///     buffers free — the memory queue let its grown storage go, or a backlog drained and
    ///     delivery went back to normal — so the process can hand the pages back.
    public init(options: ShipperOptions, handoff: ResultHandoff, log: Logger,
                onModeChange: @escaping @Sendable (DeliveryMode, String) -> Void = { _, _ in },
                onBuffersFreed: @escaping @Sendable () -> Void = {}) throws {
        self.options = options
        self.onModeChange = onModeChange
        self.onBuffersFreed = onBuffersFreed
        requestBuilder = RequestBuilder(external: options.externalLabels)
        self.log = log
        self.handoff = handoff
        try FileManager.default.createDirectory(atPath: options.spillDirectory, withIntermediateDirectories: true)
        spill = try SpillLog(directory: options.spillDirectory, options: options.spill, lock: options.spillLock)
        store = try StoreClient(options: options)
        deadLetter = DeadLetterBox(directory: options.spillDirectory + "/dead-letter")
        queue = MemoryQueue(capacity: options.memItemsCap)
        let now = Self.wallMs()
        modes = ModeTracker(nowMilliseconds: now)
        lastRefill = Self.monoNs()
        for warning in spill.openWarnings { log.warning("spill log: \(warning)") }
        let s = spill.stats
        if s.corruptRecords > 0 || s.tornTailBytes > 0 {
            log.warning("spill log repaired at open: \(s.corruptRecords) corrupt records skipped, \(s.tornTailBytes) torn-tail bytes truncated")
        }
        if s.pendingRecords > 0 {
            modes.update(storeFailing: false, backlog: s.pendingRecords, reason: "backlog of \(s.pendingRecords) results on disk at start", nowMilliseconds: now)
            log.notice("resuming backfill of \(s.pendingRecords) spilled results")
        }
        counters.memQueueCap = options.memItemsCap
        counters.backfillRatePerSecond = options.backfillRate
        publish()
    }

    public var stats: ShipperStats { published.withLock { $0 } }

    /// Starts the shipper thread.
    /// - Parameter onThread: run first on the new thread (the agent names it `probe-ship` for
    ///   the kernel and lowers its priority: ThreadPriority.swift).
    public func start(onThread setUp: @escaping @Sendable () -> Void = {}) {
        Thread { [self] in
            setUp()
            while !stopping.load(ordering: .acquiring) { step() }
            shutDown()
            finished.signal()
        }.start()
    }

    /// Persists everything not yet delivered (memory queue → spill log, fsync) and stops.
    /// Call after the probing loop has handed over its last results.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        handoff.put([])
        finished.wait()
    }

    // MARK: - One round

    private func step() {
        let incoming = handoff.take(waitingUpTo: .milliseconds(20))
        collectAnswers()
        if !incoming.isEmpty { route(incoming) }
        deliver()
        do { try spill.maintain(nowNanos: Int64(Self.wallMs()) * 1_000_000) } catch { note(error, "spill maintenance") }
        publish()
    }

    /// New results: to the memory queue while nothing waits on disk, else behind the backlog.
    private func route(_ records: [ResultRecord]) {
        counters.resultsReceived += UInt64(records.count)
        // While the store fails everything is backlog, fresh-first too (else the queue would
        // hold the outage's oldest results and ship them first when the store is back).
        if storeFailing || (!options.freshFirst && (spill.stats.pendingRecords > 0 || inFlight.hasFailures)) {
            settle() // a failed request's batch must reach the disk before anything newer
            let behind = queue.drain() + records
            if !storeFailing { liveCredit = min(Double(options.memItemsCap), liveCredit + Double(behind.count)) }
            toDisk(behind)
            return
        }
        for (i, r) in records.enumerated() where !queue.push(r) {
            counters.memQueueOverflows += 1
            if !options.freshFirst { settle() }
            toDisk((options.freshFirst ? [] : queue.drain()) + records[i...])
            return
        }
        if queueSince == nil && !queue.isEmpty { queueSince = Self.monoNs() }
    }

    func toDisk(_ records: [ResultRecord]) {
        guard !records.isEmpty else { return }
        queueSince = nil
        let entries = records.map { SpillEntry(payload: Data($0.encoded()), timestampNanos: $0.timestampMilliseconds * 1_000_000) }
        do {
            try spill.append(entries)
        } catch {
            // The disk refuses: keep what fits in memory, count the rest as lost, keep probing.
            counters.spillWriteErrors += 1
            note(error, "spill write")
            var kept = 0
            for r in records where queue.push(r) { kept += 1 }
            counters.resultsLost += UInt64(records.count - kept)
            if kept < records.count { log.error("\(records.count - kept) results lost: memory queue full and the spill log refuses writes") }
        }
    }

    private func deliver() {
        let now = Self.monoNs()
        guard now >= nextTryAt else { return }
        refillBackfill(now)
        let fromDisk = spill.stats.pendingRecords > 0
        if options.freshFirst || !fromDisk {
            // While the store is failing, one request at a time is the retry probe.
            let limit = storeFailing ? 1 : options.requestsInFlight
            while inFlight.count < limit, !inFlight.hasFailures, flushDue(Self.monoNs()), sendFromQueue() {}
        }
        // The backlog's head is also the retry probe while the store is failing (a small read).
        // Several requests per round while the budget lasts, bounded in time so new results are
        // taken in at least every 50 ms.
        guard fromDisk else { return }
        let until = now + 50_000_000
        for _ in 0..<64 {
            guard Self.monoNs() >= nextTryAt, sendFromDisk(), !storeFailing, diskBudget >= 1, Self.monoNs() < until else { break }
        }
    }

    private func flushDue(_ now: UInt64) -> Bool {
        guard !queue.isEmpty else { return false }
        if queue.count >= options.resultsPerRequest { return true }
        guard let since = queueSince else { return true }
        return now - since >= UInt64(options.flushInterval.nanosecondsValue)
    }

    // MARK: - Sending

    /// Sends records; true when they are done with (delivered, dead-lettered, or given up as
    /// too old), false when the store must be retried later.
    func ship(_ batch: [ResultRecord]) -> Bool {
        guard let body = encode(batch) else { return true }
        let sentAt = Self.monoNs()
        let answer = store.post(body)
        counters.requestDurations.record(Self.monoNs() - sentAt)
        return handle(answer, batch, body)
    }

    /// The request body, or nil when the batch cannot be encoded (then it is dead-lettered).
    func encode(_ batch: [ResultRecord]) -> Data? {
        do {
            return try WriteRequestEncoder.body(protobuf: requestBuilder.protobuf(batch))
        } catch {
            deadLetter.put(body: nil, why: "cannot encode: \(error)", records: batch, log: log)
            counters.deadLetterRequests += 1
            counters.deadLetterResults += UInt64(batch.count)
            return nil
        }
    }

    /// What the store's answer means for a batch: true when it is done with (delivered,
    /// dead-lettered, or given up as too old), false when it must be retried later.
    func handle(_ answer: StoreClient.Answer, _ batch: [ResultRecord], _ body: Data) -> Bool {
        counters.requestsSent += 1
        let verdict = StoreResponse.classify(answer)
        switch verdict {
        case .accepted:
            counters.resultsShipped += UInt64(batch.count)
            counters.samplesSent += UInt64(batch.reduce(0) { $0 + SeriesMapping.sampleCount(of: $1) })
            counters.highestSentTimestampMs = max(counters.highestSentTimestampMs, batch.map(\.timestampMilliseconds).max() ?? 0)
            if storeFailing { log.notice("remote write: store answering again") }
            storeFailing = false
            backoff.reset()
            updateMode(reason: spill.stats.pendingRecords > 0 ? "store back, draining backlog" : "backlog drained")
            return true
        case .failing, .tooLarge:
            var why = "", after: Duration?
            if case .failing(let w, let a) = verdict { (why, after) = (w, a) }
            if case .tooLarge(let w) = verdict { why = w }
            counters.requestsFailed += 1
            counters.retries += 1
            if !storeFailing { log.warning("remote write failing (\(why)); spilling results to disk") }
            counters.lastError = why
            storeFailing = true
            let delay = backoff.next(random: Double.random(in: 0..<1), retryAfter: after)
            nextTryAt = Self.monoNs() + UInt64(delay.nanosecondsValue)
            updateMode(reason: why)
            return false
        case .malformed(let why):
            counters.requestsFailed += 1
            counters.deadLetterRequests += 1
            counters.deadLetterResults += UInt64(batch.count)
            deadLetter.put(body: body, why: why, records: batch, log: log)
            return true
        case .tooOld:
            counters.requestsFailed += 1
            return shipSplitting(batch)
        }
    }

    /// One too-old sample fails the whole request: halve until the old ones are isolated and
    /// given up (counted); everything else is delivered.
    private func shipSplitting(_ batch: [ResultRecord]) -> Bool {
        guard batch.count > 1 else {
            counters.tooOldResultsDropped += UInt64(batch.count)
            log.warning("remote write: store refuses a sample as too old (monitor \(batch.first?.monitorID ?? "?")); given up and counted")
            return true
        }
        let mid = batch.count / 2
        return ship(Array(batch[..<mid])) && ship(Array(batch[mid...]))
    }

    // MARK: - Bookkeeping

    private func updateMode(reason: String) {
        if let m = modes.update(storeFailing: storeFailing, backlog: spill.stats.pendingRecords, reason: reason,
                                nowMilliseconds: Self.wallMs()) {
            log.notice("delivery mode \(m.rawValue): \(reason)")
            onModeChange(m, reason)
            // A drained backlog leaves its read-back chunks (and the queue's ring) free.
            if m == .normal { onBuffersFreed() }
        }
    }

    func note(_ error: Error, _ what: String) {
        counters.lastError = "\(what): \(error)"
        log.error("\(what) failed: \(error)")
    }

    private func publish() {
        if queue.storageReleases != queueReleasesSeen {
            queueReleasesSeen = queue.storageReleases
            onBuffersFreed()
        }
        let s = spill.stats
        counters.memQueueDepth = queue.count
        counters.requestsInFlight = inFlight.count
        counters.spillBytes = s.bytesOnDisk
        counters.spillSegments = s.segments
        counters.spillPendingRecords = s.pendingRecords
        counters.spillOldestPendingAgeSeconds = s.oldestPendingAge(nowNanos: Int64(Self.wallMs()) * 1_000_000)
            .map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        counters.spillDroppedRecords = s.droppedRecords
        counters.spillCorruptRecords = s.corruptRecords
        counters.spillTornTailBytes = s.tornTailBytes
        counters.mode = modes.mode
        counters.modeReason = modes.reason
        counters.modeChangedAt = Date(timeIntervalSince1970: Double(modes.changedAtMilliseconds) / 1000)
        counters.modeHistory = modes.history
        let snapshot = counters
        published.withLock { $0 = snapshot }
    }

    /// SIGTERM: whatever is still in memory goes to disk, fsync'd; the next start ships it.
    private func shutDown() {
        settle()
        let rest = handoff.take(waitingUpTo: .zero)
        if !rest.isEmpty { counters.resultsReceived += UInt64(rest.count) }
        let pending = queue.drain() + rest
        if !pending.isEmpty { toDisk(pending) }
        // What the disk refused went back to the queue, which dies with us: count it as lost.
        if !queue.isEmpty {
            counters.resultsLost += UInt64(queue.count)
            log.error("\(queue.count) results lost at stop: the spill log refuses writes (\(counters.lastError ?? "?"))")
            _ = queue.drain()
        }
        do { try spill.flush(); try spill.close() } catch { note(error, "spill close") }
        store.shutdown()
        publish()
        log.info("shipper stopped: \(pending.count) results persisted to the spill log, \(spill.stats.pendingRecords) waiting on disk")
    }

    static func monoNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
