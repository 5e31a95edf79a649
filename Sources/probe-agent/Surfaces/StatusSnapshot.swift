import AdminAPI
import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine
import Shipper

/// The agent's state as JSON (`--status-file`): config and reloads, scheduler lateness,
/// engine counters, resolver failures, and every target's counters. Built from copy-on-write
/// values on the loop thread, encoded and written on a background queue.
struct StatusSnapshot: Encodable, Sendable {
    struct Scheduler: Encodable, Sendable {
        var entries: Int
        var fired: UInt64
        var skippedInFlight: UInt64
        var deferredByRateCap: UInt64
        var missedPeriods: UInt64
        var staleResults: UInt64
        var pendingSends: Int
        var lateness: LatenessReport
        var sendLateness: LatenessReport
        var loopPriority: String
    }

    struct EngineStatus: Encodable, Sendable {
        var icmp4: String, icmp6: String, tcpSyn: Bool, capabilitiesDropped: Bool
        var submitted: UInt64, completed: UInt64, inFlight: Int, sendErrors: UInt64
        var repliesMatched: UInt64, unmatchedForeign: UInt64, unmatchedStale: UInt64, unmatchedMalformed: UInt64
        var backpressure: UInt64, txTimestamps: UInt64, userClockResults: UInt64
    }

    struct Reloads: Encodable, Sendable {
        var succeeded: Int, failed: Int
        var lastAt: Date?
        var lastError: String?
        var unchanged: [String]?, changed: [String]?, added: [String]?, removed: [String]?
    }

    struct Target: Encodable, Sendable {
        var target: String
        var address: String?
        var record: TargetRecord?
    }

    struct Monitor: Encodable, Sendable {
        var id: String
        var `protocol`: String
        var configHash: String
        var down: Bool
        var suppressed: Bool
        var targets: [Target]
    }

    var writtenAt = Date()
    var startedAt: Date
    var pid = getpid()
    var cpuSeconds: Double
    var maxRSSKilobytes: Int
    var configPath: String
    var reloads: Reloads
    var scheduler: Scheduler
    var engine: EngineStatus
    var resolverFailures: [String: String]
    /// Remote-write delivery (nil when no remote_write is configured).
    var delivery: ShipperStats?
    var monitors: [Monitor]

    init(_ snap: LoopSnapshot, delivery: ShipperStats?) {
        let (startedAt, configPath, config, schedule, ledger) = (snap.startedAt, snap.configPath, snap.config, snap.schedule, snap.ledger)
        let (addresses, s, i, r) = (snap.addresses, snap.engine, snap.engineInfo, snap.reloads)
        let (staleResults, pendingSends, inFlight) = (snap.staleResults, snap.pendingSends, snap.inFlight)
        self.startedAt = startedAt
        self.delivery = delivery
        self.configPath = configPath
        cpuSeconds = ProcessUsage.cpuSeconds()
        maxRSSKilobytes = ProcessUsage.maxRSSKilobytes()
        reloads = Reloads(succeeded: r.succeeded, failed: r.failed, lastAt: r.lastAt, lastError: r.lastError,
                          unchanged: r.last?.unchanged, changed: r.last?.changed, added: r.last?.added,
                          removed: r.last?.removed)
        var byMonitor: [String: [Target]] = [:]
        var entries = 0
        schedule.forEachEntry { cookie, e in
            entries += 1
            let current = ledger.record(for: cookie, monitorID: e.monitorID, target: e.target)
            let address = addresses.address(monitorID: e.monitorID, targetIndex: e.targetIndex, target: e.target)
            byMonitor[e.monitorID, default: []].append(
                Target(target: e.target, address: address?.description, record: current))
        }
        scheduler = Scheduler(
            entries: entries, fired: schedule.stats.fired, skippedInFlight: schedule.stats.skippedInFlight,
            deferredByRateCap: schedule.stats.deferredByRateCap, missedPeriods: schedule.stats.missedPeriods,
            staleResults: schedule.stats.staleResults + staleResults, pendingSends: pendingSends,
            lateness: LatenessReport(schedule.lateness), sendLateness: LatenessReport(snap.sendLateness),
            loopPriority: snap.loopPriority)
        engine = EngineStatus(
            icmp4: i.icmp4, icmp6: i.icmp6, tcpSyn: i.tcpSyn4, capabilitiesDropped: i.capabilitiesDropped,
            submitted: s.submitted, completed: s.completed, inFlight: inFlight, sendErrors: s.send_errors,
            repliesMatched: s.replies_matched, unmatchedForeign: s.unmatched_foreign, unmatchedStale: s.unmatched_stale,
            unmatchedMalformed: s.unmatched_malformed, backpressure: s.backpressure, txTimestamps: s.tx_timestamps,
            userClockResults: s.user_clock_results)
        resolverFailures = addresses.failures
        monitors = config.monitors.map { m in
            Monitor(id: m.id, protocol: m.probeProtocol.rawValue, configHash: String(m.configHash, radix: 16),
                    down: ledger.health[m.id]?.isDown ?? false, suppressed: ledger.isSuppressed(m.id),
                    targets: byMonitor[m.id] ?? [])
        }
    }
}

/// Writes snapshots atomically (temp file + rename), off the loop thread.
final class StatusWriter: Sendable {
    let path: String
    private let queue = DispatchQueue(label: "probe-agent.status")

    init(path: String) { self.path = path }

    func write(synchronously: Bool, log: Logger, _ build: @escaping @Sendable () -> StatusSnapshot) {
        let path = self.path
        let once = TakeOnce(build)
        let work: @Sendable () -> Void = {
            if let build = once.take() { Self.encode(build(), to: path, log: log) }
            // The encoder's temporary tree of every target and the loop snapshot, both freed by now.
            FreedMemory.release()
        }
        if synchronously { queue.sync(execute: work) } else { queue.async(execute: work) }
    }

    private static func encode(_ snapshot: StatusSnapshot, to path: String, log: Logger) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        do {
            let data = try enc.encode(snapshot)
            let tmp = path + ".tmp"
            try data.write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            log.error("cannot write status file \(path): \(error)")
        }
    }
}
