import Foundation
import Logging
import ProbeAgentCore
import RemoteWrite
import ResultBlocks
import SpillLog
import Synchronization

/// Ships every probe result to the store with Prometheus remote write, never dropping one that
/// was accepted (DESIGN.md, "Result pipeline (write-ahead)").
///
/// The policy — what to log, what to send when, what to commit, the modes — is the pure
/// ``DeliveryStateMachine``; this class is its driver and only carries its actions out: appends
/// to and reads from the spill log, POSTs, commits, dead letters. In `write_ahead` mode (the
/// default) every result is appended to the log, compressed in blocks (``ResultBlock``),
/// before it waits anywhere; in `on_failure` mode only when the store fails or memory is full.
///
/// Threading: everything below is owned by the shipper thread; other threads read `stats` (a
/// locked copy) and ``stallReason(now:)``, and call `stop()`.
public final class Shipper: @unchecked Sendable {
    let options: ShipperOptions
    let log: Logger
    let handoff: ResultHandoff
    let store: StoreClient
    let deadLetter: DeadLetterBox
    /// Opened on the shipper thread (scanning a large log must not delay the first probe).
    var spill: SpillLog!
    var machine: DeliveryStateMachine!
    var requestBuilder: RequestBuilder
    var extra = ShipperStats()
    private var sentAt: [UInt64: UInt64] = [:]
    let answers = StoreAnswers()
    private let published = Mutex(ShipperStats())
    private let stopping = Atomic<Bool>(false)
    /// CLOCK_MONOTONIC ns when the shipper thread last went round its loop (0 before start).
    private let heartbeat = Atomic<UInt64>(0)
    private let machineStalled = Atomic<Bool>(false)
    /// Why the spill log could not be opened (then nothing is delivered), nil while it could.
    private let openFailure = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    private let onModeChange: @Sendable (DeliveryMode, String) -> Void
    private let onBuffersFreed: @Sendable () -> Void

    /// Opens the HTTP client (a TLS or credential file that cannot be used is a clear error
    /// naming it). The spill log is opened (and scanned) on the shipper thread, under
    /// `options.spillLock` when the agent took the directory's lock at start.
    ///
    /// - Parameters:
    ///   - onModeChange: told every mode change (on the shipper thread), with its reason.
    ///   - onBuffersFreed: told (on the shipper thread) when a drained backlog left large
    ///     buffers free, so the process can hand the pages back.
    public init(options: ShipperOptions, handoff: ResultHandoff, log: Logger,
                onModeChange: @escaping @Sendable (DeliveryMode, String) -> Void = { _, _ in },
                onBuffersFreed: @escaping @Sendable () -> Void = {}) throws {
        self.options = options
        self.onModeChange = onModeChange
        self.onBuffersFreed = onBuffersFreed
        requestBuilder = RequestBuilder(external: options.externalLabels)
        self.log = log
        self.handoff = handoff
        store = try StoreClient(options: options, log: log)
        deadLetter = DeadLetterBox(directory: options.spillDirectory + "/dead-letter", maxBytes: options.deadLetterMaxBytes, log: log)
        extra.memQueueCap = options.memItemsCap
        extra.backfillRatePerSecond = options.backfillRate
        extra.modeReason = "opening the spill log"
        publish()
    }

    public var stats: ShipperStats { published.withLock { $0 } }

    /// Why delivery is stalled, or nil: the shipper thread has not gone round its loop for
    /// `stall_timeout` (a hung disk, a blocking call), or requests are on their way and none
    /// was answered for that long.
    public func stallReason(now: UInt64 = MonotonicClock.nanoseconds()) -> String? {
        if let failure = openFailure.withLock({ $0 }) { return "delivery stopped: \(failure)" }
        let beat = heartbeat.load(ordering: .relaxed)
        let limit = UInt64(options.stallTimeout.nanosecondsValue)
        if beat > 0, now > beat, now - beat > limit {
            return "delivery stalled: the shipper thread has made no progress for \((now - beat) / 1_000_000_000) s (disk or store call blocked)"
        }
        if machineStalled.load(ordering: .relaxed) {
            return "delivery stalled: no answer from the store for over \(options.stallTimeout) with requests on their way"
        }
        return nil
    }

    /// Starts the shipper thread.
    /// - Parameter onThread: run first on the new thread (the agent names it `probe-ship` for
    ///   the kernel and lowers its priority: ThreadPriority.swift).
    public func start(onThread setUp: @escaping @Sendable () -> Void = {}) {
        heartbeat.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
        Thread { [self] in
            setUp()
            if open() {
                while !stopping.load(ordering: .acquiring) { step() }
                shutDown()
            } else {
                countWhatCannotBeKept()
                store.shutdown()
            }
            finished.signal()
        }.start()
    }

