import AdminAPI
import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine
import Shipper

/// What the probing loop owns; used only on the loop thread.
///
/// One iteration: take requests (reload, stop, DNS answers) → take due probes from the
/// schedule, one batch per protocol → submit them (a full engine keeps the rest for the next
/// round: back-pressure, not loss) → sleep in the engine until the next deadline or a result →
/// count results. Time is CLOCK_MONOTONIC nanoseconds throughout.
final class LoopState {
    let engine: Engine
    private let control: AgentLoop
    private let log: Logger
    private let configPath: String
    /// The config as the operator wrote it.
    private var config: AgentConfig
    /// The config the schedule runs: `config` with the hostnames of `all_addresses` monitors
    /// expanded to their addresses (``ExpandedTarget``); the same value when there are none.
    private var probed: AgentConfig
    private var schedule: Schedule
    private var ledger: ResultLedger
    private var addresses: AddressBook
    private let resolver: BackgroundResolver
    /// Probes due but not yet taken by the engine: `pending[pendingHead...]`.
    private var pending: [ProbeRequest] = []
    private var pendingHead = 0
    /// Where results go for delivery (nil: no remote_write, results are only counted here).
    private let shipper: (handoff: ResultHandoff, stats: @Sendable () -> ShipperStats, stop: @Sendable () -> Void, stallReason: @Sendable () -> String?)?
    private var outbox: [ResultRecord] = []
    private var labelsByMonitor: [String: [(String, String)]] = [:]
    /// Whether any monitor has `all_addresses` (only then can a target be `name/address`):
    /// kept with the config, so a result does not scan its target for the separator otherwise.
    private var expandsAddresses = false
    private var staleResults: UInt64 = 0
    /// When each probe left (kernel TX stamp) minus when it was due: the scheduler's lateness
    /// plus the time the engine took to get it out with the rest of its batch.
    private var sendLateness = DurationHistogram()
    private(set) var reloads = ReloadStatus()
    private let status: StatusWriter?
    private let statusInterval: UInt64
    private var nextStatusAt: UInt64 = 0
    /// Delivery's stall as last reported (an event and a log line on each change), checked
    /// once a second.
    private var reportedStall: String?
    private var nextStallCheckAt: UInt64 = 0
    private var service: ServiceHeartbeat // systemd: READY=1, WATCHDOG=1 (ServiceHeartbeat.swift)
    private let events: EventHub
    /// Monitors whose failures are suppressed right now (to report when that changes).
    private var suppressed: Set<String> = []
    /// Work per loop turn, by phase (LoopTurnClock.swift).
    private(set) var turnClock = LoopTurnClock()
    let startedAt = Date()
    /// What the loop thread runs at: `normal`, `realtime (SCHED_RR 1)`, or why not realtime.
    private let loopPriority: String

    init(engine: Engine, configPath: String, config: AgentConfig, statusFile: String?, statusInterval: Duration,
         shipper: (handoff: ResultHandoff, stats: @Sendable () -> ShipperStats, stop: @Sendable () -> Void, stallReason: @Sendable () -> String?)?, events: EventHub,
         loopPriority: String, log: Logger, control: AgentLoop) {
        self.events = events
        self.loopPriority = loopPriority
        self.configPath = configPath
        self.shipper = shipper
        self.config = config
        self.log = log
        self.control = control
        self.statusInterval = UInt64(statusInterval.nanosecondsValue)
        status = statusFile.map(StatusWriter.init(path:))
        self.engine = engine
        // No lookup here: IP literals are probed from the first tick, and each hostname from
        // its first answer (BackgroundResolver), so a hung resolver delays neither them nor
        // READY=1.
        addresses = AddressBook(config: config)
        probed = config.expandingAddresses { _ in nil }
        let now = monotonicNanos()
        schedule = Schedule(config: probed, now: now)
        var stalled: @Sendable () -> Bool = { false }
        if let reason = shipper?.stallReason { stalled = { reason() != nil } }
        service = ServiceHeartbeat(config: probed, now: now, deliveryStalled: stalled)
        ledger = ResultLedger(config: probed)
        labelsByMonitor = Self.labels(config)
        expandsAddresses = config.expandsAddresses
        nextStatusAt = now
        resolver = BackgroundResolver(interval: config.scheduler.resolveInterval, timeout: config.scheduler.resolveTimeout)
        resolver.setNames(addresses.hostnames)
        resolver.start { [control] in control.deliver($0) }
        if !addresses.hostnames.isEmpty {
            log.info("resolving \(addresses.hostnames.count) hostname(s) in the background; each is probed from its first answer")
        }
        let targets = config.targetCount
        log.info("probing \(config.monitors.count) monitors, \(targets) targets (tick \(DurationParser.format(config.scheduler.tick)))")
        if config.remoteWrite == nil {
            log.notice("no remote_write configured: results are counted here (status file) but not shipped")
        }
        FreedMemory.release() // what parsing the config and building the tables left behind
    }

