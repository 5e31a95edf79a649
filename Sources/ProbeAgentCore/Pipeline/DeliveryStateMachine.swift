/// The delivery policy, as a pure state machine: events and `now` in, actions out
/// (DESIGN.md, "Result pipeline (write-ahead)"). The shipper thread only carries the actions out.
///
/// Data structure: a *window* of chunks in memory, oldest first. A chunk is one append to the
/// spill log (or, in `on_failure` mode, a batch that was not logged), with the log position at
/// its end and the count of its results not yet done with (delivered, dead-lettered, given up).
/// Every result of the window waits in one of `lanes` FIFO queues, chosen by its series, and a
/// lane has at most one request on its way: so a series is in at most one request and its
/// samples reach the store in order, while the lanes' requests complete in any order. When the
/// front chunks are all done the log's read position is committed through the last of them:
/// the commit is always the lowest unacknowledged point.
///
/// The window is a read cache of the log's tail: while it has room, a chunk just appended stays
/// in memory and the log's read cursor skips it (``Action/skipBacklog(to:)``). Once a chunk does
/// not fit, `diskBehind` is set and everything newer stays on disk only, until the backlog
/// reads (``Action/readBacklog(maxResults:)``, at `backfill_rate` plus the live rate) have
/// caught up with the log's end; the same while the store fails, so that what piled up leaves
/// at the backfill rate once it is back. So results leave in log order, and a restart resumes
/// from the committed position with nothing lost (at-least-once).
///
/// Costs: O(1) per result to admit, dispatch and acknowledge; O(chunks done) per commit.
public struct DeliveryStateMachine: Sendable {
    /// Not generic over the log's position type on purpose: the shipper drives the machine from
    /// another module once per result, and a generic machine ran unspecialised there (runtime
    /// generic metadata and value witnesses on every call; +2 µs a probe at 100k targets, see
    /// the README). Positions are per chunk, so carrying them boxed costs nothing measurable.
    public typealias Position = LogPosition

    public struct Options: Sendable {
        /// Requests on their way at once (`requests_in_flight`), one per lane.
        public var lanes = 4
        /// Most results in one request (each result is up to three samples).
        public var resultsPerRequest = 666
        /// Longest a result waits for its request to fill.
        public var flushInterval: Duration = .seconds(1)
        /// Most results held in memory (`queue.mem_items_cap`).
        public var memoryCap = 100_000
        /// Results per second read back from the log on top of the live rate.
        public var backfillRate = 20_000
        /// `spill.mode: write_ahead`: every result is logged before it waits anywhere.
        public var writeAhead = true
        /// `fresh_first` (on_failure mode only): live results do not wait behind the backlog.
        public var freshFirst = false
        /// No answer for this long while requests are on their way: delivery is stalled.
        public var stallAfter: Duration = .seconds(30)
        public var backoff = Backoff()
        public init() {}
    }

    /// What the shipper does for the machine.
    public enum Action: Sendable {
        /// Encode and POST these results; report the answer with ``answered(_:_:now:)``.
        case send(request: UInt64, records: [ResultRecord])
        /// Everything through `position` is done with: persist the log's read position.
        case commit(Position)
        /// The chunk ending at `position` is in memory: move the log's read cursor past it.
        case skipBacklog(to: Position)
        /// Read up to about this many results from the log's cursor; report them with
        /// ``backlogRead(_:reachedEnd:now:)``.
        case readBacklog(maxResults: Int)
        /// The store refused these as malformed: keep them in the dead-letter directory.
        case deadLetter(records: [ResultRecord], reason: String)
        /// The mode changed; tell /health, the event stream and the log.
        case modeChanged(DeliveryMode, reason: String)
    }

    /// Whether a batch of new results is to be appended to the log before ``received(_:_:now:)``.
    public enum Admission: Sendable, Equatable { case log, memoryOnly }