    /// Persists everything not yet delivered and stops. Call after the probing loop has
    /// handed over its last results.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        handoff.wake()
        finished.wait()
    }

    // MARK: - The thread

    private func open() -> Bool {
        do {
            spill = try SpillLog(directory: options.spillDirectory, options: options.spill, lock: options.spillLock,
                                 weigh: ResultBlock.weight)
        } catch {
            let why = "spill log \(options.spillDirectory) cannot be opened: \(error)"
            log.critical("\(why); results are neither kept nor shipped")
            extra.lastError = why
            openFailure.withLock { $0 = why }
            publish()
            return false
        }
        for warning in spill.openWarnings { log.warning("spill log: \(warning)") }
        let s = spill.stats
        if s.corruptRecords > 0 || s.tornTailBytes > 0 {
            log.warning("spill log repaired at open: \(s.corruptRecords) corrupt records skipped, \(s.tornTailBytes) torn-tail bytes truncated")
        }
        let now = MonotonicClock.nanoseconds()
        machine = DeliveryStateMachine(options: options.machineOptions, backlogOnDisk: s.pendingRecords > 0,
                                       now: now, wallMs: Self.wallMs())
        if s.pendingRecords > 0 {
            log.notice("resuming delivery of \(s.pendingRecords) results from the spill log")
        }
        perform(machine.poll(now: now, wallMs: Self.wallMs()))
        publish()
        return true
    }

    /// Without a spill log nothing can be kept: every result handed over is counted as lost
    /// (with the reason, which /health also shows) until the agent stops.
    private func countWhatCannotBeKept() {
        while !stopping.load(ordering: .acquiring) {
            heartbeat.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
            let lost = UInt64(handoff.take(waitingUpTo: .milliseconds(200)).count) + handoff.takeDropped()
            extra.resultsLost += lost
            publish()
        }
    }

    private func step() {
        let now = MonotonicClock.nanoseconds()
        heartbeat.store(now, ordering: .relaxed)
        let deadline = machine.nextDeadline(now: now)
        let wait = min(20_000_000, deadline > now ? deadline - now : 0)
        let incoming = handoff.take(waitingUpTo: .nanoseconds(Int64(wait)))
        let refused = handoff.takeDropped()
        if refused > 0 {
            machine.countLost(refused, reason: "\(refused) results refused by the full hand-off from the probing loop (the shipper fell behind)")
        }
        if !incoming.isEmpty { admit(incoming) }
        collectAnswers()
        perform(machine.poll(now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
        do { try spill.maintain(nowNanos: Int64(Self.wallMs()) * 1_000_000) } catch { note(error, "spill maintenance") }
        machineStalled.store(machine.isStalled(now: MonotonicClock.nanoseconds()), ordering: .relaxed)
        publish()
    }

    /// New results: appended to the log first (write-ahead), then given to the machine.
    private func admit(_ records: [ResultRecord]) {
        let outcome: DeliveryStateMachine.LogOutcome
        if machine.admission(count: records.count) == .log {
            outcome = append(records[...])
        } else {
            outcome = .notLogged
        }
        perform(machine.received(records, outcome, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
    }

    /// Appends results as compressed blocks, all or none.
    private func append(_ records: ArraySlice<ResultRecord>) -> DeliveryStateMachine.LogOutcome {
        do {
            let blocks = try ResultBlock.encode(records)
            let timestamp = (records.last?.timestampMilliseconds ?? Self.wallMs()) * 1_000_000
            let end = try spill.append(blocks.map { SpillEntry(payload: $0.payload, timestampNanos: timestamp, weight: $0.count) })
            extra.spillBytesWritten += UInt64(blocks.reduce(0) { $0 + $1.payload.count })
            return .appended(end: LogPosition(end))
        } catch {
            extra.spillWriteErrors += 1
            note(error, "spill write")
            return .refused(reason: "\(error)")
        }
    }

    private func collectAnswers() {
        for (id, answer) in answers.take() {
            if let at = sentAt.removeValue(forKey: id) { extra.requestDurations.record(MonotonicClock.nanoseconds() - at) }
            let verdict = StoreResponse.classify(answer)
            perform(machine.answered(id, verdict, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
        }
    }

    private func perform(_ actions: [DeliveryStateMachine.Action]) {
        for action in actions {
            switch action {
            case .send(let id, let records):
                send(id, records)
            case .commit(let position):
                do { try spill.commit(through: Self.spillPosition(position)) } catch { note(error, "spill commit") }
            case .skipBacklog(let position):
                spill.skip(to: Self.spillPosition(position))
            case .readBacklog(let max):
                readBacklog(max)
            case .deadLetter(let records, let reason):
                deadLetter.put(body: try? WriteRequestEncoder.body(protobuf: requestBuilder.protobuf(records)),
                               why: reason, records: records, log: log)
            case .modeChanged(let mode, let reason):
                switch mode {
                case .degraded: log.warning("delivery mode degraded: \(reason); results kept in the spill log")
                default: log.notice("delivery mode \(mode.rawValue): \(reason)")
                }
                onModeChange(mode, reason)
                if mode == .normal { onBuffersFreed() }
            }
        }
    }

    private func send(_ id: UInt64, _ records: [ResultRecord]) {
        let body: Data
        do {
            body = try WriteRequestEncoder.body(protobuf: requestBuilder.protobuf(records))
        } catch {
            perform(machine.answered(id, .malformed(reason: "cannot encode: \(error)"), now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
            return
        }
        sentAt[id] = MonotonicClock.nanoseconds()
        store.send(body) { [answers, handoff] answer in
            answers.put(id, answer)
            handoff.wake()
        }
    }

    /// Reads about `max` results back from the log, block by block.
    private func readBacklog(_ max: Int) {
        var read: [(records: [ResultRecord], end: LogPosition)] = []
        var total = 0, reachedEnd = false
        do {
            while total < max {
                guard let record = try spill.read(max: 1).first else { reachedEnd = true; break }
                do {
                    let results = try ResultBlock.decode(record.payload)
                    read.append((results, LogPosition(record.position)))
                    total += results.count
                } catch {
                    extra.undecodableSpillRecords += 1
                    log.error("spill log: a record at \(record.position) cannot be decoded (\(error)); skipped and counted")
                    read.append(([], LogPosition(record.position)))
                }
            }
        } catch {
            note(error, "spill read")
        }
        perform(machine.backlogRead(read, reachedEnd: reachedEnd, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
    }

    // MARK: - Bookkeeping

    func note(_ error: Error, _ what: String) {
        machine?.note(problem: "\(what): \(error)")
        log.error("\(what) failed: \(error)")
    }

    private func publish() {
        var s = extra
        if let machine {
            s.counters = machine.counters
            s.memQueueDepth = machine.windowCount
            s.requestsInFlight = machine.requestsInFlight
            s.resultsPerRequest = machine.requestLimit
            s.mode = machine.mode.mode
            s.modeReason = machine.mode.reason
            s.modeChangedAt = Date(timeIntervalSince1970: Double(machine.mode.changedAtMilliseconds) / 1000)
            s.modeHistory = machine.mode.history
        }
        s.deadLetterBytes = deadLetter.bytes
        s.deadLetterDroppedRequests = deadLetter.droppedRequests
        s.deadLetterDroppedResults = deadLetter.droppedResults
        if let spill {
            let l = spill.stats
            s.spillBytes = l.bytesOnDisk
            s.spillSegments = l.segments
            // Not yet delivered: the log's uncommitted results less those of partly acknowledged
            // chunks that are delivered already.
            s.spillPendingRecords = max(0, l.pendingRecords - (machine?.doneNotCommitted ?? 0))
            s.spillOldestPendingAgeSeconds = l.oldestPendingAge(nowNanos: Int64(Self.wallMs()) * 1_000_000)
                .map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
            s.spillDroppedRecords = l.droppedRecords
            s.spillCorruptRecords = l.corruptRecords
            s.spillTornTailBytes = l.tornTailBytes
        }
        s.stalled = stallReason()
        published.withLock { $0 = s }
    }

    /// SIGTERM: the last results are logged, requests on their way get a short while to be
    /// answered (so their results need not be sent again), the log is flushed and closed.
    private func shutDown() {
        let rest = handoff.take(waitingUpTo: .zero)
        if !rest.isEmpty { admit(rest) }
        let until = MonotonicClock.nanoseconds() + 2_000_000_000
        while machine.requestsInFlight > 0 && MonotonicClock.nanoseconds() < until {
            usleep(10_000)
            collectAnswers()
        }
        // on_failure mode (or a disk that refused): what is only in memory goes to the log now.
        let unlogged = machine.takeUnlogged()
        if !unlogged.isEmpty, case .refused(let why) = append(unlogged[...]) {
            machine.countLost(UInt64(unlogged.count), reason: "lost at stop, the spill log refuses writes: \(why)")
            log.error("\(unlogged.count) results lost at stop: the spill log refuses writes (\(why))")
        }
        do { try spill.flush(); try spill.close() } catch { note(error, "spill close") }
        store.shutdown()
        publish()
        log.info("shipper stopped: \(spill.stats.pendingRecords) results waiting in the spill log")
    }

    /// The spill position this shipper put in a LogPosition (the machine only hands it back).
    static func spillPosition(_ p: LogPosition) -> SpillPosition {
        guard let position = p.value as? SpillPosition else { preconditionFailure("not a spill position: \(p.value)") }
        return position
    }


    static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