    func run() {
        while true {
            turnClock.begin(monotonicNanos(), cpu: CallingThread.cpuNanoseconds())
            let requests = control.takeRequests()
            if requests.stop { break }
            if let names = requests.resolved { mergeResolved(names) }
            for r in requests.reloads { apply(r) }
            var now = monotonicNanos()
            turnClock.lap(.requests, now)
            control.lastTurn.store(now, ordering: .relaxed)
            if requests.wantsSummary {
                let summary = summarize()
                for w in requests.summaryWaiters { w(summary) }
                if !requests.snapshotWaiters.isEmpty {
                    let snap = snapshot(summary)
                    for w in requests.snapshotWaiters { w(snap) }
                }
                turnClock.lap(.snapshot, monotonicNanos())
            }
            if now >= nextStatusAt {
                writeStatus()
                nextStatusAt = now + statusInterval
                turnClock.lap(.status, monotonicNanos())
            }
            if now >= nextStallCheckAt {
                nextStallCheckAt = now + 1_000_000_000
                reportDeliveryStall()
            }
            now = monotonicNanos()
            for batch in schedule.poll(now: now) { enqueue(batch) }
            turnClock.lap(.schedule, monotonicNanos())
            var submitted = 0
            if pendingHead < pending.count {
                submitted = engine.submit(pending[pendingHead...])
                pendingHead += submitted
                if pendingHead == pending.count {
                    // Once a burst (start-up, a stall) has drained, let its buffer go (a tick is ~350).
                    if pending.capacity > 16_384 {
                        pending = []
                        FreedMemory.releaseInBackground()
                    } else {
                        pending.removeAll(keepingCapacity: true)
                    }
                    pendingHead = 0
                } else if pendingHead > 4096 && pendingHead > pending.count / 2 {
                    pending.removeFirst(pendingHead) // amortised: a backlog's sent half goes at once
                    pendingHead = 0
                }
                if submitted > 0 && !control.probing.load(ordering: .relaxed) { probingStarted() }
            }
            service.beat(now: now, submitted: submitted) // systemd READY=1 / WATCHDOG=1 (ServiceHeartbeat.swift)
            now = monotonicNanos()
            turnClock.lap(.submit, now)
            let cpuBeforeWait = CallingThread.cpuNanoseconds()
            let results = engine.poll(timeoutMilliseconds: waitMilliseconds(now: now))
            turnClock.skip(monotonicNanos(), cpuWhileWaiting: CallingThread.cpuNanoseconds() &- cpuBeforeWait)
            for r in results { count(r) }
            turnClock.lap(.results, monotonicNanos())
            handOver()
            let end = monotonicNanos()
            turnClock.lap(.handover, end)
            if let slow = turnClock.end(end, cpu: CallingThread.cpuNanoseconds()) { report(slow) }
        }
        shutDown()
    }

    /// Every slow turn at debug level; at most one a minute at info, with the count since.
    private func report(_ slow: LoopTurnClock.SlowTurn) {
        let took = "probing loop turn took \(LoopTurnClock.SlowTurn.milliseconds(slow.workNanoseconds)) ms (\(slow.phasesText))\(slow.cpuText)"
        guard slow.shouldLog else { return log.debug("\(took)") }
        let bound = turnClock.slowTurnNanoseconds / 1_000_000
        log.info("\(took); probes due meanwhile went out that late; \(slow.slowSinceLastLogged) turn(s) over \(bound) ms since the last such line")
    }

