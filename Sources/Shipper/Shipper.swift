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
/// Threading: all state below is owned by the shipper thread; other threads see `stats` (a
/// locked copy) and call `stop()`.
public final class Shipper: @unchecked Sendable {
    private let options: ShipperOptions
    private let log: Logger
    private let handoff: ResultHandoff
    private let spill: SpillLog
    private let store: StoreClient
    private let deadLetter: DeadLetterBox
    private var queue: MemoryQueue<ResultRecord>
    private var modes: ModeTracker
    private var backoff = Backoff()
    private var storeFailing = false
    private var nextTryAt: UInt64 = 0
    private var queueSince: UInt64?
    private var backfillTokens: Double = 0
    /// Live results written behind the backlog while the store is healthy: read back on top of
    /// `backfill_rate`, so the backlog shrinks at that rate whatever the live rate (at 100k
    /// targets live results alone come at 33k/s, more than the default rate).
    private var liveCredit: Double = 0
    /// The backlog chunk whose requests partly failed, to be read again.
    private var retryChunk: RetryChunk?
    private var lastRefill: UInt64
    private var counters = ShipperStats()
    private var requestBuilder: RequestBuilder
    private var inFlight = InFlightRequests()
    private let answers = StoreAnswers()
    private let published = Mutex(ShipperStats())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let onModeChange: @Sendable (DeliveryMode, String) -> Void