    /// What became of a batch the shipper was asked to log.
    public enum LogOutcome: Sendable {
        case appended(end: Position)
        /// The log refused it (disk full, EIO, read-only): shipped from memory if there is
        /// room, counted as not durable; otherwise counted as lost.
        case refused(reason: String)
        /// Not logged (``Admission/memoryOnly``).
        case notLogged
    }

    struct Chunk {
        let end: Position?
        let count: Int
        var undone: Int
        /// When it joined the window (flush timing), CLOCK_MONOTONIC ns; 0 for backlog reads.
        let since: UInt64
    }

    public let options: Options
    private var chunks = Queue<Chunk>()
    /// Id of `chunks`' first element; ids are consecutive.
    private var firstChunkID: UInt64 = 0
    private var lanes: [DeliveryLane]
    private var requests: [UInt64: (lane: Int, batch: DeliveryBatch)] = [:]
    private var nextRequestID: UInt64 = 0
    /// Results in the window: queued, to retry, or on their way.
    public private(set) var windowCount = 0
    /// Logged results already done with whose chunk is not committed yet (the log's read
    /// position moves over whole chunks): the log's pending count less these is what is still
    /// to deliver. A restart sends them again (at-least-once).
    public private(set) var doneNotCommitted = 0
    /// Records on disk after the window that are not in memory.
    public private(set) var diskBehind: Bool
    private var readPending = false
    /// Recovery lasts until every chunk before this id is done (set when the store answers
    /// again, and when the backlog reads catch up with the log's end).
    private var recoveryMark: UInt64?
    private var backfillTokens: Double = 0
    private var liveCredit: Double = 0
    private var lastRefill: UInt64
    private(set) var storeFailing = false
    private var failingReason = ""
    private var nextTryAt: UInt64 = 0
    private var backoff: Backoff
    /// Results per request now (halved by 413 answers).
    public private(set) var requestLimit: Int
    private var modes: ModeTracker
    /// Last answer (or idle moment), for the stall check.
    private var lastProgress: UInt64
    public private(set) var counters = DeliveryCounters()
    /// Draws in [0, 1) for the backoff's jitter (a seeded generator in tests).
    private var random: @Sendable () -> Double

    /// - Parameters:
    ///   - backlogOnDisk: the log holds records from an earlier run.
    ///   - now: CLOCK_MONOTONIC ns; `wallMs`: for the mode's change time.
    public init(options: Options, backlogOnDisk: Bool, now: UInt64, wallMs: Int64,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        precondition(options.lanes > 0 && options.resultsPerRequest > 0 && options.memoryCap > 0)
        self.options = options
        self.random = random
        lanes = Array(repeating: DeliveryLane(), count: options.lanes)
        diskBehind = backlogOnDisk
        lastRefill = now
        lastProgress = now
        backoff = options.backoff
        requestLimit = options.resultsPerRequest
        modes = ModeTracker(nowMilliseconds: wallMs)
    }

    public var mode: ModeTracker { modes }
    public var requestsInFlight: Int { requests.count }
    public var isIdle: Bool { windowCount == 0 && !diskBehind }

    // MARK: - Events

    /// Whether a batch of `count` new results is to be logged first.
    public func admission(count: Int) -> Admission {
        if options.writeAhead || storeFailing || windowCount + count > options.memoryCap { return .log }
        return diskBehind && !options.freshFirst ? .log : .memoryOnly
    }

