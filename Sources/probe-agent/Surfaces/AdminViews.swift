import AdminAPI
import Foundation
import ProbeAgentCore
import ProbeEngine
import Shipper

/// Turns a loop snapshot (and the shipper's counters) into the admin API's replies.
enum AdminViews {
    /// The one status model from the loop's summary; with `tables`, every target's counters
    /// too (the status file), which walks every target: build it off the loop thread.
    static func status(_ s: LoopSummary, tables: LoopSnapshot? = nil, stores: [ShipperStats], deliveryStalled: String?,
                       httpListen: String?, adminSocket: String?) -> AgentStatus {
        let (e, i) = (s.engine, s.engineInfo)
        let stats = s.scheduleStats
        return AgentStatus(
            version: AgentVersion.current, pid: getpid(), startedAt: s.startedAt, takenAt: s.takenAt,
            configPath: s.configPath, httpListen: httpListen, adminSocket: adminSocket, ready: s.probing,
            cpuSeconds: ProcessUsage.cpuSeconds(), residentBytes: ProcessUsage.residentBytes(),
            health: HealthReply(loopAlive: true, deliveryStalled: deliveryStalled, stores: stores),
            monitorCount: s.config.monitors.count, targetCount: s.targetCount,
            monitorsDown: s.monitorsDown, monitorsSuppressed: s.monitorsSuppressed,
            engine: .init(icmp4: i.icmp4, icmp6: i.icmp6, tcpSyn: i.tcpSyn4, capabilitiesDropped: i.capabilitiesDropped,
                          submitted: e.submitted, completed: e.completed, inFlight: s.inFlight, sendErrors: e.send_errors,
                          repliesMatched: e.replies_matched, unmatchedForeign: e.unmatched_foreign,
                          unmatchedStale: e.unmatched_stale, unmatchedMalformed: e.unmatched_malformed,
                          backpressure: e.backpressure, txTimestamps: e.tx_timestamps, userClockResults: e.user_clock_results),
            scheduler: .init(entries: s.targetCount, fired: stats.fired, skippedInFlight: stats.skippedInFlight,
                             deferredByRateCap: stats.deferredByRateCap, missedPeriods: stats.missedPeriods,
                             staleResults: stats.staleResults + s.staleResults, pendingSends: s.pendingSends,
                             lateness: LatenessReport(s.lateness), sendLateness: LatenessReport(s.sendLateness),
                             loopPriority: s.loopPriority),
            reloads: .init(succeeded: s.reloads.succeeded, failed: s.reloads.failed, lastAt: s.reloads.lastAt,
                           lastError: s.reloads.lastError, unchanged: s.reloads.last?.unchanged,
                           changed: s.reloads.last?.changed, added: s.reloads.last?.added, removed: s.reloads.last?.removed,
                           retargeted: s.reloads.last?.retargeted),
            resolverFailures: s.resolverFailures, stores: stores, monitors: tables.map(targets))
    }

    /// Every target's counters, by monitor in config order.
    private static func targets(_ snap: LoopSnapshot) -> [AgentStatus.Monitor] {
        var byMonitor: [String: [AgentStatus.Target]] = [:]
        snap.schedule.forEachEntry { cookie, e in
            let record = snap.ledger.record(for: cookie, monitorID: e.monitorID, target: e.target)
            let address = snap.addresses.address(monitorID: e.monitorID, targetIndex: e.targetIndex, target: e.target)
            let path = snap.paths.isEmpty ? nil : snap.paths.tracker(PathKey(monitorID: e.monitorID, target: e.target)).map(PathDetail.init)
            byMonitor[e.monitorID, default: []].append(.init(target: e.target, address: address?.description, record: record, path: path))
        }
        return snap.config.monitors.map { m in
            AgentStatus.Monitor(id: m.id, protocol: m.probeProtocol.rawValue, configHash: String(m.configHash, radix: 16),
                                down: snap.down.contains(m.id), suppressed: snap.suppressed.contains(m.id),
                                targets: byMonitor[m.id] ?? [], listedTargets: m.listedTargetCount)
        }
    }

    static func summary(_ d: ShipperStats) -> DeliverySummary {
        DeliverySummary(mode: d.mode.rawValue, reason: d.modeReason, modeChangedAt: d.modeChangedAt)
    }

    /// Queue stats: every store's part, the top level being the first store's (as with one).
    static func queueStats(_ stores: [ShipperStats], config: AgentConfig) -> QueueStatsReply {
        let parts = stores.map(store)
        let d = stores.first ?? ShipperStats()
        let first = parts.first
        let configured = !config.remoteWrite.isEmpty
        return QueueStatsReply(
            remoteWriteConfigured: configured, stores: parts, url: first?.url, delivery: first?.delivery,
            memory: first?.memory ?? .init(depth: 0, capacity: config.memoryQueueCapacity, overflows: 0),
            spill: .init(directory: configured ? config.spill.directory : nil, bytes: d.spillBytes, segments: d.spillSegments,
                         pendingResults: d.spillPendingRecords, oldestAgeSeconds: d.spillOldestPendingAgeSeconds,
                         droppedResults: d.spillDroppedRecords, corruptRecords: d.spillCorruptRecords),
            backfill: first?.backfill ?? .init(ratePerSecond: 0, etaSeconds: nil),
            remoteWrite: first?.remoteWrite ?? remoteWrite(d),
            resultsReceived: d.resultsReceived, resultsShipped: d.resultsShipped, resultsLost: d.resultsLost)
    }

