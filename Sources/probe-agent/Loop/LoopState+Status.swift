import AdminAPI
import Foundation
import ProbeAgentCore
import Shipper

/// What the loop shows of itself: summaries and snapshots for the HTTP and admin handlers,
/// and the status file.
extension LoopState {
    /// HTTP and admin handlers waiting for the loop's state.
    func answer(_ requests: AgentLoop.Requests) {
        guard requests.wantsSummary else { return }
        let summary = summarize()
        for w in requests.summaryWaiters { w(summary) }
        if !requests.snapshotWaiters.isEmpty {
            let snap = snapshot(summary)
            for w in requests.snapshotWaiters { w(snap) }
        }
        turnClock.lap(.snapshot, MonotonicClock.nanoseconds())
    }

    /// The loop's counters and monitor states now: O(monitors), no table held.
    func summarize() -> LoopSummary {
        LoopSummary(startedAt: startedAt, configPath: configPath, config: loop.probed, scheduleStats: loop.schedule.stats,
                    lateness: loop.schedule.lateness, sendLateness: loop.sendLateness,
                    down: Set(loop.ledger.health.lazy.filter { $0.value.isDown }.map(\.key)),
                    suppressed: loop.suppressed, resolverFailures: loop.addresses.failures, engine: engine.stats,
                    engineInfo: engine.info, reloads: loop.reloads, staleResults: loop.staleResults,
                    pendingSends: loop.pendingCount, inFlight: engine.inFlight,
                    probing: control.probing.load(ordering: .relaxed), loopTurns: turnClock.turns, loopPriority: loopPriority)
    }

    /// The summary plus the tables, from copy-on-write values (cheap to take here; see
    /// ``LoopSnapshot`` for what holding it costs the loop).
    func snapshot(_ summary: LoopSummary? = nil) -> LoopSnapshot {
        LoopSnapshot(summary: summary ?? summarize(), schedule: loop.schedule, ledger: loop.ledger, addresses: loop.addresses,
                     labels: loop.seriesLabels, paths: loop.paths)
    }

    /// Builds and writes the JSON on the writer's queue, so a 100k-target snapshot never stalls probing.
    func writeStatus(synchronously: Bool = false) {
        guard let status else { return }
        let snap = snapshot()
        let (stores, stalled) = (shipper?.stats() ?? [], shipper?.stall().whole)
        status.write(synchronously: synchronously, log: log) {
            AdminViews.status(snap.summary, tables: snap, stores: stores, deliveryStalled: stalled,
                              httpListen: nil, adminSocket: nil)
        }
    }
}

/// The shipper as the loop uses it.
struct ShipperHandle {
    var handoff: ResultHandoff
    /// Each store's figures, in `remote_write` order.
    var stats: @Sendable () -> [ShipperStats]
    var stop: @Sendable () -> Void
    /// Which stores are stalled, and whether delivery as a whole is.
    var stall: @Sendable () -> DeliveryStall
}