    /// New results from the probing loop, after the log did what ``admission(count:)`` asked.
    public mutating func received(_ records: [ResultRecord], _ outcome: LogOutcome, now: UInt64, wallMs: Int64) -> [Action] {
        guard !records.isEmpty else { return [] }
        counters.resultsReceived += UInt64(records.count)
        var actions: [Action] = []
        let fits = windowCount + records.count <= options.memoryCap
        switch outcome {
        case .appended(let end):
            // While the store fails, new results wait on disk only: when it is back they are
            // read back at `backfill_rate` (plus the live rate), not sent in one burst.
            if !diskBehind && fits && !storeFailing {
                admit(records, end: end, now: now)
                actions.append(.skipBacklog(to: end))
            } else {
                if !fits { counters.memQueueOverflows += UInt64(records.count) }
                diskBehind = true
                if !storeFailing { liveCredit = min(Double(options.memoryCap), liveCredit + Double(records.count)) }
            }
        case .refused(let reason):
            counters.lastError = "spill write: \(reason)"
            if fits {
                counters.notDurableResults += UInt64(records.count)
                admit(records, end: nil, now: now)
            } else {
                counters.resultsLost += UInt64(records.count)
            }
        case .notLogged:
            admit(records, end: nil, now: now)
        }
        updateMode(&actions, wallMs: wallMs)
        return actions
    }

    /// Results read back from the log, oldest first, as chunks each ending at a position.
    /// - Parameter reachedEnd: the read met the log's end: nothing is on disk only any more.
    public mutating func backlogRead(_ read: [(records: [ResultRecord], end: Position)], reachedEnd: Bool,
                                     now: UInt64, wallMs: Int64) -> [Action] {
        readPending = false
        lastProgress = now
        var actions: [Action] = []
        var total = 0
        for (records, end) in read {
            total += records.count
            if records.isEmpty {
                // Nothing decodable in it: done with at once (counted by the shipper).
                chunks.push(Chunk(end: end, count: 0, undone: 0, since: 0))
            } else {
                admit(records, end: end, now: 0)
            }
        }
        let fromLive = min(liveCredit, Double(total))
        liveCredit -= fromLive
        backfillTokens -= Double(total) - fromLive
        if reachedEnd {
            if diskBehind { recoveryMark = max(recoveryMark ?? 0, firstChunkID + UInt64(chunks.count)) }
            diskBehind = false
            liveCredit = 0
        }
        commitDone(&actions)
        updateMode(&actions, wallMs: wallMs)
        return actions
    }

    /// The store's verdict on a request.
    public mutating func answered(_ request: UInt64, _ verdict: StoreVerdict, now: UInt64, wallMs: Int64) -> [Action] {
        guard let r = requests.removeValue(forKey: request) else { return [] }
        lanes[r.lane].inFlight = nil
        lastProgress = now
        counters.requestsSent += 1
        var actions: [Action] = []
        switch verdict {
        case .accepted:
            counters.resultsShipped += UInt64(r.batch.count)
            for record in r.batch.records {
                counters.samplesSent += UInt64(SeriesMapping.sampleCount(of: record))
                counters.highestSentTimestampMs = max(counters.highestSentTimestampMs, record.timestampMilliseconds)
            }
            done(r.batch)
            if storeFailing {
                storeFailing = false
                backoff.reset()
                nextTryAt = 0
                recoveryMark = firstChunkID + UInt64(chunks.count)
            }
        case .failing(let reason, let after):
            fail(r, reason: reason, retryAfter: after, now: now)
        case .tooLarge(let reason):
            // Half of what was refused: several requests refused at once halve it once.
            let halved = max(1, r.batch.count / 2)
            if halved < requestLimit {
                requestLimit = halved
                counters.requestSizeHalvings += 1
            }
            fail(r, reason: "\(reason); requests halved to \(requestLimit) results", retryAfter: nil, now: now)
            lanes[r.lane].retry = lanes[r.lane].retry.flatMap { $0.split(into: requestLimit) }
        case .malformed(let reason):
            counters.requestsFailed += 1
            counters.deadLetterRequests += 1
            counters.deadLetterResults += UInt64(r.batch.count)
            actions.append(.deadLetter(records: r.batch.records, reason: reason))
            done(r.batch)
        case .tooOld:
            counters.requestsFailed += 1
            if r.batch.count == 1 {
                counters.tooOldResultsDropped += 1
                counters.lastError = "store refuses a sample of monitor \(r.batch.records[0].monitorID) as too old; given up and counted"
                done(r.batch)
            } else {
                let (head, tail) = r.batch.split(at: r.batch.count / 2)
                lanes[r.lane].retry.insert(contentsOf: [head, tail], at: 0)
            }
        }
        commitDone(&actions)
        updateMode(&actions, wallMs: wallMs)
        return actions
    }