    /// Opens the spill log (repairing a torn tail) and the HTTP client; throws a clear error
    /// naming the directory when the spill log cannot be opened.
    ///
    /// - Parameter onModeChange: told every mode change (on the shipper thread), with its reason.
    public init(options: ShipperOptions, handoff: ResultHandoff, log: Logger,
                onModeChange: @escaping @Sendable (DeliveryMode, String) -> Void = { _, _ in }) throws {
        self.options = options
        self.onModeChange = onModeChange
        requestBuilder = RequestBuilder(external: options.externalLabels)
        self.log = log
        self.handoff = handoff
        try FileManager.default.createDirectory(atPath: options.spillDirectory, withIntermediateDirectories: true)
        spill = try SpillLog(directory: options.spillDirectory, options: options.spill)
        store = try StoreClient(options: options)
        deadLetter = DeadLetterBox(directory: options.spillDirectory + "/dead-letter")
        queue = MemoryQueue(capacity: options.memItemsCap)
        let now = Self.wallMs()
        modes = ModeTracker(nowMilliseconds: now)
        lastRefill = Self.monoNs()
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
    /// - Parameter onThread: run first on the new thread (the agent lowers its priority).
    public func start(onThread setUp: @escaping @Sendable () -> Void = {}) {
        let t = Thread { [self] in
            setUp()
            while !stopping.load(ordering: .acquiring) { step() }
            shutDown()
            finished.signal()
        }
        t.name = "probe-ship"
        t.start()
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
        if !options.freshFirst && (storeFailing || spill.stats.pendingRecords > 0 || inFlight.hasFailures) {
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

    private func toDisk(_ records: [ResultRecord]) {
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

    /// Results the backlog may release now: the backfill tokens plus the live results queued
    /// behind it.
    private var diskBudget: Double { backfillTokens + liveCredit }

    private func flushDue(_ now: UInt64) -> Bool {
        guard !queue.isEmpty else { return false }
        if queue.count >= options.resultsPerRequest { return true }
        guard let since = queueSince else { return true }
        return now - since >= UInt64(options.flushInterval.nanosecondsValue)
    }

    /// Sends the oldest queued results whose series are not on their way already.
    /// - Returns: false when nothing could be sent.
    private func sendFromQueue() -> Bool {
        var keys: [Int] = []
        let batch = queue.pop(max: options.resultsPerRequest) { r in
            let key = InFlightRequests.seriesKey(r)
            guard inFlight.isFree(key) else { return false }
            keys.append(key)
            return true
        }
        queueSince = queue.isEmpty ? nil : Self.monoNs()
        guard !batch.isEmpty else { return false }
        guard let body = encode(batch) else { return true }
        let id = inFlight.add(batch: batch, body: body, series: keys, sentAt: Self.monoNs())
        store.send(body) { [answers, handoff] answer in
            answers.put(id, answer)
            handoff.wake()
        }
        return true
    }

    /// Handles the answers that came in; once every request is answered, failed batches go to
    /// disk in the order they were sent (and, keeping series in order, what queued behind them).
    private func collectAnswers() {
        for (id, answer) in answers.take() {
            guard let request = inFlight.finish(id) else { continue }
            counters.requestDurations.record(Self.monoNs() - request.sentAt)
            if !handle(answer, request.batch, request.body) { inFlight.setAside(id, request.batch) }
        }
        if inFlight.isEmpty && inFlight.hasFailures {
            toDisk(inFlight.takeFailures() + (options.freshFirst ? [] : queue.drain()))
        }
    }

    /// Waits until every request in flight is answered (each within `remote_write.timeout`).
    private func settle() {
        var rounds = 0
        while !inFlight.isEmpty && rounds < 1_000_000 {
            answers.wait(milliseconds: 100)
            collectAnswers()
            rounds += 1
        }
    }

    /// A bounded read from the backlog (see ``diskBudget``), up to `requests_in_flight` requests'
    /// worth, sent as that many requests at once — each series in exactly one of them, so its
    /// samples stay in order — and committed only once all are done with. After a failure the
    /// same records are read again and only the requests the store has not accepted are resent.
    /// - Returns: true when records were read and are done with.
    @discardableResult
    private func sendFromDisk() -> Bool {
        let lanes = options.requestsInFlight
        let count = retryChunk?.count ?? min(options.resultsPerRequest * lanes, Int(storeFailing ? 1 : max(1, diskBudget)))
        let records: [SpillRecord]
        do { records = try spill.read(max: count) } catch { note(error, "spill read"); return false }
        guard let first = records.first, let last = records.last else { return false }
        var accepted = Set<Int>()
        if let c = retryChunk, c.first == first.position, c.count == records.count { accepted = c.acceptedLanes }
        retryChunk = nil
        var batches = [[ResultRecord]](repeating: [], count: lanes)
        for r in records {
            guard let decoded = try? ResultRecord(decoding: r.payload) else { counters.undecodableSpillRecords += 1; continue }
            batches[Int(UInt(bitPattern: InFlightRequests.seriesKey(decoded)) % UInt(lanes))].append(decoded)
        }
        let fromLive = min(liveCredit, Double(records.count))
        liveCredit -= fromLive
        backfillTokens -= Double(records.count) - fromLive
        let sending = batches.indices.filter { !batches[$0].isEmpty && !accepted.contains($0) }
        for lane in shipAtOnce(sending.map { batches[$0] }).enumerated().filter(\.element).map({ sending[$0.offset] }) {
            accepted.insert(lane)
        }
        if sending.allSatisfy(accepted.contains) {
            do { try spill.commit(through: last.position) } catch { note(error, "spill commit"); return false }
            if spill.stats.pendingRecords == 0 { liveCredit = 0 }
            return true
        }
        spill.rewind() // read the same records again on the next try
        retryChunk = RetryChunk(first: first.position, count: records.count, acceptedLanes: accepted)
        liveCredit += fromLive
        backfillTokens += Double(records.count) - fromLive
        return false
    }

    /// Sends the batches as concurrent requests and waits for every answer.
    /// - Returns: per batch, true when it is done with (see ``handle(_:_:_:)``).
    private func shipAtOnce(_ batches: [[ResultRecord]]) -> [Bool] {
        guard batches.count > 1 else { return batches.map(ship) }
        var done = [Bool](repeating: true, count: batches.count)
        var bodies: [Int: (Data, UInt64)] = [:]
        let got = StoreAnswers()
        for (i, batch) in batches.enumerated() {
            guard let body = encode(batch) else { continue }
            bodies[i] = (body, Self.monoNs())
            store.send(body) { got.put(UInt64(i), $0) }
        }
        var waiting = bodies.count, rounds = 0
        while waiting > 0 && rounds < 1_000_000 { // each answer comes within remote_write.timeout
            rounds += 1
            got.wait(milliseconds: 100)
            for (id, answer) in got.take() {
                waiting -= 1
                let i = Int(id)
                guard let (body, sentAt) = bodies[i] else { continue }
                counters.requestDurations.record(Self.monoNs() - sentAt)
                done[i] = handle(answer, batches[i], body)
            }
        }
        return done
    }

    // MARK: - Sending

    /// Sends records; true when they are done with (delivered, dead-lettered, or given up as
    /// too old), false when the store must be retried later.
    private func ship(_ batch: [ResultRecord]) -> Bool {
        guard let body = encode(batch) else { return true }
        let sentAt = Self.monoNs()
        let answer = store.post(body)
        counters.requestDurations.record(Self.monoNs() - sentAt)
        return handle(answer, batch, body)
    }

    /// The request body, or nil when the batch cannot be encoded (then it is dead-lettered).
    private func encode(_ batch: [ResultRecord]) -> Data? {
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
    private func handle(_ answer: StoreClient.Answer, _ batch: [ResultRecord], _ body: Data) -> Bool {
        counters.requestsSent += 1
        let verdict = StoreResponse.classify(status: answer.status, body: answer.body, retryAfter: answer.retryAfter)
        switch verdict {
        case .accepted:
            counters.resultsShipped += UInt64(batch.count)
            counters.samplesSent += UInt64(batch.reduce(0) { $0 + ($1.outcome == .ok && $1.rttNanoseconds != nil ? 3 : 2) })
            counters.highestSentTimestampMs = max(counters.highestSentTimestampMs, batch.map(\.timestampMilliseconds).max() ?? 0)
            if storeFailing { log.notice("remote write: store answering again") }
            storeFailing = false
            backoff.reset()
            updateMode(reason: spill.stats.pendingRecords > 0 ? "store back, draining backlog" : "backlog drained")
            return true
        case .retry(let after):
            counters.requestsFailed += 1
            counters.retries += 1
            let why = answer.error ?? "HTTP \(answer.status ?? 0): \(answer.body.prefix(120))"
            if !storeFailing { log.warning("remote write failing (\(why)); spilling results to disk") }
            counters.lastError = why
            storeFailing = true
            let delay = backoff.next(random: Double.random(in: 0..<1), retryAfter: after)
            nextTryAt = Self.monoNs() + UInt64(delay.nanosecondsValue)
            updateMode(reason: why)
            return false
        case .reject:
            counters.requestsFailed += 1
            counters.deadLetterRequests += 1
            counters.deadLetterResults += UInt64(batch.count)
            deadLetter.put(body: body, why: "HTTP \(answer.status ?? 0): \(answer.body)", records: batch, log: log)
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

    private func refillBackfill(_ now: UInt64) {
        let dt = Double(now - lastRefill) / 1e9
        lastRefill = now
        backfillTokens = min(Double(options.backfillRate), backfillTokens + dt * Double(options.backfillRate))
    }

    private func updateMode(reason: String) {
        if let m = modes.update(storeFailing: storeFailing, backlog: spill.stats.pendingRecords, reason: reason,
                                nowMilliseconds: Self.wallMs()) {
            log.notice("delivery mode \(m.rawValue): \(reason)")
            onModeChange(m, reason)
        }
    }

    private func note(_ error: Error, _ what: String) {
        counters.lastError = "\(what): \(error)"
        log.error("\(what) failed: \(error)")
    }

    private func publish() {
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
