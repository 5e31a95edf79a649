import AdminAPI
import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine
import Shipper

/// The probing loop's driver, on the loop thread: it carries out what ``ProbeLoop`` (pure,
/// ProbeAgentCore) decides, on the engine, the shipper, the resolver, systemd and the status
/// file, and publishes its notices (LoopState+Notices.swift). Time is CLOCK_MONOTONIC
/// nanoseconds (``MonotonicClock``) throughout.
final class LoopState {
    let engine: Engine
    let control: AgentLoop
    let log: Logger
    let configPath: String
    var loop: ProbeLoop
    private let resolver: BackgroundResolver
    /// Where results go for delivery (nil: no remote_write, results are only counted here).
    let shipper: ShipperHandle?
    let status: StatusWriter?
    /// Delivery's stall as last reported (an event and a log line on each change).
    /// Per store, stalled as last reported (reportDeliveryStall).
    var reportedStall: [Bool] = []
    var service: ServiceHeartbeat // systemd: READY=1, WATCHDOG=1 (ServiceHeartbeat.swift)
    let events: EventHub
    /// Work per loop turn, by phase (LoopTurnClock.swift).
    var turnClock = LoopTurnClock()
    let startedAt = Date()
    /// What the loop thread runs at: `normal`, `realtime (SCHED_RR 1)`, or why not realtime.
    let loopPriority: String

    init(engine: Engine, configPath: String, config: AgentConfig, statusFile: String?, statusInterval: Duration,
         shipper: ShipperHandle?, events: EventHub, loopPriority: String, log: Logger, control: AgentLoop) {
        (self.engine, self.configPath, self.shipper, self.events, self.loopPriority, self.log, self.control) =
            (engine, configPath, shipper, events, loopPriority, log, control)
        status = statusFile.map(StatusWriter.init(path:))
        let now = MonotonicClock.nanoseconds()
        loop = ProbeLoop(config: config, now: now, shipping: shipper != nil, statusInterval: UInt64(statusInterval.nanosecondsValue))
        var stalled: @Sendable () -> Bool = { false }
        if let stall = shipper?.stall { stalled = { stall().whole != nil } }
        service = ServiceHeartbeat(config: loop.probed, now: now, deliveryStalled: stalled)
        resolver = BackgroundResolver(interval: config.scheduler.resolveInterval, timeout: config.scheduler.resolveTimeout)
        resolver.setNames(loop.addresses.hostnames)
        resolver.start { [control] in control.deliver($0) }
        announceStart()
        FreedMemory.release() // what parsing the config and building the tables left behind
    }

    func run() {
        while true {
            turnClock.begin(MonotonicClock.nanoseconds(), cpu: CallingThread.cpuNanoseconds())
            let requests = control.takeRequests()
            if requests.stop { break }
            if let names = requests.resolved { loop.resolved(names, now: MonotonicClock.nanoseconds()) }
            for r in requests.reloads { apply(r) }
            var now = MonotonicClock.nanoseconds()
            turnClock.lap(.requests, now)
            control.lastTurn.store(now, ordering: .relaxed)
            answer(requests)
            let due = loop.housekeeping(now: now)
            if due.writeStatus {
                writeStatus()
                turnClock.lap(.status, MonotonicClock.nanoseconds())
            }
            if due.checkStall { reportDeliveryStall() }
            now = MonotonicClock.nanoseconds()
            loop.poll(now: now, wallMilliseconds: Self.wallMilliseconds())
            turnClock.lap(.schedule, MonotonicClock.nanoseconds())
            let submitted = loop.pendingCount > 0 ? engine.submit(loop.pendingProbes) : 0
            if loop.submitted(submitted) { FreedMemory.releaseInBackground() }
            service.beat(now: now, submitted: submitted)
            publishNotices()
            now = MonotonicClock.nanoseconds()
            turnClock.lap(.submit, now)
            let cpuBeforeWait = CallingThread.cpuNanoseconds()
            let results = engine.poll(timeoutMilliseconds: loop.waitMilliseconds(now: now, until: service.nextPingAt))
            turnClock.skip(MonotonicClock.nanoseconds(), cpuWhileWaiting: CallingThread.cpuNanoseconds() &- cpuBeforeWait)
            loop.completed(results, wallMilliseconds: Self.wallMilliseconds(), now: MonotonicClock.nanoseconds())
            turnClock.lap(.results, MonotonicClock.nanoseconds())
            handOver()
            publishNotices()
            let end = MonotonicClock.nanoseconds()
            turnClock.lap(.handover, end)
            if let slow = turnClock.end(end, cpu: CallingThread.cpuNanoseconds()) { report(slow) }
        }
        shutDown()
    }

    /// This turn's results to the shipper, in one handoff (the array itself, not a copy).
    private func handOver() {
        let results = loop.takeResults()
        guard let shipper, !results.isEmpty else { return }
        shipper.handoff.put(results)
    }

    /// Swaps in a config the reloader loaded and validated (or records why it refused the file).
    private func apply(_ outcome: ReloadOutcome) {
        guard let prepared = outcome.prepared else {
            let text = outcome.failure ?? "unknown error"
            loop.reloadFailed(text, reason: outcome.reason, at: Date())
            outcome.reply?(ReloadReply(ok: false, error: text))
            service.reloadFailed(text)
            return publishNotices()
        }
        // The replaced config, label table and address book are freed off this thread: at 100k
        // targets with labels that is 100k deallocations, milliseconds of a loop turn. Taken out
        // of the box there, so whichever thread lets go of the box last, the tables die there.
        // A file reload then gives the freed memory back to the system; a discovery refresh
        // does not: trimming holds malloc's locks while the loop allocates, and the next
        // refresh reuses the memory anyway.
        let replaced = TakeOnce((loop.config, loop.seriesLabels, loop.addresses))
        let report = loop.reload(prepared, reason: outcome.reason, now: MonotonicClock.nanoseconds(), at: Date())
        let trim = outcome.loaded != nil
        DispatchQueue.global(qos: .background).async {
            _ = replaced.take()
            if trim { FreedMemory.releaseInBackground() }
        }
        resolver.setNames(loop.addresses.hostnames)
        service.reloaded(config: loop.probed)
        outcome.reply?(ReloadReply(ok: true, error: nil, unchanged: report.unchanged, changed: report.changed,
                                   added: report.added, removed: report.removed, retargeted: report.retargeted))
        publishNotices()
    }

    /// SIGTERM: no new probes; every probe in flight finishes (bounded by the longest timeout).
    private func shutDown() {
        events.publish(AgentEvent(kind: .stopping, message: "stopping: no new probes; \(engine.inFlight) in flight will finish"))
        resolver.stop()
        let dropped = loop.stop()
        let giveUp = loop.drainDeadline(now: MonotonicClock.nanoseconds())
        while engine.inFlight > 0 && MonotonicClock.nanoseconds() < giveUp {
            loop.completed(engine.poll(timeoutMilliseconds: 100), wallMilliseconds: Self.wallMilliseconds())
            handOver()
        }
        publishNotices()
        log.info("\(dropped) probes not yet sent were dropped at stop; \(engine.inFlight) still in flight")
        shipper?.stop() // persists what was not delivered; the status below then shows it
        writeStatus(synchronously: true)
    }

    static func wallMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