    /// What to do now: requests to send, backlog to read. Call after every event and timeout.
    /// - Parameter flushAll: send partly filled requests at once (shutting down).
    public mutating func poll(now: UInt64, wallMs: Int64, flushAll: Bool = false) -> [Action] {
        var actions: [Action] = []
        if windowCount == 0 && requests.isEmpty { lastProgress = now }
        refill(now)
        guard now >= nextTryAt else { return actions }
        // While the store fails, one request at a time probes it.
        let limit = storeFailing ? 1 : options.lanes
        for i in lanes.indices where requests.count < limit && lanes[i].inFlight == nil {
            guard let batch = takeBatch(lane: i, now: now, flushAll: flushAll) else { continue }
            nextRequestID += 1
            requests[nextRequestID] = (i, batch)
            lanes[i].inFlight = nextRequestID
            if storeFailing { counters.retries += 1 }
            actions.append(.send(request: nextRequestID, records: batch.records))
        }
        if diskBehind && !readPending {
            let room = options.memoryCap - windowCount
            let budget = storeFailing ? (windowCount == 0 ? 1 : 0) : Int(backfillTokens + liveCredit)
            let want = min(room, budget, options.lanes * options.resultsPerRequest * 2)
            if want >= 1 {
                readPending = true
                actions.append(.readBacklog(maxResults: want))
            }
        }
        return actions
    }

    /// When the machine wants ``poll(now:wallMs:flushAll:)`` again at the latest (CLOCK_MONOTONIC ns).
    public func nextDeadline(now: UInt64) -> UInt64 {
        var at = now + 1_000_000_000
        if nextTryAt > now { at = min(at, nextTryAt) }
        let flush = UInt64(options.flushInterval.nanosecondsValue)
        for lane in lanes where lane.inFlight == nil {
            if let run = lane.runs.first { at = min(at, max(now, chunks[Int(run.chunk - firstChunkID)].since + flush)) }
        }
        return at
    }

    /// True when requests are on their way and none has been answered for `stallAfter`.
    public func isStalled(now: UInt64) -> Bool {
        !requests.isEmpty && now > lastProgress && now - lastProgress > UInt64(options.stallAfter.nanosecondsValue)
    }

    /// The results in memory that are not in the log (on_failure mode, or refused by the disk),
    /// oldest first, for the shipper to append at shutdown once no request is on its way.
    /// They leave the machine.
    public mutating func takeUnlogged() -> [ResultRecord] {
        var unlogged: [(chunk: UInt64, records: ArraySlice<ResultRecord>)] = []
        for i in lanes.indices {
            let all = lanes[i].drain()
            var at = 0
            for run in all.runs {
                let records = all.records[at..<at + run.count]
                at += run.count
                if chunkEnd(run.chunk) == nil {
                    unlogged.append((run.chunk, records))
                } else {
                    for r in records { lanes[i].push(r, chunk: run.chunk) }
                }
            }
        }
        let count = unlogged.reduce(0) { $0 + $1.records.count }
        windowCount -= count
        return unlogged.sorted { $0.chunk < $1.chunk }.flatMap(\.records)
    }

    /// Results lost outside the machine (a full hand-off, a log that refused them at stop).
    public mutating func countLost(_ n: UInt64, reason: String) {
        guard n > 0 else { return }
        counters.resultsLost += n
        counters.lastError = reason
    }

    /// A problem of the shipper's own I/O (a spill read or commit that failed), for the reports.
    public mutating func note(problem: String) { counters.lastError = problem }

    // MARK: - Internals

