import Foundation
import Logging
import ProbeAgentCore
import RemoteWrite
import ResultBlocks
import SpillLog
import Synchronization

/// Ships every probe result to one or several stores with Prometheus remote write, never
/// dropping one that was accepted (DESIGN.md, "Result pipeline (write-ahead)", "Several stores").
///
/// The policy — what to log, what to send when, what to commit, the modes — is the pure
/// ``DeliveryFanout`` (a ``DeliveryStateMachine`` per store); this class is its driver and only
/// carries its actions out: appends to the spill log (once for every store), reads from and
/// commits at each store's own reader of it, POSTs through each store's ``StoreLink``, dead
/// letters. In `write_ahead` mode (the default) every result is appended to the log,
/// compressed in blocks (``ResultBlock``), before it waits anywhere; in `on_failure` mode (one
/// store only) only when the store fails or memory is full. One thread serves every store:
/// requests are asynchronous, so a store that is slow or down holds back no other.
///
/// Threading: everything below is owned by the shipper thread; other threads read `stats` (a
/// locked copy) and ``stallReason(now:)``, and call `stop()`.
public final class Shipper: @unchecked Sendable {
    let options: ShipperOptions
    let log: Logger
    let handoff: ResultHandoff
    /// One per store, in `remote_write` order; store `i` is the fan-out's machine `i` and the
    /// spill log's reader `i`.
    let stores: [StoreLink]
    let deadLetter: DeadLetterBox
    /// Opened on the shipper thread (scanning a large log must not delay the first probe).
    var spill: SpillLog!
    var fanout: DeliveryFanout!
    /// The shipper's own counters (the log's I/O), shared by every store's stats.
    var extra = ShipperState()
    private let published: Mutex<[ShipperStats]>
    private let stopping = Atomic<Bool>(false)
    /// CLOCK_MONOTONIC ns when the shipper thread last went round its loop (0 before start).
    private let heartbeat = Atomic<UInt64>(0)
    /// Per store: its requests went unanswered for its stall_timeout (set by the shipper thread).
    private let unanswered: Mutex<[Bool]>
    /// How stall messages name each store and its stall_timeout, and the shipper thread's own
    /// limit (the smallest stall_timeout): fixed at start, so a stall check (every watchdog
    /// ping, status write and /health) formats nothing unless something is stalled.
    private let stallNames: [String], stallTimeouts: [String], threadStallLimit: UInt64
    /// Why the spill log could not be opened (then nothing is delivered), nil while it could.
    private let openFailure = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    /// Per store, the cap drops already logged (reportCapDrops).
    private var droppedReported: [Int] = []
    /// Results handed over while the spill log could not be opened (every one lost).
    private var lostWithoutLog: UInt64 = 0
    private let onModeChange: @Sendable (DeliveryMode, String) -> Void
    private let onBuffersFreed: @Sendable () -> Void