    private func waitMilliseconds(now: UInt64) -> Int32 {
        var until = nextStatusAt
        if let d = schedule.nextDeadline() { until = min(until, d) }
        if pendingHead < pending.count { until = min(until, now + 5_000_000) }
        until = min(until, service.nextPingAt)
        guard until > now else { return 0 }
        return Int32(min(1000, (until - now + 999_999) / 1_000_000))
    }

    private func enqueue(_ batch: ProbeBatch) {
        let kind: ProbeKind = switch batch.probeProtocol {
        case .icmp: .icmp
        case .tcpSyn: .tcpSyn
        case .tcpConnect: .tcpConnect
        }
        for p in batch.probes {
            guard let address = addresses.address(monitorID: p.monitorID, targetIndex: p.targetIndex, target: p.target) else {
                _ = schedule.complete(p.cookie)
                record(p.cookie, monitorID: p.monitorID, target: p.target, probeProtocol: batch.probeProtocol,
                       outcome: .unresolved, rtt: nil, sentAt: nil)
                continue
            }
            let ms = UInt32(clamping: max(1, p.timeout.nanosecondsValue / 1_000_000))
            pending.append(ProbeRequest(cookie: p.cookie.rawValue, address: address, kind: kind,
                                        port: p.port ?? 0, timeoutMilliseconds: ms, dueNanoseconds: p.scheduled))
        }
    }

    private func count(_ r: ProbeResult) {
        let cookie = ProbeCookie(rawValue: r.cookie)
        // A result for an entry a reload removed or replaced belongs to nobody now.
        guard let owner = schedule.owner(of: cookie), schedule.complete(cookie) else {
            staleResults += 1
            return
        }
        if let d = r.sendDelayNanoseconds { sendLateness.record(d) }
        record(cookie, monitorID: owner.monitorID, target: owner.target, probeProtocol: owner.probeProtocol,
               outcome: Self.outcome(r.status), rtt: r.rttNanoseconds, sentAt: r.sentAtNanoseconds)
    }

    private func record(_ cookie: ProbeCookie, monitorID: String, target: String, probeProtocol: ProbeProtocol,
                        outcome: ProbeOutcome, rtt: UInt64?, sentAt: UInt64?) {
        let (suppressed, transition) = ledger.record(cookie, monitorID: monitorID, outcome: outcome,
                                                     rttNanoseconds: rtt, sentAtNanoseconds: sentAt)
        if shipper != nil {
            let ms = sentAt.map { Int64($0 / 1_000_000) } ?? Int64(Date().timeIntervalSince1970 * 1000)
            var name = target
            var labels = labelsByMonitor[monitorID] ?? []
            if expandsAddresses, let (host, address) = ExpandedTarget.split(target) { // all_addresses: its own series
                name = String(host)
                labels.append(("address", String(address)))
            }
            outbox.append(ResultRecord(monitorID: monitorID, target: name, probeProtocol: probeProtocol, outcome: outcome,
                                       suppressed: suppressed, rttNanoseconds: outcome == .ok ? rtt : nil,
                                       timestampMilliseconds: ms, labels: labels))
        }
        if let t = transition {
            if t.isDown {
                events.publish(AgentEvent(kind: .monitorDown, monitor: t.monitorID, message: "monitor \(t.monitorID) down: all \(t.totalTargets) targets failing"))
            } else {
                events.publish(AgentEvent(kind: .monitorUp, monitor: t.monitorID, message: "monitor \(t.monitorID) up: \(t.totalTargets - t.failingTargets) of \(t.totalTargets) targets answering"))
            }
            reportSuppressionChanges()
        }
    }

    /// After a monitor went up or down (or a reload): which monitors' failures are suppressed
    /// now, compared with before. O(monitors), and only on transitions.
    private func reportSuppressionChanges() {
        let now = Set(config.monitors.map(\.id).filter { ledger.isSuppressed($0) })
        for id in now.subtracting(suppressed).sorted() {
            events.publish(AgentEvent(kind: .monitorSuppressed, monitor: id, message: "monitor \(id) suppressed: a monitor it depends on is down"))
        }
        for id in suppressed.subtracting(now).sorted() where config.monitor(id: id) != nil {
            events.publish(AgentEvent(kind: .monitorUnsuppressed, monitor: id, message: "monitor \(id) no longer suppressed"))
        }
        suppressed = now
    }