    private mutating func admit(_ records: [ResultRecord], end: Position?, now: UInt64) {
        let id = firstChunkID + UInt64(chunks.count)
        chunks.push(Chunk(end: end, count: records.count, undone: records.count, since: now))
        for r in records {
            lanes[Self.lane(of: r, lanes: lanes.count)].push(r, chunk: id)
        }
        windowCount += records.count
    }

    /// The lane of a result's series (all of its metrics travel together).
    /// Swift's Hasher (seeded per process): lanes only need to be stable within a process —
    /// after a restart the backlog is read back in log order whatever the lanes. FNV-1a over
    /// the two strings (StableHasher) cost twice as much per result here (perf, 100k targets).
    static func lane(of r: ResultRecord, lanes: Int) -> Int {
        var h = Hasher()
        h.combine(r.monitorID)
        h.combine(r.target)
        return Int(UInt(bitPattern: h.finalize()) % UInt(lanes))
    }

    private mutating func takeBatch(lane i: Int, now: UInt64, flushAll: Bool) -> DeliveryBatch? {
        if !lanes[i].retry.isEmpty {
            let batch = lanes[i].retry.removeFirst()
            guard batch.count > requestLimit else { return batch }
            let (head, tail) = batch.split(at: requestLimit)
            lanes[i].retry.insert(tail, at: 0)
            return head
        }
        guard let run = lanes[i].runs.first else { return nil }
        let since = chunks[Int(run.chunk - firstChunkID)].since
        let due = flushAll || lanes[i].records.count >= requestLimit
            || now >= since + UInt64(options.flushInterval.nanosecondsValue)
        guard due else { return nil }
        return lanes[i].pop(max: requestLimit)
    }

    private mutating func fail(_ r: (lane: Int, batch: DeliveryBatch), reason: String,
                               retryAfter: Duration?, now: UInt64) {
        counters.requestsFailed += 1
        counters.lastError = reason
        failingReason = reason
        storeFailing = true
        lanes[r.lane].retry.insert(r.batch, at: 0)
        let delay = backoff.next(random: random(), retryAfter: retryAfter)
        nextTryAt = now + UInt64(delay.nanosecondsValue)
    }

    private mutating func done(_ batch: DeliveryBatch) {
        windowCount -= batch.count
        for run in batch.runs {
            let index = Int(run.chunk - firstChunkID)
            chunks[index].undone -= run.count
            if chunks[index].end != nil { doneNotCommitted += run.count }
        }
    }

    private func chunkEnd(_ id: UInt64) -> Position? {
        id < firstChunkID ? nil : chunks[Int(id - firstChunkID)].end
    }

    /// Drops the done chunks at the front; commits through the last logged one of them.
    private mutating func commitDone(_ actions: inout [Action]) {
        var last: Position?
        while let first = chunks.first, first.undone == 0 {
            if let end = first.end {
                last = end
                doneNotCommitted -= first.count
            }
            _ = chunks.popFirst()
            firstChunkID += 1
        }
        if let last { actions.append(.commit(last)) }
    }

    private mutating func refill(_ now: UInt64) {
        guard now > lastRefill else { return }
        let rate = Double(options.backfillRate)
        backfillTokens = min(rate, backfillTokens + Double(now - lastRefill) / 1e9 * rate)
        lastRefill = now
    }

    /// Results wait from before the store answered again (or from an earlier run).
    private mutating func inBacklog() -> Bool {
        if let mark = recoveryMark, firstChunkID >= mark { recoveryMark = nil }
        return diskBehind || recoveryMark != nil
    }

    private mutating func updateMode(_ actions: inout [Action], wallMs: Int64) {
        let backlog = inBacklog()
        let reason = storeFailing ? failingReason
            : backlog ? "store answering, draining the backlog" : "store answering, no backlog"
        if let m = modes.update(storeFailing: storeFailing, backlog: backlog ? 1 : 0, reason: reason, nowMilliseconds: wallMs) {
            actions.append(.modeChanged(m, reason: reason))
        }
    }
}

