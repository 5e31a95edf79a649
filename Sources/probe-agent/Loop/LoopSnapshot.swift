import Foundation
import ProbeAgentCore
import ProbeEngine

/// The probing loop's counters and monitor states at one instant: what the status reply, the
/// dependency graph and `/metrics`' own series read.
///
/// It holds none of the loop's per-target tables, so holding it costs the loop nothing; taking
/// it costs O(monitors) on the loop thread.
struct LoopSummary: Sendable {
    var takenAt = Date()
    var startedAt: Date
    var configPath: String
    var config: AgentConfig
    var scheduleStats: ScheduleStats
    /// Scheduler lateness (hand-out to the engine − due) and send lateness (TX stamp − due).
    var lateness: DurationHistogram
    var sendLateness: DurationHistogram
    /// Monitors whose targets all fail, and monitors whose failures are suppressed.
    var down: Set<String>
    var suppressed: Set<String>
    /// Hostnames whose latest lookup failed, with why.
    var resolverFailures: [String: String]
    var engine: Engine.Stats
    var engineInfo: Engine.Info
    var reloads: ReloadStatus
    var staleResults: UInt64
    var pendingSends: Int
    var inFlight: Int
    var probing: Bool
    /// Work per loop turn (LoopTurnClock).
    var loopTurns: DurationHistogram
    /// What the loop thread runs at (ThreadPriority.applyToLoop).
    var loopPriority: String

    var targetCount: Int { config.targetCount }
    var monitorsDown: [String] { config.monitors.map(\.id).filter(down.contains) }
    var monitorsSuppressed: [String] { config.monitors.map(\.id).filter(suppressed.contains) }

    /// `up`, `down` or `suppressed`.
    func state(of monitorID: String) -> String {
        if suppressed.contains(monitorID) { return "suppressed" }
        return down.contains(monitorID) ? "down" : "up"
    }
}

/// A ``LoopSummary`` plus the loop's per-target tables, for what walks every target: the
/// status file, the per-target part of `/metrics`, the admin API's monitor listing.
///
/// Taken on the loop thread from copy-on-write values (a few retains, no copying); whoever
/// receives it formats it on their own thread. The loop pays one copy of a table if it mutates
/// that table while a snapshot still holds it (tens of ms at 200k targets, and the probes due
/// meanwhile wait): ask for a ``LoopSummary`` when the tables are not needed.
@dynamicMemberLookup
struct LoopSnapshot: Sendable {
    var summary: LoopSummary
    var schedule: Schedule
    var ledger: ResultLedger
    var addresses: AddressBook
    /// Each target's series labels, as the loop keeps them (shared, not rebuilt per scrape).
    var labels: SeriesLabelTable
    /// The path monitors' trackers.
    var paths: PathWatch

    subscript<T>(dynamicMember field: KeyPath<LoopSummary, T>) -> T { summary[keyPath: field] }
}