    private func probingStarted() {
        control.probing.store(true, ordering: .relaxed)
        let targets = probed.targetCount
        events.publish(AgentEvent(kind: .started, message: "probing started: \(config.monitors.count) monitors, \(targets) targets"))
    }

    /// A delivery stall (Shipper.stallReason) starting or ending: an event on the admin stream
    /// and a log line, once per change; /health and the watchdog read the stall themselves.
    private func reportDeliveryStall() {
        let reason = shipper?.stallReason()
        guard (reason == nil) != (reportedStall == nil) else { return }
        if let reason {
            events.publish(AgentEvent(kind: .deliveryStalled, message: reason))
        } else {
            events.publish(AgentEvent(kind: .deliveryResumed, message: "delivery resumed: the shipper is making progress again"))
        }
        reportedStall = reason
    }

    /// This iteration's results to the shipper, in one handoff.
    private func handOver() {
        guard let shipper, !outbox.isEmpty else { return }
        shipper.handoff.put(outbox) // the array itself, not a copy of its records
        outbox = []
        outbox.reserveCapacity(512)
    }

    static func labels(_ config: AgentConfig) -> [String: [(String, String)]] {
        Dictionary(uniqueKeysWithValues: config.monitors.map { m in (m.id, m.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) })
    }

    static func outcome(_ s: ProbeStatus) -> ProbeOutcome {
        switch s {
        case .ok: .ok
        case .timeout: .timeout
        case .refused: .refused
        case .unreachable: .unreachable
        case .error: .error
        }
    }

    private func mergeResolved(_ names: ResolvedNames) {
        let (changed, failing) = addresses.merge(names)
        for n in changed {
            let list = addresses.addressTexts(n)?.joined(separator: ", ") ?? "-"
            log.info("target '\(n)' resolves to \(list)")
        }
        for n in failing {
            let kept = addresses.address(forHostname: n).map { "keeping \($0)" } ?? "no address yet"
            log.warning("cannot resolve target '\(n)': \(addresses.failures[n] ?? "?"); \(kept)")
        }
        if !changed.isEmpty && config.expandsAddresses { expandAddresses() }
    }

    /// `all_addresses` monitors whose names now resolve to other addresses: their targets are
    /// the new addresses (such a monitor is re-phased and its counters start again, like a
    /// monitor changed by a reload; the other monitors are untouched).
    private func expandAddresses() {
        let expanded = config.expandingAddresses(addresses.addressTexts)
        guard expanded != probed else { return }
        for m in expanded.monitors where m.allAddresses { addresses.setScheduledTargets(of: m) }
        let report = install(expanded)
        if !report.changed.isEmpty {
            log.info("all_addresses: monitor(s) \(report.changed.joined(separator: ", ")) now probe the addresses their names resolve to")
        }
        reportSuppressionChanges()
    }

    /// Swaps the schedule and the ledger to `expanded` (unchanged monitors keep their entries,
    /// phases and counters).
    private func install(_ expanded: AgentConfig) -> ReloadReport {
        let report = schedule.apply(expanded, now: monotonicNanos())
        var recount: [String: [Int]] = [:]
        for id in report.changed + report.added { recount[id] = schedule.cookies(monitorID: id).map(\.slot) }
        ledger.apply(expanded, removedSlots: report.removedCookies.map(\.slot), recount: recount)
        probed = expanded
        return report
    }

