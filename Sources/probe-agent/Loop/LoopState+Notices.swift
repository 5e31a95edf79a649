import AdminAPI
import Foundation
import Logging
import ProbeAgentCore

/// What the loop tells the world: its notices as admin events and log lines.
extension LoopState {
    func announceStart() {
        let c = loop.config
        if !loop.addresses.hostnames.isEmpty {
            log.info("resolving \(loop.addresses.hostnames.count) hostname(s) in the background; each is probed from its first answer")
        }
        log.info("probing \(c.monitors.count) monitors, \(c.targetCount) targets (tick \(DurationParser.format(c.scheduler.tick)))")
        if c.remoteWrite.isEmpty {
            log.notice("no remote_write configured: results are counted here (status file) but not shipped")
        }
    }

    func publishNotices() {
        for n in loop.takeNotices() { publish(n) }
    }

    private func publish(_ n: LoopNotice) {
        switch n {
        case .probingStarted(let monitors, let targets):
            control.probing.store(true, ordering: .relaxed)
            events.publish(AgentEvent(kind: .started, message: "probing started: \(monitors) monitors, \(targets) targets"))
        case .monitorDown(let id, let targets):
            events.publish(AgentEvent(kind: .monitorDown, monitor: id, message: "monitor \(id) down: all \(targets) targets failing"))
        case .monitorUp(let id, let answering, let targets):
            events.publish(AgentEvent(kind: .monitorUp, monitor: id, message: "monitor \(id) up: \(answering) of \(targets) targets answering"))
        case .suppressed(let id):
            events.publish(AgentEvent(kind: .monitorSuppressed, monitor: id, message: "monitor \(id) suppressed: a monitor it depends on is down"))
        case .unsuppressed(let id):
            events.publish(AgentEvent(kind: .monitorUnsuppressed, monitor: id, message: "monitor \(id) no longer suppressed"))
        case .resolved(let name, let addresses):
            log.info("target '\(name)' resolves to \(addresses.joined(separator: ", "))")
        case .resolveFailing(let name, let why, let kept):
            log.warning("cannot resolve target '\(name)': \(why); \(kept.map { "keeping \($0)" } ?? "no address yet")")
        case .addressesExpanded(let ids):
            log.info("all_addresses: monitor(s) \(ids.joined(separator: ", ")) now probe the addresses their names resolve to")
        case .reloaded(let reason, let r):
            events.publish(AgentEvent(kind: .reloaded, message: "config reloaded (\(reason)): \(r.unchanged.count) unchanged, \(r.changed.count) changed, \(r.added.count) added, \(r.removed.count) removed monitors"
                + (r.retargeted.isEmpty ? "" : ", \(r.retargeted.count) retargeted (\(r.retargeted.joined(separator: ", ")): the targets they kept keep their phase and counters)")))
        case .reloadFailed(let reason, let error):
            events.publish(AgentEvent(kind: .reloadFailed, message: "config reload (\(reason)) failed, keeping the running config: \(error)"))
        case .pathChanged(let c):
            let (from, to) = (c.from.map(\.routerText), c.to.map(\.routerText))
            events.publish(AgentEvent(kind: .pathChanged, monitor: c.key.monitorID,
                                      message: "path to \(c.key.target) (monitor \(c.key.monitorID)) changed: \(PathTracker.text(c.from)) ⇒ \(PathTracker.text(c.to))",
                                      target: c.key.target, oldPath: from, newPath: to))
        case .restartRequired(let sections):
            log.warning("\(sections.joined(separator: ", ")) changes take effect at the next restart")
        }
    }

    /// A delivery stall (Shipper.stall: a store's, or the whole) starting, changing stores or
    /// ending: an event on the admin stream and a log line, once per change; /health and the
    /// watchdog read the stall themselves.
    func reportDeliveryStall() {
        guard let stall = shipper?.stall() else { return }
        let stalled = stall.stores.map { $0 != nil }
        guard stalled != reportedStall, stalled.contains(true) || reportedStall.contains(true) else { return }
        publishStall(stall.summary)
        reportedStall = stalled
    }

    func publishStall(_ reason: String?) {
        if let reason {
            events.publish(AgentEvent(kind: .deliveryStalled, message: reason))
        } else {
            events.publish(AgentEvent(kind: .deliveryResumed, message: "delivery resumed: the shipper is making progress again"))
        }
    }

    /// Every slow turn at debug level; at most one a minute at info, with the count since.
    func report(_ slow: LoopTurnClock.SlowTurn) {
        let took = "probing loop turn took \(LoopTurnClock.SlowTurn.milliseconds(slow.workNanoseconds)) ms (\(slow.phasesText))\(slow.cpuText)"
        guard slow.shouldLog else { return log.debug("\(took)") }
        let bound = turnClock.slowTurnNanoseconds / 1_000_000
        log.info("\(took); probes due meanwhile went out that late; \(slow.slowSinceLastLogged) turn(s) over \(bound) ms since the last such line")
    }
}