    /// Opens every store's HTTP client (a TLS or credential file that cannot be used is a clear
    /// error naming it). The spill log is opened (and scanned) on the shipper thread, under
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
        self.log = log
        self.handoff = handoff
        var links: [StoreLink] = []
        for store in options.stores {
            do { links.append(try StoreLink(options: store, log: log)) } catch {
                for l in links { l.client.shutdown() }
                throw error
            }
        }
        stores = links
        deadLetter = DeadLetterBox(directory: options.spillDirectory + "/dead-letter", maxBytes: options.deadLetterMaxBytes, log: log)
        extra.memQueueCap = options.memItemsCap
        extra.modeReason = "opening the spill log"
        published = Mutex(options.stores.map { _ in ShipperStats() })
        unanswered = Mutex(options.stores.map { _ in false })
        stallNames = links.map { links.count == 1 ? "the store" : "remote_write '\($0.name)'" }
        stallTimeouts = options.stores.map { DurationParser.format($0.stallTimeout) }
        threadStallLimit = UInt64(options.stores.map(\.stallTimeout).min()!.nanosecondsValue)
        publish()
    }

    /// Each store's delivery figures, in `remote_write` order.
    public var stats: [ShipperStats] { published.withLock { $0 } }

    /// Why delivery as a whole is stalled, or nil (``DeliveryStall`` has the rule): what
    /// /health and the systemd watchdog go by.
    public func stallReason(now: UInt64 = MonotonicClock.nanoseconds()) -> String? { stall(now: now).whole }

    /// Which stores are stalled and whether delivery as a whole is: the shipper thread has not
    /// gone round its loop for `stall_timeout` (a hung disk, a blocking call) or the log could
    /// not be opened (every store), or a store's requests are on their way and none was
    /// answered for its `stall_timeout` (that store).
    public func stall(now: UInt64 = MonotonicClock.nanoseconds()) -> DeliveryStall {
        var shared: String?
        let beat = heartbeat.load(ordering: .relaxed)
        let limit = threadStallLimit
        if let failure = openFailure.withLock({ $0 }) {
            shared = "delivery stopped: \(failure)"
        } else if beat > 0, now > beat, now - beat > limit {
            shared = "delivery stalled: the shipper thread has made no progress for \((now - beat) / 1_000_000_000) s (disk or store call blocked)"
        }
        return DeliveryStall(shared: shared, unanswered: unanswered.withLock { $0 },
                             names: stallNames, timeouts: stallTimeouts)
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
                for store in stores { store.client.shutdown() }
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
            // A reader per store, by name; the first takes over the `read.pos` of a one-store
            // release (SpillLog+Readers.swift), so its spill directory reads on after upgrade.
            spill = try SpillLog(directory: options.spillDirectory, options: options.spill, lock: options.spillLock,
                                 readers: stores.map(\.name), weigh: ResultBlock.weight)
        } catch {
            let why = "spill log \(options.spillDirectory) cannot be opened: \(error)"
            log.critical("\(why); results are neither kept nor shipped")
            openFailure.withLock { $0 = why }
            publish()
            return false
        }
        for warning in spill.openWarnings { log.warning("spill log: \(warning)") }
        for notice in spill.openNotices { log.notice("spill log: \(notice)") }
        let s = spill.stats
        if s.corruptRecords > 0 || s.tornTailBytes > 0 {
            log.warning("spill log repaired at open: \(s.corruptRecords) corrupt records skipped, \(s.tornTailBytes) torn-tail bytes truncated")
        }
        let now = MonotonicClock.nanoseconds()
        fanout = DeliveryFanout(options: stores.indices.map(options.machineOptions), backlogOnDisk: s.readers.map { $0.pendingRecords > 0 },
                                now: now, wallMs: Self.wallMs())
        for (i, reader) in s.readers.enumerated() where reader.pendingRecords > 0 {
            log.notice("resuming delivery of \(reader.pendingRecords) results from the spill log\(named(i, " to"))")
        }
        perform(fanout.poll(now: now, wallMs: Self.wallMs()))
        publish()
        return true
    }

    /// Store `i` in a stall message: "the store for over 30s" with one store (as it always
    /// read), "remote_write 'name' for over 30s" with several.
    /// " to 'name'" (with `preposition`) when there are several stores, "" with one (whose
    /// messages read as before).
    private func named(_ i: Int, _ preposition: String = "") -> String {
        stores.count == 1 ? "" : "\(preposition) remote_write '\(stores[i].name)'"
    }

    /// Without a spill log nothing can be kept: every result handed over is counted as lost
    /// (with the reason, which /health also shows) until the agent stops.
    private func countWhatCannotBeKept() {
        while !stopping.load(ordering: .acquiring) {
            heartbeat.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
            let lost = UInt64(handoff.take(waitingUpTo: .milliseconds(200)).count) + handoff.takeDropped()
            lostWithoutLog += lost
            publish()
        }
    }

    private func step() {
        let now = MonotonicClock.nanoseconds()
        heartbeat.store(now, ordering: .relaxed)
        let deadline = fanout.nextDeadline(now: now)
        let wait = min(20_000_000, deadline > now ? deadline - now : 0)
        let incoming = handoff.take(waitingUpTo: .nanoseconds(Int64(wait)))
        let refused = handoff.takeDropped()
        if refused > 0 {
            fanout.countLost(refused, reason: "\(refused) results refused by the full hand-off from the probing loop (the shipper fell behind)")
        }
        if !incoming.isEmpty { admit(incoming) }
        collectAnswers()
        perform(fanout.poll(now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
        do { try spill.maintain(nowNanos: Int64(Self.wallMs()) * 1_000_000) } catch { noteForAll(error, "spill maintenance") }
        reportCapDrops()
        let stalled = Set(fanout.stalledEndpoints(now: MonotonicClock.nanoseconds()))
        unanswered.withLock { $0 = stores.indices.map(stalled.contains) }
        publish()
    }

    /// A cap (spill.max_bytes, spill.max_age) that dropped results a store had not received
    /// yet is said in the log, naming the store whose backlog it was (also counted, per store,
    /// in its `spillDroppedRecords`).
    private func reportCapDrops() {
        let dropped = spill.droppedPerReader
        if droppedReported.isEmpty { droppedReported = dropped.map { _ in 0 } }
        for (i, total) in dropped.enumerated() where total > droppedReported[i] {
            let now = total - droppedReported[i]
            droppedReported[i] = total
            log.warning("spill log over spill.max_bytes or spill.max_age: \(now) results\(named(i, " for")) dropped before the store got them (\(total) since start)")
        }
    }

    /// New results: appended to the log first (write-ahead), once for every store, then given
    /// to every store's machine.
    private func admit(_ records: [ResultRecord]) {
        let outcome: DeliveryStateMachine.LogOutcome
        if fanout.admission(count: records.count) == .log {
            outcome = append(records[...])
        } else {
            outcome = .notLogged
        }
        perform(fanout.received(records, outcome, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
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
            noteForAll(error, "spill write")
            return .refused(reason: "\(error)")
        }
    }

    private func collectAnswers() {
        for (i, store) in stores.enumerated() {
            for (id, answer) in store.takeAnswers() {
                let verdict = StoreResponse.classify(answer)
                perform(fanout.answered(i, id, verdict, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
            }
        }
    }

    private func perform(_ actions: [DeliveryFanout.Tagged]) {
        for tagged in actions {
            let i = tagged.endpoint
            switch tagged.action {
            case .send(let id, let records):
                if let why = stores[i].send(id, records, wake: { [handoff] in handoff.wake() }) {
                    perform(fanout.answered(i, id, .malformed(reason: why), now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
                }
            case .commit(let position):
                do { try spill.commit(through: Self.spillPosition(position), reader: i) } catch { note(i, error, "spill commit") }
            case .skipBacklog(let position):
                spill.skip(to: Self.spillPosition(position), reader: i)
            case .readBacklog(let max):
                readBacklog(i, max)
            case .deadLetter(let records, let reason):
                deadLetter.put(body: try? WriteRequestEncoder.body(protobuf: stores[i].requestBuilder.protobuf(records)),
                               why: stores.count == 1 ? reason : "remote_write '\(stores[i].name)' (\(stores[i].options.url)): \(reason)",
                               records: records, log: log)
            case .modeChanged(let mode, let reason):
                let why = stores.count == 1 ? reason : "remote_write '\(stores[i].name)': \(reason)"
                switch mode {
                case .degraded: log.warning("delivery mode degraded\(named(i, " for")): \(reason); results kept in the spill log")
                default: log.notice("delivery mode \(mode.rawValue)\(named(i, " for")): \(reason)")
                }
                onModeChange(mode, why)
                if mode == .normal { onBuffersFreed() }
            }
        }
    }

    /// Reads about `max` results back from the log at store `i`'s reader, block by block.
    private func readBacklog(_ i: Int, _ max: Int) {
        var read: [(records: [ResultRecord], end: LogPosition)] = []
        var total = 0, reachedEnd = false
        do {
            while total < max {
                guard let record = try spill.read(max: 1, reader: i).first else { reachedEnd = true; break }
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
            note(i, error, "spill read")
        }
        perform(fanout.backlogRead(i, read, reachedEnd: reachedEnd, now: MonotonicClock.nanoseconds(), wallMs: Self.wallMs()))
    }

    // MARK: - Bookkeeping

    /// A failure of store `i`'s own use of the log (its read or commit).
    func note(_ i: Int, _ error: Error, _ what: String) {
        fanout?.note(i, problem: "\(what): \(error)")
        log.error("\(what)\(named(i, " for")) failed: \(error)")
    }

    /// A failure of the shared log (an append, upkeep, close): every store's problem.
    func noteForAll(_ error: Error, _ what: String) {
        fanout?.noteForAll(problem: "\(what): \(error)")
        log.error("\(what) failed: \(error)")
    }

    private func publish() {
        let l = spill?.stats
        let nowNanos = Int64(Self.wallMs()) * 1_000_000
        let stalled = stall().stores
        var all: [ShipperStats] = []
        for (i, store) in stores.enumerated() {
            var s = ShipperStats()
            s.state = extra
            s.endpoint = store.name
            s.url = store.options.url
            s.backfillRatePerSecond = store.options.backfillRate
            s.requestDurations = store.requestDurations
            s.bodyBytesSent = store.bodyBytesSent
            if let machine = fanout?.machines[i] {
                s.counters = machine.counters
                s.memQueueDepth = machine.windowCount
                s.requestsInFlight = machine.requestsInFlight
                s.resultsPerRequest = machine.requestLimit
                s.mode = machine.mode.mode
                s.modeReason = machine.mode.reason
                s.modeChangedAt = Date(timeIntervalSince1970: Double(machine.mode.changedAtMilliseconds) / 1000)
                s.modeHistory = machine.mode.history
            }
            s.resultsLost += lostWithoutLog
            if let failure = openFailure.withLock({ $0 }) { s.lastError = failure }
            s.deadLetterBytes = deadLetter.bytes
            s.deadLetterDroppedRequests = deadLetter.droppedRequests
            s.deadLetterDroppedResults = deadLetter.droppedResults
            if let l {
                let reader = l.readers[i]
                s.spillBytes = l.bytesOnDisk
                s.spillSegments = l.segments
                // Not yet delivered: the reader's uncommitted results less those of partly
                // acknowledged chunks that are delivered already.
                s.spillPendingRecords = max(0, reader.pendingRecords - (fanout?.machines[i].doneNotCommitted ?? 0))
                s.spillOldestPendingAgeSeconds = reader.oldestPendingAge(nowNanos: nowNanos)
                    .map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
                s.spillDroppedRecords = reader.droppedRecords
                s.spillCorruptRecords = l.corruptRecords
                s.spillTornTailBytes = l.tornTailBytes
            }
            s.stalled = stalled[i]
            all.append(s)
        }
        published.withLock { $0 = all }
    }

    /// SIGTERM: the last results are logged, requests on their way get a short while to be
    /// answered (so their results need not be sent again), the log is flushed and closed.
    private func shutDown() {
        let rest = handoff.take(waitingUpTo: .zero)
        if !rest.isEmpty { admit(rest) }
        let until = MonotonicClock.nanoseconds() + 2_000_000_000
        while fanout.requestsInFlight > 0 && MonotonicClock.nanoseconds() < until {
            usleep(10_000)
            collectAnswers()
        }
        // on_failure mode (or a disk that refused): what is only in memory goes to the log now.
        // With several stores each holds what it has not delivered of the same batches: the
        // union goes, in order (a store that had some of them gets them again: at-least-once).
        var unlogged: [ResultRecord] = []
        var seen = Set<ResultRecord>()
        for i in stores.indices {
            for r in fanout.takeUnlogged(i) where stores.count == 1 || seen.insert(r).inserted { unlogged.append(r) }
        }
        if stores.count > 1 { unlogged.sort { $0.timestampMilliseconds < $1.timestampMilliseconds } }
        if !unlogged.isEmpty, case .refused(let why) = append(unlogged[...]) {
            fanout.countLost(UInt64(unlogged.count), reason: "lost at stop, the spill log refuses writes: \(why)")
            log.error("\(unlogged.count) results lost at stop: the spill log refuses writes (\(why))")
        }
        do { try spill.flush(); try spill.close() } catch { noteForAll(error, "spill close") }
        for store in stores { store.client.shutdown() }
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