    /// Swaps in a config the reloader loaded and validated (or records why it refused the file).
    /// Unchanged monitors keep their schedule and counters; nothing here parses or resolves.
    private func apply(_ outcome: ReloadOutcome) {
        guard let new = outcome.config, var book = outcome.addresses else {
            let text = outcome.failure ?? "unknown error"
            reloads.failed += 1
            reloads.lastError = text
            reloads.lastAt = Date()
            events.publish(AgentEvent(kind: .reloadFailed, message: "config reload (\(outcome.reason)) failed, keeping the running config: \(text)"))
            outcome.reply?(ReloadReply(ok: false, error: text))
            service.reloadFailed(text)
            return
        }
        book.keepLastGood(from: addresses)
        let expanded = new.expandingAddresses(book.addressTexts)
        for m in expanded.monitors where m.allAddresses { book.setScheduledTargets(of: m) }
        let report = install(expanded)
        addresses = book
        for (name, why) in book.failures.sorted(by: { $0.key < $1.key }) {
            let kept = book.address(forHostname: name).map { "keeping \($0)" } ?? "no address yet"
            log.warning("cannot resolve target '\(name)': \(why); \(kept)")
        }
        resolver.setNames(addresses.hostnames)
        if (new.remoteWrite == nil) != (config.remoteWrite == nil) || new.remoteWrite != config.remoteWrite
            || new.spill != config.spill || new.queue != config.queue || new.http != config.http
            || new.admin != config.admin || new.metrics != config.metrics || new.logLevel != config.logLevel
            || new.scheduler.loopPriority != config.scheduler.loopPriority || new.process != config.process {
            log.warning("remote_write, spill, queue, http, admin, metrics, log_level, scheduler.loop_priority and process changes take effect at the next restart")
        }
        labelsByMonitor = Self.labels(new)
        expandsAddresses = new.expandsAddresses
        config = new
        reloads.succeeded += 1
        reloads.lastError = nil
        reloads.lastAt = Date()
        reloads.last = report
        service.reloaded(config: probed)
        events.publish(AgentEvent(kind: .reloaded, message: "config reloaded (\(outcome.reason)): \(report.unchanged.count) unchanged, \(report.changed.count) changed, \(report.added.count) added, \(report.removed.count) removed monitors"))
        outcome.reply?(ReloadReply(ok: true, error: nil, unchanged: report.unchanged, changed: report.changed,
                                   added: report.added, removed: report.removed))
        reportSuppressionChanges()
        // The replaced config and tables, freed by now; trimming takes a few ms at 100k
        // targets, so not on this thread.
        FreedMemory.releaseInBackground()
    }

    /// SIGTERM: no new probes; every probe in flight finishes (bounded by the longest timeout).
    private func shutDown() {
        events.publish(AgentEvent(kind: .stopping, message: "stopping: no new probes; \(engine.inFlight) in flight will finish"))
        resolver.stop()
        let longest = config.monitors.map { $0.timeout.nanosecondsValue }.max() ?? 1_000_000_000
        let giveUp = monotonicNanos() + UInt64(longest) + 2_000_000_000
        while engine.inFlight > 0 && monotonicNanos() < giveUp {
            for r in engine.poll(timeoutMilliseconds: 100) { count(r) }
            handOver()
        }
        log.info("\(pending.count - pendingHead) probes not yet sent were dropped at stop; \(engine.inFlight) still in flight")
        shipper?.stop() // persists what was not delivered; the status below then shows it
        writeStatus(synchronously: true)
    }

    /// The loop's counters and monitor states now: O(monitors), no table held. The suppressed
    /// set is the one kept current on every transition and reload (reportSuppressionChanges).
    private func summarize() -> LoopSummary {
        LoopSummary(startedAt: startedAt, configPath: configPath, config: probed, scheduleStats: schedule.stats,
                    lateness: schedule.lateness, sendLateness: sendLateness, down: Set(ledger.health.lazy.filter { $0.value.isDown }.map(\.key)),
                    suppressed: suppressed, resolverFailures: addresses.failures, engine: engine.stats,
                    engineInfo: engine.info, reloads: reloads, staleResults: staleResults,
                    pendingSends: pending.count - pendingHead, inFlight: engine.inFlight,
                    probing: control.probing.load(ordering: .relaxed), loopTurns: turnClock.turns,
                    loopPriority: loopPriority)
    }

    /// The summary plus the tables, from copy-on-write values (cheap to take here; see
    /// ``LoopSnapshot`` for what holding it costs the loop).
    private func snapshot(_ summary: LoopSummary? = nil) -> LoopSnapshot {
        LoopSnapshot(summary: summary ?? summarize(), schedule: schedule, ledger: ledger, addresses: addresses)
    }

    /// Builds and writes the JSON on the writer's queue, so a 100k-target snapshot never stalls probing.
    private func writeStatus(synchronously: Bool = false) {
        guard let status else { return }
        let snap = snapshot()
        let delivery = shipper?.stats()
        status.write(synchronously: synchronously, log: log) { StatusSnapshot(snap, delivery: delivery) }
    }
}

struct ReloadStatus: Sendable {
    var succeeded = 0
    var failed = 0
    var lastAt: Date?
    var lastError: String?
    var last: ReloadReport?
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