    /// One store's part of the queue stats.
    static func store(_ d: ShipperStats) -> QueueStatsReply.Store {
        let rate = d.backfillRatePerSecond
        let eta: Double? = d.spillPendingRecords > 0 && rate > 0 ? Double(d.spillPendingRecords) / Double(rate) : nil
        return QueueStatsReply.Store(
            name: d.endpoint, url: d.url, delivery: summary(d),
            memory: .init(depth: d.memQueueDepth, capacity: d.memQueueCap, overflows: d.memQueueOverflows),
            pendingResults: d.spillPendingRecords, oldestAgeSeconds: d.spillOldestPendingAgeSeconds, droppedResults: d.spillDroppedRecords,
            backfill: .init(ratePerSecond: rate, etaSeconds: eta), remoteWrite: remoteWrite(d),
            resultsShipped: d.resultsShipped, resultsLost: d.resultsLost)
    }

    static func remoteWrite(_ d: ShipperStats) -> QueueStatsReply.RemoteWrite {
        .init(samplesSent: d.samplesSent, requestsSent: d.requestsSent, requestsFailed: d.requestsFailed,
              retries: d.retries, requestsInFlight: d.requestsInFlight, deadLetterRequests: d.deadLetterRequests,
              deadLetterResults: d.deadLetterResults, tooOldDropped: d.tooOldResultsDropped,
              highestSentTimestamp: d.highestSentTimestamp, lagSeconds: d.lagSeconds(), lastError: d.lastError)
    }

    static func monitors(_ s: LoopSnapshot, only id: String?) -> MonitorsReply {
        let list = s.config.monitors.filter { id == nil || $0.id == id }.map { m in
            // In the schedule's target order (O(targets): a discovered list may hold 100k).
            let targets = zip(s.schedule.cookies(monitorID: m.id), s.schedule.entries(monitorID: m.id)).map { cookie, e in
                let r = s.ledger.record(for: cookie, monitorID: e.monitorID, target: e.target)
                let address = s.addresses.address(monitorID: e.monitorID, targetIndex: e.targetIndex, target: e.target)
                var target = MonitorsReply.Target(
                    target: e.target, address: address?.description,
                    lastOutcome: r?.lastOutcome?.rawValue, lastSuppressed: r?.lastSuppressed ?? false,
                    lastRTTSeconds: r?.lastRTTNanoseconds.map { Double($0) / 1e9 },
                    lastSentAt: r?.lastSentAtNanoseconds.map { Date(timeIntervalSince1970: Double($0) / 1e9) },
                    sent: r?.sent ?? 0, ok: r?.ok ?? 0, timeouts: r?.timeouts ?? 0,
                    errors: (r?.refused ?? 0) + (r?.unreachable ?? 0) + (r?.ttlExceeded ?? 0) + (r?.fragmentationNeeded ?? 0)
                        + (r?.errors ?? 0) + (r?.unresolved ?? 0),
                    suppressed: r?.suppressed ?? 0)
                if !s.paths.isEmpty { target.path = s.paths.tracker(PathKey(monitorID: e.monitorID, target: e.target)).map(PathDetail.init) }
                target.lastICMP = r?.lastICMP.map {
                    MonitorsReply.ICMPDetail(reporter: $0.reporter?.description, type: $0.type, code: $0.code, mtu: $0.mtu)
                }
                return target
            }
            return MonitorsReply.Monitor(
                id: m.id, protocol: m.probeProtocol.rawValue, port: m.port,
                cadenceSeconds: Double(m.cadence.nanosecondsValue) / 1e9, timeoutSeconds: Double(m.timeout.nanosecondsValue) / 1e9,
                labels: m.labels, dependsOn: m.dependsOn, state: s.summary.state(of: m.id),
                failingTargets: s.ledger.health[m.id]?.failingTargets ?? 0,
                sent: targets.reduce(0) { $0 + $1.sent }, ok: targets.reduce(0) { $0 + $1.ok }, targets: targets,
                listedTargets: m.listedTargetCount)
        }
        return MonitorsReply(monitors: list)
    }

    static func graph(_ s: LoopSummary) -> GraphReply {
        GraphReply(nodes: s.config.monitors.map { GraphReply.Node(id: $0.id, dependsOn: $0.dependsOn, state: s.state(of: $0.id)) })
    }
}
